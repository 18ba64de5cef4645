"""machine.json: what trained a run, written once and read back; an absent or broken file reads as None."""
import json
import subprocess

import torch

from gankit.store import machine
from tests.conftest import ROOT


def test_written_machine_reads_back_with_the_runs_choices(tmp_path):
    path = machine.write(tmp_path, device="cpu", world_size=2, precision="bf16")
    got = machine.read(tmp_path)
    assert path.name == machine.MACHINE_FILE and got == json.loads(path.read_text())
    assert (got["device"], got["world_size"], got["precision"]) == ("cpu", 2, "bf16")
    assert got["torch"] == torch.__version__ and got["threads"] == torch.get_num_threads()
    assert set(got["cpu_flags"]) <= set(machine.CPU_FLAGS) and got["started"].endswith("+00:00")
    assert 0 <= got["load_1m"] < 1000
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    assert got["commit"]["sha"] == head and isinstance(got["commit"]["dirty"], bool)  # the code that trains


def test_an_installed_copy_without_git_has_no_commit(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git to run
    assert machine.source_commit() == {"sha": None, "dirty": None}


def test_missing_or_broken_file_reads_as_none(tmp_path):
    assert machine.read(tmp_path) is None
    (tmp_path / machine.MACHINE_FILE).write_text("[1, 2")
    assert machine.read(tmp_path) is None
    (tmp_path / machine.MACHINE_FILE).write_text("[1, 2]")
    assert machine.read(tmp_path) is None
