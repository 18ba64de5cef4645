"""What an augment is to the training loop: every member it may have, in one place.

An augment transforms everything D sees in a phase's one forward (real, fake and a penalty's
images), differentiably, so G learns through it. Subclass ``Augment`` and give ``__call__``; an
adaptive one also watches D (``observe``) and adapts after D's updates (``after_step``). An augment
registered without subclassing it (duck typing) is seen through ``Augment`` when built
(``gankit.config.contracts``); one without ``__call__`` is refused then.
"""
from typing import Protocol

import torch

from gankit.config.contracts import Contract, Part, lacks, stand_in
from gankit.config.registry import AUGMENTS

Tensor = torch.Tensor


class Augment(Part, Protocol):
    """An augmentation of D's inputs.

    * ``__call__(x)``: the augmented batch (N×C×H×W in, the same shape out), differentiable in x.
    * ``observe(real_logits)``: D's logits on the real images of each D update (default: ignored).
    * ``after_step(D)``: runs after each D optimizer step (default: nothing); ADA adapts its p here.

    Like every part (``gankit.config.contracts.Part``) it may log attributes (``logged``: ADA's
    ``p`` and ``rt``), declare the ones it sets itself (``adapted``: a schedule may not set them too)
    and keep state across a resume (``state_dict`` and ``load_state_dict``).
    """

    @stand_in
    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} gives no __call__(x)")

    def observe(self, real_logits: Tensor) -> None:
        pass

    def after_step(self, D: torch.nn.Module | None = None) -> None:
        pass


AUGMENTS.follow(Contract(Augment, lambda aug: lacks(aug, "__call__(x)")))
