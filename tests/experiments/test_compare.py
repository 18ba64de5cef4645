"""gankit compare on run directories written here: tables, numbers, escaping, --json/--markdown, a browser."""
import json
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torchvision.utils import save_image

from gankit.cli import main
from gankit.experiments import compare, page, runs, stats

from runs.test_report import PNG_MAGIC, _browser, _chromium  # tests/ is on sys.path (rootdir packages)

SCRIPT = "<script>alert(1)</script>"
FD = {(1e-3, 0): [210.0, 150.0], (1e-3, 1): [200.0, 160.5], (1e-3, 2): [190.0, 171.25],
      (2e-3, 0): [180.0, 120.0], (2e-3, 1): [170.0, 99.5]}


class Page(HTMLParser):
    """Tags, cells (text + data-value) of each table, and images."""

    def __init__(self):
        super().__init__()
        self.tags, self.tables, self.imgs, self._cell = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = [attrs.get("data-value"), ""]
        elif tag == "img":
            self.imgs.append(attrs)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(tuple(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def fake_run(root: Path, lr: float, seed: int, fd: list[float], description: str = "", kid: bool = False,
             name: str | None = None, **extra) -> Path:
    """A run directory with a recipe (``extra``: more top-level keys), an eval row per value of ``fd``."""
    run = root / (name or f"lr{lr}-s{seed}")
    (run / "samples").mkdir(parents=True)
    recipe = {"description": description, "optim": {"g": {"lr": lr}, "d": {"lr": lr}},
              "trainer": {"seed": seed, "batch_size": 32, "d_steps": 1}, "output": {"root": f"runs{seed}"}}
    for k, v in extra.items():
        recipe[k] = {**recipe[k], **v} if isinstance(recipe.get(k), dict) else v
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    rows = []
    for i, v in enumerate(fd):
        step = 10 * (i + 1)
        rows.append({"step": step, "d_loss": 1.0 + seed + i, "g_loss": 2.0 - i})
        rows.append({"step": step, "eval/fd": v, "eval/modes": 3.0 + i + seed, "eval/eval_s": 0.1,
                     **({"eval/kid": 0.01 * (i + 1)} if kid else {})})
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    save_image(torch.rand(4, 1, 8, 8), run / "samples" / "step-0000020.png", nrow=2)
    return run


@pytest.fixture
def five_runs(tmp_path) -> Path:
    for (lr, seed), fd in FD.items():
        fake_run(tmp_path / "runs", lr, seed, fd, description=SCRIPT if lr == 2e-3 else "plain", kid=(lr, seed) == (1e-3, 0))
    return tmp_path / "runs"


def test_grouping_by_configuration_and_differing_keys_only(five_runs):
    found, _ = runs.find([str(five_runs)])
    assert len(found) == 5
    assert runs.differing_keys(found) == ["optim.d.lr", "optim.g.lr"]  # not seed, output or description
    assert runs.incidental_keys(found) == ["description", "output.root"]
    groups = runs.group(found)
    assert [len(members) for _, members in groups] == [3, 2]
    assert groups[0][0] == {"optim.d.lr": 1e-3, "optim.g.lr": 1e-3}


def test_table_numbers_are_mean_sd_and_bootstrap_of_each_seed_s_final_and_best(five_runs):
    found, _ = runs.find([str(five_runs)])
    data = compare.table(found)
    assert data["metrics"] == ["fd", "kid", "modes"]  # eval_s is bookkeeping
    first = data["configs"][0]["metrics"]
    finals, bests = [FD[(1e-3, s)][-1] for s in range(3)], [min(FD[(1e-3, s)]) for s in range(3)]
    assert math.isclose(first["fd"]["final"]["mean"], np.mean(finals))
    assert math.isclose(first["fd"]["final"]["sd"], np.std(finals, ddof=1))
    assert math.isclose(first["fd"]["best"]["mean"], np.mean(bests))
    low, high = first["fd"]["final"]["ci95"]
    assert low <= np.mean(finals) <= high
    assert first["modes"]["best"]["mean"] == np.mean([4.0, 5.0, 6.0])  # higher is better for modes
    assert first["kid"]["final"]["n"] == 1 and first["kid"]["missing"] == 2
    assert data["configs"][1]["metrics"]["kid"]["final"] is None  # never logged there: missing, not zero


def test_the_page_is_self_contained_with_the_runs_own_numbers_and_escaped_text(five_runs, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["compare", str(five_runs), "--out", str(out)]) == 0
    assert f"comparison page: {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    p = Page()
    p.feed(text)
    assert not [t for t, a in p.tags if t in ("script", "link", "iframe") or any(k.startswith("on") for k in a)]
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert p.imgs and all(i["src"].startswith("data:image/png;base64,") for i in p.imgs)
    assert sum(i["class"] == "grid" for i in p.imgs) == 5 and sum(i["class"] == "curve" for i in p.imgs) == 5
    configs, summary, per_run = p.tables[:3]
    assert [c[1] for c in configs[0]] == ["#", "optim.d.lr", "optim.g.lr", "runs", "seeds"]
    # per-run table: each final value is the run's own last eval row
    head = [c[1] for c in per_run[0]]
    for row in per_run[1:]:
        name = row[0][1]
        rows = [json.loads(line) for line in (five_runs / name / "metrics.jsonl").read_text().splitlines()]
        last_fd = [x["eval/fd"] for x in rows if "eval/fd" in x][-1]
        assert float(row[head.index("final fd")][0]) == last_fd
        kid_cell = row[head.index("final kid")]
        assert (kid_cell[1] == "—") == (name != "lr0.001-s0")
    # summary table: mean ± sd of config 1 exactly, as shown and as the data-value
    fd_final = summary[1][[c[1] for c in summary[0]].index("final fd")]
    finals = [FD[(1e-3, s)][-1] for s in range(3)]
    assert float(fd_final[0]) == np.mean(finals)
    assert (np.mean(finals), np.std(finals, ddof=1)) == pytest.approx((160.583, 10.625), abs=1e-3)
    assert fd_final[1].startswith("161 ± 11 [")  # the sd at two significant figures, the mean to its last digit


def test_json_and_markdown_print_the_tables(five_runs, capsys):
    assert main(["compare", str(five_runs), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["configs"]) == 2 and data["configs"][1]["seeds"] == [0, 1]
    assert main(["compare", str(five_runs), "--markdown"]) == 0
    md = capsys.readouterr().out
    assert md.strip() == compare.markdown(data).strip()
    lines = md.splitlines()
    assert "| configuration | seeds | final fd | best fd |" in md
    second = next(line for line in lines if "optim.g.lr=0.002" in line)
    finals = [FD[(2e-3, s)][-1] for s in range(2)]
    assert (np.mean(finals), np.std(finals, ddof=1)) == pytest.approx((109.75, 14.496), abs=1e-3)
    assert "| 110 ± 14 [" in second and "| — |" in second
    assert "<script>" not in md


def test_metrics_choose_and_order_the_columns_and_per_seed_lists_each_run(five_runs, capsys):
    assert main(["compare", str(five_runs), "--markdown", "--metrics", "modes,fd", "--per-seed"]) == 0
    md = capsys.readouterr().out
    assert "| configuration | seeds | final modes | best modes | final fd | best fd |" in md and "kid" not in md
    assert "| configuration | seed | run | final modes | final fd |" in md
    for (lr, seed), fd in FD.items():  # one row per run, with that run's own last values
        row = next(line for line in md.splitlines() if f"| lr{lr}-s{seed} |" in line)
        assert row.split(" | ")[1] == str(seed) and row.rstrip(" |").endswith(f"| {3.0 + len(fd) - 1 + seed:.4g} | {fd[-1]:.4g}")
    assert main(["compare", str(five_runs), "--markdown", "--metrics", "fd,fid"]) == 2
    err = capsys.readouterr().err
    assert "--metrics: fid not logged by these runs; they logged fd, kid, modes." in err


def test_not_a_run_is_a_clear_error(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "neither a run directory" in capsys.readouterr().err


def test_headless_chromium_renders_the_page(five_runs, tmp_path):
    from PIL import Image

    browser = _browser()
    found, _ = runs.find([str(five_runs)])
    html_file = tmp_path / "compare.html"
    html_file.write_text(page.build_html(found, compare.table(found)), encoding="utf-8")
    shot = tmp_path / "shot.png"
    _chromium(browser, f"--screenshot={shot}", "--window-size=1200,1600", html_file.as_uri())
    assert shot.is_file() and shot.read_bytes().startswith(PNG_MAGIC), "Chromium wrote no screenshot"
    gray = Image.open(shot).convert("L")
    dark = sum(gray.histogram()[:160]) / (gray.width * gray.height)
    rgb = np.asarray(Image.open(shot).convert("RGB").resize((300, 400))).reshape(-1, 3)
    colours = len(np.unique(rgb, axis=0))
    assert dark > 0.01 and gray.crop((0, 0, gray.width, 100)).getextrema()[0] < 100, f"blank page ({dark:.2%})"
    assert colours > 50, "no plots drawn"  # curves and sample grids, not just text


# -- three ad-hoc runs: labels, single evaluations, precision, the best configuration -----------------------
def three_runs(root: Path) -> list[Path]:
    """Three runs by hand, each its own configuration: they differ in the learning rate and the plugins (one
    has none) that matter, and in a description, logging intervals and trackers that do not. Two logged one
    evaluation only."""
    return [fake_run(root, 1e-3, 0, [120.0], description="first try", plugins=[], name="a",
                     trainer={"log_every": 10}),
            fake_run(root, 2e-3, 0, [200.0, 150.5], description="second, longer", plugins=["my_plugin.py"],
                     name="b", trainer={"log_every": 50, "sample_every": 100}, trackers=["tensorboard"]),
            fake_run(root, 5e-3, 0, [180.0], plugins=["my_plugin.py"], name="c",
                     trainer={"checkpoint_every": 7})]


def test_labels_name_only_the_keys_that_differ_and_matter_and_a_list_once(tmp_path):
    found, _ = runs.find([str(p) for p in three_runs(tmp_path)])
    data = compare.table(found)
    assert data["differing_keys"] == ["optim.d.lr", "optim.g.lr", "plugins"]
    assert data["incidental_keys"] == ["description", "trackers", "trainer.checkpoint_every",
                                       "trainer.log_every", "trainer.sample_every"]
    assert [c["label"] for c in data["configs"]] == [
        "optim.d.lr=0.001, optim.g.lr=0.001, plugins=[]",
        'optim.d.lr=0.002, optim.g.lr=0.002, plugins=["my_plugin.py"]',
        'optim.d.lr=0.005, optim.g.lr=0.005, plugins=["my_plugin.py"]']
    p = Page()
    text = page.build_html(found, data)
    p.feed(text)
    assert [c[1] for c in p.tables[0][0]] == ["#", "optim.d.lr", "optim.g.lr", "plugins", "runs", "seeds"]
    assert "plugins.0" not in text


def _colour_pixels(uri: str, colour) -> int:
    from io import BytesIO

    from PIL import Image

    import base64

    rgb = np.asarray(Image.open(BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")).astype(int)
    target = np.array([round(c * 255) for c in colour[:3]])
    return int((np.abs(rgb - target).sum(axis=-1) < 40).sum())


def test_a_run_with_one_evaluation_is_drawn_as_a_visible_point(tmp_path):
    found, _ = runs.find([str(p) for p in three_runs(tmp_path)])
    data = compare.table(found)
    colours = page._colours(3)
    uri = page._curve_png(page._groups(found, data), colours, "eval/fd", "fd")
    # a legend entry alone draws ~40 pixels of a colour; a marker in the plot (and in its legend entry) adds ~100
    assert _colour_pixels(uri, colours[0]) > 90 and _colour_pixels(uri, colours[2]) > 90


def test_numbers_are_shown_at_sensible_precision():
    s = stats.Summary(3, 0.123456, 0.003965, 0.11951, 0.12784, [0.12, 0.123, 0.127])
    assert stats.fmt(s) == "0.1235 ± 0.0040 [0.1195, 0.1278]"  # sd at two figures, the rest to its last digit
    assert stats.fmt(stats.Summary(3, 160.58333, 10.625, 151.2, 168.9, [])) == "161 ± 11 [151, 169]"
    assert [stats.number(v) for v in (1204.0233972534988, 120.0, 0.04213, 2.71828, 0.0)] == \
        ["1204", "120", "0.0421", "2.72", "0"]
    assert stats.fmt(stats.Summary(1, 87.654321, None, None, None, [87.654321])) == "87.7"


def test_importance_is_only_for_parameters_with_more_than_one_value():
    import optuna
    from optuna.distributions import CategoricalDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    dist = {"lr": CategoricalDistribution([0.001, 0.002, 0.005]), "loss": CategoricalDistribution(["hinge"])}
    for i, lr in enumerate([0.001, 0.002, 0.005, 0.001]):
        study.add_trial(optuna.trial.create_trial(params={"lr": lr, "loss": "hinge"}, distributions=dist,
                                                  value=100.0 * lr + i))
    assert set(compare.importance(study)) == {"lr"}


def test_the_best_configuration_is_marked(five_runs, tmp_path):
    found, _ = runs.find([str(five_runs)])
    data = compare.table(found)
    finals = [FD[(2e-3, s)][-1] for s in range(2)]
    assert data["best"] == {"metric": "fd", "direction": "minimize", "config": 2, "final": np.mean(finals)}
    p = Page()
    p.feed(page.build_html(found, data))
    configs, summary = p.tables[:2]
    assert [row[0][1] for row in configs[1:]] == ["1", "2\xa0best"] == [row[0][1] for row in summary[1:]]
    # one evaluation metric where higher is better: the highest mean wins
    modes = compare.table(found, metrics=["modes"])["best"]
    assert modes["metric"] == "modes" and modes["config"] == 1 and modes["direction"] == "maximize"
