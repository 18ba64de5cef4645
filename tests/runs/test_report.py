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
    assert {"Final numbers", "Curves", "Samples over training", "Recipe (resolved)", "Environment"} <= set(page.h2)
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
    # the recipe is shown escaped, versions are listed
    assert "description: report <test> run" in text
    assert "report &lt;test&gt; run" in out.read_text()
    for key in ("python", "torch", "accelerate", "gankit", "cpu"):
        assert key in text
    assert torch.__version__ in text


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
