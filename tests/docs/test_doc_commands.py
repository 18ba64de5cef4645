"""Every shell block marked ``<!-- test -->`` in the docs runs, with small overrides, on synthetic data.

The commands run in a scratch folder that holds ``recipes/`` and ``plugins/`` (links to the
checkout) and fake MNIST IDX files in ``data/MNIST/raw`` (so recipes that read MNIST run without
downloading). ``gankit train`` gets a few steps; ``pip install -e PKG`` is done the way an
editable install works — the package's ``src/`` and a dist-info with its entry points on
PYTHONPATH — in a private folder, leaving the environment alone (tests/plugins does a real pip
install of the example package).
"""
import gzip
import os
import re
import shlex
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MARK = "<!-- test -->"
# the last step still evaluates (the reference recipe's eval_every), on 256 samples instead of 10k
SMALL = ["trainer.max_steps=2", "trainer.batch_size=16", "trainer.log_every=1", "trainer.sample_every=1",
         "trainer.checkpoint_every=2", "trainer.epochs=1", "eval.num_samples=256"]


def marked_blocks(text: str) -> list[str]:
    """The fenced ``bash`` blocks directly after a ``<!-- test -->`` line."""
    return [m.group(1) for m in re.finditer(r"<!-- test -->\s*\n```bash\n(.*?)```", text, re.S)]


def pages_with_tests() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if MARK in p.read_text())


def rewrite(line: str, site: Path) -> str:
    line = line.split(" #", 1)[0].strip()
    words = shlex.split(line)
    if words[:3] == ["pip", "install", "-e"]:
        return shlex.join([sys.executable, __file__, "--dev-install", words[3], str(site)])
    if words[:2] == ["gankit", "train"]:
        cut = next((i for i, w in enumerate(words) if w.startswith("--")), len(words))
        words = words[:cut] + SMALL + words[cut:]  # after the page's overrides, so they win
    if words[0] == "gankit":
        words = [sys.executable, "-m", "gankit"] + words[1:]
    return shlex.join(words)


def dev_install(package: Path, site: Path) -> None:
    """What ``pip install -e`` gives a src-layout package: importable source and its entry points."""
    import tomllib

    meta = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    eps = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items())
                  for group, items in meta.get("entry-points", {}).items())
    (info / "entry_points.txt").write_text(eps)
    for mod in (package / "src").iterdir():  # links stand in for the .pth file (site is on PYTHONPATH)
        if mod.is_dir() and (mod / "__init__.py").is_file():
            (site / mod.name).symlink_to(mod.resolve())


def _write_idx(path: Path, array: bytes, dims: tuple[int, ...]) -> None:
    magic = struct.pack(">BBBB", 0, 0, 8, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    path.write_bytes(gzip.compress(magic + array))


def fake_mnist(root: Path, n: int = 64) -> None:
    import torch

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for prefix in ("train", "t10k"):
        images = (torch.rand(n, 28, 28, generator=g) * 255).to(torch.uint8)
        labels = torch.randint(0, 10, (n,), generator=g).to(torch.uint8)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", images.numpy().tobytes(), (n, 28, 28))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", labels.numpy().tobytes(), (n,))


def test_marker_finds_the_quickstart_commands():
    blocks = marked_blocks((DOCS / "quickstart.md").read_text())
    text = "\n".join(blocks)
    assert "gankit train recipes/mnist_dcgan.yaml" in text and "gankit report runs/mnist" in text
    assert rewrite("gankit train r.yaml a=1 --out x", Path("/s")).endswith(
        "gankit train r.yaml a=1 " + " ".join(SMALL) + " --out x")


def test_fake_mnist_is_read_by_the_mnist_dataset(tmp_path):
    from gankit.data.mnist import mnist

    fake_mnist(tmp_path)
    data = mnist(root=str(tmp_path), split="train", download=False)
    assert data.images.shape == (64, 1, 28, 28) and data.labels.max() < 10


@pytest.mark.slow
@pytest.mark.parametrize("page", pages_with_tests(), ids=lambda p: str(p.relative_to(DOCS)))
def test_marked_commands_run(page, tmp_path):
    """Each marked command exits 0, and the page leaves nothing in the folder outside what git ignores."""
    from tests.docs.test_doc_outputs import ignored_patterns, is_ignored

    work, site = tmp_path / "work", tmp_path / "site"
    work.mkdir()
    site.mkdir()
    for name in ("recipes", "plugins"):
        (work / name).symlink_to(ROOT / name)
    fake_mnist(work / "data")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
               NO_MKDOCS_2_WARNING="1")
    before = set(os.listdir(work))
    for block in marked_blocks(page.read_text()):
        for line in re.sub(r"\\\n", " ", block).splitlines():  # continuation lines joined
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cmd = rewrite(line, site)
            r = subprocess.run(cmd, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, f"{page.name}: `{line}` failed:\n{r.stdout[-1500:]}\n{r.stderr[-3000:]}"
    left = sorted(n for n in set(os.listdir(work)) - before if not is_ignored(n, ignored_patterns()))
    assert not left, f"{page.name}: the commands left {left} outside the folders .gitignore ignores (write under runs/)"


if __name__ == "__main__":  # the stand-in for `pip install -e PKG` used by the rewritten commands
    assert sys.argv[1] == "--dev-install"
    dev_install(Path(sys.argv[2]), Path(sys.argv[3]))
