"""GankitError: one user-facing error that can list several problems; raise_if raises it only when needed."""
import pytest

from gankit.errors import GankitError, printable, raise_if


def test_a_plain_error_is_its_own_only_problem():
    e = GankitError("data.root: /nowhere does not exist.")
    assert str(e) == "data.root: /nowhere does not exist."
    assert e.problems == [str(e)]
    assert isinstance(e, Exception)


def test_explicit_problems_are_kept_beside_the_message():
    problems = ["a: bad", "b: worse"]
    e = GankitError("summary", problems=problems)
    assert str(e) == "summary" and e.problems == problems


def test_collect_one_problem_without_header_is_that_message():
    e = GankitError.collect(["trainer.batch_size: must be ≥ 1, got 0."])
    assert str(e) == "trainer.batch_size: must be ≥ 1, got 0."
    assert e.problems == ["trainer.batch_size: must be ≥ 1, got 0."]
    assert "\n" not in str(e)


def test_collect_several_problems_lists_each_under_a_counting_header():
    problems = ["generator.zdim: unknown argument.", "loss.name: unknown loss 'hing'.", "optim.d.lr: must be > 0."]
    e = GankitError.collect(problems)
    lines = str(e).splitlines()
    assert lines[0] == f"{len(problems)} problems found:"
    assert lines[1:] == [f"  - {p}" for p in problems]
    assert e.problems == problems


def test_collect_uses_a_given_header_even_for_one_problem():
    e = GankitError.collect(["x: bad."], header="The recipe has 1 problem(s):")
    assert str(e).splitlines() == ["The recipe has 1 problem(s):", "  - x: bad."]
    assert e.problems == ["x: bad."]


def test_collect_returns_a_subclass_instance_when_called_on_one():
    class Special(GankitError):
        pass

    assert type(Special.collect(["a", "b"])) is Special
    assert type(Special.collect(["a"])) is Special


def test_raise_if_is_silent_without_problems():
    assert raise_if([]) is None
    assert raise_if([], header="never shown") is None


def test_raise_if_raises_the_collected_error():
    problems = [f"key{i}: bad value {i}." for i in range(3)]
    with pytest.raises(GankitError) as caught:
        raise_if(problems, header="Check these:")
    assert caught.value.problems == problems
    assert str(caught.value) == str(GankitError.collect(problems, "Check these:"))
    with pytest.raises(GankitError, match=r"^only one\.$"):
        raise_if(["only one."])


def test_printable_strips_terminal_control_sequences_and_keeps_lines():
    hostile = "a\x1b[31mred\x1b[0m \x1b]0;title\x07b\rc\x08 \u202eevil\x9b2J\nnext\tline"
    assert printable(hostile) == "ared bc evil\nnext\tline"


def test_cli_errors_and_warnings_reach_the_terminal_without_control_sequences(tmp_path, capsys):
    import warnings

    from gankit.cli import _format_warning, main

    r = tmp_path / "r.yaml"
    r.write_text('generator: {name: "\\e]0;owned\\a\\e[2Jx"}\n')
    assert main(["check", str(r), "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert "unknown generator ']0;owned" not in err and "\x1b" not in err and "\x07" not in err
    assert "unknown generator 'x'" in err
    assert _format_warning(UserWarning("bad \x1b[2Jname"), UserWarning, "f.py", 1) == "gankit: warning: bad name\n"
    assert warnings.formatwarning is _format_warning
