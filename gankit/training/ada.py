"""Adaptive discriminator augmentation (ADA, Karras et al. 2020), the 'bgc' pipeline in plain PyTorch.

Per image, each op is applied independently with probability ``p × <op multiplier>`` (a multiplier
of 0 disables the op), as in StyleGAN2-ADA's ``AugmentPipe``:

* geometric ('bg'): x-flip, 90° rotation, integer translation, isotropic scale, pre-rotation,
  anisotropic scale, post-rotation, fractional translation. They are composed into ONE inverse
  affine matrix per image (output pixel → input pixel, in pixels about the image centre) and
  applied with one ``affine_grid``/``grid_sample`` (bilinear, reflection padding), so the
  integer ops read pixel centres exactly. Only the images whose matrix is not the identity are
  resampled; the others pass through untouched. (StyleGAN2-ADA also up-samples 2× with a
  wavelet filter around the resampling to limit aliasing; this module resamples once, directly.)
* colour ('c'): brightness (add ``b ~ N(0, brightness_std)``), contrast (multiply by
  ``2^N(0, contrast_std)``), saturation (scale the distance from the channel mean, i.e. the luma
  axis (1,1,1)/√3, by ``2^N(0, saturation_std)``; no op on 1 channel), in that order.

The random parameters are drawn on the CPU (N numbers per op) and the matrices composed there,
so deciding what to skip never waits on the accelerator. Everything is differentiable with
respect to the images, so G learns through it.

Adaptation: ``observe(real_logits)`` accumulates the signs of D's real logits on their device;
``after_step()`` after each D update adjusts ``p`` every ``interval`` updates by
``sign(r_t − target) · (real images seen) / (kimg · 1000)``, clamped to [0, 1].
"""
import math
from numbers import Real

import torch
import torch.nn.functional as F

from gankit.config.registry import AUGMENTS
from gankit.errors import GankitError
from gankit.training.augment_base import Augment

Tensor = torch.Tensor

GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOUR = ("brightness", "contrast", "saturation")
SPREADS = ("xint_max", "scale_std", "rotate_max", "aniso_std", "xfrac_std",
           "brightness_std", "contrast_std", "saturation_std")
_COS90, _SIN90 = (1.0, 0.0, -1.0, 0.0), (0.0, 1.0, 0.0, -1.0)  # exact cos/sin of k·90°


def _number(name: str, value, lo: float | None = 0.0, hi: float | None = None, fix: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"in [{lo}, {hi}]" if hi is not None else f"a finite number ≥ {lo}"
        raise GankitError(f"augment.{name}: expected {rng}, got {value!r}. {fix}".rstrip())
    return float(value)


def _rand(*shape: int) -> Tensor:  # drawn in fp32, as StyleGAN2-ADA does (same CPU stream), used in fp64
    return torch.rand(shape).double()


def _randn(*shape: int) -> Tensor:
    return torch.randn(shape).double()


def _eye(n: int) -> Tensor:
    return torch.eye(3, dtype=torch.float64).repeat(n, 1, 1)


def _scale(sx: Tensor, sy: Tensor) -> Tensor:
    m = _eye(sx.shape[0])
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _translate(tx: Tensor, ty: Tensor) -> Tensor:
    m = _eye(tx.shape[0])
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _rotate(cos: Tensor, sin: Tensor) -> Tensor:
    m = _eye(cos.shape[0])
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, -sin, sin, cos
    return m


def _to(t: Tensor, device: torch.device, dtype: torch.dtype) -> Tensor:
    """A small CPU tensor on ``device`` without a blocking copy (pinned, non-blocking on CUDA)."""
    t = t.to(dtype)
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


@AUGMENTS.register("ada")
class ADA(Augment):
    """Adaptive discriminator augmentation (Karras et al. 2020): StyleGAN2-ADA's 'bgc' ops, p tuned by r_t."""

    logged = ("p", "rt")  # state the metrics rows show as augment.p, augment.rt

    def __init__(self, p: float = 0.0, target: float | None = 0.6, interval: int = 4, kimg: float = 500,
                 xflip: float = 1.0, rotate90: float = 1.0, xint: float = 1.0, scale: float = 1.0,
                 rotate: float = 1.0, aniso: float = 1.0, xfrac: float = 1.0, brightness: float = 1.0,
                 contrast: float = 1.0, saturation: float = 1.0, xint_max: float = 0.125,
                 scale_std: float = 0.2, rotate_max: float = 1.0, aniso_std: float = 0.2,
                 xfrac_std: float = 0.125, brightness_std: float = 0.2, contrast_std: float = 0.5,
                 saturation_std: float = 1.0):
        self.p = p  # validated by the setter
        if target is not None:
            target = _number("target", target, 0.0, 1.0,
                             "It is the wanted mean sign of D's real logits (StyleGAN2-ADA: 0.6); null fixes p.")
        self.target = target
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise GankitError(f"augment.interval: expected a whole number of D updates ≥ 1, got {interval!r}. "
                              "p is adjusted every `interval` D updates (StyleGAN2-ADA: 4).")
        self.interval = interval
        self.kimg = _number("kimg", kimg, 0.0, None, "It is how many thousand real images move p by 1 (StyleGAN2-ADA: 500).")
        if self.kimg == 0:
            raise GankitError("augment.kimg: expected a number > 0, got 0. It is how many thousand real images "
                              "move p by 1 (StyleGAN2-ADA: 500).")
        args = dict(locals())
        for name in GEOMETRIC + COLOUR:
            setattr(self, name, _number(name, args[name], 0.0, None,
                                        "It multiplies p for this op; 0 disables it, 1 is StyleGAN2-ADA's 'bgc'."))
        for name in SPREADS:
            setattr(self, name, _number(name, args[name], 0.0, None, "Write a spread ≥ 0 (0: the op does nothing)."))
        self.rt = math.nan  # the last measured r_t = E[sign(D(real))]
        self.updates = 0  # D updates counted by after_step
        self._acc = None  # device tensor [sum of signs, images] since the last adjustment
        self._pending = (0.0, 0.0)  # a loaded state's accumulator, not yet on a device

    @property
    def adapted(self) -> dict[str, str]:
        """What this augment sets itself, with how to stop it (a schedule may not set it too)."""
        return {"p": "set augment.target=null"} if self.target is not None else {}

    # -- p ----------------------------------------------------------------------------------
    @property
    def p(self) -> float:
        return self._p

    @p.setter
    def p(self, value) -> None:
        value = float(value) if isinstance(value, Tensor) and value.numel() == 1 else value
        self._p = _number("p", value, 0.0, 1.0, "It is the probability of each op (times its multiplier).")

    # -- augmentation -------------------------------------------------------------------------
    def _chosen(self, n: int, mult: float, prob: float | None = None) -> Tensor:
        prob = self._p * mult if prob is None else prob
        return _rand(n) < prob

    def _geometry(self, n: int, h: int, w: int) -> Tensor:
        """The per-image inverse matrices (output pixel → input pixel), composed in StyleGAN2-ADA's order."""
        g, z, one = _eye(n), torch.zeros(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64)
        if self.xflip > 0:
            i = torch.floor(_rand(n) * 2)
            i = torch.where(self._chosen(n, self.xflip), i, z)
            g = g @ _scale(1 - 2 * i, one)
        if self.rotate90 > 0:
            k = torch.floor(_rand(n) * 4).long()
            k = torch.where(self._chosen(n, self.rotate90), k, torch.zeros_like(k))
            g = g @ _rotate(torch.tensor(_COS90, dtype=torch.float64)[k], torch.tensor(_SIN90, dtype=torch.float64)[k])
        if self.xint > 0:
            t = (_rand(n, 2) * 2 - 1) * self.xint_max
            t = torch.where(self._chosen(n, self.xint)[:, None], t, torch.zeros_like(t))
            g = g @ _translate(-torch.round(t[:, 0] * w), -torch.round(t[:, 1] * h))
        if self.scale > 0:
            s = torch.exp2(_randn(n) * self.scale_std)
            s = torch.where(self._chosen(n, self.scale), s, one)
            g = g @ _scale(1 / s, 1 / s)
        p_rot = 1 - math.sqrt(min(max(1 - self.rotate * self._p, 0.0), 1.0))  # P(pre or post) = rotate·p
        for step in ("pre", "aniso", "post"):
            if step == "aniso" and self.aniso > 0:
                s = torch.exp2(_randn(n) * self.aniso_std)
                s = torch.where(self._chosen(n, self.aniso), s, one)
                g = g @ _scale(1 / s, s)
            elif step != "aniso" and self.rotate > 0:
                theta = (_rand(n) * 2 - 1) * math.pi * self.rotate_max
                theta = torch.where(self._chosen(n, 1.0, p_rot), theta, z)
                g = g @ _rotate(torch.cos(theta), torch.sin(theta))
        if self.xfrac > 0:
            t = _randn(n, 2) * self.xfrac_std
            t = torch.where(self._chosen(n, self.xfrac)[:, None], t, torch.zeros_like(t))
            g = g @ _translate(-t[:, 0] * w, -t[:, 1] * h)
        return g

    def _colour(self, n: int, c: int) -> tuple[Tensor, Tensor, Tensor]:
        """Per image: brightness offset b, contrast factor c, saturation factor s (identity: 0, 1, 1)."""
        z, one = torch.zeros(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64)
        b, k, s = z, one, one
        if self.brightness > 0:
            b = _randn(n) * self.brightness_std
            b = torch.where(self._chosen(n, self.brightness), b, z)
        if self.contrast > 0:
            k = torch.exp2(_randn(n) * self.contrast_std)
            k = torch.where(self._chosen(n, self.contrast), k, one)
        if self.saturation > 0 and c > 1:
            s = torch.exp2(_randn(n) * self.saturation_std)
            s = torch.where(self._chosen(n, self.saturation), s, one)
        return b, k, s

    def __call__(self, x: Tensor) -> Tensor:
        if self._p <= 0:
            return x
        if x.ndim != 4:
            raise GankitError(f"augment: ADA augments N×C×H×W images, got a tensor of shape {tuple(x.shape)}.")
        n, c, h, w = x.shape
        g = self._geometry(n, h, w)
        b, k, s = self._colour(n, c)
        channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        out = x
        moved = (g != torch.eye(3, dtype=torch.float64)).flatten(1).any(1)
        if moved.any():
            # pixels about the centre → grid_sample's [-1, 1] (align_corners=False): S(2/W,2/H)·G·S(W/2,H/2)
            theta = (_scale(torch.full((n,), 2.0 / w, dtype=torch.float64), torch.full((n,), 2.0 / h, dtype=torch.float64))
                     @ g @ _scale(torch.full((n,), w / 2.0, dtype=torch.float64), torch.full((n,), h / 2.0, dtype=torch.float64)))
            work = torch.float64 if x.dtype == torch.float64 else torch.float32  # the grid is never low precision
            idx = moved.nonzero().squeeze(1)
            every = idx.numel() == n
            theta = _to(theta if every else theta[idx], x.device, work)[:, :2]
            src = x if every else x.index_select(0, _to(idx, x.device, torch.long))
            grid = F.affine_grid(theta, [src.shape[0], c, h, w], align_corners=False)
            res = F.grid_sample(src.to(work), grid, mode="bilinear", padding_mode="reflection",
                                align_corners=False).to(x.dtype)
            out = res if every else x.index_copy(0, _to(idx, x.device, torch.long), res)
        if (b != 0).any() or (k != 1).any():
            kk = _to(k, x.device, x.dtype).view(n, 1, 1, 1)
            out = out * kk + _to(b * k, x.device, x.dtype).view(n, 1, 1, 1)  # C = scale(k) · translate(b)
        if (s != 1).any():
            m = out.mean(dim=1, keepdim=True)  # the projection on the luma axis (1, …, 1)/√C
            out = out + _to(s - 1, x.device, x.dtype).view(n, 1, 1, 1) * (out - m)
        if channels_last and out is not x:
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    # -- adaptation ---------------------------------------------------------------------------
    def observe(self, real_logits: Tensor) -> None:
        """Add D's logits on real images to r_t's running sums (on their device; no host sync)."""
        if self.target is None:
            return
        lg = real_logits.detach()
        n = lg.shape[0] if lg.ndim else 1
        signs = lg.float().reshape(n, -1).sign().mean(dim=1).sum()  # one sign per image (its mean for patch logits)
        obs = torch.stack([signs, torch.full((), float(n), device=lg.device)])
        if self._acc is None:
            self._acc = torch.tensor(self._pending, dtype=torch.float32, device=lg.device)
            self._pending = (0.0, 0.0)
        self._acc = self._acc + obs.to(self._acc.device)

    def after_step(self, D=None) -> None:
        """Count a D update; every ``interval`` of them, move p towards r_t = target."""
        self.updates += 1
        if self.target is None or self.updates % self.interval:
            return
        acc = self._acc
        if acc is None:
            acc = torch.tensor(self._pending, dtype=torch.float32)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            if torch.distributed.get_backend() == "nccl" and acc.device.type != "cuda":
                acc = acc.to(torch.device("cuda", torch.cuda.current_device()))
            acc = acc.clone()
            torch.distributed.all_reduce(acc)
        total, count = acc.tolist()
        self._acc, self._pending = None, (0.0, 0.0)
        if count <= 0:
            return
        self.rt = total / count
        direction = (self.rt > self.target) - (self.rt < self.target)
        self._p = min(max(self._p + direction * count / (self.kimg * 1000), 0.0), 1.0)

    # -- checkpoint ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        total, count = self._acc.tolist() if self._acc is not None else self._pending
        rt = None if math.isnan(self.rt) else self.rt  # strict JSON has no NaN
        return {"p": self._p, "rt": rt, "sum": float(total), "count": float(count), "updates": self.updates}

    def load_state_dict(self, d: dict) -> None:
        missing = [k for k in ("p", "rt", "sum", "count", "updates") if k not in d]
        if missing:
            raise GankitError(f"augment: the checkpoint's ADA state lacks {', '.join(missing)}; "
                              "resume from a checkpoint written with ADA, or start a new run.")
        self.p = d["p"]
        self.rt = math.nan if d["rt"] is None else float(d["rt"])
        self.updates = int(d["updates"])
        self._acc, self._pending = None, (float(d["sum"]), float(d["count"]))
