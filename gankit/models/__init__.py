"""Generators and discriminators, one module per family."""
from . import dcgan_mnist  # noqa: F401  (registers its components)
from . import mlp, dcgan, resnet, conditional  # noqa: F401  (register their components)
