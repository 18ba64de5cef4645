"""Datasets: each yields an in-memory uint8 image tensor (N, C, H, W) and optional labels."""
from gankit.data.base import ImageData, to_unit_range  # noqa: F401
from gankit.data import mnist, folder, synthetic  # noqa: F401  (register their datasets)
