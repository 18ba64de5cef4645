"""The portable model folder: ``model.safetensors`` + ``config.json`` + ``README.md`` (+ ``samples.png``).

It is the layout of huggingface_hub's ``ModelHubMixin`` (weights, a JSON config, a model card),
so the folder is pushed to the Hub as it is, and loading it needs nothing else of the run: no
recipe file, no data, no checkpoint. Nothing in it runs code when loaded (safetensors and JSON).
``config.json`` holds what rebuilds the generator (its recipe node, image shape, classes, z size),
the plugin components it needs (``gankit.runs.provenance``), and for people: the recipe, the final
metrics and the gankit version it came from.
"""
import json
from pathlib import Path

from safetensors.torch import load_model, save_model
from torch import nn

from gankit.config.registry import GENERATORS
from gankit.errors import GankitError, first_line
from gankit.runs import provenance
from gankit.store.files import read_json
from gankit.store.state import SHAPE_RULE, is_image_shape, whole
from gankit.store.weights import check_before_building, check_weights

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
GRID_FILE = "samples.png"
FILES = (CONFIG_FILE, WEIGHTS_FILE, CARD_FILE, GRID_FILE)
FORMAT, FORMAT_VERSION = "gankit-generator", 1
REQUIRED = ("generator", "img_shape", "num_classes", "z_dim")


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding an exported generator (config.json and model.safetensors)."""
    p = Path(path)
    return p.is_dir() and (p / CONFIG_FILE).is_file() and (p / WEIGHTS_FILE).is_file()


def read_config(folder: str | Path) -> dict:
    """The folder's config.json, checked: a gankit export of a format this gankit reads."""
    path = Path(folder) / CONFIG_FILE
    try:
        config = read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GankitError(f"{path}: cannot read it ({first_line(e)}). Export the generator again "
                          f"(gankit export RUN_DIR OUT).") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise GankitError(f"{path}: not a gankit generator export (no \"format\": \"{FORMAT}\"). Give a folder "
                          f"written by `gankit export`, a run directory or a checkpoint.")
    version = config.get("format_version", 0)
    if type(version) is not int:
        raise GankitError(f"{path}: \"format_version\" is {str(version)[:40]!r}, not a whole number. The file is "
                          f"damaged; export the generator again.")
    if version > FORMAT_VERSION:
        raise GankitError(f"{path}: written by a newer gankit ({config.get('gankit_version')}, format "
                          f"{config['format_version']}); this one reads format {FORMAT_VERSION}. Upgrade gankit.")
    missing = [k for k in REQUIRED if k not in config]
    if missing:
        raise GankitError(f"{path}: {', '.join(missing)} missing. The file is damaged; export the generator again.")
    wrong = [f"{k} {str(config[k])[:50]!r} (must be {what})" for k, (ok, what) in _NUMBERS.items() if not ok(config[k])]
    if wrong:
        raise GankitError(f"{path}: {'; '.join(wrong)}. The file is damaged or was edited; export the generator again.")
    return config


_NUMBERS = {  # the numbers config.json rebuilds the generator from
    "img_shape": (is_image_shape, SHAPE_RULE),
    "num_classes": (lambda v: v is None or whole(v, 0, 2**31), "a whole number ≥ 0"),
    "z_dim": (lambda v: whole(v, 1, 2**20), "a whole number ≥ 1"),
    "generator": (lambda v: isinstance(v, dict) and isinstance(v.get("name"), str), "a mapping with a name"),
}


def write_weights(G: nn.Module, folder: str | Path) -> Path:
    """The generator's parameters and buffers as model.safetensors (``{"format": "pt"}``, as the Hub expects)."""
    path = Path(folder) / WEIGHTS_FILE
    save_model(G, str(path), metadata={"format": "pt"})
    return path


def write_config(config: dict, folder: str | Path) -> Path:
    path = Path(folder) / CONFIG_FILE
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def load_folder(folder: str | Path, device="cpu", ema: bool | None = None, plugins=(), where: str | None = None, *,
                trust_plugins: bool = False):
    """The generator of an exported folder, in eval mode (``ema``: None or what the folder holds).

    ``plugins``: what the caller loads first; ``trust_plugins``: also load the plugin code the folder
    names (a file inside it, a module of an installed package: ``provenance.require``)."""
    folder = Path(folder)
    where = where or str(folder)
    config = read_config(folder)
    held = config.get("weights", "ema")
    if ema is not None and ema != (held == "ema"):
        raise GankitError(f"{where}: this export holds only its {held} weights, not the "
                          f"{'EMA' if ema else 'raw'} ones. Load it without ema=, or export the run again "
                          f"{'without' if ema else 'with'} --raw.")
    provenance.require(config.get("plugins", []), where, plugins, folder=folder, trust=trust_plugins)
    ctx = {"img_shape": tuple(config["img_shape"]), "num_classes": int(config["num_classes"] or 0)}
    fix = (f"The file is damaged, or the plugin that provides generator '{config['generator']['name']}' has "
           f"changed; export again or install the version the export names.")
    check_before_building(lambda: GENERATORS.build(config["generator"], "generator", ctx), folder / WEIGHTS_FILE,
                          where, fix)
    G = GENERATORS.build(config["generator"], "generator", ctx)
    if getattr(G, "z_dim", None) != config["z_dim"]:
        raise GankitError(f"{where}: the rebuilt generator has z_dim {getattr(G, 'z_dim', None)}, config.json says "
                          f"{config['z_dim']}. The plugin that provides '{config['generator']['name']}' has changed; "
                          f"install the version the export names.")
    check_weights(G.state_dict(), folder / WEIGHTS_FILE, where, fix)
    try:
        load_model(G, str(folder / WEIGHTS_FILE))
    except Exception as e:  # safetensors and load_state_dict raise several types
        raise GankitError(f"{where}: cannot load {WEIGHTS_FILE} into generator '{config['generator']['name']}' "
                          f"({type(e).__name__}: {first_line(e)}). The file is damaged, or the plugin that provides "
                          f"the generator has changed; export again or install the version the export names.") from None
    G.img_shape = ctx["img_shape"]
    return G.to(device).eval().requires_grad_(False)
