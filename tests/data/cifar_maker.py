"""Tiny CIFAR-10 / CIFAR-100 files in the authors' layouts (tarball or extracted folder, python or binary),
written by the tests, with the images and labels they hold."""
import io
import pickle
import tarfile

import numpy as np

from gankit.data.cifar_files import LAYOUTS


def batch(n: int, seed: int, dataset: str):
    """(images (n, 3, 32, 32) uint8, {label kind: labels}) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    if dataset == "cifar10":
        return images, {"label": rng.integers(0, 10, n)}
    return images, {"fine": rng.integers(0, 100, n), "coarse": rng.integers(0, 20, n)}


def encode(images, labels, dataset: str, kind: str, protocol: int = 2) -> bytes:
    """One batch file's bytes: fixed-size records (binary) or a pickled dict (python)."""
    flat = images.reshape(len(images), -1)
    if kind == "binary":
        head = [labels["label"]] if dataset == "cifar10" else [labels["coarse"], labels["fine"]]
        return np.concatenate([np.stack(head, 1).astype(np.uint8), flat], 1).tobytes()
    keys = {"label": b"labels", "fine": b"fine_labels", "coarse": b"coarse_labels"}
    obj = {b"batch_label": b"made by a test", b"data": flat, **{keys[k]: [int(x) for x in v] for k, v in labels.items()}}
    return pickle.dumps(obj, protocol=protocol)


def make_cifar(root, dataset: str, kind: str, archive: bool, per_file: int = 3, files: dict | None = None):
    """Write ``dataset`` (``kind`` python/binary) under ``root``; returns {split: (images, labels)}.

    ``files`` maps a file name to bytes written in place of the generated batch."""
    layout = LAYOUTS[dataset][0 if kind == "python" else 1]
    blobs, expected = {}, {}
    for split, names in layout.files.items():
        parts = [batch(per_file, seed + 50 * (split == "test"), dataset) for seed in range(len(names))]
        for name, (images, labels) in zip(names, parts):
            blobs[name] = encode(images, labels, dataset, kind)
        expected[split] = (np.concatenate([p[0] for p in parts]),
                           {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]})
    blobs.update(files or {})
    root.mkdir(parents=True, exist_ok=True)
    if archive:
        with tarfile.open(root / layout.archive, "w:gz") as tar:
            for name, data in blobs.items():
                info = tarfile.TarInfo(f"{layout.folder}/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    else:
        (root / layout.folder).mkdir(exist_ok=True)
        for name, data in blobs.items():
            (root / layout.folder / name).write_bytes(data)
    return expected
