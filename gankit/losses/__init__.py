"""Loss terms a phase adds up: adversarial losses, penalties (regularisers) and auxiliary losses."""
from gankit.losses.adversarial import AdversarialLoss
from gankit.losses import penalties, path_length  # noqa: F401  (register their components)

__all__ = ["AdversarialLoss"]
