"""Recipe files: reading one (UTF-8 YAML text holding a mapping), following its ``base:`` chain,
and telling which component arguments a derived recipe keeps from a base it switched away from.

Every file that cannot be a recipe — absent, a folder, empty, binary, not UTF-8, not YAML, not a
mapping, a ``base:`` cycle — is a ``GankitError`` naming the file (and the ``base:`` naming it).
"""
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gankit.config import yaml_files
from gankit.config.overrides import parse_override
from gankit.errors import GankitError, first_line


def load_chain(path: Path, seen: list[Path] | None = None) -> dict:
    """The recipe at ``path`` merged over its ``base:`` chain (without the ``base`` key)."""
    layers = recipe_layers(path, seen)
    merged = layers[-1][1]
    for (child, data), (parent, _) in zip(reversed(layers[:-1]), reversed(layers[1:])):
        try:
            merged = OmegaConf.to_container(OmegaConf.merge(merged, data), resolve=False)
        except (OmegaConfBaseException, TypeError, ValueError) as e:
            raise GankitError(f"base: {child} cannot extend {parent} ({first_line(e)}); a key holds a mapping in "
                              f"one and not in the other.") from None
    return merged


MAX_BASES = 32  # recipes in one base: chain (the zoo's are two or three deep)


def recipe_layers(path: str | Path, seen: list[Path] | None = None) -> list[tuple[Path, dict]]:
    """The files of a recipe's ``base:`` chain with their own keys (``base`` removed), the recipe first."""
    path, seen = Path(path).expanduser(), list(seen or [])
    rpath = _existing_file(path, "recipe" if not seen else "base", seen[-1] if seen else None).resolve()
    if rpath in seen:
        chain = " → ".join(str(p.name) for p in seen + [rpath])
        raise GankitError(f"base: recipes extend each other in a cycle ({chain}). Remove one `base:`.")
    if len(seen) >= MAX_BASES:
        raise GankitError(f"base: {seen[0]} extends a chain of more than {MAX_BASES} recipes (`base:` after `base:`), "
                          f"far more than any real recipe; it was not followed further than {rpath.name}. Check the "
                          f"`base:` keys of those files.")
    data = _read_recipe_file(path)
    base = data.pop("base", None)
    if base is None:
        return [(path, data)]
    if not isinstance(base, str):
        raise GankitError(f"base: expected a path to another recipe, got {base!r} in {path}.")
    return [(path, data)] + recipe_layers(path.parent / base, seen + [rpath])


# Recipe sections that name a component (``name:``) beside its arguments.
COMPONENT_SECTIONS = ("generator", "discriminator", "loss", "data", "augment")


def inherited_arguments(path: str | Path, overrides=()) -> dict[str, str]:
    """Component arguments a recipe keeps from a ``base:`` file below the one that names the component.

    ``{"data.split": "/recipes/mnist_dcgan.yaml"}`` when a derived recipe switches ``data.name`` and
    the base's ``split`` stays in the merge: dotted key → the file that set it. Overrides count as
    the topmost layer."""
    chain = recipe_layers(path)
    layers = [_override_layer(overrides)] + [data for _, data in chain]
    files = ["the command line"] + [str(p.resolve()) for p, _ in chain]
    found = {}
    for section in COMPONENT_SECTIONS:
        nodes = [_node(layer, section) for layer in layers]
        found.update(_kept_below_name(nodes, nodes, files, section))
    for net in ("g", "d"):  # an optimizer's arguments live in its `args`, beside its `name`
        nodes = [_node(_node(layer, "optim"), net) for layer in layers]
        found.update(_kept_below_name(nodes, [_node(n, "args") for n in nodes], files, f"optim.{net}.args"))
    return found


def _node(layer, key: str) -> dict:
    return layer.get(key) if isinstance(layer.get(key), dict) else {}


def _kept_below_name(named_in: list[dict], args_in: list[dict], files: list[str], prefix: str) -> dict[str, str]:
    """Arguments set only in layers below the topmost one that names the component."""
    named = next((i for i, n in enumerate(named_in) if "name" in n), None)
    found: dict[str, str] = {}
    if named is None:
        return found
    for i in range(named + 1, len(args_in)):
        for key in args_in[i]:
            if key != "name" and not any(key in n for n in args_in[:i]) and f"{prefix}.{key}" not in found:
                found[f"{prefix}.{key}"] = files[i]
    return found


def _override_layer(overrides) -> dict:
    layer: dict = {}
    for ov in overrides:
        try:
            layer = OmegaConf.to_container(OmegaConf.merge(layer, parse_override(ov)), resolve=False)
        except (GankitError, OmegaConfBaseException, TypeError, ValueError):
            continue  # the override's own problem is reported elsewhere
    return layer


def _existing_file(path: Path, key: str, referrer: Path | None) -> Path:
    """``path`` when it is a file; otherwise an error that says what it is (absent, a folder)."""
    where = f" (named by `base:` in {referrer})" if referrer else ""
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except (OSError, ValueError):  # a name with a NUL byte or too long
        is_file = is_dir = False
    if is_dir:
        raise GankitError(f"{key}: '{path}'{where} is a folder, not a recipe file. Give the path of a .yaml "
                          f"recipe (see recipes/).")
    if not is_file:
        raise GankitError(f"{key}: file '{path}'{where} not found. Give the path to a .yaml recipe (see recipes/).")
    return path


def _read_recipe_file(path: Path) -> dict:
    """One recipe file's own keys: UTF-8 YAML text holding a mapping, anything else an error naming the file."""
    text = _recipe_text(path)
    try:
        data = yaml_files.parse(text, f"recipe: {path}")  # bounded: size and alias expansion
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise GankitError(f"recipe: {path} is not valid YAML{where}: {problem}. Fix the syntax there.") from None
    except OSError as e:  # OmegaConf.load raises it for a file holding a single number or string
        raise GankitError(f"recipe: {path} must hold a mapping of keys (generator:, trainer:, ...): "
                          f"{first_line(e)}.") from None
    except (OmegaConfBaseException, ValueError) as e:
        raise GankitError(f"recipe: cannot read {path}: {first_line(e)}.") from None
    if data is None or data == {}:
        raise GankitError(f"recipe: {path} is empty (no keys, only whitespace or comments), so it names nothing to "
                          f"train. Write the recipe's keys (generator:, data:, trainer:, ...), or to train a known "
                          f"recipe unchanged name it, e.g. `base: mnist_dcgan.yaml` or recipes/mnist_dcgan.yaml.")
    if not isinstance(data, dict):
        raise GankitError(f"recipe: {path} must hold a mapping of keys (generator:, trainer:, ...), not {type(data).__name__}.")
    return data


def _recipe_text(path: Path) -> str:
    """A recipe file's text (bounded; a binary or non-UTF-8 file is an error that says so)."""
    return yaml_files.read_text(path, "recipe")
