"""What a run writes: metrics.jsonl, the progress bar, trackers, sample grids (main process only)."""
import json
import math
import time
from pathlib import Path

import torch
from torchvision.utils import save_image
from tqdm.auto import tqdm

FIELDS = ("d_loss", "g_loss", "d_real", "d_fake")


class Logbook:
    def __init__(self, trainer, enabled: bool):
        self.tr, self.enabled = trainer, enabled
        self.run_dir = trainer.run_dir
        self.start = time.time()
        if enabled:
            (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
            self.file = open(self.run_dir / "metrics.jsonl", "a")
            self.bar = tqdm(total=trainer.max_steps, initial=trainer.state.step, desc="train",
                            dynamic_ncols=True, mininterval=1.0)

    def record(self, means: torch.Tensor, images_per_s: float, extra: dict | None = None) -> dict:
        """Log the window's mean losses (one host sync per log interval)."""
        tr = self.tr
        values = dict(zip(FIELDS, (round(v, 6) for v in means.tolist())))
        row = {"step": tr.state.step, "epoch": round(tr.state.batch / tr.stream.steps_per_epoch, 3), **values,
               "images_per_s": round(images_per_s, 1), "batch_global": tr.t.batch_size,
               "batch_per_process": tr.stream.local, "precision": tr.acc.mixed_precision, "time_s": round(time.time() - self.start, 2)}
        row.update(extra or {})
        if self.enabled:
            self.file.write(json.dumps(row) + "\n")
            self.file.flush()
            self.bar.n = tr.state.step
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()} | {"img/s": f"{images_per_s:.0f}"},
                                 refresh=False)
            self.bar.refresh()
        if tr.acc.trackers:
            tr.acc.log({k: v for k, v in row.items() if isinstance(v, (int, float)) and math.isfinite(v)},
                       step=tr.state.step)
        return row

    def record_eval(self, results: dict) -> dict:
        """Log evaluation numbers as their own metrics.jsonl row (same step)."""
        row = {"step": self.tr.state.step, **{f"eval/{k}": v for k, v in results.items()}}
        if self.enabled:
            self.file.write(json.dumps(row) + "\n")
            self.file.flush()
            self.bar.write("eval @ step {}: {}".format(row["step"], ", ".join(
                f"{k}={v:.4g}" for k, v in results.items() if isinstance(v, (int, float)))))
        if self.tr.acc.trackers:
            self.tr.acc.log({k: v for k, v in row.items() if isinstance(v, (int, float))}, step=row["step"])
        return row

    def samples(self, _model=None) -> Path | None:
        if not self.enabled:
            return None
        images = self.tr.grid_images()
        path = self.run_dir / "samples" / f"step-{self.tr.state.step:07d}.png"
        save_image(images, path, nrow=self.tr.grid_nrow, normalize=True, value_range=(-1, 1), padding=2)
        return path

    def message(self, text: str) -> None:
        if self.enabled:
            tqdm.write(text)

    def close(self) -> None:
        if self.enabled:
            self.bar.close()
            self.file.close()
        if self.tr.acc.trackers:
            self.tr.acc.end_training()
