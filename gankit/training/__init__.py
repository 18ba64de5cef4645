"""Training: the accelerate loop, checkpoints, EMA and run logging."""
