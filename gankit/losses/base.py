"""What a penalty is to the training loop: every member it may have, in one place.

A penalty is one term of a phase (``gankit.training.method``): a regulariser of D by default, or of
G (``network = "G"``). Subclass ``Penalty`` and override what your penalty does; the rest keeps the
defaults below. A penalty registered without subclassing it (duck typing) works too: it is seen
through ``Penalty`` when built (``gankit.config.contracts``), and one that lacks what its phase
calls is refused then, naming the member.

Any penalty node in a recipe also takes ``interval: k`` (lazy regularisation, the phase's business).
"""
from typing import Callable, Optional, Protocol

import torch

from gankit.config.contracts import Contract, Part, lacks, stand_in
from gankit.config.registry import PENALTIES
from gankit.errors import GankitError

Tensor = torch.Tensor


class Penalty(Part, Protocol):
    """A regulariser, as one term of the D phase (or of the G phase: ``network = "G"``).

    Of D (``network = "D"``), a penalty gives ``inputs`` and ``__call__``, or only ``after_step``:

    * ``inputs(real, fake, step)``: extra images (requiring grad) for D's one forward, or None
      (then the penalty adds no term: it may still act in ``after_step``).
    * ``__call__(x, logits, step)``: the term, from those images and D's logits for them.
    * ``after_step(D)``: runs after each D optimizer step, on the unwrapped D (weight clipping).
    * ``labels``: whose labels a conditional D gets with those images: ``"real"`` or ``"fake"``.

    Of G (``network = "G"``), it gives ``generator_term(G)`` → ``term(z, labels, step)`` instead
    (``path_length``), called once when the run is set up, with the unwrapped generator.

    Under fp16 the phase sets ``grad_scale`` before each call: the grad scaler's current loss scale (a
    device tensor; None without a scaler). A penalty that differentiates a network with
    ``torch.autograd.grad`` multiplies what it differentiates by it and divides the gradient by it, in
    fp32 (``gankit.losses.penalties.input_grad``), so small gradients do not underflow in fp16 layers.

    Like every part (``gankit.config.contracts.Part``) it may log attributes (``logged``), declare
    the ones it sets itself (``adapted``) and keep state across a resume (``state_dict`` and
    ``load_state_dict``; ``stateful`` follows from defining ``state_dict``).
    """

    network: str = "D"  # whose phase runs it: "D" or "G"
    labels: str = "real"  # "real" | "fake"
    grad_scale: Optional[Tensor] = None  # fp16: the loss scale in force, set by the phase before each call

    @stand_in
    def inputs(self, real: Tensor, fake: Tensor, step: int) -> Optional[Tensor]:
        return None

    @stand_in
    def __call__(self, x: Tensor, logits: Tensor, step: int) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} gives inputs but no __call__")

    def after_step(self, D: torch.nn.Module) -> None:
        pass

    @stand_in
    def generator_term(self, G: torch.nn.Module) -> Callable[[Tensor, Optional[Tensor], int], Tensor]:
        raise GankitError(f"penalties: {type(self).__name__} has network = 'G' but no generator_term(G), the term "
                          f"its phase adds up. Give it one, or leave network = 'D'.")


def missing(pen) -> list[str]:
    """What a penalty lacks of what its phase calls."""
    if getattr(pen, "network", "D") == "G":
        return lacks(pen, "generator_term(G)")
    if not lacks(pen, "after_step(D)") and lacks(pen, "inputs(real, fake, step)"):
        return []  # acts only after D's step (weight clipping)
    return lacks(pen, "inputs(real, fake, step)", "__call__(x, logits, step)")


PENALTIES.follow(Contract(Penalty, missing))
