"""The run directory's writer lock: one process at a time trains, resumes or overwrites a run.

The writer (the main process of ``gankit train``, ``gankit resume`` and each sweep trial) holds
``RUN_DIR/.writer.lock``, a JSON file naming it: pid, host, when it started. A second writer is refused
with those. The file is made whole before it appears (written beside it, then hard-linked into place:
``link`` fails when the name exists, atomically, on local disks and on NFSv3+) and removed when the
writer ends. While it runs, the writer touches the file every ``HEARTBEAT_S`` seconds.

A lock whose writer is gone is taken over: on the same host when its pid no longer runs; from another
host only when the file has not been touched for ``STALE_AFTER_S`` seconds (the writer's clock and
this one agreeing to well within that). Taking over happens under a second lock file, the take-over
guard, made the same way and held for a moment: its holder checks that the lock is still the one it
judged stale and removes it; then each newcomer tries to create its own, and one succeeds. Nobody
else removes a lock, so two newcomers never both hold it.
"""
import contextlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

from gankit.errors import GankitError
from gankit.store.files import alive, read_json

LOCK_FILE = ".writer.lock"
HEARTBEAT_S = 60.0
STALE_AFTER_S = 600.0  # ten missed heartbeats
GUARD_STALE_S = 60.0  # the take-over guard is held for a moment; one older was left by a process that died
ACQUIRE_S = 10.0  # how long a newcomer keeps trying while others take over a stale lock


def is_lock_file(name: str) -> bool:
    """Whether a run directory's entry is the lock or one of its passing files (the others of a
    multi-process run may see them while the main process holds the lock)."""
    return name.startswith(LOCK_FILE)


def _read(path: Path) -> dict | None:
    try:
        info = read_json(path)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _stale(path: Path, info: dict | None) -> bool:
    """Whether the lock ``path`` (holding ``info``) belongs to a writer that is gone."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False  # gone already: the next try creates it
    if info is not None and info.get("host") == socket.gethostname():
        return not alive(info.get("pid"))
    return age > STALE_AFTER_S  # another host's (or unreadable): only when it stopped beating


def _holder(info: dict | None) -> str:
    if not info:
        return "an unknown process"
    what = f"{info.get('what', 'a writer')}, since {info.get('started')}"
    return f"process {info.get('pid')} on host {info.get('host')} ({what})"


def _create(path: Path, info: dict) -> bool:
    """Put ``info`` at ``path`` unless something is there; True when it was ours to create."""
    tmp = path.with_name(f"{path.name}.{info['token']}.new")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # NFS: the reply of a link that succeeded may be lost; the link count says
        return os.stat(tmp).st_nlink == 2
    finally:
        tmp.unlink(missing_ok=True)


def _take_over(path: Path, judged: dict | None) -> None:
    """Remove the stale lock ``judged``, under the take-over guard: one newcomer at a time checks that the
    lock is still the one judged stale and removes it (then every newcomer tries to create its own)."""
    guard = path.with_name(f"{path.name}.takeover")
    if not _create(guard, {"pid": os.getpid(), "host": socket.gethostname(), "token": uuid.uuid4().hex}):
        with contextlib.suppress(OSError):  # a guard left by a newcomer that died inside it
            if time.time() - guard.stat().st_mtime > GUARD_STALE_S:
                guard.unlink()
        time.sleep(0.01)
        return
    try:
        now = _read(path)
        if (now or {}).get("token") == (judged or {}).get("token") and _stale(path, now):
            path.unlink(missing_ok=True)
    finally:
        guard.unlink(missing_ok=True)


class RunLock:
    """``with RunLock(run_dir):`` hold the run directory's writer lock (refused: a GankitError)."""

    def __init__(self, run_dir: str | Path, what: str = "train"):
        self.path = Path(run_dir) / LOCK_FILE
        self.info = {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                     "started": time.strftime("%Y-%m-%d %H:%M:%S"), "token": uuid.uuid4().hex}
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self) -> "RunLock":
        deadline = time.monotonic() + ACQUIRE_S
        while time.monotonic() < deadline:  # each round creates the lock, refuses, or helps remove a stale one
            if _create(self.path, self.info):
                self._beat = threading.Thread(target=self._heartbeat, name="gankit-run-lock", daemon=True)
                self._beat.start()
                return self
            info = _read(self.path)
            if not _stale(self.path, info):
                break
            _take_over(self.path, info)
        info = _read(self.path)
        raise GankitError(
            f"{self.path.parent}: another gankit writer holds this run: {_holder(info)}. Wait for it to end, or "
            f"choose another --out. If that process is gone (another host's lock is presumed gone "
            f"{STALE_AFTER_S / 60:.0f} minutes after its last heartbeat), delete {self.path}.")

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            if (_read(self.path) or {}).get("token") != self.info["token"]:
                return  # no longer ours (removed by hand): nothing to keep alive
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if (_read(self.path) or {}).get("token") == self.info["token"]:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
