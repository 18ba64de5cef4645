"""Generators and discriminators, one module per family."""
from . import dcgan_mnist  # noqa: F401  (registers its components)
