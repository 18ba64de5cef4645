"""The logbook: window means as metrics.jsonl rows, eval rows, sample grids, due steps."""
import json

import torch

from gankit.store.files import METRICS_FILE
from gankit.store.grids import grid_path
from gankit.training.logbook import Logbook


class OneProcess:
    is_main_process, trackers = True, None

    def reduce(self, t, reduction="mean"):
        return t


def test_rows_hold_window_means_and_eval_rows_their_own_keys(tmp_path):
    log = Logbook(tmp_path, OneProcess(), every=2, sample_every=3, total_steps=4, start_step=0, images_per_step=8,
                  steps_per_epoch=4, fields={"batch_global": 8})
    with log:
        assert [log.due(s, False) for s in (1, 2, 3)] == [False, True, False] and log.due(3, True)
        assert [log.samples_due(s, False) for s in (2, 3)] == [False, True]
        log.add({"d_loss": torch.tensor(1.0), "g_loss": torch.tensor(4.0)})
        log.add({"d_loss": torch.tensor(3.0), "g_loss": torch.tensor(2.0)})
        row = log.record(step=2, batch=2)
        log.record_eval(2, {"fd": 12.5})
        path = log.samples(2, torch.zeros(4, 1, 8, 8), nrow=2)
    assert (row["d_loss"], row["g_loss"], row["epoch"], row["batch_global"]) == (2.0, 3.0, 0.5, 8)
    assert row["images_per_s"] > 0 and log.n_window == 0  # the window starts again
    rows = [json.loads(line) for line in (tmp_path / METRICS_FILE).read_text().splitlines()]
    assert rows[0]["step"] == 2 and rows[1] == {"step": 2, "eval/fd": 12.5}
    assert path == grid_path(tmp_path, 2) and path.is_file()


def test_evaluations_left_count_every_period_and_the_last_step():
    from gankit.training.logbook import eta_s, evals_left

    assert evals_left(10, 100, 25) == 4  # 25, 50, 75, 100
    assert evals_left(25, 100, 25) == 3  # the one at 25 has run
    assert evals_left(0, 100, 30) == 4  # 30, 60, 90 and the last step
    assert evals_left(90, 100, 30) == 1 and evals_left(100, 100, 30) == 0
    assert evals_left(10, 100, 0) == evals_left(10, 100, None) == 0  # no evaluations planned
    assert eta_s(steps_left=90, step_s=1.5, evals_left=4, eval_s=5.0) == 90 * 1.5 + 4 * 5.0


def test_the_bar_moves_every_step_with_an_eta_that_counts_the_evaluations_to_come(tmp_path, monkeypatch):
    import gankit.training.logbook as logbook_mod

    now = [100.0]
    monkeypatch.setattr(logbook_mod.time, "perf_counter", lambda: now[0])
    log = Logbook(tmp_path, OneProcess(), every=50, sample_every=50, total_steps=100, start_step=0,
                  images_per_step=8, steps_per_epoch=10, fields={}, eval_every=25)
    with log:
        log.step_done(1)  # the first step (warm-up included) is not timed
        assert log.remaining() == (None, 4)
        for s in range(2, 11):
            now[0] += 2.0
            log.step_done(s)
            assert log.bar.n == s  # every step, not every log_every
        assert log.remaining() == (90 * 2.0, 4)  # 90 steps of 2 s; 4 evaluations not timed yet
        assert "eta 03:00 + 4 evals" in str(log.bar)
        for s in range(11, 26):
            now[0] += 2.0
            if s == 25:  # an evaluation of 7 s after the step
                now[0] += 7.0
                log.record_eval(25, {"fd": 1.0}, took_s=7.0)
            log.step_done(s)
        assert log.remaining() == (75 * 2.0 + 3 * 7.0, 0)  # the evaluation's time is not a step's
        assert "eta 02:51" in str(log.bar)
