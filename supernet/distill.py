"""In-place knowledge distillation of supernet paths (BigNAS/OFA practice, the cooperative
search-and-distillation idea of CASD).

A sampled path trained on hard labels alone learns slowly in a shared supernet: its
weights are also pulled by every other path. Giving it the soft predictions of a strong
path of the same supernet as a second target (the "sandwich rule": the largest path is
trained on labels in the same step and teaches the others) makes the small paths'
accuracies converge faster and rank more like their stand-alone training.

``TrainConfig.distill_weight`` = ``w`` weighs the terms of a student path's loss::

    (1 - w) * CE(student, labels) + w * T^2 * KL(softmax(teacher / T) || softmax(student / T))

with ``T`` = ``TrainConfig.distill_temperature`` and the teacher's logits detached (it
learns from the labels only). ``w = 0`` switches distillation off: the loss is the plain
cross-entropy and no teacher pass is run.
"""

from __future__ import annotations

import torch
from torch import nn

from supernet.model import Supernet
from supernet.space import Arch
from supernet.steering import SteeringState


def distillation_loss(logits: torch.Tensor, labels: torch.Tensor,
                      teacher_logits: torch.Tensor | None, weight: float,
                      temperature: float = 1.0) -> torch.Tensor:
    """The loss of a student path (formula in the module docstring)."""
    ce = nn.functional.cross_entropy(logits, labels)
    if teacher_logits is None or weight == 0:
        return ce
    t = temperature
    soft = nn.functional.softmax(teacher_logits.detach().float() / t, dim=1)
    kl = nn.functional.kl_div(nn.functional.log_softmax(logits / t, dim=1), soft,
                              reduction="batchmean") * (t * t)
    return (1.0 - weight) * ce + weight * kl


def largest_path(supernet: Supernet, steering: SteeringState) -> Arch:
    """The teacher: on every choice point the allowed op with the most parameters (the
    first such in candidate order on a tie), so it always obeys prunes and locks.
    Parameters add up over choice points, so each is chosen on its own."""
    base = [steering.allowed(cp.name)[0] for cp in steering.space]
    arch = list(base)
    for k, cp in enumerate(steering.space):
        def size(op: str, k: int = k) -> int:
            return supernet.params(tuple(base[:k] + [op] + base[k + 1:]))
        arch[k] = max(steering.allowed(cp.name), key=size)
    return tuple(arch)
