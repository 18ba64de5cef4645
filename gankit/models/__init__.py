"""Generators and discriminators, one module per family."""
from gankit.models import dcgan_mnist  # noqa: F401  (registers its components)
from gankit.models import mlp, dcgan, resnet, conditional, r3gan, stylegan2, stylegan2_discriminator  # noqa: F401  (register their components)
