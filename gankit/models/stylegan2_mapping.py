"""StyleGAN2's mapping network (z [⊕ label embedding] → w), and the size and label helpers G and D share.

The mapping network (Karras et al. 2019, 2020): z / √mean(z²) [⊕ e / √mean(e²), e = embed(one-hot y)]
→ ``num_layers`` equalised-lr linear layers with leaky ReLU, learning rate × ``lr_multiplier`` (0.01).
In training mode w_avg ← lerp(mean_batch w, w_avg, β) (β = 0.995): the centre of truncation,
w ← w_avg + ψ·(w − w_avg). D uses one without z and without w_avg to map the label to its cmap.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.models.stylegan2_layers import FullyConnected, normalize_2nd_moment


def widths(sides, channel_base: int, channel_max: int, who: str) -> dict[int, int]:
    """StyleGAN2's width at each side r: min(channel_base // r, channel_max)."""
    out = {r: min(int(channel_base) // r, int(channel_max)) for r in sides}
    if min(out.values()) < 1:
        raise GankitError(f"{who}.channel_base: {channel_base} gives no channels at {max(sides)}×{max(sides)}; "
                          f"raise it to at least {max(sides)} (or raise channel_max above 0).")
    return out


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    return F.one_hot(labels.long(), num_classes).float()


class MappingNetwork(nn.Module):
    """z (and the label's embedding) → w: pixel norm, ``num_layers`` equalised-lr leaky-ReLU layers (lr × λ)."""

    def __init__(self, z_dim: int, num_classes: int, w_dim: int, num_ws: Optional[int], num_layers: int = 8,
                 lr_multiplier: float = 0.01, embed_dim: Optional[int] = None, w_avg_beta: Optional[float] = 0.995):
        super().__init__()
        if num_layers < 1:
            raise GankitError(f"mapping_layers: needs at least 1 layer, got {num_layers}.")
        self.z_dim, self.num_classes, self.w_dim, self.num_ws = z_dim, num_classes, w_dim, num_ws
        self.w_avg_beta = w_avg_beta
        embed = (embed_dim or w_dim) if num_classes else 0
        self.embed = FullyConnected(num_classes, embed) if num_classes else None
        features = [z_dim + embed] + [w_dim] * num_layers
        self.layers = nn.ModuleList([FullyConnected(a, b, activation="lrelu", lr_multiplier=lr_multiplier)
                                     for a, b in zip(features[:-1], features[1:])])
        if w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Optional[torch.Tensor], labels: Optional[torch.Tensor] = None, truncation_psi: float = 1.0,
                truncation_cutoff: Optional[int] = None, update_w_avg: Optional[bool] = None) -> torch.Tensor:
        """(N, num_ws, w_dim) copies of w (or (N, w_dim) without num_ws); w_avg moves in training mode."""
        parts = [normalize_2nd_moment(z.float())] if self.z_dim else []
        if self.embed is not None:
            if labels is None:
                raise ValueError("this stylegan2 model is class-conditional: pass labels")
            parts.append(normalize_2nd_moment(self.embed(one_hot(labels, self.num_classes))))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for layer in self.layers:
            x = layer(x)
        if self.w_avg_beta is not None and (self.training if update_w_avg is None else update_w_avg):
            with torch.no_grad():
                self.w_avg.copy_(x.detach().float().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else int(truncation_cutoff)
            x = torch.cat([self.w_avg.to(x.dtype).lerp(x[:, :cut], truncation_psi), x[:, cut:]], dim=1)
        return x
