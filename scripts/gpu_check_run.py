"""One combination of ``scripts/gpu_check.py`` (recipe × precision × eager/compiled), in its own process.

It builds gankit's trainer and the hand-written loop (``gpu_check_hand``) on the same validated recipe
(synthetic data of the recipe's shape, augmentation off), warms both up, then times them in
alternating rounds (gankit, hand, gankit, hand …) so both see the same machine; CUDA is synchronized
around every round and the peak allocated memory is reset before each side's rounds. A side that
fails reports its error and the other still runs. Prints one line ``GPU_CHECK_RESULT {json}``.
"""
import json
import tempfile
import time
import traceback

import torch

from gankit.training.accel import loss_scale
from gankit.training.trainer import Trainer
from gpu_check_hand import HandLoop
from gpu_check_recipes import load

MAX_SCALES = 256  # a longer fp16 scale trajectory is thinned to about this many points


class GankitSide:
    """gankit's trainer, stepped as ``fit`` steps it (the guard decides whether a step counts), no side jobs."""

    def __init__(self, recipe, run_dir):
        self.tr = Trainer(recipe, run_dir)
        self.scales: list[torch.Tensor] = []
        self.calls = 0

    def step(self):
        tr = self.tr
        self.calls += 1
        stats = tr.step()
        if tr.guard.counts(stats, tr.state):
            tr.state.step += 1
        scale = loss_scale(tr.acc)
        if scale is not None:
            self.scales.append(scale)
        return stats["d_loss"], stats["g_loss"]

    def fp16(self) -> dict:
        """The trainer's skipped steps (the guard's count: the scaler skipped an update) of all steps run, warm-up
        included, and the scale after each step (thinned to about MAX_SCALES points)."""
        return {"skipped_steps": self.tr.state.skipped, "steps_run": self.calls, "scale_per_step": _thin(self.scales),
                "scale_counted_after": "each step"}


class HandSide:
    def __init__(self, recipe, device, precision, compile_):
        self.loop = HandLoop(recipe, device, precision, compile_)

    def step(self):
        return self.loop.step()

    def fp16(self) -> dict:
        """Updates the scaler skipped (its scale fell: it skips and halves together); the scale after each G step."""
        s = torch.stack(self.loop.scales).cpu() if self.loop.scales else torch.zeros(0)
        skipped = int((s[1:] < s[:-1]).sum()) + int(len(s) > 0 and float(s[0]) < 65536.0)
        return {"skipped_updates": skipped, "updates_run": len(s), "scale_per_step": _thin(list(s[1::2])),
                "scale_counted_after": "each G update (the scaler also updates after D's)"}


def _thin(scales: list) -> list[float]:
    if not scales:
        return []
    values = torch.stack([torch.as_tensor(s) for s in scales]).float().cpu().tolist()
    every = max(1, -(-len(values) // MAX_SCALES))
    return values[::every]


def _error(e: BaseException) -> str:
    lines = traceback.format_exception_only(type(e), e)
    return "".join(lines).strip()[-600:]


def measure(recipe, precision: str, compile_: bool, device: torch.device, warmup: int, seconds: float,
            max_steps: int, rounds: int = 4) -> dict:
    """Warm-up, then ``rounds`` alternating timed rounds per side within about ``seconds`` in all."""
    cuda = device.type == "cuda"
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)
    cfg = recipe.cfg
    images_per_step = cfg.trainer.batch_size * cfg.trainer.d_steps
    out: dict = {}
    sides: dict = {}
    losses: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        makers = {"gankit": lambda: GankitSide(recipe, f"{tmp}/run"),
                  "hand": lambda: HandSide(recipe, device, precision, compile_)}
        for name, make in makers.items():
            t0 = time.perf_counter()
            try:
                side = make()
                losses[name] = []
                for _ in range(max(1, warmup)):  # one at least: its time sizes the rounds
                    sync()
                    t1 = time.perf_counter()
                    losses[name].append(torch.stack(side.step()).float())
                    sync()
                step_s = time.perf_counter() - t1
                sides[name] = side
                out[name] = {"warmup_s": round(time.perf_counter() - t0, 2),
                             "last_warmup_step_s": round(step_s, 4)}
            except Exception as e:  # noqa: BLE001 - reported in the JSON; the other side still runs
                out[name] = {"error": _error(e), "warmup_s": round(time.perf_counter() - t0, 2)}
        if not sides:
            return out
        step_s = max(out[n]["last_warmup_step_s"] for n in sides)
        per_round = max(1, min(max_steps // rounds, int(seconds / len(sides) / rounds / max(step_s, 1e-6))))
        longest = max([p.interval for p in recipe.penalties] + [1])
        if per_round >= longest:  # whole penalty periods, so lazy terms weigh in at their share
            per_round -= per_round % longest
        timing = {n: {"seconds": 0.0, "steps": 0, "peak": 0, "base": None} for n in sides}
        for _ in range(rounds):
            for name, side in list(sides.items()):
                tm = timing[name]
                if cuda:
                    torch.cuda.reset_peak_memory_stats(device)
                    base = torch.cuda.memory_allocated(device)
                    tm["base"] = base if tm["base"] is None else min(tm["base"], base)
                try:
                    sync()
                    t0 = time.perf_counter()
                    for _ in range(per_round):
                        losses[name].append(torch.stack(side.step()).float())
                    sync()
                except Exception as e:  # noqa: BLE001
                    out[name] = {"error": _error(e)}
                    del sides[name]
                    continue
                tm["seconds"] += time.perf_counter() - t0
                tm["steps"] += per_round
                if cuda:
                    tm["peak"] = max(tm["peak"], torch.cuda.max_memory_allocated(device))
        for name, side in sides.items():
            tm, stats = timing[name], torch.stack(losses[name]).cpu()
            r = out[name]
            r.update({"steps": tm["steps"], "seconds": round(tm["seconds"], 3),
                      "images_per_s": round(tm["steps"] * images_per_step / tm["seconds"], 1),
                      "finite": bool(torch.isfinite(stats).all()),
                      "d_loss_last": round(float(stats[-1, 0]), 4), "g_loss_last": round(float(stats[-1, 1]), 4)})
            if cuda:
                r["peak_memory_mib"] = round(tm["peak"] / 2**20, 1)
                r["resident_before_mib"] = round(tm["base"] / 2**20, 1)  # both loops' weights and optimizer states
            if precision == "fp16":
                r["fp16"] = side.fp16()
    if "images_per_s" in out.get("gankit", {}) and "images_per_s" in out.get("hand", {}):
        out["ratio_gankit_over_hand"] = round(out["gankit"]["images_per_s"] / out["hand"]["images_per_s"], 3)
    out["steps_per_round"], out["rounds"] = per_round, rounds
    return out


def main(args) -> int:
    """The child's entry point (``gpu_check.py --one RECIPE:PRECISION:MODE``)."""
    name, precision, mode = args.one.split(":")
    device = torch.device("cuda" if args.device == "cuda" else "cpu")
    result = {"recipe": name, "precision": precision, "mode": mode}
    try:
        recipe = load(name, precision, mode == "compile", args.device, args.tiny, args.batch_size)
        cfg = recipe.cfg
        result.update({"batch_size": cfg.trainer.batch_size, "d_steps": cfg.trainer.d_steps,
                       "device": str(device), "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
                       "torch": torch.__version__, "tiny": args.tiny,
                       "augment": "off in both loops (the hand loop does not replicate ADA)"})
        result.update(measure(recipe, precision, mode == "compile", device, args.warmup, args.seconds,
                              args.max_steps))
    except Exception as e:  # noqa: BLE001 - the parent reports it
        result["error"] = _error(e)
    print("GPU_CHECK_RESULT " + json.dumps(result), flush=True)
    return 0
