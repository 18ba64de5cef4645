"""gankit neighbours: each sample beside its nearest training images; right sizes, same picture per seed."""
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.errors import GankitError
from gankit.runs.neighbours import nearest


def test_nearest_matches_brute_force_and_finds_copies_at_zero():
    g = torch.Generator().manual_seed(0)
    ref, query = torch.randn(300, 16, generator=g) * 5 + 3, torch.randn(7, 16, generator=g) * 5 + 3
    query[2] = ref[41]
    d, i = nearest(query, ref, 4)
    brute = torch.cdist(query.double(), ref.double()).topk(4, largest=False)
    assert torch.equal(i, brute.indices) and torch.allclose(d, brute.values)
    assert i[2, 0] == 41 and d[2, 0] == 0
    with pytest.raises(GankitError, match="--k: must be from 1 to the number of training images"):
        nearest(query, ref, 301)


@pytest.mark.slow
def test_neighbours_picture_sizes_and_determinism(run_dir, tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["neighbours", str(run_dir), "--num", "3", "--k", "4", "--seed", "5", "--out", str(a)]) == 0
    out = capsys.readouterr().out
    assert "3 samples, each beside its 4 nearest of 256 training images" in out and "'lenet_mnist'" in out
    assert Image.open(a).size == (5 * 30 + 2, 3 * 30 + 2)  # sample + 4 neighbours per row
    assert main(["neighbours", str(run_dir), "--num", "3", "--k", "4", "--seed", "5", "--out", str(b)]) == 0
    assert capsys.readouterr().out == out.replace(str(a), str(b)) and a.read_bytes() == b.read_bytes()
    assert main(["neighbours", str(run_dir), "--seed", "0-1", "--k", "2", "--out", str(b)]) == 0
    assert "seed 1" in capsys.readouterr().out and Image.open(b).size == (3 * 30 + 2, 2 * 30 + 2)


def test_neighbours_errors_exit_2(run_dir, tmp_path, capsys):
    for argv, message in [(["--k", "0"], "--k: must be ≥ 1"), (["--seed", "0-3", "--num", "2"], "--num: give"),
                          (["--truncation", "-1"], "--truncation: ψ must be"),
                          (["--k", "999"], "--k: must be from 1 to the number of training images (256)")]:
        assert main(["neighbours", str(run_dir), "--out", str(tmp_path / "n.png"), *argv]) == 2, argv
        assert message in capsys.readouterr().err, argv


def test_neighbours_of_an_export_asks_for_its_run(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "model.safetensors"):  # the shape of an export is enough to be told apart
        (model / name).write_text("{}")
    assert main(["neighbours", str(model), "--out", str(tmp_path / "n.png")]) == 2
    assert "holds no training images" in capsys.readouterr().err
