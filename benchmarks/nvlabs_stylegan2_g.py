"""NVlabs' own StyleGAN2 generator as a gankit plugin: a control for gankit's ``stylegan2``.

Trains the generator of github.com/NVlabs/stylegan2-ada-pytorch (``training/networks.py``, its
plain-PyTorch reference ops; no CUDA build) in gankit's loop, so a result of gankit's StyleGAN2 can
be told apart from a property of the architecture. Point ``NVLABS_STYLEGAN2_ADA`` at a checkout:

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2ada
    NVLABS_STYLEGAN2_ADA=/tmp/sg2ada gankit train recipes/mnist_stylegan2_ada.yaml \\
        'plugins=[benchmarks/nvlabs_stylegan2_g.py]' 'generator={name: nvlabs_stylegan2, conditional: null}' \\
        'penalties=[{name: r1, gamma: 0.01, interval: 16}]' trainer.max_steps=250 trainer.eval_every=250

Unconditional only; path length needs gankit's own generator (it reads ``mapping``/``synthesis``).
"""
import os
import sys
from pathlib import Path

import torch
from torch import nn

from gankit import GENERATORS
from gankit.errors import GankitError


def _nvlabs_generator_class():
    root = os.environ.get("NVLABS_STYLEGAN2_ADA")
    if not root or not (Path(root) / "training" / "networks.py").is_file():
        raise GankitError("generator 'nvlabs_stylegan2': set NVLABS_STYLEGAN2_ADA to a checkout of "
                          "github.com/NVlabs/stylegan2-ada-pytorch (the folder holding training/networks.py); "
                          f"got {root!r}.")
    sys.path.insert(0, str(Path(root).resolve()))
    from training.networks import Generator  # noqa: E402 (the checkout's module)
    return Generator


@GENERATORS.register("nvlabs_stylegan2")
class NVlabsStyleGAN2(nn.Module):
    """NVlabs' Generator in fp32 (no fp16 layers, no clamping), with gankit's G(z) call and noise defaults."""

    def __init__(self, img_shape: tuple = (1, 32, 32), z_dim: int = 128, w_dim: int = 128, mapping_layers: int = 2,
                 channel_base: int = 1024, channel_max: int = 128, style_mixing: float = 0.0):
        super().__init__()
        if style_mixing:
            raise GankitError("generator.style_mixing: 'nvlabs_stylegan2' mixes no styles (NVlabs does it in its "
                              "loss); set it to 0.")
        self.z_dim, self.img_shape = int(z_dim), tuple(img_shape)
        self.G = _nvlabs_generator_class()(
            z_dim=self.z_dim, c_dim=0, w_dim=w_dim, img_resolution=img_shape[1], img_channels=img_shape[0],
            mapping_kwargs=dict(num_layers=mapping_layers),
            synthesis_kwargs=dict(channel_base=channel_base, channel_max=channel_max, num_fp16_res=0, conv_clamp=None))

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.G(z, None, noise_mode="random" if self.training else "const")
