"""The cheap preflight of a run: G's output fits the data, and D gives one logit per image.

``preflight(parts, cfg)`` is what training runs before its first step (eval mode, no
gradients: nothing changes); ``gankit check`` calls ``shape_problems(..., backward=True)``
to also push a gradient from D back into G. Every model follows one contract:
``G(z, y=None)`` and ``D(x, y=None)``; ``y`` is a batch of labels for models with
``conditional = True`` and None for the others.
"""
import torch

from gankit.models.base import is_conditional
from gankit.errors import raise_if


def preflight(parts, cfg=None) -> None:
    """Run G and D once on a tiny batch (no gradients, eval mode: nothing changes) and raise on a mismatch."""
    name = cfg.data.name if cfg is not None else "?"
    raise_if(shape_problems(parts, backward=False, data_name=name), "The models do not fit the data:")


def shape_problems(parts, *, backward: bool, n: int = 2, data_name: str = "?") -> list[str]:
    """G's output must have the data's image shape, and D must give one logit per image.

    ``backward=True`` (``gankit check``) also runs D's loss backward through G, in train mode,
    on throwaway models; ``backward=False`` (the training preflight) runs both in eval mode
    under ``no_grad``, so running statistics and weights stay exactly as they were.
    """
    G, D, data = parts.G, parts.D, parts.data
    want = tuple(data.img_shape)
    device = next((p.device for p in G.parameters()), torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)  # not the global RNG: training must see the same random stream
    z = torch.randn(n, G.z_dim, generator=gen).to(device)
    labels = torch.randint(0, max(1, data.num_classes), (n,), generator=gen).to(device)
    y_g = labels if is_conditional(G) else None
    y_d = labels if is_conditional(D) else None
    modes = (G.training, D.training)
    problems = []
    try:
        G.train(backward), D.train(backward)
        with torch.set_grad_enabled(backward):
            try:
                fake = G(z, y_g)
            except Exception as e:
                contract = (" (every generator must take forward(z, y=None): y holds the labels of a "
                            "conditional generator and is None for the others)" if isinstance(e, TypeError) else "")
                return [f"generator: generator '{_name(G)}' failed on a batch of {n} latents "
                        f"(z_dim={G.z_dim}): {type(e).__name__}: {_first(e)}{contract}"]
            if not isinstance(fake, torch.Tensor) or tuple(fake.shape[1:]) != want or fake.shape[0] != n:
                got = tuple(fake.shape[1:]) if isinstance(fake, torch.Tensor) else type(fake).__name__
                return [f"generator: generator '{_name(G)}' makes images of shape {got} but the data "
                        f"(data.name: {data_name}) has {want}. Choose a generator for that size "
                        f"or change the data (e.g. data.image_size / data.channels)."]
            try:
                out = D(fake, y_d)
            except Exception as e:
                contract = (" (every discriminator must take forward(x, y=None))" if isinstance(e, TypeError) else "")
                return [f"discriminator: discriminator '{_name(D)}' cannot take the images {want} of the data: "
                        f"{type(e).__name__}: {_first(e)}{contract}. Choose a discriminator for that image size."]
            logits = out[0] if isinstance(out, tuple) else out
            if not isinstance(logits, torch.Tensor) or logits.numel() != n:
                got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                problems.append(f"discriminator: discriminator '{_name(D)}' returned {got} for {n} images; "
                                f"it must return one logit per image (shape ({n},)).")
            elif backward:
                logits.float().mean().backward()
                if all(p.grad is None for p in G.parameters()):
                    problems.append(f"generator: no gradient reaches generator '{_name(G)}' through the "
                                    f"discriminator; its output must stay in the autograd graph.")
    finally:
        G.train(modes[0]), D.train(modes[1])
        if backward:
            G.zero_grad(set_to_none=True), D.zero_grad(set_to_none=True)
    return problems


def _name(model) -> str:
    return type(model).__name__


def _first(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""
