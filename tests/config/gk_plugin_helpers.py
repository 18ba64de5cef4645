"""Installing plugin packages for a test without touching the environment.

A package is "installed" by writing its module and a ``*.dist-info`` folder (METADATA and
entry_points.txt, as pip writes them) into a temporary folder on ``sys.path``:
``importlib.metadata`` then finds the entry point exactly as for a pip-installed package.
"""
import sys
import textwrap
import tomllib
from pathlib import Path

from gankit.config import plugins

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "plugins" / "gankit-example-plugin"
EXAMPLE_META = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]


def write_dist(site: Path, name: str, version: str, entry_points: dict[str, str],
               modules: dict[str, str] | None = None) -> Path:
    """Write modules (``{"pkg_mod": source}``) and a dist-info declaring ``gankit.plugins`` entry points."""
    site.mkdir(parents=True, exist_ok=True)
    for mod, source in (modules or {}).items():
        (site / f"{mod}.py").write_text(textwrap.dedent(source))
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    eps = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{plugins.ENTRY_POINT_GROUP}]\n{eps}\n")
    return site


def example_site(tmp_path: Path) -> Path:
    """The example package "installed": its dist-info in a tmp folder, its source folder on the path."""
    site = write_dist(tmp_path / "site", EXAMPLE_META["name"], EXAMPLE_META["version"],
                      EXAMPLE_META["entry-points"]["gankit.plugins"])
    return site


