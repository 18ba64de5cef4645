"""gankit list: origin, arguments with types and defaults, one-line doc; text, JSON and Markdown."""
import json
import subprocess
import sys

import pytest

from gankit.errors import GankitError
from gankit.config.listing import render, rows
from gankit.config.registry import ALL


def test_rows_read_signatures_and_docstrings():
    data = rows()
    assert list(data) == list(ALL)
    losses = {e["name"]: e for e in data["losses"]}
    ls = losses["least_squares"]
    assert ls["origin"] == "built-in" and ls["source"] == "built-in" and ls["package"] is None
    assert ls["doc"].startswith("LSGAN")
    assert ls["args"][1] == {"name": "b", "type": "float", "default": "1.0", "required": False, "from_data": False}
    assert ls["signature"] == "a: float = 0.0, b: float = 1.0, c: float = 1.0"
    gen = {e["name"]: e for e in data["generators"]}["dcgan_mnist"]
    img = next(a for a in gen["args"] if a["name"] == "img_shape")
    assert img["from_data"] and not img["required"]
    assert "img_shape" not in gen["signature"]


def test_every_registered_component_is_listed_with_a_doc():
    for name, reg in ALL.items():
        listed = [e["name"] for e in rows(name)[name]]
        assert listed == reg.names()
        for e in rows(name)[name]:
            if e["origin"] == "built-in":  # (test plugins loaded by other tests may lack docs)
                assert e["doc"], f"{name} '{e['name']}' has no docstring; `gankit list` shows its first line"


def test_text_shows_origin_doc_and_each_argument():
    text = render("text", "losses")
    assert text.startswith("losses (")
    assert "  least_squares  [built-in]\n      LSGAN" in text
    assert "      - c: float = 1.0\n" in text
    gen = render("text", "generators")
    assert "- img_shape: tuple  (from the data)" in gen


def test_json_round_trips():
    data = json.loads(render("json"))
    assert set(data) == {"registries", "installed_plugins"}
    assert data["registries"] == json.loads(json.dumps(rows()))


def test_markdown_has_a_section_and_an_argument_table_per_component():
    md = render("markdown", "losses")
    assert md.startswith("## losses\n")
    assert "### `least_squares`" in md
    assert "| `a` | `float` | `0.0` |" in md
    assert "*Origin:* built-in" in md


def test_markdown_pipes_of_union_types_stay_in_their_cell(monkeypatch):
    from gankit.config import listing
    from gankit.config.registry import Registry

    reg = Registry("thing")

    @reg.register("opt")
    def opt(size: int | None = None, mode: str = "a|b"):
        """Optional size."""

    monkeypatch.setattr(listing, "ALL", {"things": reg})
    md = render("markdown")
    import markdown

    html = markdown.markdown(md, extensions=["tables"])
    assert "<td><code>int | None</code></td>" in html
    assert "<td><code>'a|b'</code></td>" in html
    assert html.count("<td>") == 6  # two rows of three cells: no pipe split a cell

def test_unknown_registry_or_format_is_a_clear_error():
    with pytest.raises(GankitError, match="unknown registry 'gens'. Choose one of: generators"):
        rows("gens")
    with pytest.raises(GankitError, match="unknown format 'yaml'"):
        render("yaml")


@pytest.mark.slow
def test_cli_list_formats_and_plugin_files(tmp_path):
    f = tmp_path / "extra.py"
    f.write_text("from gankit import LOSSES\n@LOSSES.register('extra_loss')\n"
                 "def extra_loss(scale: float = 2.0):\n    '''An extra loss from a file.'''\n")
    r = subprocess.run([sys.executable, "-m", "gankit", "list", "losses", "--json", "--plugins", str(f)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    entry = {e["name"]: e for e in json.loads(r.stdout)["registries"]["losses"]}["extra_loss"]
    assert entry["origin"] == f"file {f.resolve()}" and entry["path"] == str(f.resolve())
    assert entry["signature"] == "scale: float = 2.0"
    r = subprocess.run([sys.executable, "-m", "gankit", "list", "nonsense"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown registry 'nonsense'" in r.stderr


def test_a_plugins_side_job_is_listed_with_its_arguments(fresh_plugins):
    from pathlib import Path

    from gankit.config import plugins

    plugins.load([str(Path(__file__).parents[1] / "training" / "plugins" / "stateful_parts.py")])
    text = render("text", "side_jobs")
    assert text.startswith("side_jobs (")
    assert "  step_log  [file " in text and "Appends {\"step\", \"runs\"} to step_log.jsonl" in text
    assert "      - every: int = 2\n" in text and "      - file: str = 'step_log.jsonl'\n" in text
