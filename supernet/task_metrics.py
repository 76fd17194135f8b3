"""The loss the trainer minimises and the metric the evaluator reports, per task.

Classification: cross-entropy and accuracy. Field regression (Darcy flow): the loss is the
mean relative L2 error itself, as FNO trains, so that a field of small values weighs as much
as a large one; the metric is the same relative L2 error (lower is better), averaged over
samples.
"""

from __future__ import annotations

import torch
from torch import nn

from supernet.tasks import Task


def relative_l2(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample ``||out - y|| / ||y||`` over every position and channel."""
    diff = (out - y).flatten(1).norm(dim=1)
    return diff / y.flatten(1).norm(dim=1).clamp_min(1e-12)


def task_loss(task: Task, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean training loss of a batch."""
    if task.kind == "classification":
        return nn.functional.cross_entropy(out, y)
    return relative_l2(out, y).mean()


def loss_and_metric_sums(task: Task, out: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(summed loss, summed metric) of a batch, so that batches add up to a dataset mean."""
    if task.kind == "classification":
        loss = nn.functional.cross_entropy(out, y, reduction="sum").item()
        return loss, float((out.argmax(1) == y).sum())
    errors = relative_l2(out, y)
    total = float(errors.sum())
    return total, total


def metric_of(task: Task, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
              batch: int = 512) -> float:
    """The task's metric of ``model`` on ``(x, y)`` (eval mode, no gradients)."""
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(y), batch):
            total += loss_and_metric_sums(task, model(x[i:i + batch]).float(), y[i:i + batch])[1]
    return total / max(len(y), 1)
