"""What a run writes as it goes: metrics.jsonl rows, the progress bar, trackers, sample grids.

Numbers of each step are summed on the device; every ``log_every`` steps their window means
over all processes (one host sync) become a row. Only the main process writes files.

The bar moves every step (on a terminal; elsewhere, in a log file, it is drawn once per row). Its
time left counts the evaluations still to come: remaining steps × the mean step time (evaluations
left out) + remaining evaluations × the last evaluation's time (``eta_s``); before an evaluation
has been timed it says how many are still to come ("eta 03:00 + 4 evals").
"""
import math
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from gankit.errors import printable
from gankit.store.files import METRICS_FILE, SAMPLES_DIR
from gankit.store.grids import real_grid_path, write_grid, write_real_grid
from gankit.store.metrics import FLOOR_KEY, LABELS_KEY, append_row, open_for_rows, trim_metrics


def evals_left(step: int, total: int, every: int | None) -> int:
    """Evaluations still to come after ``step``: one every ``every`` steps and one at the last step."""
    if not every or step >= total:
        return 0
    return total // every - step // every + (total % every != 0)


def eta_s(steps_left: int, step_s: float, evals_left: int, eval_s: float) -> float:
    """Seconds left: the steps at their time, the evaluations at theirs."""
    return steps_left * step_s + evals_left * eval_s


class Logbook:
    def __init__(self, run_dir: Path, acc, *, every: int, sample_every: int, total_steps: int, start_step: int,
                 images_per_step: int, steps_per_epoch: int, fields: dict, eval_every: int | None = None):
        self.run_dir, self.acc, self.enabled = Path(run_dir), acc, acc.is_main_process
        self.every, self.sample_every, self.eval_every, self.total = every, sample_every, eval_every, total_steps
        self.images_per_step, self.steps_per_epoch, self.fields = images_per_step, steps_per_epoch, fields
        self.start = time.time()
        self.window: dict[str, torch.Tensor] = {}
        self.n_window, self.t_window = 0, time.perf_counter()
        self.step = start_step
        self.timing: tuple[float, int] | None = None  # (clock, step) at the end of this session's first step
        self.eval_s: float | None = None  # the last evaluation's seconds
        self.eval_total_s = 0.0  # seconds of this session's evaluations after its first step
        self.values = ""  # the last row's numbers, as the bar shows them
        if self.enabled:
            (self.run_dir / SAMPLES_DIR).mkdir(parents=True, exist_ok=True)
            trim_metrics(self.run_dir / METRICS_FILE, start_step)  # rows after the checkpoint come again
            self.file = open_for_rows(self.run_dir / METRICS_FILE)
            # on a terminal the bar is redrawn at most once a second; elsewhere (a log file) only with each row
            tty = sys.stderr.isatty()
            self.bar = tqdm(total=total_steps, initial=start_step, desc="train", dynamic_ncols=True,
                            mininterval=1.0 if tty else math.inf,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def due(self, step: int, last: bool) -> bool:
        return step % self.every == 0 or last

    def samples_due(self, step: int, last: bool) -> bool:
        return step % self.sample_every == 0 or last

    def add(self, stats: dict) -> None:
        """One counted step's numbers (device tensors: no host sync)."""
        for k, v in stats.items():
            self.window[k] = self.window[k] + v if k in self.window else v.clone()
        self.n_window += 1

    def record(self, step: int, batch: int, levels: dict | None = None) -> dict:
        """The window's mean numbers over all processes, and ``levels`` (values as they are now,
        e.g. scheduled ones), as one row; the window starts again."""
        dt = time.perf_counter() - self.t_window
        names = list(self.window)
        means = self.acc.reduce(torch.stack([self.window[k] for k in names]) / self.n_window, reduction="mean")
        values = dict(zip(names, (round(v, 6) for v in means.tolist())))
        values.update(levels or {})
        images_per_s = self.n_window * self.images_per_step / dt
        row = {"step": step, "epoch": round(batch / self.steps_per_epoch, 3), **values,
               "images_per_s": round(images_per_s, 1), **self.fields, "time_s": round(time.time() - self.start, 2)}
        self.window, self.n_window, self.t_window = {}, 0, time.perf_counter()
        if self.enabled:
            self._write(row)
            self.values = ", ".join([f"{k}={v:.3g}" for k, v in values.items()] + [f"img/s={images_per_s:.0f}"])
            self._show(step)
            self.bar.refresh()
        self._track(row)
        return row

    def step_done(self, step: int) -> None:
        """A counted step and its side jobs are done: the bar moves (the time left is measured from the end
        of this session's first step, whose warm-up would skew it)."""
        self.step = step
        if self.timing is None:
            self.timing = (time.perf_counter(), step)
        if self.enabled:
            self._show(step)

    def remaining(self) -> tuple[float | None, int]:
        """(seconds left, or None before two steps have been timed; evaluations to come not yet timed,
        whose seconds are left out)."""
        evals = evals_left(self.step, self.total, self.eval_every)
        if self.timing is None or self.step <= self.timing[1]:
            return None, evals
        clock, first = self.timing
        step_s = max(0.0, time.perf_counter() - clock - self.eval_total_s) / (self.step - first)
        if self.eval_s is None:
            return eta_s(self.total - self.step, step_s, 0, 0.0), evals
        return eta_s(self.total - self.step, step_s, evals, self.eval_s), 0

    def _show(self, step: int) -> None:
        seconds, untimed = self.remaining()
        eta = "eta ?" if seconds is None else f"eta {tqdm.format_interval(seconds)}"
        if untimed:
            eta += f" + {untimed} eval{'s' if untimed > 1 else ''}"
        self.bar.set_postfix_str(", ".join(filter(None, (eta, self.values))), refresh=False)
        self.bar.update(step - self.bar.n)  # drawn when due (at most once a second on a terminal)

    def record_eval(self, step: int, results: dict, took_s: float | None = None, labels: dict | None = None,
                    floors: dict | None = None) -> dict:
        """Evaluation numbers as their own metrics.jsonl row (same step); ``took_s``: the evaluation's
        seconds (the time left counts them for the evaluations still to come); ``labels``: what each metric
        is (feature space, sample counts), kept under ``labels``; ``floors``: each metric's real-vs-real floor
        ({"mean", "sd", "n", "splits"}), kept under ``floor``."""
        if took_s is not None:
            self.eval_s = took_s
            if self.timing is not None:
                self.eval_total_s += took_s
        row = {"step": step, **{f"eval/{k}": v for k, v in results.items()}, **({LABELS_KEY: labels} if labels else {}),
               **({FLOOR_KEY: floors} if floors else {})}
        if self.enabled:
            self._write(row)
            self.bar.write(printable("eval @ step {}: {}".format(step, ", ".join(  # metric names come from plugins
                f"{k}={v:.4g}" for k, v in results.items() if isinstance(v, (int, float))))))
        self._track(row)
        return row

    def samples(self, step: int, images: torch.Tensor, nrow: int) -> Path | None:
        if not self.enabled:
            return None
        return write_grid(self.run_dir, step, images, nrow)  # atomic: a kill mid-write leaves no half PNG

    def real_samples(self, images: torch.Tensor, nrow: int) -> Path | None:
        """``samples/real.png``, once per run: real images (in [-1, 1]) laid out as the sample grids."""
        if not self.enabled or real_grid_path(self.run_dir).is_file():
            return None
        return write_real_grid(self.run_dir, images, nrow)

    def message(self, text: str) -> None:
        if self.enabled:
            tqdm.write(printable(text))

    def close(self) -> None:
        if self.enabled:
            self.bar.close()
            self.file.close()
        if self.acc.trackers:
            self.acc.end_training()

    def _write(self, row: dict) -> None:
        append_row(self.file, self.run_dir / METRICS_FILE, row)

    def _track(self, row: dict) -> None:
        if self.acc.trackers:
            self.acc.log({k: v for k, v in row.items() if isinstance(v, (int, float)) and math.isfinite(v)},
                         step=row["step"])
