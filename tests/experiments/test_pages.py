"""The run report, a sweep's compare page and an ad-hoc compare page in headless Chromium at a desktop
(1280 px) and a phone (390 px) width: nothing reaches past the page's width; and the Nu Html Checker
finds nothing wrong in any of them."""
from pathlib import Path

import pytest

from gankit.experiments import compare, page, runs
from gankit.runs.report import write_report

from experiments.pagecheck import measure, vnu
from experiments.test_compare import fake_run, three_runs
from runs.test_report import described_run

WIDTHS = (1280, 390)
PAGES = ("report", "sweep", "adhoc")


def fake_sweep(root: Path) -> Path:
    """A sweep folder as `gankit sweep` leaves it, without training: an SQLite study whose trials point at run
    directories made by hand (two parameters that vary, one that does not, a pruned trial)."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    from gankit.experiments import study as study_mod

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sweep = root / "sweep"
    (sweep / "runs").mkdir(parents=True)
    url = study_mod.default_url(sweep)
    space = {"params": {"lr": [0.001, 0.002], "loss.name": ["hinge", "non_saturating"], "trainer.batch_size": [32]},
             "objective": {"metric": "fd", "direction": "minimize"}}
    study = study_mod.create(url, "sweep", {"space": space}, heartbeat=60)
    study_mod.write_sweep_file(sweep, url, "sweep")
    dist = {k: CategoricalDistribution(v) for k, v in space["params"].items()}
    trials = [(0.001, "hinge", [210.0, 150.0]), (0.002, "hinge", [180.0, 120.0]),
              (0.001, "non_saturating", [200.0, 170.0]), (0.002, "non_saturating", [190.0, 160.0]),
              (0.002, "non_saturating", [400.0])]
    for i, (lr, loss, fd) in enumerate(trials):
        name = f"lr-{lr}_loss.name-{loss}_seed-{i // 4}"
        fake_run(sweep / "runs", lr, i // 4, fd, name=name, loss={"name": loss})
        pruned = i == 4
        study.add_trial(optuna.trial.create_trial(
            params={"lr": lr, "loss.name": loss, "trainer.batch_size": 32}, distributions=dist,
            value=None if pruned else fd[-1], state=TrialState.PRUNED if pruned else TrialState.COMPLETE,
            intermediate_values={10 * (j + 1): v for j, v in enumerate(fd)},
            user_attrs={"run": name, "seed": i // 4, **({"pruned_at_step": 10} if pruned else {})}))
    return sweep


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The three pages, written once."""
    tmp = tmp_path_factory.mktemp("pages")
    out = {"report": write_report(described_run(tmp / "report"))}
    for name, paths in (("sweep", [fake_sweep(tmp)]), ("adhoc", three_runs(tmp / "adhoc"))):
        found, sweeps = runs.find([str(p) for p in paths])
        out[name] = tmp / f"{name}.html"
        out[name].write_text(page.build_html(found, compare.table(found, sweeps)), encoding="utf-8")
    return out


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_nothing_is_wider_than_the_page(pages, name, width):
    m = measure(pages[name], width, boxes=("img.last", "img.real"))
    assert m["width"] == width
    assert m["overflow"] == [] and m["scroll_width"] <= width, m["overflow"][:10]
    if name == "report":  # the last grid is large, and beside the real images where there is room
        last, real = m["boxes"]["img.last"][0], m["boxes"]["img.real"][0]
        assert last["width"] >= min(400, width - 60) and real["width"] == last["width"]
        assert (real["top"] == last["top"]) == (width == 1280)


@pytest.mark.parametrize("name", PAGES)
def test_the_page_is_valid_html(pages, name):
    messages = vnu(pages[name])
    assert messages == [], [(m.get("type"), m.get("message"), m.get("extract")) for m in messages]
