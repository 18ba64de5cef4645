"""A full disk under every writer: one clear error naming the path and the bytes, no file under the
final name, and (training) the run still resumes from its last intact checkpoint.

The disk is a real one where the machine allows: a small tmpfs (mounting needs root), filled up to a
few KiB before the write. Where it cannot be mounted, the same writers meet an injected
``OSError(ENOSPC)`` from the call that writes (the tests marked ``injected``)."""
import contextlib
import errno
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.config import recipe
from gankit.errors import GankitError
from gankit.store import checkpoints as ckpt
from gankit.store import intact
from gankit.store.files import METRICS_FILE, DiskFull
from gankit.store.grids import write_grid
from gankit.store.metrics import append_row, open_for_rows
from gankit.training.trainer import Trainer

from .helpers import SMALL, gankit


# -- a small real disk ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tmpfs(tmp_path_factory):
    where = tmp_path_factory.mktemp("tmpfs")
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(where)], capture_output=True)
    except OSError:
        done = None
    if done is None or done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the injected tests cover the writers")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


class Disk:
    """A folder on the tmpfs that ``fill()`` makes (nearly) full."""

    def __init__(self, root: Path):
        self.root = root
        self.dir = root / uuid.uuid4().hex[:8]
        self.dir.mkdir()
        self.filler = root / f"filler-{self.dir.name}"

    def fill(self, leave: int = 0) -> None:
        free = shutil.disk_usage(self.root).free
        with open(self.filler, "wb") as f:
            with contextlib.suppress(OSError):
                f.write(b"\0" * max(0, free - leave))
                f.flush()
                os.fsync(f.fileno())

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def disk(tmpfs):
    d = Disk(tmpfs)
    yield d
    d.free()
    shutil.rmtree(d.dir, ignore_errors=True)


def _names_path_and_bytes(msg: str, path) -> None:
    assert str(path) in msg, msg
    assert "bytes" in msg and "free" in msg, msg
    assert "Traceback" not in msg


def _nothing_left(folder: Path, final: str) -> None:
    names = [p.name for p in folder.iterdir()]
    assert not [n for n in names if n == final or final in n], names  # no file, no temporary


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished tiny run (checkpoints at steps 2 and 4, EMA) on the ordinary disk."""
    out = tmp_path_factory.mktemp("run") / "run"
    torch.set_num_threads(1)
    cfg = recipe.load(SMALL, ["trainer.max_steps=4", "ema.enabled=true"])
    Trainer(cfg, out).fit()
    recipe.save(cfg, out / "recipe.yaml")
    return out


# -- training ------------------------------------------------------------------------------------
def test_checkpoint_on_a_full_disk_is_one_error_and_resume_takes_the_previous(disk):
    cfg = recipe.load(SMALL, ["trainer.max_steps=2", "ema.enabled=true"])
    t = Trainer(cfg, disk.dir / "run")
    t.fit()
    recipe.save(cfg, t.run_dir / "recipe.yaml")
    before = ckpt.latest(t.run_dir)
    assert before.name == "step-0000002"
    disk.fill(leave=4096)
    t.state.step = 3
    with pytest.raises(GankitError) as e:
        t.save()
    _names_path_and_bytes(str(e.value), t.run_dir / "checkpoints" / "step-0000003")
    assert str(before) in str(e.value) and "--resume" in str(e.value)
    assert sorted(p.name for p in (t.run_dir / "checkpoints").iterdir()) == ["step-0000002"]
    disk.free()
    assert intact.choose(t.run_dir, None, "--resume", resuming=True) == (before, None)


def test_metrics_row_and_sample_grid_on_a_full_disk(disk):
    path = disk.dir / METRICS_FILE
    (disk.dir / "samples").mkdir()
    with open_for_rows(path) as fh:
        append_row(fh, path, {"step": 1, "d_loss": 0.5})
        disk.fill(leave=0)
        with pytest.raises(DiskFull) as e:
            append_row(fh, path, {"step": 2, "d_loss": 0.25, "pad": "x" * 20000})
    _names_path_and_bytes(str(e.value), path)
    assert path.read_text() == '{"step": 1, "d_loss": 0.5}\n'  # no half row
    with pytest.raises(DiskFull) as e:
        write_grid(disk.dir, 5, torch.rand(16, 3, 64, 64) * 2 - 1, 4)
    _names_path_and_bytes(str(e.value), disk.dir / "samples" / "step-0000005.png")
    assert not list((disk.dir / "samples").iterdir())


# -- export, sample, report, prepare-data ---------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["safetensors", "torchscript", "onnx"])
def test_export_on_a_full_disk(run, disk, fmt):
    if fmt == "onnx":
        for module in ("onnx", "onnxruntime", "onnxscript"):
            pytest.importorskip(module)
    out = disk.dir / ("gen" if fmt == "safetensors" else f"gen.{'pt' if fmt == 'torchscript' else 'onnx'}")
    disk.fill(leave=4096)
    done = gankit("export", run, out, "--format", fmt)  # a process: TorchScript's writer may abort it
    assert done.returncode == 2, done.stderr[-2000:]
    _names_path_and_bytes(done.stderr, out)
    _nothing_left(disk.dir, "gen")


@pytest.mark.parametrize("name", ["s.png", "s.npz"])
def test_sample_on_a_full_disk(run, disk, name, capsys):
    disk.fill(leave=4096)
    code = main(["sample", str(run), "--out", str(disk.dir / name), "--num", "64"])
    err = capsys.readouterr().err
    assert code == 2
    _names_path_and_bytes(err, disk.dir / name)
    _nothing_left(disk.dir, name.split(".")[0])


def test_report_on_a_full_disk(run, disk, capsys):
    copy = disk.dir / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("checkpoints"))
    shutil.copytree(run / "checkpoints" / "step-0000004", copy / "checkpoints" / "step-0000004")
    disk.fill(leave=0)
    code = main(["report", str(copy)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "bytes" in err and str(copy) in err and "Traceback" not in err
    assert not (copy / "report.html").exists() and not list(copy.glob(".*.tmp"))


def test_prepare_data_on_a_full_disk(disk, tmp_path, capsys):
    src = tmp_path / "images"
    src.mkdir()
    for i in range(40):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(src / f"{i}.png")
    out = disk.dir / "prepared"
    disk.fill(leave=8192)
    code = main(["prepare-data", str(src), str(out), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2, err
    _names_path_and_bytes(err, out / "images.u8")
    assert f"{40 * 3 * 64 * 64:,}" in err  # the array's size
    assert not out.exists() or not list(out.iterdir())


# -- injected: where no tmpfs can be mounted -------------------------------------------------------------
def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_injected_checkpoint_write_keeps_the_previous(run, tmp_path, monkeypatch):
    import gankit.store.checkpoints as store_ckpt

    cfg = recipe.load(SMALL, ["trainer.max_steps=2"])
    t = Trainer(cfg, tmp_path / "run")
    t.fit()
    t.state.step = 3
    monkeypatch.setattr(t.acc, "save_state", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")))
    with pytest.raises(GankitError) as e:
        t.save()
    _names_path_and_bytes(str(e.value), t.run_dir / "checkpoints" / "step-0000003")
    assert store_ckpt.latest(t.run_dir).name == "step-0000002"
    assert not list((t.run_dir / "checkpoints").glob(".tmp-*"))


def test_injected_torchscript_and_npz_writes(run, tmp_path, monkeypatch, capsys):
    from gankit.runs import portable
    from gankit.runs.inference import load_generator

    monkeypatch.setattr(Path, "write_bytes", _enospc)
    G = load_generator(run)
    with pytest.raises(DiskFull) as e:
        portable.export_file(G, "torchscript", tmp_path / "g.pt", {})
    _names_path_and_bytes(str(e.value), tmp_path / "g.pt")
    monkeypatch.setattr(np, "savez_compressed", _enospc)
    assert main(["sample", str(run), "--out", str(tmp_path / "s.npz")]) == 2
    _names_path_and_bytes(capsys.readouterr().err, tmp_path / "s.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


class _HalfThenFull:
    """A metrics.jsonl handle whose write puts half the bytes on disk, then finds the disk full."""

    def __init__(self, fh):
        self.fh = fh

    def fileno(self):
        return self.fh.fileno()

    def write(self, data):
        self.fh.write(bytes(data[:len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")


def test_injected_metrics_grid_report_and_prepare_writes(run, tmp_path, monkeypatch, capsys):
    path = tmp_path / METRICS_FILE
    with open_for_rows(path) as fh:
        append_row(fh, path, {"step": 1})
        with pytest.raises(DiskFull) as e:
            append_row(_HalfThenFull(fh), path, {"step": 2, "d_loss": 0.5})
    _names_path_and_bytes(str(e.value), path)
    assert path.read_text() == '{"step": 1}\n'

    copy = shutil.copytree(run, tmp_path / "run")
    (copy / "report.html").unlink(missing_ok=True)
    before = sorted(p.name for p in (copy / "samples").iterdir())
    monkeypatch.setattr(Path, "write_bytes", _enospc)
    with pytest.raises(DiskFull) as e:
        write_grid(copy, 9, torch.zeros(4, 1, 8, 8), 2)
    _names_path_and_bytes(str(e.value), copy / "samples" / "step-0000009.png")
    assert sorted(p.name for p in (copy / "samples").iterdir()) == before
    assert main(["report", str(copy)]) == 2
    assert "bytes" in capsys.readouterr().err and not (copy / "report.html").exists()

    import gankit.data.prepare as prepare_mod

    src = tmp_path / "images"
    src.mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8)).save(src / f"{i}.png")
    monkeypatch.setattr(prepare_mod, "open", _enospc, raising=False)  # the array's file
    assert main(["prepare-data", str(src), str(tmp_path / "out"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    _names_path_and_bytes(err, tmp_path / "out" / "images.u8")
    assert f"{3 * 3 * 8 * 8:,}" in err and not list((tmp_path / "out").iterdir())
