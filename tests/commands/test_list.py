"""gankit list through the CLI: every built-in component by name, one registry, --json, --builtin-only."""
import json

import pytest

from gankit.cli import main
from gankit.config.registry import ALL, LOSSES


def _json(argv, capsys) -> dict:
    assert main(["list", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_names_every_registry_and_component(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for reg_name, reg in ALL.items():
        names = reg.names()
        assert names, reg_name
        assert f"{reg_name} ({len(names)}):" in out
        for name in names:
            assert f"\n  {name}  [" in out, (reg_name, name)


def test_json_holds_the_same_names_as_the_registries(capsys):
    data = _json([], capsys)
    assert set(data) == {"registries", "installed_plugins"}
    assert list(data["registries"]) == list(ALL)
    for reg_name, reg in ALL.items():
        assert [e["name"] for e in data["registries"][reg_name]] == reg.names()


def test_one_kind_lists_only_that_registry(capsys):
    assert main(["list", "optimizers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"optimizers ({len(ALL['optimizers'].names())}):")
    for other in ALL:
        if other != "optimizers":
            assert f"\n{other} (" not in out
    assert list(_json(["optimizers"], capsys)["registries"]) == ["optimizers"]


def test_builtin_only_leaves_out_components_registered_elsewhere(monkeypatch, capsys):
    LOSSES.names()  # populate first, so the copy below holds the built-ins
    monkeypatch.setattr(LOSSES, "_entries", dict(LOSSES._entries))

    @LOSSES.register("cmd_list_extra")
    def cmd_list_extra(scale: float = 2.0):
        """A loss registered by a test."""

    every = {e["name"]: e for e in _json(["losses"], capsys)["registries"]["losses"]}
    assert every["cmd_list_extra"]["origin"] != "built-in"
    assert every["cmd_list_extra"]["signature"] == "scale: float = 2.0"
    builtin = _json(["losses", "--builtin-only"], capsys)["registries"]["losses"]
    assert [e["name"] for e in builtin] == [n for n, e in sorted(every.items()) if e["origin"] == "built-in"]
    assert "cmd_list_extra" not in {e["name"] for e in builtin}


def test_markdown_has_a_heading_per_registry(capsys):
    assert main(["list", "--markdown"]) == 0
    out = capsys.readouterr().out
    for reg_name in ALL:
        assert f"## {reg_name}\n" in out


def test_json_and_markdown_together_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["list", "--json", "--markdown"])
    assert e.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_unknown_kind_is_one_error_naming_the_choices(capsys):
    assert main(["list", "gens"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("gankit: error: list: unknown registry 'gens'")
    for reg_name in ALL:
        assert reg_name in captured.err
