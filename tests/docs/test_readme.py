"""The README's commands stay true: the test command is CI's, every recipe and override it shows loads."""
import re
import shlex
from pathlib import Path

from gankit.config import recipe

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def bash_lines() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    return [line.split("#")[0].strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_the_readme_test_command_is_what_ci_runs():
    assert "python -m pytest" in bash_lines()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "python -m pytest" in ci


def test_the_install_command_admits_the_pinned_torch():
    install = next(line for line in bash_lines() if line.startswith("pip install"))
    assert 'torch==2.14.1' in install and 'torchvision==0.29.1' in install and '-e ".[dev]"' in install
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch>=2.4,<2.15"' in pyproject and '"torchvision>=0.19,<0.30"' in pyproject
    assert "gankit train recipes/mnist_dcgan.yaml" in install


def test_every_recipe_and_override_shown_loads():
    shown = 0
    for line in bash_lines():
        for cmd in line.split("&&"):
            words = shlex.split(cmd)
            if "gankit" in words and "train" in words:
                args = words[words.index("train") + 1:]
                path, overrides = args[0], [a for a in args[1:] if "=" in a and not a.startswith("-")]
                recipe.load(ROOT / path, overrides)  # raises on any mistake
                shown += 1
    assert shown >= 5
