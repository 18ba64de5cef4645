"""Auxiliary losses: terms beside the adversarial one that read more of D's verdict."""
import torch
import torch.nn.functional as F


def class_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ACGAN (Odena et al.): cross-entropy of D's class head against the images' labels (fp32)."""
    return F.cross_entropy(class_logits.float(), labels)
