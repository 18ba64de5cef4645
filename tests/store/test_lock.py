"""The run directory's writer lock: a second writer is refused with the holder; a dead writer's lock is
taken over, by one newcomer only."""
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time

import pytest

from gankit.cli import main
from gankit.errors import GankitError
from gankit.store import lock
from gankit.store.lock import LOCK_FILE, RunLock


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def write_lock(run, **info):
    (run / LOCK_FILE).write_text(json.dumps({"started": "then", "token": "old", **info}))


def test_a_second_writer_is_refused_with_the_holders_pid_and_host(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(GankitError, match=f"process {os.getpid()} on host {socket.gethostname()}"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_FILE).exists()  # released
    with RunLock(tmp_path):  # and free again
        pass


def test_a_dead_writers_lock_on_this_host_is_taken_over(tmp_path):
    write_lock(tmp_path, pid=dead_pid(), host=socket.gethostname())
    with RunLock(tmp_path) as held:
        assert json.loads((tmp_path / LOCK_FILE).read_text())["token"] == held.info["token"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left aside


def test_another_hosts_lock_is_taken_over_only_after_it_stopped_beating(tmp_path):
    write_lock(tmp_path, pid=1, host="gk-elsewhere")
    with pytest.raises(GankitError, match="process 1 on host gk-elsewhere"):
        RunLock(tmp_path).acquire()
    old = time.time() - 2 * lock.STALE_AFTER_S
    os.utime(tmp_path / LOCK_FILE, (old, old))
    with RunLock(tmp_path):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_a_take_over_guard_left_by_a_dead_newcomer_is_cleared(tmp_path):
    write_lock(tmp_path, pid=dead_pid(), host=socket.gethostname())
    guard = tmp_path / f"{LOCK_FILE}.takeover"
    guard.write_text("{}")
    old = time.time() - 2 * lock.GUARD_STALE_S
    os.utime(guard, (old, old))
    with RunLock(tmp_path):
        assert not guard.exists()


def test_the_writer_keeps_its_lock_fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "HEARTBEAT_S", 0.05)
    with RunLock(tmp_path):
        old = time.time() - 2 * lock.STALE_AFTER_S
        os.utime(tmp_path / LOCK_FILE, (old, old))
        time.sleep(0.5)
        assert time.time() - (tmp_path / LOCK_FILE).stat().st_mtime < 5


def _contend(run, start, results):
    start.wait()
    try:
        with RunLock(run):
            results.put("won")
            time.sleep(1.0)
    except GankitError:
        results.put("refused")


def test_of_many_newcomers_at_a_stale_lock_one_takes_it(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for _ in range(3):
        write_lock(tmp_path, pid=dead_pid(), host=socket.gethostname())
        start, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_contend, args=(tmp_path, start, results)) for _ in range(6)]
        for p in procs:
            p.start()
        start.set()
        outcomes = sorted(results.get(timeout=60) for _ in procs)
        for p in procs:
            p.join()
        assert outcomes == ["refused"] * 5 + ["won"]


@pytest.mark.slow
def test_train_into_a_run_with_a_live_writer_is_refused_and_changes_nothing(tiny_recipe, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"step": 2}\n')
    with RunLock(run):
        assert main(["train", str(tiny_recipe), "--out", str(run), "--overwrite"]) == 2
        assert f"process {os.getpid()} on host {socket.gethostname()}" in capsys.readouterr().err
    assert (run / "metrics.jsonl").read_text() == '{"step": 2}\n'
    assert sorted(p.name for p in run.iterdir()) == ["metrics.jsonl"]
