"""Class labels of a list of image names: from their sub-folders, or from a labels file.

A labels file is JSON — stylegan2-ada's ``dataset.json`` (``{"labels": [[name, label], ...]}``) or a
plain ``{name: label}`` object — or CSV/TSV text with one ``name,label`` row per image (a first row
whose name is not an image, such as ``file,label``, is a header). Names are paths relative to the
source, with / separators. Labels are whole numbers 0..K-1, or class names (then sorted: class i is
the i-th name). A listed image the file does not name has label None.
"""
import csv
import json
from pathlib import Path

from gankit.errors import GankitError


def subfolder_labels(names: list[str]) -> tuple[list[int], list[str]]:
    """(each name's class index, the class names): a class is a folder, classes in sorted order."""
    folders = [n.rpartition("/")[0] for n in names]
    classes = sorted(set(folders))
    index = {c: i for i, c in enumerate(classes)}
    return [index[f] for f in folders], classes


def file_labels(path: str | Path, names: list[str], key: str = "--labels") -> tuple[list, list[str] | None]:
    """(each name's label or None, the class names or None when the file gives numbers)."""
    return pair_labels(_read_pairs(Path(path).expanduser(), key), names, path, key)


MAX_LABEL = 1_000_000  # a label read from a file, at most: the model holds one embedding row per class


def pair_labels(pairs: list[tuple], names: list[str], path, key: str) -> tuple[list, list[str] | None]:
    """``file_labels`` of (name, label) pairs read from ``path``."""
    raw = {str(n).strip().replace("\\", "/").removeprefix("./"): v for n, v in pairs}
    values = list(raw.values())
    if any(isinstance(v, (list, dict, float)) or v is None for v in values):
        odd = next(v for v in values if isinstance(v, (list, dict, float)) or v is None)
        raise GankitError(f"{key}: '{path}' holds the label {odd!r}; gankit trains on class labels, whole numbers "
                          f"0..K-1 or class names. Write one class per image, or train without labels.")
    if all(isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, str) and v.strip().isdigit())
           for v in values):
        numbers = {n: int(v) for n, v in raw.items()}
        if any(v < 0 for v in numbers.values()):
            raise GankitError(f"{key}: '{path}' holds a negative label. Labels are whole numbers 0..K-1 or class names.")
        if max(numbers.values(), default=0) > MAX_LABEL:
            raise GankitError(f"{key}: '{path}' holds the label {max(numbers.values())}, more than the {MAX_LABEL:,} "
                              f"classes gankit trains on (the model would have a class embedding of that size). "
                              f"Number the classes 0..K-1.")
        return [numbers.get(n) for n in names], None
    classes = sorted({str(v) for v in values})
    index = {c: i for i, c in enumerate(classes)}
    return [index[str(raw[n])] if n in raw else None for n in names], classes


def _read_pairs(path: Path, key: str) -> list[tuple]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise GankitError(f"{key}: cannot read labels file '{path}' ({getattr(e, 'strerror', None) or e}). Give a "
                          f"readable JSON or CSV file, or --labels subfolders.") from None
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise GankitError(f"{key}: '{path}' is not valid JSON ({e}). Fix the file or give a CSV of name,label "
                              f"rows.") from None
        obj = obj.get("labels", obj) if isinstance(obj, dict) and "labels" in obj else obj
        if isinstance(obj, dict):
            return list(obj.items())
        if isinstance(obj, list) and all(isinstance(p, list) and len(p) == 2 for p in obj):
            return [tuple(p) for p in obj]
        raise GankitError(f"{key}: '{path}' holds neither {{\"labels\": [[name, label], ...]}} nor a {{name: label}} "
                          f"object. Write the labels in one of these forms.")
    rows = [r for r in csv.reader(text.splitlines(), dialect=_dialect(text)) if r and any(c.strip() for c in r)]
    if rows and not _looks_like_image(rows[0][0]):
        rows = rows[1:]  # a header
    bad = next((i for i, r in enumerate(rows) if len(r) < 2), None)
    if bad is not None:
        raise GankitError(f"{key}: row {bad + 1} of '{path}' is not name,label: {rows[bad]!r}. Give one name,label "
                          f"row per image.")
    return [(r[0].strip(), r[1].strip()) for r in rows]


def _dialect(text: str):
    first = text.splitlines()[0] if text else ""
    return csv.excel_tab if "\t" in first else csv.excel


def _looks_like_image(name: str) -> bool:
    return Path(name.strip()).suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
