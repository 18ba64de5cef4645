import pytest

from gankit.config import plugins, validate
from runs.conftest import run_dir  # noqa: F401  (the shared tiny trained run)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "stats"))


@pytest.fixture
def validation_calls(monkeypatch) -> dict[str, int]:
    """How often a recipe is validated, its settings checked and its plugins imported (counted from now)."""
    calls = {"validate": 0, "settings": 0, "plugins": 0}

    def count(module, attr, key):
        real = getattr(module, attr)

        def wrapper(*args, **kwargs):
            calls[key] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, attr, wrapper)

    count(validate, "_examine", "validate")
    count(validate, "settings_problems", "settings")
    count(plugins, "load", "plugins")
    return calls
