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


def py2_pickle(flat: np.ndarray, labels: list[int], key: bytes = b"labels") -> bytes:
    """A batch pickled as the CIFAR authors' Python 2 cPickle did (protocol 2): str keys and pixel bytes as
    Python 2 strings (SHORT_BINSTRING, BINSTRING), the array rebuilt by ``numpy.core.multiarray._reconstruct``."""
    def s(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + len(b).to_bytes(4, "little") + b

    def i(n: int) -> bytes:
        return b"K" + bytes([n])

    shape = b"(" + b"".join(b"J" + int(d).to_bytes(4, "little", signed=True) for d in flat.shape) + b"t"
    dtype = (b"cnumpy\ndtype\n" + s(b"u1") + i(0) + i(1) + b"\x87R"
             + b"(" + i(3) + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff" + i(0) + b"tb")
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + i(0) + b"\x85" + s(b"b") + b"\x87R"
             + b"(" + i(1) + shape + dtype + b"\x89" + s(flat.tobytes()) + b"tb")
    items = s(b"data") + array + s(key) + b"](" + b"".join(i(int(v)) for v in labels) + b"e"
    return b"\x80\x02}(" + items + b"u."
