"""gankit report: one self-contained HTML file built from a run directory."""
import base64
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from torchvision.utils import save_image

from gankit.errors import GankitError
from gankit.runs.report import MAX_GRIDS, write_report, write_views
from tests.store.test_metrics import ROWS  # two training rows and an eval row

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.text, self.h2, self.external = [], [], [], []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        if tag == "h2":
            self._in_h2 = True
        if tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.external.append(a)

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h2:
            self.h2.append(data.strip())


def _fake_run(tmp_path: Path, n_grids: int = 3) -> Path:
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    text = "".join(json.dumps(r) + "\n" for r in ROWS) + '{"step": 30, "d_lo'  # a line cut by a crash
    (run / "metrics.jsonl").write_text(text)
    (run / "recipe.yaml").write_text("description: report <test> run\ngenerator:\n  name: dcgan_mnist\n  z_dim: 96\n")
    for i in range(n_grids):
        save_image(torch.rand(4, 1, 8, 8), run / "samples" / f"step-{(i + 1) * 10:07d}.png", nrow=2)
    return run


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_report_is_self_contained_with_numbers_images_recipe_and_versions(tmp_path):
    run = _fake_run(tmp_path)
    out = write_report(run)
    assert out == run / "report.html"
    page = _parse(out)
    text = " ".join(page.text)
    assert page.external == []
    assert {"Final numbers", "Last samples and real images", "Curves", "Samples over training", "Recipe (resolved)",
            "Training machine"} <= set(page.h2)
    # every image is an embedded PNG that decodes
    assert page.imgs
    for img in page.imgs:
        assert img["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(img["src"].split(",", 1)[1]).startswith(PNG_MAGIC)
    grids = [i for i in page.imgs if i.get("class") == "grid"]
    curves = [i for i in page.imgs if i.get("class") == "curve"]
    assert [g["alt"] for g in grids] == ["samples at step 10", "samples at step 20", "samples at step 30"]
    assert base64.b64decode(grids[0]["src"].split(",", 1)[1]) == (run / "samples" / "step-0000010.png").read_bytes()
    assert len(curves) == 5  # losses, logits, throughput, fd, kid
    # the last training row and the latest evaluation numbers are in the table
    for number in ("1.11111", "2.71828", "2345.6", "87.6543", "0.0421"):
        assert number in text, number
    assert "eval/fd (step 20)" in text
    assert "1 unreadable line(s)" in text
    # the recipe is shown escaped; a run without machine.json does not pass this machine off as its own
    assert "description: report <test> run" in text
    assert "report &lt;test&gt; run" in out.read_text()
    assert "Training machine: not recorded" in text and torch.__version__ not in text


def test_many_grids_are_thinned_evenly_keeping_first_and_last(tmp_path):
    run = _fake_run(tmp_path, n_grids=MAX_GRIDS + 5)
    page = _parse(write_report(run))
    grids = [i["alt"] for i in page.imgs if i.get("class") == "grid"]
    assert len(grids) == MAX_GRIDS
    assert grids[0] == "samples at step 10" and grids[-1] == f"samples at step {(MAX_GRIDS + 5) * 10}"


def test_write_views_writes_curves_and_report_and_only_warns_on_failure(tmp_path):
    run = _fake_run(tmp_path)
    assert write_views(run) == [run / "curves.png", run / "report.html"]
    assert (run / "curves.png").read_bytes().startswith(PNG_MAGIC)
    with pytest.warns(UserWarning) as caught:
        assert write_views(tmp_path / "missing") == []
    assert [str(w.message).split(" for ")[0] for w in caught] == ["could not write curves.png",
                                                                  "could not write report.html"]


def test_report_of_an_empty_run_still_renders(tmp_path):
    run = tmp_path / "fresh"
    run.mkdir()
    (run / "recipe.yaml").write_text("trainer: {max_steps: 1}\n")
    text = write_report(run).read_text()
    assert "No rows in metrics.jsonl yet." in text and "No sample grids" in text


def test_not_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(GankitError, match="not a gankit run"):
        write_report(tmp_path)
    with pytest.raises(GankitError, match="does not exist"):
        write_report(tmp_path / "missing")


@pytest.mark.slow
def test_cli_report_writes_and_prints_the_path(tmp_path):
    run = _fake_run(tmp_path)
    target = tmp_path / "elsewhere.html"
    r = subprocess.run([sys.executable, "-m", "gankit", "report", str(run), "--out", str(target)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(target)
    assert "87.6543" in target.read_text()
    bad = subprocess.run([sys.executable, "-m", "gankit", "report", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "gankit: error: report:" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_report_of_a_real_tiny_run(tmp_path, tiny_recipe):
    import gankit

    summary = gankit.train(gankit.load_recipe(tiny_recipe, ["trainer.max_steps=2"]), out=tmp_path / "run")
    run = Path(summary["run_dir"])
    assert (run / "report.html").is_file() and (run / "curves.png").is_file()  # gankit.train draws the run
    page = _parse(write_report(run))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    text = " ".join(page.text)
    assert f"{rows[-1]['g_loss']:.6g}" in text
    assert any(i.get("class") == "grid" for i in page.imgs)


SCRIPT, BREAKOUT = "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>'


class _Markup(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _hostile_run(tmp_path: Path) -> Path:
    """A run whose recipe description, component and plugin names, metric keys and own name carry markup."""
    run = tmp_path / f"run{BREAKOUT}"
    (run / "samples").mkdir(parents=True)
    rows = [{"step": 1, "d_loss": 1.0, "g_loss": 2.0, SCRIPT: 3.0},
            {"step": 1, f"eval/{SCRIPT}": 1.0, f"eval/{BREAKOUT}": 2.0, "eval/$\\frac{": 3.0}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "recipe.yaml").write_text(f"description: '{SCRIPT} {BREAKOUT}'\ngenerator: {{name: '{SCRIPT}'}}\n"
                                     f"plugins: ['{BREAKOUT}.py']\n")
    save_image(torch.rand(4, 1, 8, 8), run / "samples" / "step-0000001.png", nrow=2)
    return run


def test_hostile_text_is_escaped_and_injects_no_markup(tmp_path):
    text = write_report(_hostile_run(tmp_path)).read_text(encoding="utf-8")
    page = _Markup()
    page.feed(text)
    tags = {t for t, _ in page.tags}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "thead", "tbody",
                    "tr", "th", "td", "div", "img", "figure", "figcaption", "pre"}, tags
    for tag, attrs in page.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "img":
            assert set(attrs) <= {"class", "alt", "src"} and attrs["src"].startswith("data:image/png;base64,")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in text


def _browser() -> str:
    """A headless Chromium; CI (GANKIT_REQUIRE_BROWSER=1, set by .ci/run) fails without one instead of skipping."""
    import os
    import shutil

    found = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if found is None:
        if os.environ.get("GANKIT_REQUIRE_BROWSER") == "1":
            pytest.fail("GANKIT_REQUIRE_BROWSER=1 but no Chromium is installed (apt-get install chromium)")
        pytest.skip("no headless Chromium installed")
    return found


def _chromium(browser: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox", *args], capture_output=True,
                          text=True, timeout=120)


def test_headless_browser_renders_the_report_and_runs_no_injected_markup(tmp_path):
    from PIL import Image

    browser = _browser()
    report = write_report(_hostile_run(tmp_path))
    shot = tmp_path / "shot.png"
    _chromium(browser, f"--screenshot={shot}", "--window-size=1200,2000", report.as_uri())
    assert shot.is_file() and shot.read_bytes().startswith(PNG_MAGIC), "Chromium wrote no screenshot"
    gray = Image.open(shot).convert("L")
    dark = sum(gray.histogram()[:160]) / (gray.width * gray.height)
    heading = gray.crop((0, 0, gray.width, 120)).getextrema()
    assert dark > 0.01 and heading[0] < 100, f"blank page: {dark:.2%} dark pixels, heading band {heading}"
    dom = _Markup()
    dom.feed(_chromium(browser, "--dump-dom", report.as_uri()).stdout)  # the page as the browser parsed it
    assert ("h1", {}) in dom.tags and not [t for t, a in dom.tags if t == "script" or any(k.startswith("on") for k in a)]


# -- what ran: the description, the training machine, the best checkpoint, the real images ------------
LONG = "MNIST DCGAN (tutorial architecture), non-saturating loss, Adam 1e-3 β1 0.5, 10 epochs"
MACHINE = {"host": "trainbox-7", "cpu": "AMD EPYC 9654 96-Core Processor", "cpu_flags": ["avx2", "avx512f"],
           "cores": 192, "threads": 96, "gpus": ["NVIDIA H100 80GB HBM3"] * 2, "cuda": "13.0", "python": "3.11.7",
           "torch": "2.14.1+cu130", "accelerate": "1.16.0", "gankit": "0.1.0", "platform": "Linux-6.1-x86_64",
           "started": "2026-12-01T10:00:00+00:00", "device": "cuda:0", "world_size": 2, "precision": "bf16"}


def described_run(tmp_path: Path, machine: dict | None = MACHINE, real: bool = True) -> Path:
    """A run as training leaves it: a recipe written by OmegaConf (which folds a long description over two
    lines), precision `auto`, machine.json, a best checkpoint, and samples/real.png."""
    from omegaconf import OmegaConf

    run = _fake_run(tmp_path)
    (run / "recipe.yaml").write_text(OmegaConf.to_yaml({"description": LONG, "trainer": {"precision": "auto"}}))
    if machine is not None:
        (run / "machine.json").write_text(json.dumps(machine))
    for ckpt in ("step-0000030", "best"):
        (run / "checkpoints" / ckpt).mkdir(parents=True)
        (run / "checkpoints" / ckpt / "state.json").write_text(json.dumps({"step": 30, "best": 1204.0233972534988,
                                                                           "best_step": 20}))
    (run / "checkpoints" / "best" / "best.json").write_text(json.dumps(
        {"source": "step-0000020", "metric": "fd", "value": 1204.0233972534988, "mode": "min", "step": 20}))
    if real:
        save_image(torch.zeros(4, 1, 8, 8), run / "samples" / "real.png", nrow=2)
    return run


def _rows(text: str) -> dict[str, str]:
    """The two-cell rows of a page's tables, as {first cell: second cell}."""
    import re

    cells = re.findall(r"<tr><t[dh][^>]*>(.*?)</t[dh]><t[dh][^>]*>(.*?)</t[dh]>", text, re.S)
    return {re.sub("<[^>]+>", "", a): re.sub("<[^>]+>", "", b) for a, b in cells}


def test_the_whole_description_of_a_folded_recipe_is_shown(tmp_path):
    text = write_report(described_run(tmp_path)).read_text(encoding="utf-8")
    assert f"<p class=\"description\">{LONG}</p>" in text


def test_the_precision_and_machine_that_trained_are_read_from_machine_json(tmp_path):
    rows = _rows(write_report(described_run(tmp_path)).read_text(encoding="utf-8"))
    assert rows["precision"] == "bf16 (recipe: auto)"
    assert rows["host"] == "trainbox-7" and rows["device"] == "cuda:0 × 2 processes"
    assert rows["GPUs"] == "2 × NVIDIA H100 80GB HBM3 (CUDA 13.0)"
    assert rows["CPU"] == "AMD EPYC 9654 96-Core Processor (avx2, avx512f), 192 logical cores, 96 threads"
    assert rows["torch"] == "2.14.1+cu130" and rows["started"] == "2026-12-01T10:00:00+00:00"


def test_a_run_without_machine_json_says_so_and_shows_the_requested_precision(tmp_path):
    text = write_report(described_run(tmp_path, machine=None)).read_text(encoding="utf-8")
    rows = _rows(text)
    assert rows["precision"] == "auto (as requested; what ran was not recorded)"
    assert "Training machine: not recorded" in text and "host" not in rows


def test_the_best_checkpoint_is_rounded_with_its_step(tmp_path):
    text = write_report(described_run(tmp_path)).read_text(encoding="utf-8")
    assert _rows(text)["best checkpoint"] == "fd 1204 at step 20 (checkpoints/best)"
    assert "1204.0233972534988" not in text


def test_the_last_grid_is_shown_large_beside_real_images(tmp_path):
    run = described_run(tmp_path)
    page = _parse(write_report(run))
    shown = {i.get("class"): i for i in page.imgs}
    assert shown["last"]["alt"] == "samples at step 30"
    assert base64.b64decode(shown["real"]["src"].split(",", 1)[1]) == (run / "samples" / "real.png").read_bytes()
    assert "Last samples and real images" in page.h2
    plain = _parse(write_report(described_run(tmp_path / "b", real=False)))
    assert "real" not in {i.get("class") for i in plain.imgs}
    assert "no samples/real.png in this run" in " ".join(plain.text)


def test_training_writes_a_grid_of_real_images_once(run_dir):
    from PIL import Image

    real, first = run_dir / "samples" / "real.png", run_dir / "samples" / "step-0000002.png"
    assert Image.open(real).size == Image.open(first).size  # as many images as a sample grid, laid out alike
    assert real.read_bytes() != first.read_bytes()  # training images, not generated ones


def test_report_names_what_each_metric_is_as_the_eval_rows_say(tmp_path):
    run = _fake_run(tmp_path)
    with open(run / "metrics.jsonl", "a") as f:
        f.write("\n" + json.dumps({"step": 40, "eval/fd": 12.5, "labels": {"fd": "fd (lenet_mnist, 10k vs 10k)"}}) + "\n")
    text = " ".join(_parse(write_report(run)).text)
    assert "eval/fd (lenet_mnist, 10k vs 10k) (step 40)" in text and "eval/kid (step" in text
