"""Figures for prepared (memory-mapped) datasets: preparing PNGs, the data share of a step, memory.

    python benchmarks/prepare_data.py make-pngs /tmp/gk-bench/png --n 100000      # generated 64×64 PNGs
    gankit prepare-data /tmp/gk-bench/png /tmp/gk-bench/prepared --workers 2       # prints time and images/s
    python benchmarks/prepare_data.py data-share /tmp/gk-bench/prepared            # batch assembly vs the step
    python benchmarks/prepare_data.py tile /tmp/gk-bench/prepared /tmp/gk-bench/big --times 3
    python benchmarks/prepare_data.py limited --limit 1G -- python benchmarks/prepare_data.py stream /tmp/gk-bench/big

``limited`` runs a command in a cgroup-v1 memory cgroup capped at ``--limit`` (page cache counted,
as for any job in a memory cgroup) and prints the cgroup's peak and the command's peak RSS.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

CGROUP = Path("/sys/fs/cgroup/memory")


def _pngs(task):
    out, start, stop, size = task
    from PIL import Image

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(start, stop):
        rng = np.random.default_rng(i)
        k = i % 10
        base = np.stack([xx * (k + 1) / 10, yy, (xx + yy) / 2], -1) * 200
        cy, cx, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.3)
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r)[..., None] * rng.uniform(0, 255, 3)
        img = np.clip(base * 0.6 + disc * 0.4 + rng.normal(0, 6, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(Path(out) / f"class{k}" / f"{i:06d}.png")
    return stop - start


def make_pngs(a):
    out = Path(a.out)
    for k in range(10):
        (out / f"class{k}").mkdir(parents=True, exist_ok=True)
    step = 1000
    tasks = [(str(out), s, min(s + step, a.n), a.size) for s in range(0, a.n, step)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.workers) as pool:
        done = sum(pool.map(_pngs, tasks))
    size = sum(p.stat().st_size for p in out.rglob("*.png"))
    print(f"wrote {done} PNGs of {a.size}×{a.size} RGB ({size / 2**20:.0f} MiB) to {out} in "
          f"{time.perf_counter() - t0:.0f} s")


def _status(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def data_share(a):
    """Median batch assembly (BatchStream.batch from the memory map) against the median training step."""
    import torch
    from gankit.config import recipe
    from gankit.data.base import ImageData
    from gankit.data.batches import BatchStream
    from gankit.training.bench import step_times
    from gankit.training.trainer import Trainer

    torch.set_num_threads(a.threads)
    overrides = [f"data={{name: prepared, root: {a.root}}}", f"trainer.batch_size={a.batch_size}",
                 "trainer.eval_every=null"] + ([f"trainer.precision={a.precision}"] if a.precision else []) + a.overrides
    cfg = recipe.load(a.recipe, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(cfg, tmp)
        step_times(tr, 0, a.warmup)
        steps = step_times(tr, a.steps)
        stream, first, step = tr.stream, 1000, statistics.median(steps)  # batches the run has not read yet
        # each batch is followed by a step's time of busy CPU, as in training (the next batch is read ahead then)
        _page_cache(Path(a.root) / "images.u8", keep=True)
        warm = _batch_times(stream, range(first, first + a.batches), step)
        read_ahead, stream.read_ahead = stream.read_ahead, None
        _page_cache(Path(a.root) / "images.u8", keep=False)
        cold = _batch_times(stream, range(first + a.batches, first + 2 * a.batches), step)
        stream.read_ahead = read_ahead
        _page_cache(Path(a.root) / "images.u8", keep=False)
        ahead = _batch_times(stream, range(first + 2 * a.batches, first + 3 * a.batches), step)[1:]
        held = ImageData(tr.stream.images.clone(), None)  # the same images held in memory, for comparison
        memory = _batch_times(BatchStream(held, a.batch_size, cfg.trainer.seed, "cpu", channels_last=stream.channels_last),
                              range(first + 3 * a.batches, first + 4 * a.batches), step)
    for name, times in (("memory map, page cache", warm), ("memory map, from disk, no read-ahead", cold),
                        ("memory map, from disk, read ahead", ahead), ("in memory", memory)):
        b = statistics.median(times)
        print(f"batch assembly ({name}): {b * 1e3:.2f} ms median of {len(times)} batches of {a.batch_size}; "
              f"step {step * 1e3:.1f} ms median of {len(steps)} -> data share {b / step:.2%}")
    print(json.dumps({"recipe": a.recipe, "batch_size": a.batch_size, "precision": cfg.trainer.precision,
                      "threads": a.threads, "step_ms": round(step * 1e3, 2),
                      "batch_ms_page_cache": round(statistics.median(warm) * 1e3, 3),
                      "batch_ms_from_disk": round(statistics.median(cold) * 1e3, 3),
                      "batch_ms_from_disk_read_ahead": round(statistics.median(ahead) * 1e3, 3),
                      "batch_ms_in_memory": round(statistics.median(memory) * 1e3, 3)}))


def _page_cache(path: Path, keep: bool) -> None:
    """Read the whole file into the page cache (keep) or drop its pages from it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if keep:
            while os.read(fd, 2**24):
                pass
        else:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _batch_times(stream, indices, busy: float) -> list[float]:
    """Seconds to assemble each batch, each followed by ``busy`` seconds of spinning on the CPU (a step's
    time: the process stays running, as it does while training, and the next batch is read ahead)."""
    times = []
    for i in indices:
        t0 = time.perf_counter()
        stream.batch(i)
        t1 = time.perf_counter()
        times.append(t1 - t0)
        while time.perf_counter() < t1 + busy:
            pass
    return times


def tile(a):
    """A larger prepared set: the images of ``src`` repeated ``times`` times (labels too)."""
    src, out = Path(a.src), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = json.loads((src / "meta.json").read_text())
    with open(out / "images.u8", "wb") as f:
        for _ in range(a.times):
            with open(src / "images.u8", "rb") as g:
                shutil.copyfileobj(g, f, 2**24)
    if (src / "labels.npy").exists():
        np.save(out / "labels.npy", np.tile(np.load(src / "labels.npy"), a.times))
    meta["shape"][0] *= a.times
    meta["count"] = meta["shape"][0]
    (out / "meta.json").write_text(json.dumps(meta))
    print(f"wrote {meta['count']} images ({(out / 'images.u8').stat().st_size / 2**30:.2f} GiB) to {out}")


def stream(a):
    """Read one whole epoch of batches from a prepared set, as training does, and report memory."""
    import torch
    from gankit.config.registry import DATASETS
    import gankit.data  # noqa: F401  (registers the datasets)
    from gankit.data.batches import BatchStream

    torch.set_num_threads(a.threads)
    _page_cache(Path(a.root) / "images.u8", keep=False)  # read from disk, into this process's memory cgroup
    data = DATASETS.build({"name": "prepared", "root": a.root}, "data")
    s = BatchStream(data, a.batch_size, seed=0, device="cpu")
    n = min(s.steps_per_epoch, a.max_batches or s.steps_per_epoch)
    t0, peak_file = time.perf_counter(), 0
    for i in range(n):
        s.batch(i)
        if i % 50 == 0:
            peak_file = max(peak_file, _status("RssFile"))
    seconds = time.perf_counter() - t0
    size = data.images.numel()
    print(json.dumps({"images": len(data), "array_gib": round(size / 2**30, 2), "batches": n,
                      "read_gib": round(n * a.batch_size * size / len(data) / 2**30, 2),
                      "seconds": round(seconds, 1), "images_per_s": round(n * a.batch_size / seconds),
                      "VmHWM_mib": _status("VmHWM") >> 20, "RssAnon_mib": _status("RssAnon") >> 20,
                      "RssFile_peak_mib": peak_file >> 20}))


def limited(a):
    group = CGROUP / f"gankit-bench-{os.getpid()}"
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(a.limit)
        cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
        t0 = time.perf_counter()
        child = subprocess.Popen(["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh", *cmd])
        rc = child.wait()
        import resource

        peak = int((group / "memory.max_usage_in_bytes").read_text())
        fails = int((group / "memory.failcnt").read_text())
        print(json.dumps({"rc": rc, "seconds": round(time.perf_counter() - t0, 1), "limit": a.limit,
                          "cgroup_peak_mib": peak >> 20, "limit_hits": fails,
                          "child_max_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss >> 10}))
    finally:
        while group.exists():
            try:
                group.rmdir()
            except OSError:
                time.sleep(0.2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    m = sub.add_parser("make-pngs")
    m.add_argument("out")
    m.add_argument("--n", type=int, default=100_000)
    m.add_argument("--size", type=int, default=64)
    m.add_argument("--workers", type=int, default=os.cpu_count())
    d = sub.add_parser("data-share")
    d.add_argument("root")
    d.add_argument("--recipe", default="recipes/celeba64_dcgan.yaml")
    d.add_argument("--batch-size", type=int, default=128)
    d.add_argument("--precision", help="trainer.precision (default: the recipe's)")
    d.add_argument("--threads", type=int, default=2)
    d.add_argument("--steps", type=int, default=10)
    d.add_argument("--warmup", type=int, default=2)
    d.add_argument("--batches", type=int, default=50)
    d.add_argument("overrides", nargs="*")
    t = sub.add_parser("tile")
    t.add_argument("src")
    t.add_argument("out")
    t.add_argument("--times", type=int, default=3)
    s = sub.add_parser("stream")
    s.add_argument("root")
    s.add_argument("--batch-size", type=int, default=256)
    s.add_argument("--max-batches", type=int)
    s.add_argument("--threads", type=int, default=2)
    lim = sub.add_parser("limited")
    lim.add_argument("--limit", default="1G")
    lim.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    {"make-pngs": make_pngs, "data-share": data_share, "tile": tile, "stream": stream, "limited": limited}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
