"""docs/migrating.md stays true: every `gankit train` command it shows validates (recipe, overrides, names)."""
import re
import shlex
from pathlib import Path

from gankit.config import validate

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "migrating.md").read_text()


def train_commands() -> list[list[str]]:
    """The arguments after `train` of every bash line that trains (direct or behind a launcher)."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", PAGE, flags=re.S):
        for line in block.splitlines():
            words = shlex.split(line.split(" #", 1)[0])
            if "gankit" in words and "train" in words:
                out.append(words[words.index("train") + 1:])
    return out


def test_every_train_command_on_the_page_validates():
    commands = train_commands()
    assert len(commands) >= 6
    for args in commands:
        path, overrides = args[0], [a for a in args[1:] if "=" in a and not a.startswith("-")]
        validate.load(ROOT / path, overrides)  # raises on any unknown key, value or component


def test_the_overrides_in_the_text_validate():
    """The inline overrides the page recommends (R1, augmentation, precision, evaluation) are valid keys."""
    validate.load(ROOT / "recipes/cifar10_stylegan2_ada.yaml", [
        "penalties[0].gamma=0.05", "penalties[0].interval=16", "augment=null", "trainer.grad_accum=2",
        "generator.num_fp16_res=0", "discriminator.num_fp16_res=0", "generator.conv_clamp=null",
        "discriminator.conv_clamp=null", "metrics=[{name: fd, features: inception_v3}]", "trainer.eval_every=3125",
        "eval.best=fd", "trainer.precision=no"])
    validate.load(ROOT / "recipes/cifar10_r3gan.yaml", ["data={name: prepared, root: data/x, split: null}"])
