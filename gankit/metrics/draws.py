"""The seeded draw behind every set of generated samples: latent row ``i``, label ``i % classes``.

Sample ``i`` depends only on the seed and ``i`` (not on the batch size or the process count),
so evaluation during training, ``gankit eval`` and ``gankit sample`` see the same images.
A generator is class-conditional when it sets ``conditional = True`` and ``num_classes``;
every generator is called as ``G(z, y)``, with ``y = None`` for an unconditional one.
"""
import torch

from gankit.models.base import is_conditional


def latents(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """Latent row ``i`` of a seeded draw: sample ``i`` is the same for any batch size or process count."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


def spread_labels(index: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Labels spread uniformly by sample index: i % num_classes."""
    return index.long() % max(num_classes, 1)


def class_count(G, fallback: int = 0) -> int:
    """``G.num_classes``, else ``fallback`` (e.g. the data's class count)."""
    return int(getattr(G, "num_classes", 0) or fallback or 0)


def draw_labels(G, n: int, fallback_classes: int = 0) -> torch.Tensor | None:
    """The labels of samples ``0..n-1`` (``i % classes``) for a class-conditional ``G``, else None."""
    if not is_conditional(G):
        return None
    return spread_labels(torch.arange(n), class_count(G, fallback_classes))
