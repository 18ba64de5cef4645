"""Local Hugging Face ``datasets`` on disk: a ``save_to_disk`` folder, or .arrow / .parquet files.

The image column (an ``Image`` feature, encoded bytes, or arrays) is decoded once, like
``image_folder``, into a memory-mapped cache keyed by the files' names, sizes and times and the
arguments; the label column (a ``ClassLabel``, whole numbers or class names) is optional. Nothing
is downloaded: ``path`` is a local folder or file. Needs ``pip install 'gankit[hf]'``.
"""
import io
import tempfile
import warnings
from pathlib import Path

import numpy as np

from gankit.config.registry import DATASETS
from gankit.data.base import ImageData
from gankit.data.decode import CHUNK, default_workers
from gankit.data.paths import walk_files
from gankit.data.prepare import build
from gankit.data.prepared import cached, open_prepared, read_meta
from gankit.errors import GankitError

INSTALL = "Install it with pip install 'gankit[hf]' (or pip install datasets)."
SKIP_HINT = "set data.skip_bad=true to skip unreadable images"


@DATASETS.register("hf_datasets")
def hf_datasets(path: str, image_column: str = "image", label_column: str | None = None, split: str | None = None,
                image_size: int | None = None, channels: int = 3, skip_bad: bool = False, cache: bool = True,
                cache_dir: str | None = None) -> ImageData:
    """A local Hugging Face dataset (save_to_disk folder, .arrow or .parquet files), decoded once into a memory-mapped cache."""
    if channels not in (1, 3):
        raise GankitError(f"data.channels: must be 1 (grayscale) or 3 (RGB), got {channels!r}.")
    source = Path(path).expanduser()
    if not source.exists():
        raise GankitError(f"data.path: '{path}' does not exist. Point data.path at a folder written by "
                          f"Dataset.save_to_disk, or at .arrow / .parquet files.")
    files = walk_files(source)[0] if source.is_dir() else [source]
    args = dict(image_column=image_column, label_column=label_column, split=split, image_size=image_size,
                channels=channels, skip_bad=skip_bad)
    stats = [(str(f.relative_to(source)) if source.is_dir() else f.name, f.stat().st_size, f.stat().st_mtime_ns)
             for f in files]

    def make(folder: Path):
        ds = load(source, split)
        items, labels, names = rows(ds, image_column, label_column, str(path))
        build([f"{path} row {i}" for i in range(len(items))], items, folder, where="", size=image_size,
              channels=channels, label_of=labels, class_names=names, on_bad="skip" if skip_bad else "refuse",
              workers=default_workers() if len(items) >= 8 * CHUNK else 1, key="data.path", hint=SKIP_HINT,
              meta={"source": str(source.resolve()), "labels": label_column})

    if cache:
        folder, _ = cached("hf_datasets", source, (args, stats), make, cache_dir)
        data, meta = open_prepared(folder, "data.path"), read_meta(folder, "data.path")
    else:
        with tempfile.TemporaryDirectory(prefix="gankit-hf-") as tmp:
            make(Path(tmp))
            data, meta = open_prepared(Path(tmp), "data.path"), read_meta(Path(tmp), "data.path")
            data = ImageData(data.images.clone(), data.labels.clone() if data.labels is not None else None,
                             data.num_classes)
    if meta["bad_count"]:
        warnings.warn(f"data.path: skipped {meta['bad_count']} of {meta['bad_count'] + meta['count']} images of "
                      f"'{path}' that do not decode (first: {meta['bad'][0]}).", UserWarning, stacklevel=2)
    return data


def load(source: Path, split: str | None):
    """The ``datasets.Dataset`` at ``source`` (one split of a saved DatasetDict)."""
    try:
        import datasets
    except ImportError:
        raise GankitError(f"data.name: dataset 'hf_datasets' needs the Hugging Face `datasets` package. {INSTALL}") from None
    try:
        if source.is_dir() and any((source / f).is_file() for f in ("state.json", "dataset_dict.json")):
            ds = datasets.load_from_disk(str(source))
        else:
            files = sorted(source.rglob("*")) if source.is_dir() else [source]
            parquet = [f for f in files if f.suffix == ".parquet"]
            arrow = [f for f in files if f.suffix == ".arrow"]
            if not parquet and not arrow:
                raise GankitError(f"data.path: '{source}' is neither a folder written by save_to_disk nor .parquet "
                                  f"or .arrow files. Point data.path at one of these.")
            if parquet:
                import pyarrow.parquet as pq
                tables = [pq.read_table(f) for f in parquet]
                ds = datasets.concatenate_datasets([datasets.Dataset(t) for t in tables])
            else:
                ds = datasets.concatenate_datasets([datasets.Dataset.from_file(str(f)) for f in arrow])
    except GankitError:
        raise
    except Exception as e:  # noqa: BLE001 - datasets and pyarrow raise many types for a damaged file
        raise GankitError(f"data.path: cannot read the dataset at '{source}' ({type(e).__name__}: {e}). Point "
                          f"data.path at a folder written by save_to_disk, or at .parquet / .arrow files.") from None
    if isinstance(ds, datasets.DatasetDict):
        splits = sorted(ds)
        if split is None and len(splits) == 1 or split in splits:
            return ds[split or splits[0]]
        raise GankitError(f"data.split: the dataset at '{source}' has the splits {', '.join(splits)}; "
                          f"{'set data.split to one' if split is None else f'not {split!r}. Set data.split to one'}.")
    if split is not None:
        raise GankitError(f"data.split: the dataset at '{source}' has no splits (it is one Dataset); set data.split: null.")
    return ds


def rows(ds, image_column: str, label_column: str | None, where: str) -> tuple[list, list | None, list | None]:
    """(the encoded image of every row, their labels or None, the class names or None)."""
    import datasets

    for col in (image_column, label_column):
        if col is not None and col not in ds.column_names:
            key = "image_column" if col == image_column else "label_column"
            raise GankitError(f"data.{key}: '{where}' has no column '{col}'; its columns are "
                              f"{', '.join(ds.column_names)}. Set data.{key} to one of them.")
    feature = ds.features[image_column]
    if isinstance(feature, datasets.Image):
        ds = ds.cast_column(image_column, datasets.Image(decode=False))
    items = [_encoded(v, where, i) for i, v in enumerate(ds[image_column])]
    if label_column is None:
        return items, None, None
    values, lf = ds[label_column], ds.features[label_column]
    if isinstance(lf, datasets.ClassLabel):
        return items, [int(v) for v in values], list(lf.names)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in values):
        return items, [int(v) for v in values], None
    if all(isinstance(v, str) for v in values):
        names = sorted(set(values))
        index = {n: i for i, n in enumerate(names)}
        return items, [index[v] for v in values], names
    raise GankitError(f"data.label_column: column '{label_column}' of '{where}' holds neither whole numbers ≥ 0 nor "
                      f"class names. Point data.label_column at the labels, or set it to null.")


def _encoded(value, where: str, i: int) -> bytes:
    """One cell of the image column as encoded image bytes (an empty value: b"", a bad image)."""
    if isinstance(value, dict):  # an undecoded Image feature: {"bytes": ..., "path": ...}
        if value.get("bytes"):
            return value["bytes"]
        try:
            return Path(value["path"]).read_bytes() if value.get("path") else b""
        except OSError:
            return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    from PIL import Image

    try:
        a = np.asarray(value, dtype=np.uint8)
        im = Image.fromarray(a if a.ndim == 2 or a.shape[-1] in (3, 4) else a.transpose(1, 2, 0))
    except Exception as e:  # noqa: BLE001
        raise GankitError(f"data.image_column: row {i} of '{where}' is not an image ({type(e).__name__}: {e}). Point "
                          f"data.image_column at an Image column, encoded bytes or H×W(×C) arrays.") from None
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()
