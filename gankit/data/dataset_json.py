"""Datasets as NVlabs' ``dataset_tool.py`` writes them (stylegan2-ada, stylegan3, EDM, R3GAN): the labels.

``dataset_tool.py`` writes a folder or a .zip of PNGs (``00000/img00000000.png``, one sub-folder per
thousand images) and, at its top, ``dataset.json``: ``{"labels": [["00000/img00000000.png", 6], ...]}``,
or ``{"labels": null}`` for unlabelled data. The sub-folders are chunks, not classes, so where a
source holds ``dataset.json`` its labels (or its null: none) come from that file, not from the
sub-folders; ``image_folder`` and ``gankit prepare-data`` both read them this way.
"""
import json
import zipfile
from pathlib import Path

from gankit.data.labels import pair_labels
from gankit.errors import GankitError

NAME = "dataset.json"
MAX_BYTES = 256 * 2**20  # ImageNet's 1.28M labels take about 60 MB


def dataset_json_labels(src: str | Path, names: list[str], key: str) -> tuple[list | None, list | None, str] | None:
    """(each name's label or None, class names or None, where they came from) from ``src``'s dataset.json;
    (None, None, …) when it says ``"labels": null``; None when ``src`` (a folder or .zip) has no dataset.json."""
    src = Path(src).expanduser()
    where = f"{src}/{NAME}" if src.is_file() else str(src / NAME)
    data = _read(src, where, key)
    if data is None:
        return None
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GankitError(f"{key}: {where} is not valid JSON ({e}). Fix it, or write it again with dataset_tool.py."
                          ) from None
    if not isinstance(obj, dict) or "labels" not in obj:
        raise GankitError(f"{key}: {where} has no \"labels\" entry; dataset_tool.py writes {{\"labels\": [[name, "
                          f"label], ...]}} or {{\"labels\": null}}. Fix the file, or remove it to take classes "
                          f"from sub-folders.")
    labels = obj["labels"]
    if labels is None:
        return None, None, f"{where}: null"
    if not isinstance(labels, list) or not all(isinstance(p, list) and len(p) == 2 for p in labels):
        raise GankitError(f"{key}: the \"labels\" of {where} are not a list of [name, label] pairs. Fix the file, "
                          f"or write it again with dataset_tool.py.")
    label_of, classes = pair_labels([tuple(p) for p in labels], names, where, key)
    return label_of, classes, where


def _read(src: Path, where: str, key: str) -> bytes | None:
    """The bytes of dataset.json, read in full only when it is no larger than ``MAX_BYTES``; None when absent."""
    try:
        if src.is_file():
            with zipfile.ZipFile(src) as z:
                try:
                    info = z.getinfo(NAME)
                except KeyError:
                    return None
                _check_size(info.file_size, where, key)
                with z.open(info) as f:
                    data = f.read(MAX_BYTES + 1)
        else:
            path = src / NAME
            if not path.is_file():
                return None
            _check_size(path.stat().st_size, where, key)
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise GankitError(f"{key}: cannot read {where} ({type(e).__name__}: {e}). Give a readable file, or "
                          f"write it again with dataset_tool.py.") from None
    _check_size(len(data), where, key)
    return data


def _check_size(size: int, where: str, key: str) -> None:
    if size > MAX_BYTES:
        raise GankitError(f"{key}: {where} is larger than {MAX_BYTES // 2**20} MiB, more than the labels of any "
                          f"dataset need; it was not read. Check the file, or remove it to train without its labels.")
