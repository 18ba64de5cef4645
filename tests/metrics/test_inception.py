"""Inception-v3 features: one clear error when offline."""
import time

import pytest

from gankit.errors import GankitError
from gankit.config.registry import FEATURES


def test_inception_offline_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    t0 = time.time()
    with pytest.raises(GankitError) as e:
        FEATURES.build({"name": "inception_v3"}, "features")
    assert time.time() - t0 < 5
    msg = str(e.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in msg and "GANKIT_INCEPTION_WEIGHTS" in msg
    assert str(tmp_path) in msg and "never downloads" in msg
