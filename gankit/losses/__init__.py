"""Loss terms a phase adds up: adversarial losses, penalties (regularisers) and auxiliary losses."""
from gankit.losses.adversarial import AdversarialLoss
from gankit.losses import penalties  # noqa: F401  (registers its components)

__all__ = ["AdversarialLoss"]
