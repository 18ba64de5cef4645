"""Screenshots of gankit's HTML pages at a desktop (1280 px) and a phone (390 px) width, in headless Chromium.

    python scripts/page_screenshots.py [OUT_DIR] [--mnist DATA_ROOT] [--steps N] [--work DIR]

trains a small sweep (four trials of the MNIST DCGAN recipe on the 10k MNIST test digits when ``--mnist``
names the folder that holds ``MNIST/raw``, else of the test recipe on synthetic data), then writes into OUT_DIR
(default docs/images/pages/) ``report-1280.png``, ``report-390.png`` (the report of one trial),
``sweep-1280.png``, ``sweep-390.png`` (the sweep's compare page) and ``adhoc-1280.png``, ``adhoc-390.png``
(``gankit compare`` of three of its runs). Each shot is the top of the page, at most ``--max-height`` px.

Chromium lays no window out narrower than 500 px, so a page is shown in an iframe of the width asked
for; the harness (``harness``, ``measure``) is the one the page tests use.
"""
import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (1280, 390)
MEASURE = """
const frame = document.getElementById('page');
frame.addEventListener('load', () => {
  const doc = frame.contentDocument, width = doc.documentElement.clientWidth, over = [];
  const scrolls = el => {
    for (let p = el.parentElement; p && p !== doc.body; p = p.parentElement) {
      const o = frame.contentWindow.getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
  for (const el of doc.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if ((r.width || r.height) && (r.right > width + 0.5 || r.left < -0.5) && !scrolls(el))
      over.push({element: name(el), left: Math.round(r.left), right: Math.round(r.right)});
  }
  const boxes = {};
  for (const sel of BOXES) boxes[sel] = [...doc.querySelectorAll(sel)].map(el => {
    const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, width: r.width, height: r.height};
  });
  const out = document.createElement('pre');
  out.id = 'measured';
  out.textContent = JSON.stringify({width, scroll_width: doc.documentElement.scrollWidth, overflow: over,
                                    height: doc.documentElement.scrollHeight, boxes});
  document.body.appendChild(out);
});
"""


def browser() -> str | None:
    return next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def chromium(*args, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([browser() or "chromium", "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                           *args], capture_output=True, text=True, timeout=timeout)


def harness(page: str, width: int, height: int = 900, boxes: tuple[str, ...] = (), measure: bool = True) -> str:
    """A page that shows ``page`` in an iframe ``width`` × ``height`` px (its ``srcdoc``: the same origin as the
    harness) and, with ``measure``, writes what it measured into its own DOM once the page has loaded: every
    element whose box reaches past the page's width (outside a box that scrolls sideways), the page's scroll
    width and height, and the boxes of the elements ``boxes`` names."""
    script = f"<script>{MEASURE.replace('BOXES', json.dumps(list(boxes)))}</script>" if measure else ""
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>page</title>"
            f"<style>body{{margin:0}} iframe{{border:0;display:block}}</style></head><body>"
            f"<iframe id=\"page\" title=\"page\" width=\"{width}\" height=\"{height}\" "
            f"srcdoc=\"{html.escape(page, quote=True)}\"></iframe>{script}</body></html>")


def measure(page_file: Path, width: int, boxes: tuple[str, ...] = ()) -> dict:
    """What the harness measured of the page in ``page_file`` at ``width`` px."""
    check = page_file.with_name(f"{page_file.stem}-check-{width}.html")
    check.write_text(harness(page_file.read_text(encoding="utf-8"), width, boxes=boxes), encoding="utf-8")
    out = chromium("--window-size=1400,900", "--dump-dom", check.as_uri()).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', out, re.S)
    if not found:
        raise RuntimeError(f"the harness measured nothing: {out[-2000:]}")
    return json.loads(html.unescape(found.group(1)))


def screenshot(page_file: Path, width: int, out: Path, max_height: int) -> Path:
    """The top ``max_height`` px of the page at ``width`` px as a PNG (256 colours, to keep it small)."""
    from PIL import Image

    height = min(measure(page_file, width)["height"], max_height)
    shot = page_file.with_name(f"{page_file.stem}-shot-{width}.html")
    shot.write_text(harness(page_file.read_text(encoding="utf-8"), width, height, measure=False), encoding="utf-8")
    raw = page_file.with_name(f"{page_file.stem}-{width}.png")
    chromium(f"--screenshot={raw}", f"--window-size={max(width, 500)},{height}", shot.as_uri())
    image = Image.open(raw).convert("RGB").crop((0, 0, width, height))
    out.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


SPACE = """
params:
  lr: {keys: [optim.g.lr, optim.d.lr], choices: [0.001, 0.002]}
  loss.name: [non_saturating, hinge]
seeds: [0]
pruner: none
"""


def gankit(*args) -> None:
    subprocess.run([sys.executable, "-m", "gankit", *map(str, args)], cwd=ROOT, check=True)


def make_runs(work: Path, mnist: str | None, steps: int) -> Path:
    """A small sweep of four trials (two learning rates × two losses), trained here."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "space.yaml").write_text(SPACE)
    every = max(1, steps // 3)
    common = [f"trainer.max_steps={steps}", f"trainer.eval_every={every}", f"trainer.sample_every={every}",
              f"trainer.checkpoint_every={steps}", "trainer.cpu=true", "eval.num_samples=256", "eval.real_samples=256",
              "metrics=[{name: fd}, {name: mode_coverage}]"]
    if mnist:
        recipe = ROOT / "recipes" / "mnist_dcgan.yaml"
        common += [f"data.root={Path(mnist).resolve()}", "data.split=test", "data.download=false", "trainer.precision=no"]
    else:
        recipe = ROOT / "tests" / "experiments" / "tiny_sweep.yaml"
    gankit("sweep", recipe, work / "space.yaml", "--out", work / "sweep", *common)
    return work / "sweep"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=str(ROOT / "docs" / "images" / "pages"), help="folder for the PNGs")
    ap.add_argument("--mnist", metavar="DATA_ROOT", help="train on MNIST from DATA_ROOT/MNIST/raw (else synthetic data)")
    ap.add_argument("--steps", type=int, default=60, help="training steps per trial (default 60)")
    ap.add_argument("--work", metavar="DIR", help="where the runs go (default: a temporary folder); an existing "
                                                   "sweep there is used as it is")
    ap.add_argument("--max-height", type=int, default=2400, help="the most of each page shown, in px")
    args = ap.parse_args(argv)
    if browser() is None:
        sys.exit("page_screenshots: no headless Chromium (apt-get install chromium)")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="gankit-pages-"))
    sweep = work / "sweep" if (work / "sweep" / "sweep.json").is_file() else make_runs(work, args.mnist, args.steps)
    runs = sorted(p for p in (sweep / "runs").iterdir() if p.is_dir() and (p / "samples").is_dir())
    if len(runs) < 3:
        sys.exit(f"page_screenshots: the sweep in {sweep} has {len(runs)} runs with samples; 3 are needed")
    pages = {"report": work / "report.html", "sweep": work / "sweep.html", "adhoc": work / "adhoc.html"}
    gankit("report", runs[0], "--out", pages["report"])
    gankit("compare", sweep, "--out", pages["sweep"])
    gankit("compare", *runs[:3], "--out", pages["adhoc"])
    for name, page in pages.items():
        for width in WIDTHS:
            print(screenshot(page, width, Path(args.out) / f"{name}-{width}.png", args.max_height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
