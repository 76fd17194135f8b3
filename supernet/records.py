"""Evaluated candidates as the search reports them and every view shows them.

Torch-free, unlike the evaluator that scores them (:mod:`supernet.evaluate`): the lab's web
process folds and ranks records it receives without importing torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ConfigDict

from supernet.validation import validate


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


def best_distinct(records: Sequence[CandidateRecord], k: int,
                  higher_is_better: bool = True) -> list[CandidateRecord]:
    """The ``k`` best distinct architectures (each at its best evaluation) by the recorded
    metric in its direction (``higher_is_better`` False: a relative L2 error, lowest first)."""
    sign = 1.0 if higher_is_better else -1.0
    best: dict[str, CandidateRecord] = {}
    for record in records:
        if record.arch not in best or sign * record.accuracy > sign * best[record.arch].accuracy:
            best[record.arch] = record
    return sorted(best.values(), key=lambda r: sign * r.accuracy, reverse=True)[:k]
