"""gankit check: the printed report (data, parameter counts, step plan, timing) and its refusals."""
import re

from gankit.cli import main
from gankit.config import recipe, validate
from gankit.data.build import build_data
from gankit.training.parts import build_parts, run_length


def _lines(out: str) -> dict[str, str]:
    """The report's rows by their first word (data, generator, critic, schedule, device, timing)."""
    rows = {}
    for line in out.splitlines()[1:]:
        key, _, rest = line.strip().partition(" ")
        rows[key] = rest.strip()
    return rows


def test_check_prints_ok_and_the_plan_of_the_recipe(tiny_recipe, capsys):
    assert main(["check", str(tiny_recipe), "--steps", "0"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"recipe {tiny_recipe}: OK"
    valid = validate.load(tiny_recipe)
    cfg = valid.cfg
    data = build_data(valid)
    parts = build_parts(valid, data)
    rows = _lines(out)
    c, h, w = data.img_shape
    assert rows["data"] == f"{cfg.data.name}: {len(data)} images of {c}×{h}×{w}"
    for key, model in (("generator", parts.G), ("critic", parts.D)):
        assert rows[key] == f"{sum(p.numel() for p in model.parameters()):,} parameters"
    per_epoch, total = run_length(len(data), cfg.trainer)
    assert total == cfg.trainer.max_steps
    assert rows["schedule"] == f"{per_epoch} steps per epoch, {total} steps in all"
    assert rows["device"] in ("cpu", "cuda")
    assert "timing" not in rows  # --steps 0 skips it


def test_overrides_change_the_plan(tiny_recipe, capsys):
    cfg = recipe.load(tiny_recipe)
    batch = cfg.trainer.batch_size * 2
    assert main(["check", str(tiny_recipe), f"trainer.batch_size={batch}", "trainer.max_steps=null",
                 "trainer.epochs=2", "--steps", "0"]) == 0
    per_epoch = cfg.data.size // batch
    assert _lines(capsys.readouterr().out)["schedule"] == f"{per_epoch} steps per epoch, {2 * per_epoch} steps in all"


def test_a_negative_step_count_skips_timing_like_zero(tiny_recipe, capsys):
    assert main(["check", str(tiny_recipe), "--steps", "-1"]) == 0
    assert "timing" not in _lines(capsys.readouterr().out)


def test_timed_steps_give_a_per_epoch_estimate_and_leave_nothing_behind(tiny_recipe, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(tiny_recipe), "--steps", "1"]) == 0
    timing = _lines(capsys.readouterr().out)["timing"]
    m = re.fullmatch(r"([\d.]+) ms per step → about ([\d.]+) (s|min|h) per epoch, ([\d.]+) (s|min|h) for the run",
                     timing)
    assert m, timing
    assert float(m.group(1)) > 0
    assert list(tmp_path.iterdir()) == []  # the timed steps ran in a throwaway folder


def test_a_bad_recipe_prints_no_report_and_exits_2(tiny_recipe, capsys):
    assert main(["check", str(tiny_recipe), "trainer.batch_sise=8", "--steps", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("gankit: error: ") and "Traceback" not in captured.err
    assert "trainer.batch_sise" in captured.err and "trainer.batch_size" in captured.err


def test_a_batch_larger_than_the_data_is_refused(tiny_recipe, capsys):
    size = recipe.load(tiny_recipe).data.size
    assert main(["check", str(tiny_recipe), f"trainer.batch_size={size + 1}", "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and "trainer.batch_size" in err and str(size) in err


def test_check_validates_the_recipe_once_for_its_parts_and_its_timed_steps(tiny_recipe, tmp_path, monkeypatch,
                                                                          validation_calls, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(tiny_recipe), "--steps", "1"]) == 0
    assert "timing" in _lines(capsys.readouterr().out)
    assert validation_calls == {"validate": 1, "settings": 1, "plugins": 1}
