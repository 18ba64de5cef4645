"""Decode a folder or a .zip of images once, in parallel, into a memory-mappable uint8 array on disk.

``prepare(src, out, ...)`` lists the images of ``src`` (a folder, or a .zip), decodes them in worker
processes (a chunked, ordered map: the array is the same for any worker count), converts each to
grayscale or RGB, resizes the shorter side to ``size`` and center-crops (or, ``crop="none"``, resizes
to ``size``×``size``), and writes into ``out``:

* ``images.u8``: the raw N×C×H×W uint8 array, images in the sorted order of their names;
* ``labels.npy``: int64 labels, when there are labels (sub-folders as classes, or a labels file, or
  the ``dataset.json`` that NVlabs' ``dataset_tool.py`` writes, found at the top of ``src``);
* ``meta.json``: shape, dtype, count, classes and their names, the source and the files skipped.

Every file is written under a temporary name and renamed into place, ``meta.json`` last, so ``out``
never holds a half-written array. ``gankit.data.prepared`` reads the result through a memory map.
"""
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from gankit.data.dataset_json import dataset_json_labels
from gankit.data.decode import BadImage, Spec, decoded, default_workers, probe, read_item
from gankit.data.labels import file_labels, subfolder_labels
from gankit.data.paths import check_root, walk_files
from gankit.errors import GankitError
from gankit.store.files import disk_errors_of, size_of

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
FORMAT = "gankit.prepared"
VERSION = 1
CROPS = ("center", "none")
ON_BAD = ("skip", "refuse")
SKIP_HINT = "pass --on-bad skip to skip unreadable files"


def list_source(src: str | Path, key: str = "SRC") -> tuple[list[str], list, list[str]]:
    """(image names relative to ``src``, with / separators; the items to read them; folders that could not be listed)."""
    path = Path(src).expanduser()
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = sorted(n for n in z.namelist() if not n.endswith("/") and Path(n).suffix.lower() in EXTENSIONS)
        unsafe = next((n for n in names if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/").split("/")), None)
        if unsafe is not None:  # nothing is extracted, but such a name is a sign of a hostile or broken archive
            raise GankitError(f"{key}: the archive '{src}' holds a member named '{unsafe}', a path outside the "
                              f"archive; it was not read. Make the zip again from a folder of images.")
        return names, [(str(path.resolve()), n) for n in names], []
    if path.is_file():
        raise GankitError(f"{key}: '{src}' is a file but not a .zip archive. Point {key} at a folder of images or "
                          f"a .zip of them.")
    root = check_root(path, key)
    files, unreadable = walk_files(root)
    files = [p for p in files if p.suffix.lower() in EXTENSIONS]
    return [p.relative_to(root).as_posix() for p in files], [str(p) for p in files], unreadable


# --- writing ---------------------------------------------------------------------------------------------

def write_prepared(out: Path, images, labels, meta: dict, check=None, late=None, size: int | None = None) -> dict:
    """Write ``images`` (an iterable of uint8 (C, H, W) arrays, all alike) and ``labels`` into ``out``,
    each file under a temporary name, renamed into place with ``meta.json`` last. Returns the meta.

    ``labels`` (a sequence) and ``late()`` (more meta) are read once every image is written;
    ``check(count)`` may then refuse the result, and nothing is renamed into place. A full disk is the
    store's ``DiskFull`` naming ``out`` and the bytes needed (``size``, the array's expected bytes)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = {name: out / f".{name}.tmp-{os.getpid()}" for name in ("images.u8", "labels.npy", "meta.json")}
    with disk_errors_of(out / "images.u8", lambda: size or size_of(tmp["images.u8"]) or None):
        return _write_prepared(out, tmp, images, labels, meta, check, late)


def _write_prepared(out: Path, tmp: dict, images, labels, meta: dict, check, late) -> dict:
    try:
        count, shape = 0, None
        with open(tmp["images.u8"], "wb") as f:
            for a in images:
                shape = shape or a.shape
                f.write(a.tobytes())
                count += 1
        if check is not None:
            check(count)
        meta = {"format": FORMAT, "version": VERSION, "shape": [count, *(shape or (0, 0, 0))], "dtype": "uint8",
                "count": count, **meta, **(late() if late else {})}
        meta["bad_count"] = len(meta.get("bad", []))
        if labels is not None:
            with open(tmp["labels.npy"], "wb") as f:
                np.save(f, np.asarray(labels[:count], dtype=np.int64))
        tmp["meta.json"].write_text(json.dumps(meta, indent=1))
        (out / "meta.json").unlink(missing_ok=True)  # an older array is never paired with the new meta
        if labels is not None:
            os.replace(tmp["labels.npy"], out / "labels.npy")
        else:
            (out / "labels.npy").unlink(missing_ok=True)
        os.replace(tmp["images.u8"], out / "images.u8")
        os.replace(tmp["meta.json"], out / "meta.json")
        return meta
    finally:
        for p in tmp.values():
            p.unlink(missing_ok=True)


# --- the whole job -----------------------------------------------------------------------------------------

def prepare(src: str | Path, out: str | Path, *, size: int | None = None, crop: str = "center",
            channels: int | None = None, labels: str = "auto", workers: int | None = None, on_bad: str = "skip",
            overwrite: bool = False, progress: bool = False) -> dict:
    """Decode the images of folder or zip ``src`` into ``out`` (see the module doc); returns the meta written."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise GankitError(f"OUT: '{out}' is a file. Give a folder (new or empty) for the prepared dataset.")
    if (out / "meta.json").exists() and not overwrite:
        raise GankitError(f"OUT: '{out}' already holds a prepared dataset. Pass --overwrite to replace it, "
                          f"or give another folder.")
    names, items, unreadable = list_source(src)
    if unreadable and on_bad == "refuse":
        raise GankitError(f"SRC: cannot list {len(unreadable)} folder(s) under '{src}' (first: {unreadable[0]}). "
                          f"Give this user read access, or {SKIP_HINT}.")
    if not names:
        raise GankitError(f"SRC: no images ({', '.join(sorted(EXTENSIONS))}) found in '{src}'. Point SRC at a "
                          f"folder or .zip of images.")
    from_json = dataset_json_labels(src, names, "SRC") if labels == "auto" else None
    if from_json is not None:  # NVlabs' dataset_tool.py layout: sub-folders are chunks, dataset.json has the labels
        label_of, class_names, how = from_json
    elif labels == "none" or (labels == "auto" and len({n.rpartition('/')[0] for n in names}) < 2):
        label_of, class_names, how = None, None, None
    elif labels in ("auto", "subfolders"):
        (label_of, class_names), how = subfolder_labels(names), "subfolders"
    else:
        (label_of, class_names), how = file_labels(labels, names), str(Path(labels).resolve())
    return build(names, items, out, where=str(src), size=size, crop=crop, channels=channels, label_of=label_of,
                 class_names=class_names, on_bad=on_bad, workers=workers, progress=progress,
                 pre_bad=list(unreadable), meta={"source": str(Path(src).resolve()), "labels": how})


def build(names: list[str], items: list, out: Path, *, where: str, size: int | None, crop: str = "center",
          channels: int | None, label_of: list | None = None, class_names: list | None = None, on_bad: str = "skip",
          workers: int | None = None, max_images: int | None = None, progress: bool = False, key: str = "SRC",
          hint: str = SKIP_HINT, pre_bad: list[str] | None = None, meta: dict | None = None) -> dict:
    """Decode ``items`` (named ``names`` under ``where``) into the prepared dataset ``out``; returns its meta.

    ``size`` / ``channels`` None: those of the first image that opens (then an image of the other
    channel count is a bad file). ``label_of[i]`` None: item i has no label, a bad file. A bad file
    stops the build with its name (``on_bad="refuse"``) or is skipped and listed in the meta."""
    if crop not in CROPS or on_bad not in ON_BAD:
        raise ValueError((crop, on_bad))
    bad = list(pre_bad or [])

    def refuse_or_note(name: str, why: str):
        if on_bad == "refuse":
            raise GankitError(f"{key}: cannot read image {os.path.join(where, name)} ({why}). Remove or replace the "
                              f"file, or {hint}.")
        bad.append(f"{os.path.join(where, name)}: {why}")

    keep = []
    for i, name in enumerate(names):
        if label_of is not None and label_of[i] is None:
            refuse_or_note(name, "no label in the labels file")
        else:
            keep.append(i)
    spec = _spec(names, items, keep, size, channels, crop, where, key)
    kept_labels, count = [], 0

    def images():
        nonlocal count
        for j, result in decoded([items[i] for i in keep], spec, workers or default_workers(), progress):
            if max_images is not None and count >= max_images:
                return
            if isinstance(result, str):
                refuse_or_note(names[keep[j]], result)
                continue
            if label_of is not None:
                kept_labels.append(label_of[keep[j]])
            count += 1
            yield result

    def late() -> dict:  # once every image is written
        num = len(class_names) if class_names else (max(kept_labels, default=-1) + 1 if label_of is not None else 0)
        return {"num_classes": num, "class_names": class_names, "bad": bad}

    meta = {**(meta or {}), "size": spec.size, "crop": crop, "channels": spec.channels}
    return write_prepared(out, images(), kept_labels if label_of is not None else None, meta,
                          check=lambda n: _check_count(n, names, bad, where, key), late=late,
                          size=len(keep) * spec.channels * spec.size * spec.size)


def _check_count(count: int, names, bad, where, key) -> None:
    if count == 0:
        raise GankitError(f"{key}: none of the {len(names)} image files under '{where}' could be read (first: "
                          f"{bad[0] if bad else '?'}). Point {key} at a folder of images.")


def _spec(names, items, keep, size, channels, crop, where, key) -> Spec:
    """The conversion of every image: ``size`` and ``channels`` as given, else those of the first image that opens."""
    if size is not None and channels is not None:
        return Spec(size, channels, crop)
    first_bad = None
    for i in keep:
        try:
            w, h, c = probe(read_item(items[i]))
        except BadImage as e:
            first_bad = first_bad or f"{os.path.join(where, names[i])}: {e}"
            continue
        return Spec(size or min(w, h), channels or c, crop, strict_channels=channels is None)
    raise GankitError(f"{key}: none of the {len(names)} image files under '{where}' could be read (first: "
                      f"{first_bad}). Point {key} at a folder of images.")
