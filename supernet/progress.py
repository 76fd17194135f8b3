"""The trainer's progress report, kept free of torch so the runtime's event module (imported
by light processes such as the CLI) can derive the ``train_progress`` event from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class TrainProgress:
    """One training step's report, sent through the trainer's callback."""

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    accuracy: float
    samples_per_s: float
    eta_s: float
    lr: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
