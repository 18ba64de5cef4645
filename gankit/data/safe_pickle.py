"""Reading a pickled CIFAR batch without running the code a pickle may carry.

A pickle names the functions it calls to rebuild its objects (``find_class``), so unpickling a
file from elsewhere can run anything. A CIFAR python batch holds only a dict of str/bytes keys,
lists of ints and str, and one NumPy uint8 array; rebuilding that array needs exactly
``numpy…multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype`` (``numpy…numeric._frombuffer``
for a batch re-pickled with protocol 5, ``_codecs.encode`` to Latin-1 for bytes pickled by Python 3
at protocol 2). ``load_restricted`` admits those and refuses every other
global with a ``GankitError`` before calling it, so nothing else can run.
"""
import io
import pickle

import numpy as np

from gankit.errors import GankitError

try:  # NumPy ≥ 2
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct
    from numpy.core.numeric import _frombuffer

_ALLOWED = {}
for _core in ("numpy.core", "numpy._core"):  # pickles name the module of the NumPy that wrote them
    _ALLOWED[(f"{_core}.multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED[(f"{_core}.numeric", "_frombuffer")] = _frombuffer
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype


def _latin1(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as Python 3 pickles bytes for Python 2 (protocol ≤ 2): Latin-1 only."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1", errors)


_ALLOWED[("_codecs", "encode")] = _latin1


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only NumPy arrays and plain Python containers; ``where`` names the source."""

    def __init__(self, file, where: str, fix: str):
        super().__init__(file, encoding="latin1")  # CIFAR's batches were pickled by Python 2
        self.where, self.fix = where, fix

    def find_class(self, module: str, name: str):
        obj = _ALLOWED.get((module, name))
        if obj is None:
            raise GankitError(f"data.root: {self.where} is a pickle that asks to run {module}.{name}, which a CIFAR "
                              f"batch never holds; it was refused and nothing in it ran. {self.fix}")
        return obj

    def persistent_load(self, pid):
        raise GankitError(f"data.root: {self.where} is a pickle with persistent references, which a CIFAR batch "
                          f"never holds; it was refused. {self.fix}")


def load_restricted(data: bytes, where: str, fix: str):
    """The object pickled in ``data``, rebuilt by ``RestrictedUnpickler``; a damaged pickle is a GankitError too."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), where, fix).load()
    except GankitError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged pickle raises UnpicklingError, EOFError, ValueError, ...
        raise GankitError(f"data.root: {where} is not a readable pickle ({type(e).__name__}: {e}). {fix}") from None
