"""A corpus of broken recipes and overrides: `gankit check` and `gankit train` both refuse each one
with exit code 2 and one paragraph naming the key (no traceback); several mistakes come together."""
import re
from pathlib import Path

import pytest

from gankit.cli import main

from .helpers import SMALL, gankit

BAD = Path(__file__).parent / "bad_recipes"
RECIPES = sorted(BAD.glob("*.yaml"))
OVERRIDES = [line.split("  # expect: ") for line in (BAD / "overrides.txt").read_text().splitlines()
             if line and not line.startswith("#")]


def _expect(path: Path) -> list[str]:
    first = path.read_text().splitlines()[0]
    return [k.strip() for k in first.removeprefix("# expect:").split("|")]


def _refused(argv, expect, capsys, tmp_path):
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, f"{argv}: exit {rc}\n{err}"
    assert err.startswith("gankit: error: "), err
    assert "Traceback" not in err and "\n\n" not in err.strip()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", err), f"control characters reach the terminal: {err!r}"
    for key in expect:
        assert key in err, f"{key!r} not named in:\n{err}"
    assert not (tmp_path / "run" / "checkpoints").exists()
    return err


def test_corpus_is_large_enough():
    assert len(RECIPES) + len(OVERRIDES) >= 30


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
@pytest.mark.parametrize("command", ["check", "train"])
def test_bad_recipe_is_refused(path, command, capsys, tmp_path):
    argv = [command, str(path)] + (["--steps", "0"] if command == "check" else ["--out", str(tmp_path / "run")])
    _refused(argv, _expect(path), capsys, tmp_path)


@pytest.mark.parametrize("override,expect", OVERRIDES, ids=[o for o, _ in OVERRIDES])
@pytest.mark.parametrize("command", ["check", "train"])
def test_bad_override_is_refused(override, expect, command, capsys, tmp_path):
    argv = [command, str(SMALL), override] + (["--steps", "0"] if command == "check" else ["--out", str(tmp_path / "run")])
    _refused(argv, [expect], capsys, tmp_path)


# Recipe files that cannot carry an "# expect:" line: (file bytes, what the message says).
UNREADABLE = {
    "empty": (b"", "is empty"),
    "whitespace_only": (b"  \n\t\n\n", "is empty"),
    "not_utf8": ("description: café\n".encode("latin-1"), "is not UTF-8 text (byte 0xe9"),
    "binary": (bytes(range(256)) * 4, "is a binary file"),
    "scalar": (b"42\n", "must hold a mapping"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
@pytest.mark.parametrize("command", ["check", "train"])
def test_recipe_files_that_hold_no_recipe_are_refused(case, command, capsys, tmp_path):
    data, says = UNREADABLE[case]
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(data)
    argv = [command, str(path)] + (["--steps", "0"] if command == "check" else ["--out", str(tmp_path / "run")])
    _refused(argv, [str(path), says], capsys, tmp_path)


@pytest.mark.parametrize("command", ["check", "train"])
def test_a_folder_given_as_the_recipe_is_refused(command, capsys, tmp_path):
    argv = [command, str(BAD)] + (["--steps", "0"] if command == "check" else ["--out", str(tmp_path / "run")])
    _refused(argv, ["recipe:", str(BAD), "is a folder"], capsys, tmp_path)


def test_several_mistakes_are_reported_in_one_go(capsys, tmp_path):
    path = BAD / "several_mistakes.yaml"
    err = _refused(["check", str(path), "--steps", "0"], _expect(path) + ["generator.name", "trainer.precision"],
                   capsys, tmp_path)
    assert re.search(r"has 4 problem", err)
    err = _refused(["train", str(path), "--out", str(tmp_path / "run")], ["trainer.batch_sise", "optim.d.lr"],
                   capsys, tmp_path)


def test_check_reports_all_component_mistakes_at_once(tmp_path, capsys):
    r = tmp_path / "r.yaml"
    r.write_text(f"base: {SMALL}\ngenerator: {{name: mlp, zdim: 3}}\ndiscriminator: {{name: mlpp}}\n"
                 f"loss: {{name: hinge, margin: 1}}\n")
    err = _refused(["check", str(r), "--steps", "0"], ["generator.zdim", "discriminator.name", "loss.margin",
                                                         "Did you mean 'z_dim'", "Did you mean 'mlp'"], capsys, tmp_path)
    assert "3 problem" in err


def test_good_recipe_passes_check_with_a_report(capsys):
    assert main(["check", str(SMALL), "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "parameters" in out and "per epoch" in out and "4 steps per epoch" in out


@pytest.mark.slow
def test_cli_in_a_real_process_prints_no_traceback(tmp_path):
    for name, command in (("shape_mismatch_size", "train"), ("yaml_syntax_error", "check"), ("several_mistakes", "train")):
        args = [command, BAD / f"{name}.yaml"] + (["--out", tmp_path / name] if command == "train" else [])
        proc = gankit(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("gankit: error: ")
