"""A dataset's ``root``: checked before anything is read from it, so every problem names the path and the fix.

``check_root`` refuses a root that is a file, a symbolic link that loops, or a folder this
process may not list. ``walk_files`` lists the regular files under a folder, following
symbolic links to folders but never the same folder twice (a link back to a parent cannot
loop), and returns the folders it could not list instead of failing on the first.
"""
import errno
import os
from pathlib import Path

from gankit.errors import GankitError


def check_root(root: str | Path, key: str = "data.root", *, must_exist: bool = True) -> Path:
    """``root`` as a Path, once it is known to be a readable folder (or absent, when allowed)."""
    path = Path(root).expanduser()
    try:
        path.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise GankitError(f"{key}: '{root}' is a symbolic link that loops ({e.strerror}). "
                              f"Point {key} at the real folder.") from None
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            if must_exist:
                raise GankitError(f"{key}: folder '{root}' does not exist. Point {key} at the folder of the data.") from None
            return path
        raise GankitError(f"{key}: cannot open '{root}' ({e.strerror}). Point {key} at a folder you can read.") from None
    if not path.is_dir():
        raise GankitError(f"{key}: '{root}' is a file, not a folder. Point {key} at the folder that holds the data.")
    try:
        with os.scandir(path):
            pass
    except OSError as e:
        raise GankitError(f"{key}: cannot list folder '{root}' ({e.strerror}). Give this user read access "
                          f"(chmod +rx) or point {key} at another folder.") from None
    return path


def walk_files(root: Path) -> tuple[list[Path], list[str]]:
    """(every regular file under ``root``, sorted; the folders that could not be listed, as messages)."""
    found, unreadable, seen = [], [], set()

    def note(e: OSError):
        unreadable.append(f"{e.filename}: {e.strerror}")

    for folder, dirs, names in os.walk(root, onerror=note, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError as e:
            note(e)
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:  # reached again through a symbolic link
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        for name in names:
            p = Path(folder) / name
            if p.is_file():  # not FIFOs, devices or dangling links: opening those can block or fail
                found.append(p)
    return sorted(found), unreadable
