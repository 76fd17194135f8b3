"""A fixed baseline network per task, trained with the search's budget (the NAS-Bench-360
question: does the architecture a search found beat a plain network trained the same way?).

The baseline is the space's plainest member: every cell edge a 3x3 convolution (a ResNet-like
cell; the first op that is not ``none`` where 3x3 is not a candidate), every chain choice point
its first listed candidate. Both it and the best found architecture are trained stand-alone
from the same seed for the same epochs, and compared on the held-out test split by the task's
metric in its direction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from supernet.data import Dataset
from supernet.export import build_standalone, train_standalone
from supernet.space import Arch, SearchSpace
from supernet.tasks import METRIC_LABELS

BASELINE_CELL_OP = "nor_conv_3x3"


def baseline_arch(space: SearchSpace) -> Arch:
    if space.kind.name == "cell":
        return tuple(BASELINE_CELL_OP if BASELINE_CELL_OP in cp.candidates
                     else next((op for op in cp.candidates if op != "none"), cp.candidates[0])
                     for cp in space)
    return tuple(cp.candidates[0] for cp in space)


@dataclass(frozen=True)
class BaselineComparison:
    """Best found vs the baseline, both trained stand-alone with the same budget."""

    metric: str
    higher_is_better: bool
    epochs: int
    best_arch: str
    baseline_arch: str
    best: float  # test metric of the best found architecture
    baseline: float  # test metric of the baseline

    @property
    def beaten(self) -> bool:
        """True when the search's architecture is strictly better than the baseline."""
        return self.best > self.baseline if self.higher_is_better else self.best < self.baseline

    def summary(self) -> str:
        verdict = "beats" if self.beaten else "does not beat"
        return (f"best found {METRIC_LABELS[self.metric]} {self.best:.4f} {verdict} the baseline "
                f"{self.baseline:.4f} (test split; both trained {self.epochs} epoch(s) "
                f"stand-alone; {'higher' if self.higher_is_better else 'lower'} is better)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"beaten": self.beaten}


def trained_metric(space: SearchSpace, arch: Arch, data: Dataset, epochs: int, seed: int,
                   device: str = "cpu") -> float:
    """Test metric of ``arch`` trained from a seeded fresh start for ``epochs``."""
    torch.manual_seed(seed)
    model = build_standalone(space, arch, data.in_channels, data.num_classes, data.image_size,
                             task=data.task)
    result = train_standalone(model, data, epochs, seed=seed, device=device)
    return float(result[f"test_{data.task.metric}"])


def compare_with_baseline(space: SearchSpace, best: Arch, data: Dataset, epochs: int,
                          seed: int = 0, device: str = "cpu") -> BaselineComparison:
    base = baseline_arch(space)
    return BaselineComparison(
        metric=data.task.metric, higher_is_better=data.task.higher_is_better, epochs=epochs,
        best_arch=space.to_string(best), baseline_arch=space.to_string(base),
        best=trained_metric(space, best, data, epochs, seed, device),
        baseline=trained_metric(space, base, data, epochs, seed, device))
