"""The documentation site builds without warnings, and its generated pages match the code."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import docsgen  # noqa: E402  (scripts/docsgen.py, a build-time tool)


def test_generated_reference_pages_are_up_to_date():
    # in a fresh interpreter: what other tests registered or patched in this one is not the code's
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "docsgen.py"), "--check"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, f"{out.stdout}{out.stderr}: run `python scripts/docsgen.py` and commit them"


def test_recipe_reference_covers_every_schema_key():
    import dataclasses

    from gankit.config import recipe

    text = docsgen.recipe_markdown()

    def keys(cls, prefix=""):
        for f in dataclasses.fields(cls):
            t = cls.__annotations__[f.name]
            sub = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
            if dataclasses.is_dataclass(sub):
                yield from keys(type(sub), f"{prefix}{f.name}.")
            else:
                yield prefix + f.name

    for key in keys(recipe.Recipe):
        assert f"| `{key}` |" in text, key
    assert "| `trainer.batch_size` | int | `128` | global batch per step, split across processes |" in text


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    if shutil.which("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e .[dev])")
    site = tmp_path / "site"
    r = subprocess.run(["mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300, env={"NO_MKDOCS_2_WARNING": "1", "PATH": __import__("os").environ["PATH"]})
    assert r.returncode == 0, r.stderr[-3000:]
    for page in ("index.html", "quickstart/index.html", "plugins/index.html", "reference/recipe/index.html",
                 "reference/components/index.html", "offline-data/index.html", "faq/index.html"):
        assert (site / page).is_file(), page
    components = (site / "reference" / "components" / "index.html").read_text()
    assert "dcgan_mnist" in components and "\\|" not in components
