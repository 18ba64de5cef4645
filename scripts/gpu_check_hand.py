"""The hand-written PyTorch loop that ``scripts/gpu_check.py`` runs beside gankit's trainer.

The same networks (built from the recipe through gankit's registries, same seed, same sizes), but
everything else written out plainly: the recipe's adversarial loss (non-saturating BCE, hinge or
R3GAN's RpGAN), its penalties (R1, R2 at their intervals, scaled by them; StyleGAN2's path length on
G every ``interval`` steps), fused Adam with the recipe's settings, ``torch.autocast`` for bf16/fp16 and
one ``torch.amp.GradScaler`` for fp16 (stepped after each optimizer, as accelerate does), an EMA of G.

Per iteration it does the work gankit's phases do: ``d_steps`` D updates, each on a fresh real batch
and one D forward over real, fake and the due penalties' images; the last one's fake images keep
their graph and serve G's update, in which D is frozen and judges the fakes (and the reals too when
the loss compares with them, RpGAN, or D has BatchNorm). No augmentation: gpu_check runs gankit
with ``augment=null`` for the comparison.
"""
import math

import torch
import torch.nn.functional as F

from gankit.models.base import as_verdict
from gankit.training.parts import build_parts

LOSSES = {  # (D loss, G loss) of the logits, as the papers write them
    "non_saturating": (lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(), lambda f, r: F.softplus(-f).mean()),
    "hinge": (lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(), lambda f, r: -f.mean()),
    "relativistic_pair": (lambda r, f: F.softplus(f - r).mean(), lambda f, r: F.softplus(r - f).mean()),
}


class HandLoop:
    """One D/G iteration of a recipe in plain PyTorch; ``step()`` returns (d_loss, g_loss) device tensors."""

    def __init__(self, recipe, device: torch.device, precision: str, compile_: bool):
        cfg = recipe.cfg
        t = cfg.trainer
        torch.manual_seed(t.seed)
        parts = build_parts(recipe)
        if cfg.loss.name not in LOSSES:
            raise ValueError(f"the hand loop has no formula for loss '{cfg.loss.name}'")
        self.d_loss, self.g_loss = LOSSES[cfg.loss.name]
        self.g_uses_real = cfg.loss.name == "relativistic_pair"
        self.device, self.batch, self.d_steps = device, t.batch_size, t.d_steps
        fmt = torch.channels_last if t.channels_last else torch.contiguous_format
        G, D = parts.G.to(device, memory_format=fmt), parts.D.to(device, memory_format=fmt)
        self.batchnorm = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in D.modules())
        self.G_raw, self.z_dim, self.fmt = G, G.z_dim, fmt
        self.ema = [p.detach().clone() for p in G.parameters()]
        self.g_opt, self.d_opt = (torch.optim.Adam(net.parameters(), lr=o.lr, betas=tuple(o.betas),
                                                   eps=(o.args or {}).get("eps", 1e-8), fused=True)
                                  for net, o in ((G, cfg.optim.g), (D, cfg.optim.d)))
        self.G, self.D = (torch.compile(G), torch.compile(D)) if compile_ else (G, D)
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
        self.penalties = [(p.name, dict(p.node), p.interval) for p in recipe.penalties]
        self.pl_mean = torch.zeros((), device=device)
        data = parts.data
        self.images = data.images.to(device)  # uint8 (N, C, H, W)
        self.labels = data.labels.to(device) if data.labels is not None and data.num_classes else None
        self.num_classes = data.num_classes if self.labels is not None else 0
        self.ema_beta = 0.999
        self.scales: list[torch.Tensor] = []  # fp16: the scale after each optimizer step (device tensors)
        self.n = 0

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None)

    def real(self):
        idx = torch.randint(0, self.images.shape[0], (self.batch,), device=self.device)
        x = (self.images[idx].float() / 127.5 - 1).contiguous(memory_format=self.fmt)
        return x, (self.labels[idx] if self.labels is not None else None)

    def noise(self):
        z = torch.randn(self.batch, self.z_dim, device=self.device)
        y = torch.randint(0, self.num_classes, (self.batch,), device=self.device) if self.num_classes else None
        return z, y

    def judge(self, xs, ys):
        with self.autocast():
            out = as_verdict(self.D(torch.cat(xs), None if ys[0] is None else torch.cat(ys)))
        return out.logits.float().split([x.shape[0] for x in xs])

    def backward_step(self, loss, opt):
        if self.scaler is None:
            loss.backward()
            opt.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(opt)
            self.scaler.update()
            self.scales.append(self.scaler.scale(torch.ones((), device=self.device)))
        opt.zero_grad(set_to_none=True)

    def grad_of(self, out, x):
        """∇ₓ Σ out in fp32, taken at the fp16 loss scale when there is one (the AMP gradient-penalty recipe)."""
        scale = None if self.scaler is None else self.scaler.scale(torch.ones((), device=self.device))
        out = out.float().sum()
        (g,) = torch.autograd.grad(out if scale is None else out * scale, x, create_graph=True)
        return g.float() if scale is None else g.float() / scale

    def step(self):
        n, last = self.n, self.d_steps - 1
        for r in range(self.d_steps):
            x, y_real = self.real()
            z, y_fake = self.noise()
            if r == last:  # G's update reuses these fakes (one G forward)
                with self.autocast():
                    fake = self.G(z, y_fake)
            else:
                with torch.no_grad(), self.autocast():
                    fake = self.G(z, y_fake)
            xs, ys = [x, fake.detach()], [y_real, y_fake]
            due = [(name, a, k) for name, a, k in self.penalties if name in ("r1", "r2") and n % k == 0]
            for name, _, _ in due:  # R1 on the reals, R2 on the fakes, in the same D forward
                xs.append((x if name == "r1" else fake).detach().float().requires_grad_(True))
                ys.append(y_real if name == "r1" else y_fake)
            logits = self.judge(xs, ys)
            d_loss = self.d_loss(logits[0], logits[1])
            for i, (name, a, k) in enumerate(due):
                g = self.grad_of(logits[2 + i], xs[2 + i]).flatten(1)
                d_loss = d_loss + k * (a.get("gamma", 10.0) / 2) * g.pow(2).sum(1).mean()
            self.backward_step(d_loss, self.d_opt)
        self.D.requires_grad_(False)
        if self.g_uses_real or self.batchnorm:
            real_logits, fake_logits = self.judge([x, fake], [y_real, y_fake])
            g_loss = self.g_loss(fake_logits, real_logits.detach())
        else:
            (fake_logits,) = self.judge([fake], [y_fake])
            g_loss = self.g_loss(fake_logits, None)
        for name, a, k in self.penalties:
            if name == "path_length" and n % k == 0:
                g_loss = g_loss + k * self.path_length(z, y_fake, a)
        self.backward_step(g_loss, self.g_opt)
        self.D.requires_grad_(True)
        with torch.no_grad():
            torch._foreach_lerp_(self.ema, [p.detach() for p in self.G_raw.parameters()], 1 - self.ema_beta)
        self.n += 1
        return d_loss.detach(), g_loss.detach()

    def path_length(self, z, y, a):
        """StyleGAN2's path-length term on 1/batch_shrink of the batch: weight·E(‖J_wᵀ y‖ − a)²."""
        m = max(1, z.shape[0] // a.get("batch_shrink", 2))
        images, ws = self.G_raw.images_and_ws(z[:m], None if y is None else y[:m])  # no autocast: as gankit's term
        noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
        lengths = self.grad_of(images.float() * noise, ws).square().sum(2).mean(1).sqrt()
        target = self.pl_mean.lerp(lengths.mean(), a.get("decay", 0.01))  # as StyleGAN2-ADA: a' keeps its graph
        self.pl_mean = target.detach()
        return a.get("weight", 2.0) * (lengths - target).square().mean()
