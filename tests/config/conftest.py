"""Fixtures for plugin tests (helpers: gk_plugin_helpers.py)."""
import sys
from pathlib import Path

import pytest

from gankit.config import plugins
from gankit.config import registry


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Registries as after the built-ins, with installed plugins not loaded yet; restored afterwards.

    Use ``fresh_plugins.add(path)`` to put a folder on sys.path and ``fresh_plugins.prefixes`` to
    name modules to forget afterwards.
    """
    registry.populate()
    saved = {name: dict(reg._entries) for name, reg in registry.ALL.items()}
    before = set(sys.modules)

    class Ctl:
        prefixes = ["gankit_example_plugin", "gk_fake_"]

        def add(self, path: Path) -> None:
            monkeypatch.syspath_prepend(str(path))

    monkeypatch.setattr(registry, "_populated", False)  # the next registry read loads installed plugins
    monkeypatch.setattr(plugins, "_loaded_installed", False)
    monkeypatch.setattr(plugins, "installed", [])
    monkeypatch.setattr(plugins, "_loaded_explicit", {})
    ctl = Ctl()
    yield ctl
    for name, reg in registry.ALL.items():
        reg._entries = saved[name]
    for mod in set(sys.modules) - before:
        if mod.startswith(tuple(ctl.prefixes)) or mod.startswith("gankit_plugin_"):
            del sys.modules[mod]
