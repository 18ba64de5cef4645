"""Building blocks shared by the model families: size checks, norm layers, spectral norm, conditional BN."""
import torch
from torch import nn

from gankit.config.registry import NORMS
from gankit.errors import GankitError

@NORMS.register("batch")
def batch_norm(channels: int) -> nn.Module:
    """BatchNorm2d: statistics over the batch (real and fake share them in one forward)."""
    return nn.BatchNorm2d(channels)


@NORMS.register("instance")
def instance_norm(channels: int) -> nn.Module:
    """InstanceNorm2d with a learned affine: per image and channel."""
    return nn.InstanceNorm2d(channels, affine=True)


@NORMS.register("layer")
def layer_norm(channels: int) -> nn.Module:
    """LayerNorm over (C, H, W) (GroupNorm with one group): per image, safe with gradient penalties."""
    return nn.GroupNorm(1, channels)


@NORMS.register("none")
def no_norm(channels: int) -> nn.Module:
    """No normalisation."""
    return nn.Identity()


def norm2d(name: str, channels: int, key: str) -> nn.Module:
    """The norm layer a recipe names (``norm: batch``), or a GankitError naming the key and the choices."""
    return NORMS.entry(name, f"{key}.norm").obj(channels)


def maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    """``module`` wrapped in spectral normalisation (Miyato et al. 2018) when enabled."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral norm on every Conv2d and Linear inside ``module`` (in place; call after init)."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(m)
    return module


def square_size(img_shape, who: str, family: str, supported: str) -> tuple[int, int]:
    """(channels, side) of a square image shape, or a GankitError naming generator/discriminator."""
    c, h, w = (int(v) for v in img_shape)
    if h != w:
        raise GankitError(
            f"{who}: {family} needs square images but the data gives {c}×{h}×{w}. "
            f"Set data.image_size to a supported size ({supported})."
        )
    return c, h


def min_side(img_shape, smallest: int, who: str, family: str) -> int:
    """The channel count, after checking both sides are at least ``smallest`` pixels."""
    c, h, w = (int(v) for v in img_shape)
    if min(h, w) < smallest:
        raise GankitError(
            f"{who}: {family} needs images of at least {smallest}×{smallest} but the data gives {c}×{h}×{w}. "
            f"Set data.image_size ≥ {smallest}, or choose another {who}.name."
        )
    return c


def conv_plan(img_shape, who: str, family: str) -> tuple[int, int, int]:
    """(channels, start, n_up) with side = start · 2**n_up, start ∈ {4, 7}, n_up ≥ 2.

    The DCGAN layout grows a start×start map by stride-2 transposed convolutions, so it serves
    16, 28, 32, 56, 64, 128, ... but not sizes such as 30 or 100.
    """
    supported = "16, 28, 32, 56, 64, 112, 128, 256"
    c, side = square_size(img_shape, who, family, supported)
    for start in (4, 7):
        n, s = 0, side
        while s > start and s % 2 == 0:
            s, n = s // 2, n + 1
        if s == start and n >= 2:
            return c, start, n
    raise GankitError(
        f"{who}: {family} cannot build {c}×{side}×{side} images (sides must be 4·2^k or 7·2^k, "
        f"at least 16). Set data.image_size to one of {supported}, or choose another {who}.name."
    )


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine; a per-class scale and shift (de Vries et al. 2017)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(num_classes, channels)
        self.beta = nn.Embedding(num_classes, channels)
        nn.init.normal_(self.gamma.weight, 1.0, 0.02)  # as DCGAN initialises BN scales: classes differ from the start
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        g = self.gamma(y)[:, :, None, None]
        b = self.beta(y)[:, :, None, None]
        return self.bn(x) * g + b


def require_classes(num_classes, who: str, name: str) -> int:
    """The class count of a conditional model, or a GankitError when the data has no labels."""
    if not num_classes or num_classes < 2:
        raise GankitError(
            f"{who}: '{name}' is conditional and needs a labelled dataset with ≥ 2 classes "
            f"(the data gives num_classes={num_classes}). Use a labelled dataset or an unconditional {who}.name."
        )
    return int(num_classes)


def conditional_classes(num_classes, conditional: bool | None, who: str, name: str) -> int:
    """The classes a model with a ``conditional`` switch conditions on: 0 (unconditional) or ≥ 2.
    ``None`` follows the data (on when it has ≥ 2 classes), ``True`` requires labels, ``False`` never."""
    if conditional is False:
        return 0
    if conditional is True:
        return require_classes(num_classes, who, name)
    return int(num_classes) if num_classes and num_classes >= 2 else 0


def init_dcgan(module: nn.Module) -> None:
    """Radford et al. init: conv weights N(0, 0.02); norm scales N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


IMAGE_OUTPUTS = ("linear", "tanh", "tanh_margin")
TANH_MARGIN = 1.1  # tanh_margin's gain: ±1 at a pre-activation of ±atanh(1 / 1.1) ≈ ±1.52


def check_image_output(output: str, name: str) -> str:
    """A generator's ``output``: ``linear`` (the last layer's values), ``tanh`` (squashed into [-1, 1]) or
    ``tanh_margin`` (1.1·tanh: ±1 within reach)."""
    if output not in IMAGE_OUTPUTS:
        raise GankitError(f"generator.output: 'linear' (the {name} paper's image, the last layer as it is), "
                          f"'tanh' (squashed into [-1, 1]) or 'tanh_margin' (1.1·tanh, which reaches ±1: for "
                          f"data whose pixels sit on the bounds, such as MNIST's background at exactly -1), "
                          f"got {output!r}.")
    return output


def image_output(img: torch.Tensor, output: str) -> torch.Tensor:
    """The generator's last layer → its image.

    ``tanh_margin`` reaches ±1 at finite pre-activations (±1.52), so a pixel that belongs on a bound
    (MNIST's background at exactly −1) has a point D can hold it at. Plain tanh only approaches −1: D
    always finds the fake background a little too grey, and Adam, whose step does not shrink with the
    gradient, walks the pre-activation off towards −∞ until tanh passes no gradient and the pixel is
    dead (on some seeds every pixel is: a constant image). Images may overshoot to ±1.1, which D sees
    and pushes back; pictures and metrics clamp them to [-1, 1], the range of the real images.
    """
    if output == "tanh":
        return img.tanh()
    if output == "tanh_margin":
        return img.tanh() * TANH_MARGIN
    return img
