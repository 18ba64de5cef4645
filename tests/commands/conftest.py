import pytest

from runs.conftest import run_dir  # noqa: F401  (the shared tiny trained run)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "stats"))
