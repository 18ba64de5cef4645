"""The run directory: its layout, the crash-safe ways to write into it, and the one way to read it.

A run directory holds (the module that owns each part on the right)::

    recipe.yaml                   the resolved recipe                                  files
    metrics.jsonl                 one JSON row per log interval and per evaluation     metrics
    samples/step-0000123.png      sample grids                                         grids
    checkpoints/                                                                       checkpoints
        step-0000123/             a complete checkpoint (it has its state.json):
            state.json            counters, recipe fingerprint, data, parts' state     state
            model.safetensors     the generator (the first model accelerate saves)
            model_1.safetensors   the discriminator
            optimizer*.bin, random_states_*.pkl, ...   accelerate's, plain tensors only (intact)
            ema.safetensors       the EMA generator, when the run keeps one
        best/                     a copy of the checkpoint the best evaluation chose, with best.json
        damaged-step-0000123/     a damaged checkpoint a resume moved aside                intact
        .tmp-*, .old-*            being written or swapped; removed or put back after a crash
    curves.png, report.html       drawn when training ends (gankit.runs.curves, gankit.runs.report)
    .writer.lock                  the writer's pid and host, while one trains or resumes it             lock

Every write is atomic (``files``): a reader, or a crash, sees the old content or the new, never
half. ``intact`` checks a checkpoint before anything of it is loaded and makes the one choice of the
newest intact checkpoint. This package imports nothing else of gankit but ``gankit.errors``, so
every other part may read and write runs through it.
"""
