"""No measured figure in README.md or docs/ without a record.

Every measured number is shown by a generated block (``<!-- record-table: NAME -->`` and its kin, rewritten from
``results/NAME.json`` by ``scripts/docsgen.py``). This test reads the pages as a reader does, with the generated
blocks and the cited ones (``<!-- cited: SOURCE -->`` … ``<!-- /cited -->``: a paper's or another project's own
published numbers, with their source) taken out, and fails on any text that still looks like a measurement: a
mean ± sd, a metric followed by its value, a speed, a speed-up, a percentage to a decimal, a peak memory or a
time taken. Commands and code are not figures; a fenced block of output (```` ```text ````) is read like prose.
"""
import re

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GENERATED = re.compile(r"<!-- (record-[a-z]+|cited)\b[^>]*-->.*?<!-- /\1 -->", re.S)
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n.*?^```[^\n]*$", re.S | re.M)
NUM = r"~?\d[\d,]*(?:\.\d+)?"
MEASURED = re.compile("|".join([
    rf"\d\s*±\s*\d",                                                                   # mean ± sd
    rf"\b(?:FD|FID|KID|IS|intra-FD|fd|fid|kid|classifier score|label agreement)(?: of| =|:)? (?:\*\*)?{NUM}\b",
    rf"{NUM} ?(?:img/s|steps/s|it/s|s/step|s a step|ms|GFLOP/s|TFLOP/s|kimg/s|steps a minute|images/s)\b",
    rf"{NUM} ?× (?:faster|slower|the speed|as fast|as slow)|{NUM}x (?:faster|slower)",  # a speed-up
    rf"\d\.\d+ ?%",                                                                      # a measured share
    rf"peak[^.|]{{0,40}}?{NUM} ?(?:MiB|GiB|MB|GB)|{NUM} ?(?:MiB|GiB|MB|GB) peak",        # a peak memory
    rf"\b(?:took|takes|ran in|runs in|in about|took about|takes about) {NUM} ?(?:s|seconds|min|minutes|hours?)\b",
]))


# a table whose header names a measured quantity: each of its rows that holds a digit shows a figure
MEASURED_HEAD = re.compile(r"\b(?:FD|FID|KID|IS)\b|(?i:\b(?:score|agreement|img/s|images/s|steps/s|ms|wall|minutes|"
                           r"seconds|speed|memory|MiB|GiB|RSS|peak|recall|coverage|density|modes)\b)")
OUTPUT = ("", "text", "console")  # the info strings of fenced blocks that show what a command printed


def unrecorded(text: str) -> list[tuple[int, str]]:
    """(line, text) of each line of a page that shows a measured figure outside generated and cited blocks."""
    def blank(m):  # keep the line numbers
        return "\n" * m.group(0).count("\n")

    text = GENERATED.sub(blank, text)
    text = FENCE.sub(lambda m: m.group(0) if m.group("info").strip() in OUTPUT else blank(m), text)
    lines = text.splitlines()
    found = {i: line.strip() for i, line in enumerate(lines, 1) if MEASURED.search(line)}
    head = None  # the header of the table a line belongs to
    for i, line in enumerate(lines, 1):
        if not line.lstrip().startswith("|"):
            head = None
        elif head is None:
            head = line
        elif MEASURED_HEAD.search(head) and not re.fullmatch(r"[\s|:-]*", line) and re.search(r"\d", line):
            found.setdefault(i, line.strip())
    return sorted(found.items())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_figure_on_the_page_comes_from_a_record(page):
    found = unrecorded(page.read_text())
    assert not found, (f"{page.relative_to(ROOT)} shows measured figures that no record holds; generate them from "
                       f"results/<name>.json with a record block, cite their source, or remove them:\n"
                       + "\n".join(f"  line {i}: {line[:140]}" for i, line in found))


@pytest.mark.parametrize("line", [
    "FD 7.0 ± 1.0 over three seeds", "scores FD 5.5 against its digits", "runs at 3.9 steps/s fp32",
    "1.8× faster than fp32", "99.28 % label agreement", "peak RSS of 734 MiB", "the check took 107 s",
    "| fp32 | 147.6 / 82.9 | intra-FD 24.8 |", "KID: 57.9",
])
def test_a_measurement_is_seen(line):
    assert unrecorded(line)


@pytest.mark.parametrize("text", [
    "images at 28×28 resized to 32×32", "a lock goes stale after 600 s", "lr 1e-3, β1 0.5, batch 128",
    "the 95 % bootstrap interval", "```bash\ngankit bench r.yaml --steps 200  # FD 7.0 ± 1.0\n```",
    "<!-- cited: Karras et al. 2020 -->\n| CIFAR-10 | FID 2.42 |\n<!-- /cited -->",
    "<!-- record-table: x -->\n| a | 7.0 ± 1.0 |\n<!-- /record-table -->",
])
def test_what_is_not_a_measurement_or_is_recorded_passes(text):
    assert not unrecorded(text)


def test_output_blocks_are_read_like_prose():
    assert unrecorded("```text\nround 1: A plain 464 img/s\n```") == [(2, "round 1: A plain 464 img/s")]
    assert unrecorded("```\nround 1: A plain 464 img/s\n```") == [(2, "round 1: A plain 464 img/s")]


def test_a_table_of_measured_quantities_shows_figures_in_any_cell():
    table = "| recipe | steps | final FD |\n|---|---|---|\n| `mnist_lsgan` | 3,900 | **254.2** |\n"
    assert unrecorded(table) == [(3, "| `mnist_lsgan` | 3,900 | **254.2** |")]
    assert not unrecorded("| key | default |\n|---|---|\n| `optim.g.lr` | 0.001 |\n")
    assert unrecorded("the paper's FID **2.42** on CIFAR-10")


def test_every_image_under_docs_is_shown_by_a_page():
    """A figure no page shows any more (a result measured again, a section removed) is deleted, not kept."""
    shown = "".join(p.read_text() for p in PAGES)
    images = sorted(p for p in (ROOT / "docs" / "images").rglob("*") if p.is_file())
    assert images and not [str(p.relative_to(ROOT)) for p in images
                           if str(p.relative_to(ROOT / "docs")) not in shown and p.name not in shown]
