"""Any folder or .zip of images (PNG/JPEG/...), grayscale or RGB, resized, decoded once into a memory-mapped cache.

Labels: the sub-folders are classes when there are several, unless the folder or zip holds a
``dataset.json`` at its top, as NVlabs' ``dataset_tool.py`` writes (stylegan2-ada, stylegan3, EDM,
R3GAN): then its labels are used, or none when it says ``"labels": null`` (``gankit.data.dataset_json``;
the sub-folders it writes are chunks of a thousand images, not classes). Such a dataset is read by
``image_folder`` rather than by a dataset of its own: it is a folder or zip of images that names its
labels, and the decoding, resizing and caching are the same.

Images of any size and channel count are converted to ``channels`` and resized (shorter side to
``image_size``, then center-cropped), so a folder may mix them. A file with an image suffix that
does not decode (zero bytes, cut short, not an image at all) stops the load with its name, or is
skipped when ``skip_bad`` is set (a warning says how many).

The decoded images are cached as a prepared dataset (``gankit.data.prepare``, read through a memory
map like ``prepared``) under ``cache_dir`` (default ``~/.cache/gankit``), keyed by the files' names,
sizes and modification times and the arguments: the next run with the same files starts without
decoding, and adding, removing or changing a file builds a new cache (replacing the old one).
``cache: false`` decodes into memory on every run and writes nothing.
"""
import tempfile
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path

from gankit.errors import GankitError
from gankit.config.registry import DATASETS
from gankit.data.base import ImageData
from gankit.data.dataset_json import NAME, dataset_json_labels
from gankit.data.decode import CHUNK, default_workers
from gankit.data.labels import subfolder_labels
from gankit.data.paths import check_root, walk_files
from gankit.data.prepare import EXTENSIONS, build, list_source
from gankit.data.prepared import cached, open_prepared, read_meta

SKIP_HINT = "set data.skip_bad=true to skip unreadable files"
PARALLEL_FROM = 8 * CHUNK  # fewer files decode faster in this process than with worker processes


@DATASETS.register("image_folder")
def image_folder(root: str, image_size: int = 64, channels: int = 3, max_images: int | None = None,
                 skip_bad: bool = False, cache: bool = True, cache_dir: str | None = None) -> ImageData:
    """Every image in folder or .zip root (classes: dataset.json, else subfolders), center-cropped, resized, cached."""
    _check_arguments(image_size, channels, max_images)
    root_path, names, items, stats = _source(root, skip_bad)
    found = dataset_json_labels(root_path, names, "data.root")
    label_of, classes, how = found if found is not None else (*subfolder_labels(names), "subfolders")
    args = dict(image_size=image_size, channels=channels, max_images=max_images, skip_bad=skip_bad)

    def make(folder: Path):
        build(names, items, folder, where=root, size=image_size, channels=channels,
              label_of=label_of, class_names=classes, on_bad="skip" if skip_bad else "refuse",
              workers=default_workers() if len(items) >= PARALLEL_FROM else 1, max_images=max_images,
              key="data.root", hint=SKIP_HINT, meta={"source": str(root_path.resolve()), "labels": how})

    if cache:
        folder, _ = cached("image_folder", root_path, (args, stats), make, cache_dir)
        data, meta = open_prepared(folder), read_meta(folder)
    else:
        with tempfile.TemporaryDirectory(prefix="gankit-folder-") as tmp:
            make(Path(tmp))
            data, meta = open_prepared(Path(tmp)), read_meta(Path(tmp))
            labels = data.labels.clone() if data.labels is not None else None
            data = ImageData(data.images.clone(), labels, data.num_classes)  # into memory, then gone
    if meta["bad_count"]:
        warnings.warn(f"data.root: skipped {meta['bad_count']} of {meta['bad_count'] + meta['count']} image files "
                      f"under '{root}' that do not decode (first: {meta['bad'][0]}). Remove them to silence this "
                      f"warning.", UserWarning, stacklevel=2)
    num_classes = data.num_classes if data.num_classes > 1 else 0
    return replace(data, num_classes=num_classes)


def _source(root: str, skip_bad: bool) -> tuple[Path, list[str], list, list[tuple]]:
    """(the folder or .zip, its image names, the items to read them, what the cache is keyed by)."""
    path = Path(root).expanduser()
    if path.is_file() and not zipfile.is_zipfile(path):
        raise GankitError(f"data.root: '{root}' is a file, not a folder or a .zip archive. Point data.root at a "
                          f"folder of images or a .zip of them.")
    if path.is_file():  # a .zip, such as NVlabs' dataset_tool.py writes
        names, items, _ = list_source(path, "data.root")
        if not names:
            raise GankitError(f"data.root: no images ({', '.join(sorted(EXTENSIONS))}) found in the archive "
                              f"'{root}'. Point data.root at a folder or .zip of images.")
        return path, names, items, _stats([path], [path.name])
    root_path = check_root(root)
    files = _image_files(root_path, root, skip_bad)
    names = [p.relative_to(root_path).as_posix() for p in files]
    labels_file = root_path / NAME  # its labels are part of what is cached
    return root_path, names, [str(p) for p in files], _stats(files + [labels_file], names + [NAME])


def _stats(files: list[Path], names: list[str]) -> list[tuple]:
    """(name, size, modification time) of every file: what the cache is keyed by."""
    out = []
    for p, n in zip(files, names):
        try:
            st = p.stat()
            out.append((n, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((n, -1, -1))
    return out


def _check_arguments(image_size, channels, max_images) -> None:
    if channels not in (1, 3):
        raise GankitError(f"data.channels: must be 1 (grayscale) or 3 (RGB), got {channels!r}.")
    if image_size < 1:
        raise GankitError(f"data.image_size: must be ≥ 1 pixel, got {image_size!r}.")
    if max_images is not None and max_images < 1:
        raise GankitError(f"data.max_images: must be ≥ 1 (or null: all), got {max_images!r}.")


def _image_files(root_path: Path, root: str, skip_bad: bool) -> list[Path]:
    files, unreadable = walk_files(root_path)
    if unreadable and not skip_bad:
        raise GankitError(f"data.root: cannot list {len(unreadable)} folder(s) under '{root}' (first: {unreadable[0]}). "
                          f"Give this user read access, or {SKIP_HINT}.")
    files = [p for p in files if p.suffix.lower() in EXTENSIONS]
    if not files:
        raise GankitError(
            f"data.root: no images ({', '.join(sorted(EXTENSIONS))}) found under '{root}'. Point data.root at a folder of images."
        )
    return files
