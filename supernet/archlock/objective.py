"""ArchLock as part of a search: what an engine calls after each generation.

An engine family writes each candidate's target values into its record's ``scores``
(``target:<name>``: another table column, or a proxy score on target data); this module,
torch-free, turns them into ArchLock's fitness and feasibility (``archlock``,
``archlock_feasible``) and steers evolution's parents: by the source accuracy for the first
``source_generations`` (so that the "best found" the constraint is relative to is near the
true best), then towards feasible architectures that rank low on the targets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from supernet.archlock.config import UNKNOWN_TARGET, ArchLockConfig
from supernet.archlock.fitness import constrained_fitness, pick, ranks, target_mean, threshold
from supernet.records import CandidateRecord
from supernet.space import Arch, SearchSpace

TARGET_PREFIX = "target:"
FITNESS_KEY = "archlock"
FEASIBLE_KEY = "archlock_feasible"


def target_key(name: str) -> str:
    """The ``scores`` key of a target's value."""
    return f"{TARGET_PREFIX}{name}"


def target_names(config: ArchLockConfig) -> list[str]:
    """The named targets, then the unknown one when ``unknown_target`` is set."""
    return list(config.targets) + ([UNKNOWN_TARGET] if config.unknown_target else [])


def distinct(records: Sequence[CandidateRecord]) -> list[CandidateRecord]:
    """The latest record of each architecture, in first-seen order."""
    latest: dict[str, CandidateRecord] = {}
    for record in records:
        latest[record.arch] = record
    return list(latest.values())


def columns(config: ArchLockConfig, records: Sequence[CandidateRecord]) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """``(source, targets)`` arrays of ``records``; a record missing a target is refused."""
    names = target_names(config)
    missing = [r.arch for r in records if any(target_key(n) not in r.scores for n in names)]
    if missing:
        raise ValueError(f"{len(missing)} record(s) carry no ArchLock target score (e.g. "
                         f"{missing[0]!r}); the engine must score every target {names}")
    source = np.array([r.accuracy for r in records], dtype=np.float64)
    targets = np.array([[r.scores[target_key(n)] for r in records] for n in names],
                       dtype=np.float64)
    return source, targets


class ArchLockObjective:
    """The objective of one session (``EngineConfig.archlock``); keeps no state of its own,
    so a checkpoint of the archive and the search is all it needs to resume."""

    def __init__(self, config: ArchLockConfig, space: SearchSpace) -> None:
        self.config = config
        self.space = space

    def observe(self, archive: Sequence[CandidateRecord],
                generation: int) -> Callable[[Arch], float] | None:
        """Write fitness and feasibility into every distinct record of ``archive`` (ranks move
        as the archive grows) and return the parents' key for the next generation: None
        (the source accuracy) while the source is still being searched."""
        records = distinct(archive)
        if not records:
            return None
        source, targets, scores, ok = self._scored(records)
        if generation < self.config.source_generations:
            return None
        # Rank-based, so proxy scores of any scale order alike: the feasible first, by the
        # pick's own criterion (in (0, 1]), then the others by source accuracy (in [-2, -1)),
        # so evolution climbs back into the feasible region from outside.
        n = len(records)
        value = np.empty(n)
        if ok.any():
            criterion = scores[ok] if self.config.pick == "fitness" else -target_mean(targets)[ok]
            value[ok] = (n + 1 - ranks(criterion)) / n
        if not ok.all():
            value[~ok] = -1.0 - ranks(source[~ok]) / n
        key = {self.space.from_string(r.arch): float(v) for r, v in zip(records, value)}
        return lambda arch: key.get(arch, -np.inf)

    def _scored(self, records: list[CandidateRecord]) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray, np.ndarray]:
        """``(source, targets, fitness, feasible)`` of ``records``, written into their scores."""
        source, targets = columns(self.config, records)
        scores, ok = constrained_fitness(self.config, source, targets)
        for record, value, inside in zip(records, scores, ok):
            record.scores[FEASIBLE_KEY] = 1.0 if inside else 0.0
            if inside:
                record.scores[FITNESS_KEY] = float(value)
            else:
                record.scores.pop(FITNESS_KEY, None)
        return source, targets, scores, ok

    def picked(self, archive: Sequence[CandidateRecord]) -> CandidateRecord:
        """The locked architecture to hand over (see ``ArchLockConfig.pick``)."""
        records = distinct(archive)
        if not records:
            raise ValueError("nothing evaluated yet: run a generation before picking")
        source, targets = columns(self.config, records)
        return records[pick(self.config, source, targets)]

    def export_entry(self, archive: Sequence[CandidateRecord], arch: str) -> dict[str, object]:
        """What an export of ``arch`` records of the objective (``arch.json``'s ``archlock``):
        its source and target accuracies, fitness, feasibility and the constraint."""
        records = distinct(archive)
        record = next((r for r in records if r.arch == arch), None)
        if record is None:
            raise ValueError(f"{arch!r} was never evaluated in this session: ArchLock has no "
                             "target accuracy to record for it")
        source, _, _, _ = self._scored(records)
        return {"source_accuracy": record.accuracy,
                "targets": {n: record.scores[target_key(n)] for n in target_names(self.config)},
                "fitness": record.scores.get(FITNESS_KEY),
                "feasible": bool(record.scores[FEASIBLE_KEY]),
                "threshold": threshold(self.config, source),
                "config": self.config.to_dict()}
