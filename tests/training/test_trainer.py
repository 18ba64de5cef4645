import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gankit.config import recipe
from gankit.cli import main
from gankit.store import checkpoints as ckpt
from gankit.store.state import read as read_state
from gankit.training.trainer import Trainer

ROOT_RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def test_few_steps_log_sample_checkpoint_and_reload(tiny_recipe, tmp_path):
    cfg = recipe.load(tiny_recipe, ["trainer.max_steps=4"])
    run = tmp_path / "run"
    tr = Trainer(cfg, run)
    before = [p.detach().clone() for p in tr.acc.unwrap_model(tr.G).parameters()]
    summary = tr.fit()
    assert summary["step"] == 4 and summary["images_per_s"] > 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for r in rows:
        assert all(torch.isfinite(torch.tensor(r[k])) for k in ("d_loss", "g_loss", "d_real", "d_fake"))
        assert r["batch_global"] == 32 and r["batch_per_process"] == 32
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["real.png", "step-0000002.png", "step-0000004.png"]
    after = list(tr.acc.unwrap_model(tr.G).parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))  # G really trained

    last = ckpt.latest(run)
    assert last.name == "step-0000004" and read_state(last).step == 4
    saved_g = load_file(str(last / "model.safetensors"))
    for name, p in tr.acc.unwrap_model(tr.G).state_dict().items():
        assert torch.equal(saved_g[name], p)

    # a fresh trainer restores the exact weights and optimizer state
    tr2 = Trainer(cfg, run, resume=True)
    assert tr2.state.step == 4 and tr2.state.batch == 4
    for a, b in zip(tr.acc.unwrap_model(tr.D).parameters(), tr2.acc.unwrap_model(tr2.D).parameters()):
        assert torch.equal(a, b)
    sa, sb = tr.d_opt.state_dict()["state"], tr2.d_opt.state_dict()["state"]
    assert all(torch.equal(sa[k]["exp_avg"], sb[k]["exp_avg"]) for k in sa)


def test_discriminator_learns_when_generator_is_frozen(tiny_recipe, tmp_path):
    """With G's lr ~0, D's loss on the fixed task must fall well below chance (2 ln 2)."""
    cfg = recipe.load(tiny_recipe, ["trainer.max_steps=12", "trainer.log_every=12", "optim.g.lr=1e-12",
                                    "trainer.checkpoint_every=100", "trainer.sample_every=100"])
    summary = Trainer(cfg, tmp_path / "run").fit()
    assert summary["d_loss"] < 0.5 * 2 * 0.6931


def test_bf16_and_auto_precision_train_with_finite_losses(tiny_recipe, tmp_path):
    from gankit.training.accel import native_bf16, resolve_precision

    # where bf16 is emulated (AVX2-only CPUs: ~100x slower) the bf16 run is shrunk to a few images
    small = [] if native_bf16(cpu=True) else ["trainer.batch_size=8", "trainer.max_steps=2", "trainer.num_grid=4"]
    for precision in ("bf16", "auto"):
        cfg = recipe.load(tiny_recipe, [f"trainer.precision={precision}", "trainer.channels_last=true",
                                        *(small if precision == "bf16" else [])])
        summary = Trainer(cfg, tmp_path / precision).fit()
        assert all(torch.isfinite(torch.tensor(summary[k])) for k in ("d_loss", "g_loss"))
        assert summary["precision"] == resolve_precision(precision, cpu=True)  # logged as resolved


def test_fp16_on_cpu_is_refused(tiny_recipe, tmp_path, capsys):
    rc = main(["train", str(tiny_recipe), "trainer.precision=fp16", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and "trainer.precision" in err and "Traceback" not in err


@pytest.mark.slow
def test_cli_end_to_end_and_out_dir_guard(tiny_recipe, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(tiny_recipe), "trainer.max_steps=2", "--out", str(out)]) == 0
    assert (out / "recipe.yaml").is_file() and recipe.load(out / "recipe.yaml").trainer.max_steps == 2
    assert ckpt.latest(out).name == "step-0000002"
    assert main(["train", str(tiny_recipe), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    # resume with a larger step budget continues from step 2
    assert main(["resume", str(out), "trainer.max_steps=4"]) == 0
    assert ckpt.latest(out).name == "step-0000004"


@pytest.mark.parametrize("norm,expected", [("batch", [64, 64]), ("none", [64, 32])])
def test_a_batchnorm_discriminator_sees_real_and_fake_together_in_both_phases(tiny_recipe, tmp_path, norm, expected):
    cfg = recipe.load(tiny_recipe, ["trainer.max_steps=1", "data.image_size=32", "generator.name=dcgan",
                                    "generator.z_dim=16", "discriminator.name=dcgan", f"discriminator.norm={norm}"])
    tr = Trainer(cfg, tmp_path / "run")
    sizes = []
    tr.acc.unwrap_model(tr.D).register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    tr.step()
    assert sizes == expected  # D phase: real + fake; G phase: real + fake only when D normalises over the batch


def test_conditional_grid_has_one_row_per_class(tiny_recipe, tmp_path):
    cfg = recipe.load(tiny_recipe, ["trainer.max_steps=1", "generator.name=conditional", "generator.body=dcgan_mnist",
                                    "discriminator.name=projection", "trainer.num_grid=30"])
    tr = Trainer(cfg, tmp_path / "run")
    assert tr.grid_nrow == 3 and tr.fixed_y.tolist() == [c for c in range(10) for _ in range(3)]
    assert tr.grid_images().shape == (30, 1, 28, 28)


@pytest.mark.slow
def test_evaluation_during_training_logs_metrics_and_keeps_the_best_checkpoint(mnist_root, tmp_path):
    from gankit.config.recipe import load

    cfg = load(ROOT_RECIPES / "mnist_dcgan.yaml", [
        f"data.root={mnist_root}", "data.split=test", "data.download=false", "trainer.max_steps=4",
        "trainer.batch_size=32", "trainer.log_every=2", "trainer.eval_every=2", "trainer.checkpoint_every=100",
        "trainer.keep_checkpoints=1", "eval.num_samples=200", "eval.real_samples=500", "eval.best=fd"])
    run = tmp_path / "run"
    Trainer(cfg, run).fit()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval/fd" in r]
    assert [r["step"] for r in evals] == [2, 4]
    assert all(r["eval/fd"] > 0 and 1 <= r["eval/modes"] <= 10 and r["eval/classifier_score"] >= 1 for r in evals)
    best = json.loads((run / "checkpoints" / "best" / "best.json").read_text())
    assert best["metric"] == "fd" and best["value"] == min(r["eval/fd"] for r in evals)
    assert best["step"] == min(evals, key=lambda r: r["eval/fd"])["step"]
    assert read_state(run / "checkpoints" / "best").step == best["step"]


def test_channels_last_with_ema_saves_and_reloads(tiny_recipe, tmp_path):
    from safetensors.torch import load_file

    cfg = recipe.load(tiny_recipe, ["trainer.max_steps=2", "trainer.channels_last=true", "ema.enabled=true"])
    tr = Trainer(cfg, tmp_path / "run")
    tr.fit()
    saved = load_file(str(ckpt.latest(tmp_path / "run") / "ema.safetensors"))
    for name, p in tr.ema.model().state_dict().items():
        assert torch.equal(saved[name], p)


@pytest.mark.parametrize("extra, expected", [([], 3 * 8), (["trainer.d_steps=2"], 3 * 8 // 2),
                                             (["trainer.grad_accum=2"], 3 * 8), (["trainer.max_steps=5"], 5)])
def test_gankit_check_and_the_trainer_plan_the_same_run_length(tiny_recipe, tmp_path, capsys, extra, expected):
    """256 images, batch 32: 8 batches an epoch; a step takes d_steps of them; grad_accum only splits them."""
    over = ["trainer.max_steps=null", "trainer.epochs=3", *extra]
    assert Trainer(recipe.load(tiny_recipe, over), tmp_path / "run").max_steps == expected
    assert main(["check", str(tiny_recipe), *over, "--steps", "0"]) == 0
    assert f", {expected} steps in all" in capsys.readouterr().out


def test_relativistic_generator_loss_reads_the_updated_discriminator(tiny_recipe, tmp_path):
    """RaGAN's G step compares fakes with D(real) of the D just updated (a fresh forward), not the D phase's."""
    import copy

    tr = Trainer(recipe.load(tiny_recipe, ["trainer.max_steps=1", "loss.name=relativistic_average"]), tmp_path / "run")
    G0, D0 = (copy.deepcopy(tr.acc.unwrap_model(m)) for m in (tr.G, tr.D))
    sizes = []
    tr.acc.unwrap_model(tr.D).register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    g_loss = tr.step()["g_loss"]
    assert sizes == [64, 64]  # G phase: real + fake, although this D has no BatchNorm
    real, _ = tr.stream.batch(0)
    z, _ = tr.noise(0)
    with torch.no_grad():
        fake, D1 = G0(z), tr.acc.unwrap_model(tr.D)  # G0 in train mode: the same batch statistics
        expected = tr.loss.g(D1(fake), D1(real))
        stale = tr.loss.g(D1(fake), D0(real))
    assert torch.allclose(g_loss, expected, atol=1e-6)
    assert not torch.allclose(g_loss, stale, atol=1e-4)


def test_the_progress_bar_moves_on_every_step_of_fit(tiny_recipe, tmp_path, monkeypatch):
    """log_every=4: metrics rows at step 4 only, yet the bar shows each step as it ends."""
    import gankit.training.logbook as logbook_mod

    bars = []

    class Bar(logbook_mod.tqdm):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            bars.append(self)

    monkeypatch.setattr(logbook_mod, "tqdm", Bar)
    cfg = recipe.load(tiny_recipe, ["trainer.max_steps=4", "trainer.log_every=4", "trainer.sample_every=4",
                                    "trainer.checkpoint_every=4"])
    tr = Trainer(cfg, tmp_path / "run")
    seen, real_step = [], tr.step
    tr.step = lambda: (seen.append(bars[-1].n), real_step())[1]
    tr.fit()
    assert seen == [0, 1, 2, 3] and bars[-1].n == 4
