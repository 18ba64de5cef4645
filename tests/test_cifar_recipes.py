"""The CIFAR-10 recipes train from the files the field ships: the binary and the python tarball, and an NVlabs
dataset_tool.py zip (all tiny, generated here; networks narrowed)."""
import json

import pytest

from gankit.cli import main
from gankit.config import recipe

from tests.data.cifar_maker import make_cifar
from tests.data.test_nvlabs import make_nvlabs
from tests.test_zoo_recipes import RECIPES

SNGAN = RECIPES / "cifar10_sngan.yaml"
SMALL = ["trainer.max_steps=5", "trainer.batch_size=8", "trainer.d_steps=1", "trainer.precision=no",
         "trainer.sample_every=5", "trainer.checkpoint_every=5", "generator.ch=16", "discriminator.ch=16",
         "trainer.eval_every=null"]  # its Inception FID needs weights this machine lacks (tests/test_zoo_recipes.py)


@pytest.mark.parametrize("name", ["cifar10_sngan", "cifar10_r3gan", "cifar10_stylegan2_ada"])
def test_cifar10_recipes_name_the_cifar10_dataset(name):
    data = recipe.load(RECIPES / f"{name}.yaml").data
    assert (data.name, data.root, data.split) == ("cifar10", "data", "train")
    assert "cifar-10-python.tar.gz" in (RECIPES / f"{name}.yaml").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("source", ["binary", "python", "nvlabs_zip"])
def test_cifar10_sngan_trains_five_steps(tmp_path, source):
    if source == "nvlabs_zip":
        make_nvlabs(tmp_path / "cifar10-32x32.zip", n=16)
        data = ["data={name: image_folder, root: %s, image_size: 32, split: null}" % (tmp_path / "cifar10-32x32.zip")]
    else:
        make_cifar(tmp_path / "data", "cifar10", source, archive=True, per_file=4)
        data = [f"data.root={tmp_path / 'data'}", "data.download=false"]
    out = tmp_path / "run"
    assert main(["train", str(SNGAN), *data, *SMALL, "--out", str(out)]) == 0
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 5 and (out / "checkpoints" / "step-0000005").is_dir()
