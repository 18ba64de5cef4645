"""A recipe's GAN method as phases: ``D`` (adversarial, class and penalty terms), then ``G``.

This is the one place that turns parts into a training step. The D phase makes ``d_steps``
updates, each on the next global batch; the G phase ``g_steps`` updates on the last of them (its
first update reuses that batch's fake images, later ones draw fresh latents). A discriminator with
a class head (``aux_weight``) adds its class loss to both phases; each penalty is a D term with its
own ``interval``, or a G term when it regularises G (``network = "G"``: path length). The augment
watches D's verdict on the real images (``observe``) and may adapt after each D update (ADA), as a
D term that adds nothing to the loss. What a penalty and an augment may provide is their contract
(``gankit.losses.base``, ``gankit.training.augment_base``). The G phase shows D the
real batch too when D has BatchNorm (the same kind of batch statistics as in its own update) or
when the loss compares with real data (``g_uses_real``: judged by the updated D).
"""
import torch

from gankit.losses.auxiliary import class_loss
from gankit.models.base import class_loss_weight
from gankit.training.phases import Phase, Term, View


def _adversarial_d(loss):
    return Term("adversarial", lambda j, v, d: loss.d(j["real"].logits, j["fake"].logits))


def _adversarial_g(loss):
    def g(j, v, d):
        real = j.get("real")
        return loss.g(j["fake"].logits, real.logits.detach() if real is not None else None)

    return Term("adversarial", g)


def _class_terms(weight: float) -> tuple[Term, Term]:
    """ACGAN's class loss: D classifies real and fake by label, G makes fakes of their label."""
    d = Term("class", lambda j, v, dr: weight * class_loss(torch.cat([j["real"].classes, j["fake"].classes]),
                                                            torch.cat([dr.y_real, dr.y_fake])))
    g = Term("class", lambda j, v, dr: weight * class_loss(j["fake"].classes, dr.y_fake))
    return d, g


def _penalty_term(pen, interval: int, name: str, grad_scale) -> Term:
    def inputs(d):
        x = pen.inputs(d.real, d.fake(grad=False), d.step)
        return None if x is None else View(name, x, d.y_fake if pen.labels == "fake" else d.y_real)

    def loss(j, v, d):
        pen.grad_scale = grad_scale()  # fp16: the scale its input gradient is taken at (None otherwise)
        return pen(v[name].x, j[name].logits, d.step)

    return Term(name, loss, interval, inputs, pen.after_step)


def _generator_penalty_term(pen, interval: int, name: str, G, grad_scale) -> Term:
    """A regulariser of G (``network = "G"``: path length) on the draw's latents; it needs no D verdict.
    ``G`` is the unwrapped generator: the term's own forward reads its mapping and synthesis."""
    term = pen.generator_term(G)

    def loss(j, v, d):
        pen.grad_scale = grad_scale()
        return term(d.z, d.y_fake, d.step)

    return Term(name, loss, interval)


def _no_scale():
    return None


def gan_phases(parts, cfg, G, D, g_opt, d_opt, unwrapped_D, grad_scale=_no_scale) -> list[Phase]:
    """The D and G phases. ``grad_scale()``: fp16's current loss scale (a device tensor), or None,
    which each penalty term hands its penalty (``Penalty.grad_scale``) before calling it."""
    t, loss = cfg.trainer, parts.loss
    d_terms, g_terms = [_adversarial_d(loss)], [_adversarial_g(loss)]
    aux = class_loss_weight(parts.D)
    if aux is not None:
        d_class, g_class = _class_terms(aux)
        d_terms.append(d_class)
        g_terms.append(g_class)
    for p in parts.penalties:
        pen = p.module
        if pen.network == "G":
            g_terms.append(_generator_penalty_term(pen, p.interval, p.term, parts.G, grad_scale))
        else:
            d_terms.append(_penalty_term(pen, p.interval, p.term, grad_scale))
    if parts.augment is not None:  # an adaptive augment reads D on real images and adapts after D's steps
        d_terms.append(Term("augment", lambda j, v, d: parts.augment.observe(j["real"].logits),
                            after_step=parts.augment.after_step))
    batchnorm = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in parts.D.modules())
    last = t.d_steps - 1

    def d_views(d):
        return [View("real", d.real, d.y_real), View("fake", d.fake(grad=False), d.y_fake)]

    def g_views_fake(d):
        return [View("fake", d.fake(grad=True), d.y_fake)]

    def g_views_real_and_fake(d):
        return [View("real", d.real, d.y_real), View("fake", d.fake(grad=True), d.y_fake)]

    g_views = g_views_real_and_fake if batchnorm or loss.g_uses_real else g_views_fake

    def g_source(b0, k):
        return b0 + last, ((b0 + last,) if k == 0 else (b0 + last, "g", k))

    common = dict(judge=D, augment=parts.augment)
    return [
        Phase("D", D, d_opt, d_terms, d_views, lambda b0, r: (b0 + r, (b0 + r,)), rounds=t.d_steps,
              grad_clip=cfg.optim.d.grad_clip, watch=("real", "fake"), unwrapped=unwrapped_D, **common),
        Phase("G", G, g_opt, g_terms, g_views, g_source, rounds=t.g_steps, frozen=D,
              grad_clip=cfg.optim.g.grad_clip, **common),
    ]
