"""The GPU recipes ``scripts/gpu_check.py`` runs, on synthetic data of their shape, and their ``--tiny`` widths."""
from pathlib import Path

from omegaconf import open_dict

from gankit.config import recipe as recipes
from gankit.config.validate import validated

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}

# name → (image size, channels, classes of the real data set, --tiny overrides: a few channels per layer)
RECIPES = {
    "cifar10_r3gan": (32, 3, 10, ["generator.widths=16", "generator.cardinality=4", "generator.embed_dim=8",
                                  "discriminator.widths=16", "discriminator.cardinality=4",
                                  "discriminator.embed_dim=16"]),
    "cifar10_stylegan2_ada": (32, 3, 10, ["generator.z_dim=32", "generator.w_dim=32", "generator.channel_base=128",
                                          "generator.channel_max=16", "discriminator.channel_base=128",
                                          "discriminator.channel_max=16", "discriminator.mbstd_group=4"]),
    "cifar10_sngan": (32, 3, 10, ["generator.z_dim=32", "generator.ch=16", "discriminator.ch=16"]),
    "celeba64_dcgan": (64, 3, 0, ["generator.ngf=8", "discriminator.ndf=8"]),
    "celeba64_stylegan2_ada": (64, 3, 0, ["generator.z_dim=32", "generator.w_dim=32", "generator.channel_base=256",
                                          "generator.channel_max=16", "discriminator.channel_base=256",
                                          "discriminator.channel_max=16", "discriminator.mbstd_group=4"]),
}
TINY_BATCH = 8


def overrides(name: str, precision: str, compile_: bool, device: str, tiny: bool, batch_size=None) -> list[str]:
    """The recipe's overrides for one combination: synthetic data of its shape, no augmentation, no side jobs."""
    size, channels, classes, tiny_widths = RECIPES[name]
    batch = batch_size or (TINY_BATCH if tiny else None)
    out = ["data.name=synthetic", "data.root=null", "data.split=null", f"data.image_size={size}",
           f"data.channels={channels}", f"data.num_classes={classes}",
           f"data.size={64 if tiny else 2048}", "augment=null",  # the hand loop does not replicate ADA
           f"trainer.precision={PRECISIONS[precision]}", f"trainer.compile={'true' if compile_ else 'false'}",
           f"trainer.cpu={'true' if device == 'cpu' else 'false'}", "trainer.max_steps=1000000",
           "trainer.eval_every=null"]
    if batch:
        out.append(f"trainer.batch_size={batch}")
    return out + (tiny_widths if tiny else [])


def load(name: str, precision: str, compile_: bool, device: str, tiny: bool, batch_size=None):
    """The validated recipe of one combination."""
    cfg = recipes.load(ROOT / "recipes" / f"{name}.yaml",
                       overrides(name, precision, compile_, device, tiny, batch_size))
    with open_dict(cfg):  # augmentation is off: its schedule goes with it (R3GAN's augment.p)
        for key in [k for k in cfg.schedules if str(k).startswith("augment.")]:
            del cfg.schedules[key]
    return validated(cfg)


def batch_of(name: str, tiny: bool, batch_size=None) -> tuple[int, int]:
    """(global batch, D steps per iteration) of a recipe as gpu_check runs it (for the plan)."""
    t = recipes.load(ROOT / "recipes" / f"{name}.yaml", overrides(name, "fp32", False, "cpu", tiny, batch_size)).trainer
    return t.batch_size, t.d_steps
