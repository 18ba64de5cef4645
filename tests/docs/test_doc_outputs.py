"""Where the documented commands write: every output lies in a folder .gitignore ignores, and pages
do not write into each other's runs.

Read from the fenced ``bash`` blocks of README.md and docs/*.md (docs/reference is generated).
Outputs: ``train``/``sweep`` ``--out`` (required: the run is named, so other commands can find it),
``export``/``prepare-data`` OUT, ``sample``/``neighbours``/``compare``/``report``/``plot`` ``--out``
(compare without ``--out`` writes runs/compare-<time>.html, or into the one sweep it is given).
"""
import re
import shlex
from fnmatch import fnmatch
from pathlib import Path

import pytest

from gankit.config import recipe

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
PLACEHOLDERS = {"RUN_DIR", "RUN", "SWEEP_DIR"}  # a run directory a page names in general


def commands(page: Path) -> list[list[str]]:
    """Each ``gankit VERB ...`` of the page's bash blocks, as words from the verb on."""
    return [w for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S) for w in block_commands(block)]


def block_commands(block: str) -> list[list[str]]:
    found = []
    for line in re.sub(r"\\\n", " ", block).splitlines():  # continuation lines joined
        for part in re.split(r"&&|;|\|", line.split(" #", 1)[0]):
            try:
                words = shlex.split(part)
            except ValueError:  # an unclosed quote of a multi-line shell string
                words = part.split()
            starts = [i for i, w in enumerate(words[:-1]) if w == "gankit" and not words[i + 1].startswith("-")]
            if starts:
                found.append(words[starts[0] + 1:])
    return found


def option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words[:-1] else None


def outputs(words: list[str]) -> list[str]:
    verb, args = words[0], words[1:]
    if verb in ("train", "sweep"):
        if "--resume" in args or "--join" in args:
            return []  # continues a run or sweep that exists
        return [option(words, "--out") or "(no --out)"]
    if verb in ("export", "prepare-data"):
        return [args[1]]
    if verb in ("sample", "neighbours", "report", "plot"):
        return [o] if (o := option(words, "--out")) else []
    if verb == "compare" and not {"--markdown", "--json"} & set(args):
        before = args[:args.index("--recipe")] if "--recipe" in args else args  # --recipe PATH [KEY=VALUE ...]
        valued = {option(words, k) for k in ("--metrics", "--record", "--out")}
        paths = [a for a in before if not a.startswith("-") and a not in valued]
        return [option(words, "--out") or (paths[0] if len(paths) == 1 else "runs/compare-<time>.html")]
    return []


def ignored_patterns() -> list[str]:
    lines = (ROOT / ".gitignore").read_text().splitlines()
    return [p.strip("/") for p in lines if p.strip() and not p.startswith(("#", "!"))]


def is_ignored(path: str, patterns: list[str]) -> bool:
    if path.startswith(("/", "~")):
        return True  # outside the checkout
    first = Path(path).parts[0]
    return first in PLACEHOLDERS or any(fnmatch(first, p) for p in patterns)


def test_the_parser_reads_each_verbs_output():
    assert outputs(["train", "r.yaml", "a=1", "--out", "runs/x"]) == ["runs/x"]
    assert outputs(["train", "r.yaml"]) == ["(no --out)"]
    assert outputs(["train", "--resume", "runs/x"]) == []
    assert outputs(["export", "runs/x", "m", "--format", "onnx"]) == ["m"]
    assert outputs(["compare", "runs/a", "runs/b"]) == ["runs/compare-<time>.html"]
    assert outputs(["compare", "sweeps/s", "--metrics", "fd"]) == ["sweeps/s"]
    assert outputs(["compare", "sweeps/s", "--markdown"]) == []
    assert outputs(["compare", "sweeps/s", "--record", "r", "--recipe", "recipes/x.yaml", "a=1"]) == ["sweeps/s"]
    assert ["train", "recipes/mnist_dcgan.yaml"] in [w[:2] for w in commands(ROOT / "docs" / "quickstart.md")]
    patterns = ignored_patterns()
    assert is_ignored("runs/x", patterns) and is_ignored("data/y", patterns)
    assert not is_ignored("walk.png", patterns) and not is_ignored("recipes/x", patterns)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_documented_output_is_ignored_by_git(page):
    patterns = ignored_patterns()
    wrong = [f"{shlex.join(w)}  →  {o}" for w in commands(page) for o in outputs(w) if not is_ignored(o, patterns)]
    assert not wrong, f"{page.name}: these commands write outside the folders .gitignore ignores:\n" + "\n".join(wrong)


def test_no_two_pages_write_the_same_run():
    """A dataset (prepare-data) is prepared once and read by any page; every other output belongs to one page."""
    writers: dict[str, set[str]] = {}
    for page in PAGES:
        for words in commands(page):
            if words[0] != "prepare-data":
                for out in set(outputs(words)) - {"(no --out)"}:  # the test above names those
                    writers.setdefault(out.rstrip("/"), set()).add(page.name)
    shared = {out: sorted(pages) for out, pages in writers.items() if len(pages) > 1}
    assert not shared, f"outputs written by more than one page: {shared}"


def test_the_offline_commands_never_download():
    """The Offline data page and the README's offline lines set data.download=false for every downloadable set."""
    readme_offline = re.search(r"Offline, point.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    lines = [("offline-data.md", w) for w in commands(ROOT / "docs" / "offline-data.md")]
    lines += [("README.md", w) for w in block_commands(readme_offline)]
    checked = 0
    for page, words in lines:
        if words[0] != "train":
            continue
        overrides = [w for w in words[2:] if "=" in w and not w.startswith("-")]
        data = recipe.load(ROOT / words[1], overrides).data
        if data.name in ("mnist", "fashion_mnist", "cifar10", "cifar100"):
            checked += 1
            assert data.get("download", True) is False, f"{page}: `gankit {shlex.join(words)}` downloads when the data is missing"
    assert checked >= 5
