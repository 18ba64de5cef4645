"""The run directory: its layout, the crash-safe ways to write into it, and the one way to read it.

A run directory holds::

    recipe.yaml                  the resolved recipe                         files.RECIPE_FILE
    metrics.jsonl                one JSON row per log interval and evaluation  metrics (read_metrics, trim_metrics)
    samples/step-0000123.png     sample grids                                 grids (grid_path, grids, write_grid)
    checkpoints/                                                              checkpoints (publish, rotate, latest)
        step-0000123/            one complete checkpoint (it has its state.json):
            state.json           counters, recipe fingerprint, data shape, parts' state   state (CheckpointState)
            model.safetensors    the generator (the first model accelerate saves), then D, optimizers, RNG states
            ema.safetensors      the EMA generator, when the run keeps one
        best/                    a copy of the checkpoint the best evaluation chose, with best.json
        damaged-step-0000123/    a damaged checkpoint moved aside by a resume (intact.move_aside)
        .tmp-*, .old-*           being written or swapped; removed or put back after a crash
    curves.png, report.html      drawn when training ends (gankit.runs.curves, gankit.runs.report)

Every write is atomic (``files``): a reader, or a crash, sees the old content or the new, never
half. ``intact`` checks a checkpoint before anything of it is loaded and makes the one choice of the
newest intact checkpoint. This package imports nothing else of gankit but ``gankit.errors``, so
every other part may read and write runs through it.
"""
