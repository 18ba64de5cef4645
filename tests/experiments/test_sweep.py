"""Real sweeps of the tiny recipe: two workers on one study (SQLite, PostgreSQL), one of them
SIGKILLed mid-trial; pruning of an absurd learning rate; a diverging trial; compare on the sweep.

Each trial is a real ``gankit train`` subprocess (about 10-20 s here, most of it importing torch).
"""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from gankit.experiments import study as study_mod

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "tests" / "experiments" / "tiny_sweep.yaml"
ENV = dict(os.environ, OMP_NUM_THREADS="1", WANDB_MODE="disabled")
pytestmark = pytest.mark.slow


def gankit(*args, cwd=ROOT, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gankit", *map(str, args)], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def finish(proc: subprocess.Popen, timeout: float = 420) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def write_space(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def trials_of(sweep: Path):
    ref = study_mod.read_sweep_file(sweep)
    return optuna.load_study(study_name=ref["study"], storage=ref["storage"]).get_trials()


# Four trials (two params, so Optuna's importance has two to weigh): enough for a worker killed mid-trial, a
# second worker and a resume to share them. One seed, not 0 (the default), so the seed is seen to reach the
# run; several seeds per configuration are queued and grouped in test_trial.py and test_compare.py.
TWO_BY_TWO = """
params:
  lr: {keys: [optim.g.lr, optim.d.lr], choices: [0.001, 0.002]}
  loss.name: [non_saturating, hinge]
seeds: [3]
pruner: none
heartbeat: 2
"""


def storages():
    pg = os.environ.get("GANKIT_TEST_POSTGRES")
    # the same kill on a PostgreSQL server: in the long set (`-m long`, run by .ci/run), as the chaos tests are
    return ["sqlite", pytest.param(pg, id="postgresql", marks=[pytest.mark.long, pytest.mark.skipif(
        not pg, reason="GANKIT_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server and sets it)")])]


@pytest.mark.parametrize("storage", storages())
def test_two_workers_one_killed_mid_trial_lose_and_repeat_nothing(tmp_path, storage):
    sweep = tmp_path / f"sweep-{uuid.uuid4().hex[:8]}"  # a fresh study name on a shared server
    space = write_space(tmp_path / "space.yaml", TWO_BY_TWO)
    extra = [] if storage == "sqlite" else ["--storage", storage]
    a = gankit("sweep", RECIPE, space, "--out", sweep, *extra, "trainer.max_steps=4")
    url = storage if storage != "sqlite" else None
    deadline = time.time() + 120
    while not (sweep / study_mod.SWEEP_FILE).is_file():
        assert a.poll() is None and time.time() < deadline, a.communicate()[0][-3000:]
        time.sleep(0.2)
    url = study_mod.read_sweep_file(sweep)["storage"]
    assert (url == storage) if storage != "sqlite" else url == f"sqlite:///{sweep.resolve() / 'study.db'}"
    b = gankit("sweep", "--join", url, "--study", sweep.name)  # the study is named after the sweep folder
    # SIGKILL worker A once a trial of its own has written a checkpoint and is still running
    killed = None
    while killed is None:
        assert time.time() < deadline + 240 and a.poll() is None, "worker A ended before it could be killed"
        for t in trials_of(sweep):
            if (t.state == TrialState.RUNNING and t.user_attrs.get("worker", "").endswith(f":{a.pid}")
                    and list((sweep / "runs" / t.user_attrs["run"] / "checkpoints").glob("step-*"))):
                a.send_signal(signal.SIGKILL)
                killed = t
                break
        time.sleep(0.1)
    a.wait()
    finish(b)
    out = finish(gankit("sweep", "--resume", sweep))
    assert "4 complete" in out, out
    trials = trials_of(sweep)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    names = sorted(t.user_attrs["run"] for t in done)
    assert len(names) == 4 and len(set(names)) == 4, names  # every (config, seed) once
    assert {(t.params["lr"], t.params["loss.name"], t.user_attrs["seed"]) for t in done} == \
        {(lr, loss, 3) for lr in (0.001, 0.002) for loss in ("non_saturating", "hinge")}
    dead = next(t for t in trials if t.number == killed.number)
    assert dead.state == TrialState.FAIL  # marked failed after missed heartbeats...
    retry = next(t for t in done if t.user_attrs["run"] == killed.user_attrs["run"])
    assert "--resume" in retry.user_attrs["command"]  # ...and continued in the same run directory
    assert sorted(p.name for p in (sweep / "runs").iterdir() if p.is_dir()) == names
    for name in names:
        rows = [json.loads(line) for line in (sweep / "runs" / name / "metrics.jsonl").read_text().splitlines()]
        evals = [r["step"] for r in rows if "eval/fd" in r]
        assert evals == [2, 4], (name, evals)  # the resumed run logged nothing twice
        stored = yaml.safe_load((sweep / "runs" / name / "recipe.yaml").read_text())
        t = next(t for t in done if t.user_attrs["run"] == name)
        assert stored["trainer"]["seed"] == t.user_attrs["seed"] and stored["optim"]["g"]["lr"] == t.params["lr"]
        assert stored["loss"]["name"] == t.params["loss.name"] and t.value == [
            r["eval/fd"] for r in rows if "eval/fd" in r][-1]
    from gankit.experiments import compare, runs

    found, sweeps = runs.find([str(sweep)])
    data = compare.table(found, sweeps)
    assert [len(c["runs"]) for c in data["configs"]] == [1, 1, 1, 1] and not any(c["excluded"] for c in data["configs"])
    assert set(data["sweeps"][0]["importance"]) == {"lr", "loss.name"}  # Optuna's importance over the two params


@pytest.fixture(scope="module")
def pruned_sweep(tmp_path_factory) -> tuple[Path, str]:
    """One worker: a sane learning rate, then an absurd one (pruned), then one that diverges (failed)."""
    tmp = tmp_path_factory.mktemp("prune")
    space = write_space(tmp / "space.yaml", """
params:
  lr: {keys: [optim.g.lr, optim.d.lr], choices: [0.001, 0.1, 1.0e+30]}
seeds: 1
pruner: {name: median, startup_trials: 1}
heartbeat: 2
""")
    out = finish(gankit("sweep", RECIPE, space, "--out", tmp / "sweep", "trainer.max_steps=8", "--record", "pruned",
                        cwd=tmp))
    return tmp / "sweep", out


@pytest.mark.xdist_group("pruned_sweep")  # one worker runs the fixture's sweep once
def test_an_absurd_learning_rate_is_pruned_early_and_its_run_kept(pruned_sweep):
    sweep, out = pruned_sweep
    by_lr = {t.params["lr"]: t for t in trials_of(sweep)}
    assert by_lr[0.001].state == TrialState.COMPLETE
    bad = by_lr[0.1]
    assert bad.state == TrialState.PRUNED, out
    assert bad.user_attrs["pruned_at_step"] < 8
    run = sweep / "runs" / bad.user_attrs["run"]
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) < 8 and list((run / "checkpoints").glob("step-*"))  # stopped early, resumable


@pytest.mark.xdist_group("pruned_sweep")  # one worker runs the fixture's sweep once
def test_a_diverging_trial_is_failed_with_its_error_and_the_sweep_goes_on(pruned_sweep):
    sweep, out = pruned_sweep
    failed = next(t for t in trials_of(sweep) if t.params["lr"] == 1e30)
    assert failed.state == TrialState.FAIL
    assert "diverged" in failed.user_attrs["error"] and "exit code 2" in failed.user_attrs["error"]
    assert "1 complete, 1 fail, 1 pruned" in out, out


@pytest.mark.xdist_group("pruned_sweep")  # one worker runs the fixture's sweep once
def test_the_sweep_says_each_trial_as_it_starts_and_runs_and_the_best_so_far_after_each(pruned_sweep):
    sweep, out = pruned_sweep
    lines = out.splitlines()
    trials = sorted(trials_of(sweep), key=lambda t: t.number)
    good = next(t for t in trials if t.params["lr"] == 0.001)
    best = f"best so far {good.value:.6g} (trial {good.number} {good.user_attrs['run']})"
    for k, t in enumerate(trials, 1):
        run = t.user_attrs["run"]
        start = next(i for i, line in enumerate(lines) if line.startswith(f"trial {t.number} started: {run}, "
                                                                          f"run {k} of 3 (log: "))
        end = next(i for i, line in enumerate(lines) if line.startswith(f"trial {t.number} {run}: "))
        if t.state != TrialState.FAIL:  # the diverging run fails before its first row
            assert any(line.startswith(f"trial {t.number}: step 2 of 8, d_loss ") for line in lines[start:end]), out
        assert lines[end].endswith(best if t.number >= good.number else "no trial has completed yet"), lines[end]


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.xdist_group("pruned_sweep")  # one worker runs the fixture's sweep once
def test_compare_on_the_sweep_shows_its_trials_importance_and_history(pruned_sweep, capsys):
    from gankit.cli import main

    sweep, _ = pruned_sweep
    assert main(["compare", str(sweep)]) == 0
    assert "comparison page:" in capsys.readouterr().out
    page = (sweep / "compare.html").read_text(encoding="utf-8")
    p = _Imgs()
    p.feed(page)
    classes = [i["class"] for i in p.imgs]
    assert classes.count("grid") == 2 and "history" in classes  # the diverged run saved no grid
    text = " ".join(p.text)
    assert "1 complete, 1 fail, 1 pruned" in text and "no sample grid" in text
    assert main(["compare", str(sweep), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    sw = data["sweeps"][0]
    assert "two completed trials" in sw["importance"]  # one completed trial: no importance to compute
    for t in sw["trials"]:
        if t["state"] == "COMPLETE":
            rows = [json.loads(line) for line in (sweep / "runs" / t["run"] / "metrics.jsonl").read_text().splitlines()]
            assert t["value"] == [r["eval/fd"] for r in rows if "eval/fd" in r][-1]
    excluded = {n for c in data["configs"] for n in c["excluded"]}
    assert excluded == {t["run"] for t in sw["trials"] if t["state"] != "COMPLETE"}  # not averaged in


@pytest.mark.xdist_group("pruned_sweep")  # one worker runs the fixture's sweep once
def test_sweep_record_is_the_record_compare_writes_of_its_completed_trials(pruned_sweep, tmp_path, monkeypatch):
    from gankit.cli import main
    from gankit.experiments import records

    sweep, out = pruned_sweep
    assert "record: results/pruned.json (2 failed or pruned trial(s) left out; it counts the 1 completed)" in out
    swept = records.read(sweep.parent / "results" / "pruned.json")
    assert swept.commands == [records.command_line(["sweep", str(RECIPE), str(sweep.parent / "space.yaml"), "--out",
                                                     str(sweep), "trainer.max_steps=8", "--record", "pruned"])]
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(sweep), "--json", "--record", "pruned", "--recipe", str(RECIPE),
                 "trainer.max_steps=8"]) == 0
    compared = records.read(tmp_path / "results" / "pruned.json")
    assert swept.rows == compared.rows and len(swept.rows) == 1  # the pruned and the failed trial left out
    row, = swept.rows
    assert row.recipe.path == str(RECIPE) and row.recipe.overrides == ["trainer.max_steps=8", "optim.d.lr=0.001",
                                                                       "optim.g.lr=0.001"]
    assert [p["step"] for p in row.curves["fd"]] == [2, 4, 6, 8] and row.images["last_step"] == 8
    assert (sweep.parent / row.images["last"]).read_bytes() == (tmp_path / row.images["last"]).read_bytes()


@pytest.mark.xdist_group("pruned_sweep")  # one worker runs the fixture's sweep once
def test_a_new_sweep_refuses_an_existing_sweep_folder_and_a_bad_space(pruned_sweep, tmp_path, capsys):
    from gankit.cli import main

    sweep, _ = pruned_sweep
    space = write_space(tmp_path / "s.yaml", "params: {optim.g.lr: [0.001]}\n")
    assert main(["sweep", str(RECIPE), str(space), "--out", str(sweep)]) == 2
    assert "already holds a sweep" in capsys.readouterr().err
    bad = write_space(tmp_path / "bad.yaml", "params: {optim.g.lrr: [0.001]}\n")
    assert main(["sweep", str(RECIPE), str(bad), "--out", str(tmp_path / "new")]) == 2
    assert "params.optim.g.lrr" in capsys.readouterr().err
    assert main(["sweep", "--resume", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err
