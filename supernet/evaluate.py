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
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from supernet.data import Dataset
from supernet.model import Supernet
from supernet.space import Arch


@dataclass
class CandidateRecord:
    """One evaluated architecture, as the search reports it and the UI shows it."""

    arch: str
    index: int
    accuracy: float
    loss: float
    params: int
    flops: int
    latency_ms: float | None = None
    generation: int = 0
    parent: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CandidateRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def best_distinct(records: Sequence[CandidateRecord], k: int) -> list[CandidateRecord]:
    """The ``k`` most accurate distinct architectures (each at its best evaluation)."""
    best: dict[str, CandidateRecord] = {}
    for record in records:
        if record.arch not in best or record.accuracy > best[record.arch].accuracy:
            best[record.arch] = record
    return sorted(best.values(), key=lambda r: r.accuracy, reverse=True)[:k]


@dataclass
class EvalConfig:
    """How candidates are scored, and how their latency is measured.

    Latency is timed at batch 1 (interactive use) and, when ``latency_batch`` > 1,
    also at that batch (throughput use): the two can rank architectures differently.
    The second timing is opt-in: on a CPU it doubles the cost of timing, already about
    0.3 s per nb201 candidate at batch 1 on a 2-core CPU (a generation of 20: 12 s to
    evaluate, 7 s to time).
    """

    bn_batches: int = 4
    bn_batch_size: int = 128
    batch_size: int = 512
    val_limit: int | None = None
    latency_batch: int = 1
    latency_warmup: int = 3
    latency_repeats: int = 10

    def __post_init__(self) -> None:
        for name in ("bn_batches", "bn_batch_size", "batch_size", "latency_batch",
                     "latency_repeats"):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("latency_warmup", self.latency_warmup, minimum=0)
        if self.val_limit is not None and (not isinstance(self.val_limit, int) or self.val_limit < 1):
            raise ValueError(f"eval.val_limit must be a positive integer or null, got {self.val_limit!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown eval setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


def _check_int(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"eval.{name} must be {kind}, got {value!r}")


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
        correct, loss = 0, 0.0
        for start in range(0, len(self.y_val), self.config.batch_size):
            x = self.x_val[start:start + self.config.batch_size]
            y = self.y_val[start:start + self.config.batch_size]
            logits = self.supernet(x, arch).float()
            loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
        n = len(self.y_val)
        return correct / n, loss / n

    def evaluate(self, archs: Sequence[Arch]) -> list[tuple[float, float]]:
        """(validation accuracy, loss) of each architecture with inherited weights."""
        was_training = self.supernet.training
        results = []
        for arch in archs:
            arch = self.supernet.space.validate_arch(arch)
            self.recalibrate(arch)
            results.append(self._score(arch))
        self.supernet.train(was_training)
        return results
