"""Scoring candidates with inherited supernet weights.

Shared BatchNorm statistics are a mixture over every path trained, so they
mis-normalise any single path. Before scoring an architecture the evaluator
resets the running statistics of the modules on its path and re-estimates them
(cumulative average, ``momentum=None``) on a few fixed training batches, as SPOS
does; only then is the path put in eval mode. Without this, rankings are mostly
noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from supernet.configs import EvalConfig
from supernet.data import Dataset
from supernet.model import Supernet
from supernet.space import Arch
from supernet.task_metrics import loss_and_metric_sums


def _batchnorms(modules: Sequence[nn.Module]) -> list[nn.modules.batchnorm._BatchNorm]:
    seen: dict[int, nn.modules.batchnorm._BatchNorm] = {}
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                seen[id(m)] = m
    return list(seen.values())


class Evaluator:
    def __init__(self, supernet: Supernet, data: Dataset, config: EvalConfig | None = None,
                 seed: int = 0) -> None:
        self.supernet = supernet
        self.config = config or EvalConfig()
        self.task = data.task
        device = next(supernet.parameters()).device
        n_val = self.config.val_limit or len(data.y_val)
        self.x_val = data.x_val[:n_val].to(device)
        self.y_val = data.y_val[:n_val].to(device)
        order = np.random.default_rng(seed).permutation(len(data.y_train))
        n_bn = min(len(order), self.config.bn_batches * self.config.bn_batch_size)
        idx = torch.from_numpy(order[:n_bn])
        self.bn_batches = [
            chunk.to(device) for chunk in data.x_train[idx].split(self.config.bn_batch_size)
        ]

    @torch.no_grad()
    def recalibrate(self, arch: Arch) -> None:
        """Re-estimate the BN statistics of ``arch``'s path from fixed training batches."""
        bns = _batchnorms(list(self.supernet.path_modules(arch)))
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
        self.supernet.train()
        for x in self.bn_batches:
            self.supernet(x, arch)
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        self.supernet.eval()

    @torch.inference_mode()
    def _score(self, arch: Arch) -> tuple[float, float]:
        metric, loss = 0.0, 0.0
        for start in range(0, len(self.y_val), self.config.batch_size):
            x = self.x_val[start:start + self.config.batch_size]
            y = self.y_val[start:start + self.config.batch_size]
            batch_loss, batch_metric = loss_and_metric_sums(self.task, self.supernet(x, arch).float(),
                                                            y)
            loss, metric = loss + batch_loss, metric + batch_metric
        n = len(self.y_val)
        return metric / n, loss / n

    def evaluate(self, archs: Sequence[Arch]) -> list[tuple[float, float]]:
        """(validation metric, loss) of each architecture with inherited weights: accuracy, or
        the relative L2 error of a field task (``data.task`` says which)."""
        was_training = self.supernet.training
        results = []
        for arch in archs:
            arch = self.supernet.space.validate_arch(arch)
            self.recalibrate(arch)
            results.append(self._score(arch))
        self.supernet.train(was_training)
        return results
