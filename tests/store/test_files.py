"""The run directory's names, atomic writes, the folder swap and the removal of stale temporaries."""
import json
import os
from pathlib import Path

import pytest

from gankit.store import files
from gankit.store.files import replacing, swap_in, write_json_atomic, write_text_atomic


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_layout_names():
    assert (files.RECIPE_FILE, files.METRICS_FILE, files.REPORT_FILE, files.CURVES_FILE) == \
        ("recipe.yaml", "metrics.jsonl", "report.html", "curves.png")
    assert (files.SAMPLES_DIR, files.CHECKPOINTS_DIR, files.STATE_FILE, files.BEST) == \
        ("samples", "checkpoints", "state.json", "best")
    assert (files.MODEL_FILE, files.EMA_FILE) == ("model.safetensors", "ema.safetensors")


def test_write_text_and_json_atomic_round_trip(tmp_path):
    path = tmp_path / "state.json"
    write_json_atomic(path, {"step": 3, "nested": {"a": [1, 2.5, None]}})
    assert json.loads(path.read_text()) == {"step": 3, "nested": {"a": [1, 2.5, None]}}
    write_text_atomic(path, "überschrieben\n")
    assert path.read_text(encoding="utf-8") == "überschrieben\n"
    assert _leftovers(tmp_path) == []


def test_a_write_interrupted_before_the_rename_keeps_the_old_content(tmp_path, monkeypatch):
    path = tmp_path / "recipe.yaml"
    write_text_atomic(path, "old: 1\n")
    with pytest.raises(TypeError):
        write_json_atomic(path, {"not json": object()})
    assert path.read_text() == "old: 1\n"

    def crash(*_):
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="before the rename"):
        write_text_atomic(path, "new: 2\n")
    assert path.read_text() == "old: 1\n"
    assert _leftovers(tmp_path) == []  # the temporary file is removed


def test_replacing_writes_beside_the_target_and_renames_on_success(tmp_path):
    target = tmp_path / "cache.bin"
    with replacing(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_bytes(b"\x00\x01")
        assert not target.exists()
    assert target.read_bytes() == b"\x00\x01" and _leftovers(tmp_path) == []


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "state.json").write_text(text)
    (path / "sub").mkdir()
    (path / "sub" / "w.bin").write_bytes(text.encode())
    return path


def test_swap_in_replaces_a_folder_and_leaves_nothing_parked(tmp_path):
    final = _folder(tmp_path / "best", "old")
    swap_in(_folder(tmp_path / ".tmp-best", "new"), final)
    assert (final / "state.json").read_text() == "new" and (final / "sub" / "w.bin").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
    swap_in(_folder(tmp_path / ".tmp-fresh", "first"), tmp_path / "fresh")  # no old folder to park
    assert (tmp_path / "fresh" / "state.json").read_text() == "first"


def test_swap_in_interrupted_after_parking_keeps_the_old_folder_as_dot_old(tmp_path, monkeypatch):
    final = _folder(tmp_path / "best", "old")
    tmp = _folder(tmp_path / ".tmp-best", "new")
    real_replace = os.replace

    def crash_on_second(src, dst):
        if Path(src) == tmp:
            raise OSError("killed between the two renames")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_second)
    with pytest.raises(OSError):
        swap_in(tmp, final)
    assert not final.exists() and (tmp_path / ".old-best" / "state.json").read_text() == "old"
    monkeypatch.setattr(os, "replace", real_replace)
    swap_in(tmp, final)  # a stale .old-<name> from an earlier crash is removed first
    assert (final / "state.json").read_text() == "new" and not (tmp_path / ".old-best").exists()


def test_stale_temporaries_of_killed_processes_are_removed_live_ones_kept(tmp_path):
    mine = tmp_path / f".recipe.yaml.{os.getpid()}.tmp"
    dead = tmp_path / ".recipe.yaml.999999999.tmp"
    for p in (mine, dead):
        p.write_text("half")
    assert files.remove_stale_temporaries(tmp_path) == [dead] and mine.exists()
