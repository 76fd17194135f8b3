"""What a dataset asks of a network: the task, torch-free so every layer can read it.

NAS-Bench-360 (Tu et al., 2022) showed that search methods tuned on CIFAR behave
inconsistently on 1-D signals and dense prediction. A :class:`Task` carries what differs:
the spatial dimensionality the ops run in, the output head (a class vector or a field of the
input's resolution), whether the input's last channel is a padding mask (variable-length
series), and the metric with its direction. Every ranking, colour scale and label goes through
:attr:`Task.higher_is_better` (:func:`rank_value`), so "best" means the same in the search,
the leaderboard and the UI. The losses and metrics themselves live in
:mod:`supernet.task_metrics` (torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from supernet.validation import validate

TaskKind = Literal["classification", "field_regression"]

METRIC_LABELS = {"accuracy": "accuracy", "relative_l2": "relative L2 error"}
"""How each metric is named to people."""


@dataclass(frozen=True)
class Task:
    """The task of a dataset; the default is image classification (digits, CIFAR-10, ...)."""

    kind: TaskKind = "classification"
    dims: Literal[1, 2] = 2
    masked: bool = False  # the input's last channel is 1 on real samples, 0 on padding

    @property
    def metric(self) -> str:
        return "accuracy" if self.kind == "classification" else "relative_l2"

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "classification"

    @property
    def head(self) -> str:
        """The network's output: ``classify`` (logits) or ``field`` (one value per position)."""
        return "classify" if self.kind == "classification" else "field"

    @property
    def image_only(self) -> bool:
        """True for the image classification task the zero-cost proxies were designed on."""
        return self.kind == "classification" and self.dims == 2 and not self.masked

    def label(self) -> str:
        """The metric as a column or axis title, with its direction."""
        direction = "higher is better" if self.higher_is_better else "lower is better"
        return f"{METRIC_LABELS[self.metric]} ({direction})"

    def network_kwargs(self) -> dict[str, Any]:
        """The keyword arguments the networks of ``supernet.ops``/``supernet.blocks`` take
        (JSON, so that exports rebuild the same network)."""
        return {"dims": self.dims, "head": self.head, "masked": self.masked}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> dict[str, Any]:
        """What the events and the UI need: the metric, its label and its direction."""
        return self.to_dict() | {"metric": self.metric, "higher_is_better": self.higher_is_better,
                                 "label": self.label()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        return validate(cls, data, "task")


IMAGE_CLASSIFICATION = Task()


def rank_value(metric: float, higher_is_better: bool) -> float:
    """The metric as a "higher is better" score: the one key every ranking sorts by."""
    return metric if higher_is_better else -metric
