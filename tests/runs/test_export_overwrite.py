"""`gankit export OUT --overwrite` replaces the export's own files and keeps everything else in OUT."""
import json

import pytest

from gankit.cli import main
from gankit.runs.model_folder import CARD_FILE, CONFIG_FILE, FILES, GRID_FILE, WEIGHTS_FILE

pytestmark = pytest.mark.slow


def user_files(folder):
    (folder / ".git" / "objects").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / ".git" / "objects" / "ab").write_text("blob")
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    (folder / "notes.txt").write_text("my notes")


def kept(folder) -> bool:
    return ((folder / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
            and (folder / ".git" / "objects" / "ab").read_text() == "blob"
            and (folder / ".gitattributes").is_file() and (folder / "notes.txt").read_text() == "my notes")


def test_overwrite_replaces_the_export_and_keeps_the_users_files(run_dir, tmp_path):
    out = tmp_path / "model"
    assert main(["export", str(run_dir), str(out)]) == 0
    user_files(out)
    assert main(["export", str(run_dir), str(out), "--raw", "--overwrite"]) == 0
    assert kept(out)
    assert json.loads((out / CONFIG_FILE).read_text())["weights"] == "raw"  # the new export
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, ".git", ".gitattributes", "notes.txt"])
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_fresh_hub_clone_takes_an_export_with_overwrite(run_dir, tmp_path):
    out = tmp_path / "clone"
    out.mkdir()
    user_files(out)
    assert main(["export", str(run_dir), str(out)]) == 2  # not empty: --overwrite says so
    assert main(["export", str(run_dir), str(out), "--overwrite"]) == 0
    assert kept(out) and all((out / f).is_file() for f in (WEIGHTS_FILE, CONFIG_FILE, CARD_FILE, GRID_FILE))


def test_overwrite_never_replaces_files_of_something_else(run_dir, tmp_path, capsys):
    out = tmp_path / "other"
    out.mkdir()
    user_files(out)
    (out / CARD_FILE).write_text("# my own readme")
    assert main(["export", str(run_dir), str(out), "--overwrite"]) == 2
    assert "README.md" in capsys.readouterr().err
    assert kept(out) and (out / CARD_FILE).read_text() == "# my own readme"
    assert not (out / WEIGHTS_FILE).exists()
