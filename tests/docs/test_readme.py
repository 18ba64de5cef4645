"""The README's commands stay true: the test command is CI's, every recipe and override it shows loads."""
import re
import shlex
from pathlib import Path

from gankit.config import recipe

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def bash_lines() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    lines = [line for b in blocks for line in re.sub(r"\\\n", " ", b).splitlines()]  # continuations joined
    return [line.split("#")[0].strip() for line in lines if line.strip()]


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


def recipe_names() -> set[str]:
    """The recipes in recipes/ (sweep spaces live in recipes/spaces/ and are not recipes)."""
    return {p.stem for p in (ROOT / "recipes").glob("*.yaml")}


def test_the_readme_recipe_list_names_every_recipe():
    section = README.split("\n## Recipes", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z0-9_]+)(?:\.yaml)?`", section))
    missing = sorted(recipe_names() - named)
    assert not missing, f"README.md's Recipes section leaves out {missing}"
    assert len(recipe_names()) >= 20


def test_the_recipes_page_has_a_row_for_every_recipe():
    rows = set(re.findall(r"^\| `([a-z0-9_]+)\.yaml` \|", (ROOT / "docs" / "recipes.md").read_text(), re.M))
    assert rows == recipe_names()
