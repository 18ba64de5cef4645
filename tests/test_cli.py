"""The `gankit` command line: one parser per command module, override collection, error printing."""
import argparse
import importlib
from pathlib import Path

import pytest

from gankit import cli, commands
from gankit.errors import GankitError

COMMAND_MODULES = sorted(p.stem for p in Path(commands.__file__).parent.glob("*.py") if p.stem != "__init__")
COMMANDS = [m.replace("_", "-") for m in COMMAND_MODULES]  # commands/prepare_data.py is `gankit prepare-data`


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _one_paragraph(err: str) -> str:
    assert err.startswith("gankit: error: "), err
    assert "Traceback" not in err
    assert "\n\n" not in err.strip()
    return err


def test_every_command_module_registers_its_parser():
    subs = _subcommands(cli.build_parser())
    assert COMMAND_MODULES and sorted(subs) == COMMANDS
    for name, sub in subs.items():
        module = importlib.import_module(f"gankit.commands.{name.replace('-', '_')}")
        assert sub.get_default("func") is module.run, name
        assert sub.prog.endswith(f" {name}")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_text(name, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: gankit {name}")


def test_overrides_after_options_are_collected(monkeypatch):
    seen = {}

    def fake_run(args):
        seen.update(vars(args))
        return 0

    monkeypatch.setattr("gankit.commands.check.run", fake_run)
    assert cli.main(["check", "r.yaml", "trainer.seed=1", "--steps", "0", "trainer.max_steps=3", "data.size=64"]) == 0
    assert seen["recipe"] == "r.yaml" and seen["steps"] == 0
    assert seen["overrides"] == ["trainer.seed=1", "trainer.max_steps=3", "data.size=64"]


def test_the_command_return_value_is_the_exit_code(monkeypatch):
    monkeypatch.setattr("gankit.commands.report.run", lambda args: 7)
    assert cli.main(["report", "somewhere"]) == 7


@pytest.mark.parametrize("argv, bad", [
    (["check", "r.yaml", "--bogus"], "--bogus"),
    (["check", "r.yaml", "--steps", "0", "--nope=1"], "--nope=1"),
    (["report", "run", "trainer.max_steps=3"], "trainer.max_steps=3"),  # report takes no overrides
])
def test_unknown_arguments_exit_with_argparse_error(argv, bad, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gankit")
    assert f"gankit: error: unrecognized arguments: {bad}" in err


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys):
    for argv in ([], ["frobnicate"]):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 2
        assert "usage: gankit" in capsys.readouterr().err


def test_gankit_error_is_one_paragraph_on_stderr_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "no_such.yaml"]) == 2
    captured = capsys.readouterr()
    _one_paragraph(captured.err)
    assert "no_such.yaml" in captured.err
    assert captured.out == ""


def test_several_problems_print_exactly_the_error_text(monkeypatch, capsys):
    error = GankitError.collect(["a: first.", "b: second."], header="Two things:")

    def fail(args):
        raise error

    monkeypatch.setattr("gankit.commands.check.run", fail)
    assert cli.main(["check", "r.yaml"]) == 2
    err = _one_paragraph(capsys.readouterr().err)
    assert err == f"gankit: error: {error}\n"
    assert err.splitlines()[1:] == ["  - a: first.", "  - b: second."]


def test_interrupt_exits_130_without_traceback(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("gankit.commands.check.run", interrupted)
    assert cli.main(["check", "r.yaml"]) == 130
    assert capsys.readouterr().err == "gankit: interrupted.\n"


def test_other_exceptions_are_not_swallowed(monkeypatch):
    def broken(args):
        raise RuntimeError("a bug, not a user mistake")

    monkeypatch.setattr("gankit.commands.check.run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["check", "r.yaml"])


def test_version_prints_the_package_version(capsys):
    import tomllib

    import gankit

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"gankit {gankit.__version__}\n"
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert gankit.__version__ == pyproject["project"]["version"]
