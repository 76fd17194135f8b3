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
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import ConfigDict, Field
from torch import nn

from supernet.data import Dataset
from supernet.model import Supernet
from supernet.settings import check_fields, parse
from supernet.space import Arch
from supernet.validation import STRICT, validate

_Positive = Annotated[int, Field(ge=1, description="a positive integer")]


@dataclass
class CandidateRecord:
    """One evaluated architecture, as the search reports it and the UI shows it.

    ``params`` and ``flops`` are ``None`` for a benchmark table without those columns."""

    __pydantic_config__ = ConfigDict(extra="ignore")

    arch: str
    index: int
    accuracy: float
    loss: float
    params: int | None
    flops: int | None
    latency_ms: float | None = None
    generation: int = 0
    parent: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CandidateRecord:
        """Checked like every input, but tolerant: keys a later version adds are ignored, and
        a diverged candidate's loss may be NaN."""
        return validate(cls, data, "candidate record")


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

    __pydantic_config__ = STRICT

    bn_batches: _Positive = 4
    bn_batch_size: _Positive = 128
    batch_size: _Positive = 512
    val_limit: Annotated[int | None, Field(ge=1, description="a positive integer or null")] = None
    latency_batch: _Positive = 1
    latency_warmup: Annotated[int, Field(ge=0, description="an integer >= 0")] = 3
    latency_repeats: _Positive = 10

    def __post_init__(self) -> None:
        check_fields(self, "eval")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalConfig:
        return parse(cls, data, "eval config", "eval setting", "eval")


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
