"""Evolutionary search (SPOS-style) and random search inside the steering constraints.

A generation is ``propose()`` -> evaluate -> ``tell(records)``. The first
generation is random, or mutations of the analyst's focus set when there is one.
Later generations take the ``parents`` best evaluated architectures that are
still allowed and produce children by crossover (with ``crossover_prob``: each
choice point from one of two parents) and mutation (each choice point re-drawn
with ``mutation_prob``, by the steering state's sampling weights where the analyst set
some). An architecture already evaluated is never proposed again. Every proposal is projected into the current steering
constraints, so a prune or lock made mid-search applies to the next generation.
``SearchConfig.strategy`` names a registered strategy (``register_strategy``), which
picks the pool children are bred from: ``evolution`` as above, ``random`` none at all,
so every proposal is a fresh sample of the steering state. A strategy may also bring its
own breeder in place of crossover and mutation: ``latent`` (``supernet/latent_search.py``)
mutates in the learned embedding.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, Field

from supernet.records import CandidateRecord
from supernet.settings import check_fields, parse
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.validation import STRICT, Probability


def _known_strategy(name: str) -> str:
    if name not in _STRATEGIES:
        raise ValueError(f"must be one of {list(_STRATEGIES)}")
    return name


ENUMERATE_LIMIT = 50_000
"""Allowed spaces up to this size are enumerated when breeding finds too few new architectures."""

_Positive = Annotated[int, Field(ge=1, description="a positive integer")]


@dataclass
class SearchConfig:
    __pydantic_config__ = STRICT

    strategy: Annotated[str, AfterValidator(_known_strategy)] = "evolution"
    population: _Positive = 20
    parents: _Positive = 5
    mutation_prob: Probability = 0.2
    crossover_prob: Probability = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(self, "search")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchConfig:
        return parse(cls, data, "search config", "search setting", "search")


Strategy = Callable[["EvolutionarySearch", list[Arch]], list[Arch]]
"""The pool a generation's children are bred from, given the (projected) focus set;
an empty pool makes every proposal a fresh sample of the steering state."""

Breeder = Callable[["EvolutionarySearch", Arch, set[Arch]], Arch]
"""A child of a parent, given what this generation already proposed (instead of crossover
and mutation); it must return an allowed architecture, or the parent when it finds none."""

_STRATEGIES: dict[str, Strategy] = {}
_BREEDERS: dict[str, Breeder] = {}


def register_strategy(name: str, breed: Breeder | None = None) -> Callable[[Strategy], Strategy]:
    """Decorator: make a breeding-pool strategy available as ``SearchConfig.strategy = name``;
    ``breed`` replaces crossover and mutation for it."""
    def register(strategy: Strategy) -> Strategy:
        if name in _STRATEGIES:
            raise ValueError(f"search strategy {name!r} is already registered")
        _STRATEGIES[name] = strategy
        if breed is not None:
            _BREEDERS[name] = breed
        return strategy
    return register


def strategy_names() -> tuple[str, ...]:
    """Registered strategies, in registration order (the CLI's choices)."""
    return tuple(_STRATEGIES)


def get_strategy(name: str) -> Strategy:
    if name not in _STRATEGIES:
        raise ValueError(f"search.strategy must be one of {list(_STRATEGIES)}, got {name!r}")
    return _STRATEGIES[name]


class EvolutionarySearch:
    def __init__(self, space: SearchSpace, steering: SteeringState, config: SearchConfig) -> None:
        self.space = space
        self.steering = steering
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.archive: dict[Arch, float] = {}
        self.generation = 0
        # An extra filter on proposals (e.g. a latency budget); not saved: its owner sets it.
        self.constraint: Callable[[Arch], bool] | None = None
        # Architectures to evaluate first as they are (e.g. a proxy pre-screen); saved.
        self.warm_start: list[Arch] = []
        # What parents are chosen by (the analyst's "rank by"); None: the recorded accuracy.
        self.rank_key: Callable[[Arch], float] | None = None
        # Where a strategy's fitted encoder is cached (the worker's map cache); not saved.
        self.encoder_cache: Path | None = None

    def set_params(self, **changes: Any) -> None:
        """Change search parameters live; validated as a whole, nothing changes on error."""
        self.config = SearchConfig.from_dict(self.config.to_dict() | changes)

    def _mutate(self, arch: Arch, prob: float) -> Arch:
        out = list(arch)
        for k, cp in enumerate(self.space):
            if self.rng.random() < prob:
                if cp.name in self.steering.weights:  # the analyst's weights pick the new op
                    probs = self.steering.probabilities(cp.name)
                    out[k] = list(probs)[self.rng.choice(len(probs), p=list(probs.values()))]
                else:
                    allowed = self.steering.allowed(cp.name)
                    out[k] = allowed[self.rng.integers(len(allowed))]
        return self.steering.project(tuple(out), self.rng)

    def _crossover(self, a: Arch, b: Arch) -> Arch:
        mask = self.rng.random(len(a)) < 0.5
        return tuple(x if m else y for x, y, m in zip(a, b, mask))

    def _parents(self) -> list[Arch]:
        inside = self.steering.membership()
        allowed = [a for a in self.archive if inside(a)]
        allowed.sort(key=self.rank_key or self.archive.__getitem__, reverse=True)
        return allowed[: self.config.parents]

    def _child(self, pool: list[Arch], proposed: set[Arch]) -> tuple[Arch, Arch | None]:
        if not pool:
            return self.steering.sample(self.rng), None
        parent = pool[self.rng.integers(len(pool))]
        breed = _BREEDERS.get(self.config.strategy)
        if breed is not None:
            return breed(self, parent, proposed), parent
        child = parent
        if len(pool) > 1 and self.rng.random() < self.config.crossover_prob:
            other = pool[self.rng.integers(len(pool))]
            child = self._crossover(parent, other)
        prob = max(self.config.mutation_prob, 1.0 / len(self.space))
        return self._mutate(child, prob), parent

    def propose(self) -> list[tuple[Arch, str | None]]:
        """One generation of new architectures (with the parent each came from, if any)."""
        focus = [self.steering.project(a, self.rng) for a in self.steering.focus]
        pool = get_strategy(self.config.strategy)(self, focus)
        out: list[tuple[Arch, str | None]] = []
        proposed: set[Arch] = set()
        while self.warm_start and len(out) < self.config.population:
            arch = self.warm_start.pop(0)
            if self.steering.contains(arch) and arch not in self.archive and arch not in proposed:
                proposed.add(arch)
                out.append((arch, None))
        # An evaluated architecture is looked up, never proposed again; what the breeding
        # cannot reach in a shrunken space is filled with unevaluated allowed ones, so a
        # generation is short only when the allowed space has fewer left (see ``fresh``).
        budget = min(self.config.population, self.fresh())
        for _ in range(self.config.population * 20):
            if len(out) >= budget:
                break
            arch, parent = self._child(pool, proposed)
            if arch in proposed or arch in self.archive:
                continue
            if self.constraint is not None and not self.constraint(arch):
                continue
            proposed.add(arch)
            out.append((arch, None if parent is None else self.space.to_string(parent)))
        if len(out) < budget:
            out.extend((arch, None) for arch in self._unevaluated(budget - len(out), proposed))
        return out

    def fresh(self) -> int:
        """How many allowed architectures have never been evaluated."""
        inside = self.steering.membership()
        return self.steering.space_size() - sum(inside(a) for a in self.archive)

    def _unevaluated(self, n: int, proposed: set[Arch]) -> list[Arch]:
        """Up to ``n`` allowed, unevaluated, unproposed architectures in random order: all
        of them enumerated when the space is small, else as many as random draws find."""
        if self.steering.space_size() > ENUMERATE_LIMIT:
            found: list[Arch] = []
            for _ in range(n * 50):
                arch = self.steering.sample(self.rng)
                if arch not in self.archive and arch not in proposed and arch not in found and (
                        self.constraint is None or self.constraint(arch)):
                    found.append(arch)
                    if len(found) == n:
                        break
            return found
        choices = [self.steering.allowed(cp.name) for cp in self.space]
        left = [arch for arch in itertools.product(*choices)
                if arch not in self.archive and arch not in proposed
                and (self.constraint is None or self.constraint(arch))]
        order = self.rng.permutation(len(left))
        return [left[i] for i in order[:n]]

    def tell(self, records: list[CandidateRecord]) -> None:
        for record in records:
            self.archive[self.space.from_string(record.arch)] = record.accuracy
        self.generation += 1

    def state_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "rng": self.rng.bit_generator.state,
                "generation": self.generation,
                "warm_start": [self.space.to_string(a) for a in self.warm_start],
                "archive": [[self.space.to_string(a), acc] for a, acc in self.archive.items()]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.config = SearchConfig.from_dict(state["config"])
        self.rng.bit_generator.state = state["rng"]
        self.generation = state["generation"]
        self.warm_start = [self.space.from_string(a) for a in state.get("warm_start", [])]
        self.archive = {self.space.from_string(s): acc for s, acc in state["archive"]}


@register_strategy("evolution")
def _evolution(search: EvolutionarySearch, focus: list[Arch]) -> list[Arch]:
    """The focus set alone in the first generation, then focus plus the best parents."""
    return focus if focus and search.generation == 0 else focus + search._parents()


@register_strategy("random")
def _random(search: EvolutionarySearch, focus: list[Arch]) -> list[Arch]:
    return []


import supernet.latent_search  # noqa: E402,F401 - registers "latent" (torch only when it runs)
