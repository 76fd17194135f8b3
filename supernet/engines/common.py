"""What every engine family does alike, so that a family only says how it scores candidates.

Whether a candidate's accuracy comes from a trained supernet or from a benchmark table,
the search, the analyst's steering, the fitness table, the archive, the leaderboard and
the latency objective are wired, fed and checkpointed the same way; keeping that in one
place keeps the families from drifting apart. A family sets ``config``, ``space``,
``steering`` and ``trainer``, calls :meth:`EngineBase._init_search`, and implements
``_evaluate`` (proposals -> records), ``host_latency``, ``retemplated``, ``state_dict``
and ``load``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from supernet.archlock.objective import ArchLockObjective
from supernet.estimators import (
    ENSEMBLE,
    RANK_BY_DEFAULT,
    ensemble_scores,
    ranked_values,
    values_by_arch,
)
from supernet.fitness import FitnessTable
from supernet.latency_budget import LatencyObjective
from supernet.records import CandidateRecord, best_distinct
from supernet.search import EvolutionarySearch
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.tasks import rank_value
from supernet.train import save_atomic

if TYPE_CHECKING:
    import torch

    from supernet.configs import EngineConfig


class Training(Protocol):
    """The trainer calls an engine forwards (a real trainer, or a stand-in that does nothing)."""

    @property
    def device(self) -> torch.device: ...

    @property
    def epoch(self) -> int: ...

    @property
    def done(self) -> bool: ...

    def train_steps(self, n: int) -> list[float]: ...

    def train_epoch(self) -> dict[str, Any]: ...

    def extend(self, epochs: int) -> str | None: ...

    def finetune(self, epochs: int) -> list[dict[str, Any]]: ...


class EngineBase(ABC):
    """Search bookkeeping and training delegation shared by the engine families."""

    mode: ClassVar[str] = ""  # set by ``register_engine``
    records_ensemble: ClassVar[bool] = False  # True: records carry the ``score`` ensemble
    config: EngineConfig
    space: SearchSpace
    steering: SteeringState
    trainer: Training

    def _init_search(self) -> None:
        """The search over ``self.steering``, and what records its candidates."""
        self.search = EvolutionarySearch(self.space, self.steering, self.config.search)
        self.fitness = FitnessTable(self.space)
        self.archive: list[CandidateRecord] = []
        self.latency = LatencyObjective(self.space)
        self.search.constraint = self.latency.allows
        self.rank_by = RANK_BY_DEFAULT  # the estimator that ranks (supernet/estimators.py)
        if not self.higher_is_better:
            self._apply_rank_by()
        locking = self.config.archlock
        if locking is not None and not self.higher_is_better:
            raise ValueError("archlock keeps the source's accuracy and lowers the targets'; this "
                             "task's metric is an error to minimise: search it without archlock")
        self.archlock = None if locking is None else ArchLockObjective(locking, self.space)

    @property
    def higher_is_better(self) -> bool:
        """The direction of the records' metric (``accuracy`` holds the task's metric: a
        relative L2 error for a field task, which every ranking here then minimises)."""
        task = getattr(getattr(self, "data", None), "task", None)
        return task is None or bool(task.higher_is_better)

    def _custom_rank(self) -> bool:
        """Whether rankings need a key other than the recorded metric, highest first."""
        return self.rank_by != RANK_BY_DEFAULT or not self.higher_is_better

    @property
    def device(self) -> torch.device:
        return self.trainer.device

    # -- training: forwarded to the family's trainer -----------------------------------
    def train_steps(self, n: int) -> list[float]:
        return self.trainer.train_steps(n)

    def train_epoch(self) -> dict[str, Any]:
        return self.trainer.train_epoch()

    def extend_training(self, epochs: int) -> str | None:
        """Plan ``epochs`` more (fine-tune) epochs; the caller then keeps calling train_steps."""
        return self.trainer.extend(epochs)

    def finetune(self, epochs: int) -> list[dict[str, Any]]:
        return self.trainer.finetune(epochs)

    # -- search ------------------------------------------------------------------------
    def search_generation(self) -> list[CandidateRecord]:
        """Propose (inside the steering constraints), score, record: one generation."""
        proposals = self._propose()
        records = self._evaluate(proposals, self.search.generation)
        self.search.tell(records)
        self.fitness.update(records)
        self.latency.observe(records)
        self.archive.extend(records)
        if self.records_ensemble:  # each record's score ranked among all evaluated so far
            for r, value in zip(records, ensemble_scores(self.archive)[-len(records):]):
                r.scores[ENSEMBLE] = value
        if self._custom_rank():
            self._apply_rank_by()
        self._observe_archlock()
        return records

    def _observe_archlock(self) -> None:
        """ArchLock's fitness into the records, and its parents' key (supernet/archlock/)."""
        if self.archlock is not None:
            self.search.rank_key = self.archlock.observe(self.archive, self.search.generation)

    def set_rank_by(self, estimator: str) -> None:
        """Rank the leaderboard, the fitness table and evolution's parents by ``estimator``
        (a name of :func:`supernet.estimators.estimator_columns`); refused if unknown."""
        if estimator != RANK_BY_DEFAULT:
            ranked_values(self.archive, estimator)  # raises for an estimator there is not
        self.rank_by = estimator
        self._apply_rank_by()

    def _apply_rank_by(self) -> None:
        self.fitness = FitnessTable(self.space)
        if not self._custom_rank():
            self.search.rank_key = None
            self.fitness.update(self.archive)
            return
        values = self._rank_values()
        by_arch = {self.space.from_string(a): v for a, v in values.items()}
        self.search.rank_key = lambda arch: by_arch.get(arch, -math.inf)
        self.fitness.update(self.archive, key=lambda r: values[r.arch])

    def _propose(self) -> list[tuple[Arch, str | None]]:
        return self.search.propose()

    @abstractmethod
    def _evaluate(self, proposals: list[tuple[Arch, str | None]],
                  generation: int) -> list[CandidateRecord]:
        """The records of one generation's proposals (each with its parent's arch string)."""

    @abstractmethod
    def host_latency(self, arch: Arch) -> float:
        """Batch-1 latency of ``arch`` on this host, to rank other devices against."""

    def leaderboard(self, k: int = 10) -> list[CandidateRecord]:
        """Best distinct architectures seen, by the family's accuracy or the "rank by"."""
        if not self._custom_rank():
            return best_distinct(self.archive, k)
        values = self._rank_values()
        distinct = best_distinct(self.archive, len(self.archive), self.higher_is_better)
        return sorted(distinct, key=lambda r: values[r.arch], reverse=True)[:k]

    def _rank_values(self) -> dict[str, float]:
        """Each evaluated arch's ranking value, higher = better: the "rank by" estimator's,
        or the metric turned by its direction (:func:`supernet.tasks.rank_value`)."""
        if self.rank_by != RANK_BY_DEFAULT:
            return values_by_arch(self.archive, self.rank_by)
        return {r.arch: rank_value(r.accuracy, self.higher_is_better) for r in self.archive}

    def archive_as_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.archive]

    # -- checkpoints -------------------------------------------------------------------
    def _search_state(self) -> dict[str, Any]:
        """The checkpoint entries every family writes (search, latency model, archive)."""
        return {"search": self.search.state_dict(), "latency": self.latency.state_dict(),
                "archive": [r.to_dict() for r in self.archive], "rank_by": self.rank_by}

    def _load_search_state(self, state: Mapping[str, Any]) -> None:
        self.search.load_state_dict(state["search"])
        self.latency.load_state_dict(state["latency"])
        self.archive = [CandidateRecord.from_dict(r) for r in state["archive"]]
        self.fitness = FitnessTable(self.space)
        self.fitness.update(self.archive)
        self.rank_by = state.get("rank_by", RANK_BY_DEFAULT)
        if self._custom_rank():
            self._apply_rank_by()
        self._observe_archlock()

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything ``load`` needs to resume this search exactly."""

    def save(self, path: str | Path) -> Path:
        return save_atomic(self.state_dict(), path)
