"""Datasets: each yields a uint8 image tensor (N, C, H, W), in memory or memory-mapped, and optional labels."""
from gankit.data.base import ImageData, to_unit_range  # noqa: F401
from gankit.data import mnist, cifar, folder, prepared, hf_datasets, synthetic  # noqa: F401  (register their datasets)
