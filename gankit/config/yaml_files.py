"""The one way gankit reads a YAML file (a recipe, a run's stored recipe, a sweep space), bounded.

A file larger than ``MAX_BYTES`` is refused before it is parsed, and one whose aliases expand to more
than ``MAX_NODES`` nodes (an alias bomb: a few lines that stand for billions of values) is refused
before anything is built from it: OmegaConf's loader counts the expanded nodes. One nested deeper than
``MAX_DEPTH`` (``[[[[…``, or aliases inside aliases) is refused from its parser events, before the
loaders, which recurse per level (and crash the interpreter some ten thousand levels down). Values are read as
OmegaConf reads them (``1e-4`` is a float), interpolations are kept as written.
"""
import io
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from gankit.errors import GankitError

MAX_BYTES = 4 * 2**20  # a recipe or a space of any real use is a few KiB
MAX_NODES = 100_000  # nodes after alias expansion (recipes have hundreds)
MAX_DEPTH = 64  # levels of nesting after alias expansion (recipes have five or six)


def read_text(path: str | Path, key: str) -> str:
    """The text of a YAML file, read only when it is at most ``MAX_BYTES``; errors name ``key`` and the path."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise GankitError(f"{key}: cannot read {path} ({e.strerror or e}). Check the file's permissions.") from None
    if len(raw) > MAX_BYTES:
        raise GankitError(f"{key}: {path} is larger than {MAX_BYTES // 2**20} MiB, far more than any recipe or "
                          f"sweep space; it was not read. Check that this is the file you meant.")
    if b"\0" in raw:
        raise GankitError(f"{key}: {path} is a binary file (it holds NUL bytes), not YAML. Give the path of a "
                          f".yaml text file.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise GankitError(f"{key}: {path} is not UTF-8 text (byte 0x{raw[e.start]:02x} at position {e.start}). "
                          f"Save it as UTF-8.") from None


def parse(text: str, where: str):
    """The plain containers of YAML ``text`` (None when empty); a document whose aliases expand past
    ``MAX_NODES`` is a GankitError naming ``where``. Other syntax errors raise ``yaml.YAMLError``; a
    document that is a single number or string raises ``OSError`` (as ``OmegaConf.load``)."""
    if len(text) > MAX_BYTES:
        raise GankitError(f"{where}: more than {MAX_BYTES // 2**20} MiB of YAML; it was not read.")
    if not text.strip():
        return None
    if _depth(text) > MAX_DEPTH:
        raise GankitError(f"{where}: its values are nested more than {MAX_DEPTH} levels deep (lists or mappings "
                          f"inside each other, aliases counted), far more than any recipe or space; it was refused "
                          f"without building it. Check that this is the file you meant.")
    try:
        loaded = OmegaConf.load(io.StringIO(text), max_yaml_expanded_nodes=MAX_NODES)
    except yaml.constructor.ConstructorError as e:
        if "expan" not in str(e.problem):
            raise
        raise GankitError(f"{where}: its YAML aliases (*name) expand to more than {MAX_NODES:,} values, an alias "
                          f"bomb or a file that is not what it seems; it was refused without building it. Write the "
                          f"values out, or use fewer nested aliases.") from None
    return OmegaConf.to_container(loaded, resolve=False)


def _depth(text: str) -> int:
    """How deep the YAML ``text`` nests, an alias counting as the depth of what it names; stops counting
    once past ``MAX_DEPTH``. Syntax errors are left to the loader."""
    open_, heights, deepest = [], {}, 0  # open collections: [anchor, the deepest level reached inside]
    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(ev, yaml.CollectionStartEvent):
                open_.append([ev.anchor, len(open_) + 1])
                reached = len(open_)
            elif isinstance(ev, yaml.CollectionEndEvent):
                anchor, inner = open_.pop()
                if anchor:
                    heights[anchor] = inner - len(open_)
                reached = inner
            elif isinstance(ev, yaml.AliasEvent):
                reached = len(open_) + heights.get(ev.anchor, 0)
            else:
                continue
            if open_:
                open_[-1][1] = max(open_[-1][1], reached)
            deepest = max(deepest, reached)
            if deepest > MAX_DEPTH:
                break
    except yaml.YAMLError:
        pass
    return deepest


def read(path: str | Path, key: str):
    """``parse`` of the file at ``path`` (bounded by ``read_text``)."""
    return parse(read_text(path, key), f"{key}: {path}")
