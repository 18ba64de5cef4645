"""Curves from metrics.jsonl: one panel table for `gankit plot` and the report."""
import io
import json

import pytest

from gankit.errors import GankitError
from gankit.runs.curves import PANELS, draw, panel_pngs, panels, plot_curves, render
from gankit.store.metrics import MetricsLog

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

LOG = MetricsLog(
    train=[{"step": 10, "d_loss": 1.3, "g_loss": 0.7, "d_real": 0.1, "images_per_s": 100.0},
           {"step": 20, "d_loss": 1.1, "g_loss": float("nan"), "d_real": 0.4, "images_per_s": True}],
    evals=[{"step": 20, "eval/fd": 80.0, "eval/kid": 0.04, "eval/eval_s": 3.0}],
    bad=0,
)


def test_panels_follow_the_table_then_one_per_eval_metric():
    shown = panels(LOG)
    assert [p.title for p in shown] == [t for t, _, _ in PANELS] + ["fd", "kid"]  # eval_s is bookkeeping
    losses, logits, speed = shown[:3]
    assert [(k, xs, ys) for k, xs, ys in losses.series] == [("d_loss", [10, 20], [1.3, 1.1]), ("g_loss", [10], [0.7])]
    assert [k for k, _, _ in logits.series] == ["d_real"]  # a key never logged is left out
    assert speed.series == [("images_per_s", [10], [100.0])]  # booleans are not numbers
    assert panels(MetricsLog([], [], 0)) == []


def test_draw_writes_one_png_of_all_panels_and_the_report_gets_one_per_panel():
    buf = io.BytesIO()
    draw(panels(LOG), buf, title="run")
    assert buf.getvalue().startswith(PNG_MAGIC)
    pngs = panel_pngs(LOG)
    assert len(pngs) == 5 and all(p.startswith(PNG_MAGIC) for p in pngs)
    from PIL import Image

    full, crops = render(panels(LOG), title="run")  # one drawing; each panel is cut out of it
    (fw, fh), sizes = Image.open(io.BytesIO(full)).size, [Image.open(io.BytesIO(c)).size for c in crops]
    assert (fw, fh) == (3 * 450, 2 * 320) and len(sizes) == 5
    assert all(fw / 4 < w <= fw / 3 + 8 and fh / 3 < h <= fh / 2 + 8 for w, h in sizes), sizes
    first = Image.open(io.BytesIO(crops[0])).convert("RGB")
    assert len(first.getcolors(maxcolors=1 << 24)) > 10  # lines, text and grid, not a blank cut


def test_plot_curves_writes_curves_png_and_explains_empty_runs(tmp_path):
    with pytest.raises(GankitError, match="metrics.jsonl not found"):
        plot_curves(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "d_lo')
    with pytest.raises(GankitError, match="no rows yet"):
        plot_curves(tmp_path)
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "d_loss": "n/a"}) + "\n")
    with pytest.raises(GankitError, match="no loss or eval"):
        plot_curves(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in LOG.train + LOG.evals))
    out = plot_curves(tmp_path)
    assert out == tmp_path / "curves.png" and out.read_bytes().startswith(PNG_MAGIC)
    assert plot_curves(tmp_path, tmp_path / "other.png").read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "metrics.jsonl", "other.png"]
