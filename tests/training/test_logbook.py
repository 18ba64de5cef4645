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
