"""The run directory's names and the crash-safe ways to write into it.

Every write here is atomic: a reader (or a crash) sees the old content or the new, never half.
``replacing`` writes a file beside its target and renames it into place; ``swap_in`` does the same
for a folder; ``remove_stale_temporaries`` removes what a killed process left half-written.

A full disk (or quota) is one error everywhere: ``disk_full`` turns the ``OSError`` (ENOSPC,
EDQUOT, or torch's stream writer failing on a short write) into a ``DiskFull`` naming the path,
the bytes it needed and the bytes free; ``replacing`` raises it, and nothing is left under the
final name. A place that cannot be written at all (a read-only file system, no permission, a file
where a folder belongs) is one error too: ``cannot_write``.

Every JSON file of a run (state.json, config.json, machine.json, the lock) is read through
``read_json``: only a regular file (never a device or a pipe, which would not end), at most
``MAX_JSON_BYTES``, and nesting too deep for the parser is a ``ValueError`` like any bad JSON.
"""
import contextlib
import errno
import json
import os
import re
import shutil
import stat
from pathlib import Path

from gankit.errors import GankitError

RECIPE_FILE = "recipe.yaml"
METRICS_FILE = "metrics.jsonl"
REPORT_FILE = "report.html"
CURVES_FILE = "curves.png"
SAMPLES_DIR = "samples"
CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "state.json"
EMA_FILE = "ema.safetensors"
MODEL_FILE = "model.safetensors"  # the generator: the first model accelerate saves
BEST = "best"
STEP_PREFIX = "step-"  # checkpoints/step-0000123 (and samples/step-0000123.png)
# What a run writes that `gankit train --overwrite` removes (recipe.yaml is written again); anything
# else in the folder (notes, a .git/, trackers' folders) is the user's and stays.
RUN_OUTPUTS = (CHECKPOINTS_DIR, SAMPLES_DIR, METRICS_FILE, REPORT_FILE, CURVES_FILE)


def check_path(path: str | Path, what: str) -> Path:
    """``path``, refused (a GankitError naming ``what``) when it cannot be written as UTF-8 text: a name
    of bytes that are not UTF-8, which Python holds as surrogate escapes. A run writes its paths into
    UTF-8 files (recipe.yaml, metrics.jsonl, report.html, config.json), so such a path is refused at the start."""
    text = str(Path(path).absolute())
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raw = os.fsencode(text)
        raise GankitError(f"{what}: the path {raw!r} is not valid UTF-8 (byte {raw[e.start:e.start + 1]!r} of its "
                          f"name). gankit writes a run's paths into UTF-8 files, so it does not use such a path; "
                          f"rename the folder to a UTF-8 name (e.g. with mv) and try again.") from None
    return Path(path)


REPLACEABLE = (REPORT_FILE, CURVES_FILE)  # what a verb may write again into a run directory


def check_out_file(path: str | Path, what: str = "--out") -> Path:
    """An output file ``path`` that a verb (sample, plot, report, neighbours, compare) may write: UTF-8
    (``check_path``), in an existing folder, not a folder itself, and never a run's own file (its recipe,
    metrics, a checkpoint's files), which the output would replace; report.html and curves.png may be."""
    path = check_path(path, what)
    if not path.parent.is_dir():
        raise GankitError(f"{what}: folder {path.parent} does not exist. Create it or choose another path.")
    if path.is_dir():
        raise GankitError(f"{what}: {path} is a folder; give a file name in it.")
    held = [n for n in (RECIPE_FILE, STATE_FILE) if (path.parent / n).is_file()]
    if path.exists() and held and path.name not in REPLACEABLE:
        raise GankitError(f"{what}: {path} is a file of a run directory or checkpoint (beside its {held[0]}); writing "
                          f"there would replace it. Give a path outside the run, e.g. {path.stem}-out{path.suffix}.")
    return path


# -- bounded reads -----------------------------------------------------------------------
MAX_JSON_BYTES = 16 * 2**20  # a run's JSON files are a few KiB (config.json holds a recipe)


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (a symlink is followed), at most ``limit`` of them; an OSError
    for anything else: a device (/dev/zero) or a pipe (opened without waiting for a writer), a larger file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EINVAL, f"larger than {limit:,} bytes", str(path))
    return data


def loads_json(text: str | bytes):
    """``json.loads``, with nesting too deep for the parser (``[[[[…``) a ``json.JSONDecodeError`` too."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", str(text[:80]), 0) from None


def read_json(path: str | Path, limit: int = MAX_JSON_BYTES):
    """The JSON of a run file, bounded (``read_bounded``); OSError when it cannot be read, ValueError
    (``json.JSONDecodeError``, ``UnicodeDecodeError``) when it is not UTF-8 JSON."""
    return loads_json(read_bounded(path, limit).decode("utf-8"))


# -- a full disk -------------------------------------------------------------------------
FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
# how libraries that are not Python's OSError say it: torch.save's stream writer, safetensors' Rust I/O error
_FULL_WORDS = ("unexpected pos", "PytorchStreamWriter failed writing", "No space left on device",
               "Disk quota exceeded", "(os error 28)", "(os error 122)")


class DiskFull(GankitError):
    """A write failed because the disk (or the user's quota) is full; nothing was left under the path."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


def is_disk_full(e: BaseException) -> bool:
    """Whether ``e`` is a write failing for lack of space (an OSError, torch's writer cut short, safetensors' error)."""
    if isinstance(e, DiskFull):
        return True
    if isinstance(e, OSError) and e.errno is not None:
        return e.errno in FULL_ERRNOS
    return isinstance(e, Exception) and any(s in str(e) for s in _FULL_WORDS)


def free_bytes(path: str | Path) -> int | None:
    """Bytes free on the file system holding ``path`` (its nearest existing folder); None when unknown."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def size_of(path: str | Path) -> int:
    """Bytes of a file, or of every file under a folder (0 for what cannot be read)."""
    p = Path(path)
    try:
        if p.is_file():
            return p.stat().st_size
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    except OSError:
        return 0


def disk_full(path: str | Path, e: BaseException, needed: int | None = None, kept: str = "", fix: str = "") -> DiskFull:
    """The one message for a write that ran out of space: the path, the bytes needed and free, what was
    kept (default: nothing under ``path``) and the fix (default: free space and run the command again)."""
    path = Path(path)
    if isinstance(e, DiskFull) and e.path == path:
        return e
    free = free_bytes(path)
    why = os.strerror(e.errno) if isinstance(e, OSError) and e.errno else "the disk is full"
    need = f"about {needed:,} bytes" if needed else "more space"
    have = f"{free:,} bytes are free there" if free is not None else "the free space is unknown"
    kept = kept or "Nothing was written under that name (an earlier file of that name is unchanged)."
    fix = fix or "Free disk space (or write elsewhere) and run the command again."
    return DiskFull(f"{path}: writing it failed ({why}): it needs {need} and {have}. {kept} {fix}", path)


# a place that cannot be written: read-only, no permission, a file where a folder belongs (or the reverse)
CANNOT_WRITE_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG}


def cannot_write(path: str | Path, e: OSError) -> GankitError:
    """The one message for a place that cannot be written (``CANNOT_WRITE_ERRNOS``): the path, why, the fix."""
    why = os.strerror(e.errno) if e.errno else str(e)
    return GankitError(f"{path}: cannot write there ({why}). Nothing was written under that name. Give a path in a "
                       f"folder you may write to (check the folder's permissions, and that no file stands where a "
                       f"folder belongs), and run the command again.")


@contextlib.contextmanager
def disk_errors_of(path: str | Path, needed=None):
    """Inside the block, a full disk while writing ``path`` raises ``disk_full``'s error, and a place that
    cannot be written ``cannot_write``'s. ``needed``: the bytes being written, or a function giving them."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - libraries report a full disk in their own exception types
        if isinstance(e, OSError) and e.errno in CANNOT_WRITE_ERRNOS:
            raise cannot_write(path, e) from None
        if not is_disk_full(e):
            raise
        raise disk_full(path, e, needed() if callable(needed) else needed) from None


# -- atomic writes -----------------------------------------------------------------------
def fsync_dir(path: str | Path) -> None:
    """Make a folder's entries (new names, renames) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: str | Path) -> None:
    """fsync every file and folder under ``path``."""
    for root, _, files in os.walk(path):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(root)


@contextlib.contextmanager
def replacing(path: str | Path, size: int | None = None):
    """Yield a temporary path beside ``path``; write it inside the block. On success it is fsynced
    and renamed over ``path``; on any error it is removed and ``path`` keeps its old content.
    A full disk raises ``DiskFull`` naming ``path`` and ``size`` (the bytes being written, when
    known; else those written before the disk filled)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with disk_errors_of(path, lambda: size or size_of(tmp) or None):
            yield tmp
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # the rename is done; making it durable is best effort
        fsync_dir(path.parent)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file so that readers see the old or the new content, never half of it."""
    data = text.encode("utf-8")
    with replacing(path, len(data)) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(path: str | Path, obj) -> None:
    """``write_text_atomic`` of ``obj`` as indented JSON."""
    write_text_atomic(path, json.dumps(obj, indent=1))


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write a file of ``data`` atomically (a full disk: ``DiskFull``, nothing under ``path``)."""
    with replacing(path, len(data)) as tmp:
        tmp.write_bytes(data)


def swap_in(tmp_dir: str | Path, final_dir: str | Path) -> None:
    """Rename a complete ``tmp_dir`` folder to ``final_dir``; an existing ``final_dir`` stays until replaced.

    A crash at any moment leaves either the old or the new folder under ``final_dir``, or the
    old one parked as ``.old-<name>`` beside it (to be put back by whoever cleans up after a crash).
    """
    tmp, final = Path(tmp_dir), Path(final_dir)
    fsync_tree(tmp)
    old = final.parent / f".old-{final.name}"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    fsync_dir(final.parent)
    shutil.rmtree(old, ignore_errors=True)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files ``replacing`` left in ``folder`` when its process was killed
    (``.<name>.<pid>.tmp`` whose process is gone); returns them."""
    removed = []
    for p in Path(folder).glob(".*.tmp"):
        m = _TEMP.fullmatch(p.name)
        if m and not alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


_TEMP = re.compile(r"\..+\.(\d+)\.tmp")


def alive(pid) -> bool:
    """Whether the process ``pid`` of this host still runs (another user's, or a pid that is not one: assumed so)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError, TypeError, OverflowError):  # another user's process, or no pid
        return True
    return True
