"""Weights that do not fit the model are refused before loading, each tensor named with its shapes:
in resume, in a model folder and in ``load_generator`` (wrong shape, missing, extra, int8)."""
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from gankit.config import recipe
from gankit.errors import GankitError
from gankit.runs.export import export_generator
from gankit.runs.inference import load_generator
from gankit.runs.model_folder import load_folder
from gankit.store.weights import weight_problems
from gankit.training.trainer import Trainer

from .helpers import SMALL

ARGS = ["trainer.max_steps=2", "ema.enabled=true"]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A finished tiny run (checkpoint at step 2, EMA) and its exported model folder."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("weights")
    cfg = recipe.load(SMALL, ARGS)
    Trainer(cfg, root / "run").fit()
    recipe.save(cfg, root / "run" / "recipe.yaml")
    export_generator(root / "run", root / "folder")
    return root


def _weight_name(tensors: dict) -> str:
    return next(k for k, v in tensors.items() if v.ndim == 2)


def _damage(path, how: str) -> tuple[str, list[str]]:
    """Rewrite a safetensors file the way ``how`` says; (the tensor concerned, words the error must hold)."""
    t = load_file(str(path))
    k = _weight_name(t)
    shape = list(t[k].shape)
    if how == "shape":
        t[k] = torch.zeros(shape[0] + 1, shape[1])
        words = [f"[{shape[0] + 1}, {shape[1]}]", str(shape)]
    elif how == "missing":
        del t[k]
        words = ["missing", str(shape)]
    elif how == "extra":
        k = "surplus.weight"
        t[k] = torch.zeros(3, 5)
        words = ["extra", "[3, 5]"]
    else:  # int8 weights where float ones belong: loading would cast them silently
        t[k] = t[k].to(torch.int8)
        words = ["I8", "float"]
    save_file(t, str(path))
    return k, words


HOW = ["shape", "missing", "extra", "int8"]


def _copy(good, tmp_path):
    shutil.copytree(good / "run", tmp_path / "run")
    shutil.copytree(good / "folder", tmp_path / "folder")
    return tmp_path / "run", tmp_path / "folder"


@pytest.mark.parametrize("how", HOW)
def test_resume_names_the_tensor(good, tmp_path, how):
    run, _ = _copy(good, tmp_path)
    k, words = _damage(run / "checkpoints" / "step-0000002" / "model.safetensors", how)
    cfg = recipe.load(SMALL, ARGS + ["trainer.max_steps=4"])
    with pytest.raises(GankitError) as e:
        Trainer(cfg, run, resume=True)
    msg = str(e.value)
    assert f"'{k}'" in msg and all(w in msg for w in words), msg
    assert "model.safetensors" in msg and "Error(s) in loading" not in msg


@pytest.mark.parametrize("how", HOW)
def test_load_generator_names_the_tensor(good, tmp_path, how):
    run, _ = _copy(good, tmp_path)
    k, words = _damage(run / "checkpoints" / "step-0000002" / "ema.safetensors", how)
    with pytest.raises(GankitError) as e:
        load_generator(run)
    msg = str(e.value)
    assert f"'{k}'" in msg and all(w in msg for w in words), msg


@pytest.mark.parametrize("how", HOW)
def test_model_folder_names_the_tensor(good, tmp_path, how):
    _, folder = _copy(good, tmp_path)
    k, words = _damage(folder / "model.safetensors", how)
    for load in (load_folder, load_generator):
        with pytest.raises(GankitError) as e:
            load(folder)
        msg = str(e.value)
        assert f"'{k}'" in msg and all(w in msg for w in words), msg


def test_tied_weights_and_float_precisions_fit():
    lin = torch.nn.Linear(2, 2)
    expected = {"a.weight": lin.weight, "b.weight": lin.weight, "bias": lin.bias}  # a and b share storage
    found = {"a.weight": ((2, 2), "F16"), "bias": ((2,), "BF16")}
    assert weight_problems(expected, found) == []
    assert weight_problems({"n": torch.tensor(3)}, {"n": ((), "F32")}) == ["tensor 'n' is F32 (float), expected int64 (integer)"]
