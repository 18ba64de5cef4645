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
from gankit.experiments import compare, page, runs

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


def fake_run(root: Path, lr: float, seed: int, fd: list[float], description: str = "", kid: bool = False) -> Path:
    run = root / f"lr{lr}-s{seed}"
    (run / "samples").mkdir(parents=True)
    recipe = {"description": description, "optim": {"g": {"lr": lr}, "d": {"lr": lr}},
              "trainer": {"seed": seed, "batch_size": 32, "d_steps": 1}, "output": {"root": f"runs{seed}"}}
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
    assert runs.differing_keys(found) == ["description", "optim.d.lr", "optim.g.lr"]  # not seed, not output
    groups = runs.group(found)
    assert [len(members) for _, members in groups] == [3, 2]
    assert groups[0][0] == {"description": "plain", "optim.d.lr": 1e-3, "optim.g.lr": 1e-3}


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
    assert [c[1] for c in configs[0]] == ["#", "description", "optim.d.lr", "optim.g.lr", "runs", "seeds"]
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
    assert fd_final[1].startswith(f"{np.mean(finals):.4g} ± {np.std(finals, ddof=1):.4g} [")


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
    assert f"{np.mean(finals):.4g} ± {np.std(finals, ddof=1):.4g}" in second and "| — |" in second
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
