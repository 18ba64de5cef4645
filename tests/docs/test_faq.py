"""The FAQ's quoted messages are what gankit prints, for the cause the FAQ gives.

Each FAQ entry headed by a quoted message (``**`message`**``) has a case here that makes gankit
print it; "…" in the heading stands for any text. A new quoted entry without a case fails.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from gankit import cli
from gankit.store.intact import damaged_note

ROOT = Path(__file__).resolve().parents[2]
FAQ = (ROOT / "docs" / "faq.md").read_text()
RECIPE = str(ROOT / "recipes" / "mnist_dcgan.yaml")
SYNTHETIC = ["data.name=synthetic", "data.root=null", "data.split=null", "data.size=64"]


def quoted_headings() -> list[str]:
    return re.findall(r"^\*\*`(.+?)`\*\*$", FAQ, re.M)


def printed(argv: list[str], capsys) -> str:
    """gankit's stderr for a command that fails with exit status 2 (argparse's errors exit)."""
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    return capsys.readouterr().err


def stray_word(tmp_path, capsys):
    return printed(["train", RECIPE, *SYNTHETIC, "--out", str(tmp_path / "x"), "trainer.max_steps=1", "stray"], capsys)


def run_exists(tmp_path, capsys):
    (tmp_path / "runs" / "x").mkdir(parents=True)
    (tmp_path / "runs" / "x" / "notes.txt").write_text("mine")
    return printed(["train", RECIPE, *SYNTHETIC, "--out", "runs/x"], capsys)


def unknown_generator(tmp_path, capsys):
    return printed(["check", RECIPE, *SYNTHETIC, "generator.name=my_gen"], capsys)


def fp16_on_cpu(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("fp16 trains on a CUDA GPU")
    return printed(["check", RECIPE, *SYNTHETIC, "trainer.precision=fp16"], capsys)


def bad_image(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("L", (28, 28)).save(folder / "a.png")
    (folder / "x.png").write_bytes(b"")
    data = f"data={{name: image_folder, root: {folder}, image_size: 28, channels: 1, cache: false, split: null}}"
    return printed(["check", RECIPE, data], capsys)


def damaged_checkpoint(tmp_path, capsys):
    """The warning a resume (or eval, sample) gives; test_damaged.py makes it from real damaged files."""
    ckpts = Path("runs/x/checkpoints")
    note = damaged_note([(ckpts / "step-0000400", "model.safetensors is damaged (incomplete header)")],
                        ckpts / "step-0000200", [ckpts / "damaged-step-0000400"])
    return cli._format_warning(note, RuntimeWarning, "", 0)


def diverged(tmp_path, capsys):
    """The guard's message (a diverging run: tests/reliability/test_safety.py)."""
    return (ROOT / "gankit" / "training" / "guard.py").read_text()


def disk_full(tmp_path, capsys):
    """The store's one disk-full message (tests/reliability/test_disk_full.py fills a real tmpfs)."""
    import errno

    from gankit.store.files import disk_full as message

    return str(message(tmp_path / "runs/x/checkpoints/step-0000400", OSError(errno.ENOSPC, "full"), needed=12_345))


def weights_misfit(tmp_path, capsys):
    """A checkpoint of another shape, checked against the model before loading."""
    from safetensors.torch import save_file

    from gankit.errors import GankitError
    from gankit.store.weights import check_weights

    expected = {f"net.{k}": v for k, v in torch.nn.Sequential(torch.nn.Linear(8, 32)).state_dict().items()}
    save_file({"net.0.weight": torch.zeros(33, 8), "net.0.bias": torch.zeros(32)}, tmp_path / "model.safetensors")
    with pytest.raises(GankitError) as e:
        check_weights(expected, tmp_path / "model.safetensors", f"checkpoint {tmp_path}", "Use the run's own recipe.")
    return str(e.value)


CASES = {
    "No space left on device": disk_full,
    "does not fit the model": weights_misfit,
    "unrecognized arguments": stray_word,
    "already exists and is not empty": run_exists,
    "unknown generator": unknown_generator,
    "fp16 needs a CUDA GPU": fp16_on_cpu,
    "cannot read image": bad_image,
    "is damaged": damaged_checkpoint,
    "training diverged": diverged,
}


@pytest.mark.parametrize("heading", quoted_headings())
def test_the_quoted_message_is_printed(heading, tmp_path, capsys, monkeypatch):
    case = next((f for key, f in CASES.items() if key in heading), None)
    assert case is not None, f"no case reproduces the FAQ's `{heading}`"
    monkeypatch.chdir(tmp_path)
    pattern = ".*?".join(re.escape(part) for part in heading.split("…"))
    output = case(tmp_path, capsys)
    assert re.search(pattern, output), f"the FAQ quotes `{heading}`, gankit printed:\n{output}"


def test_every_case_has_its_entry():
    headings = quoted_headings()
    assert len(headings) >= 6
    assert all(any(key in h for h in headings) for key in CASES)


def test_overrides_go_before_or_after_options(monkeypatch):
    """The FAQ's two spellings of one command give the same overrides."""
    seen = []
    monkeypatch.setattr("gankit.commands.train.run", lambda args: seen.append((args.out, args.overrides)) or 0)
    for line in re.findall(r"`gankit (train recipe\.yaml [^`]*)`", FAQ):
        assert cli.main(line.split()) == 0
    assert len(seen) >= 2 and all(s == seen[0] for s in seen), seen


def test_the_pytest_commands_select_tests():
    """A `python -m pytest ...` the FAQ gives runs tests (the long set is left out unless `-m long`)."""
    lines = re.findall(r"`python -m pytest ([^`]*)`", FAQ)
    assert lines
    for line in lines:
        r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", *line.split()],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        collected = [t for t in r.stdout.splitlines() if "::" in t]
        assert r.returncode == 0 and collected, f"`python -m pytest {line}` selects no test:\n{r.stdout[-1500:]}"
