"""The analyst's constraints on the search: pruned ops, locked choice points,
sampling weights and a focus set.

Every mutating method validates first and changes nothing when it raises, so a
rejected steering command leaves the running search exactly as it was. The state
is plain data (``to_dict``/``from_dict``) because it travels over the wire, into
recordings and into checkpoints.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from pydantic import ConfigDict, Field

from supernet.space import Arch, SearchSpace
from supernet.validation import validate


@dataclass
class SteeringState:
    """Constraints on which architectures the search may sample."""

    space: SearchSpace
    pruned: dict[str, set[str]] = field(default_factory=dict)
    locked: dict[str, str] = field(default_factory=dict)
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    focus: list[Arch] = field(default_factory=list)

    # -- queries -----------------------------------------------------------
    def allowed(self, name: str) -> tuple[str, ...]:
        """Ops a choice point may still take, in candidate order."""
        cp = self.space.choice_point(name)
        if name in self.locked:
            return (self.locked[name],)
        pruned = self.pruned.get(name, set())
        return tuple(op for op in cp.candidates if op not in pruned)

    def is_pruned(self, name: str, op: str) -> bool:
        return op in self.pruned.get(name, set())

    def weight(self, name: str, op: str) -> float:
        return self.weights.get(name, {}).get(op, 1.0)

    def probabilities(self, name: str) -> dict[str, float]:
        """Sampling probability of each allowed op (weights renormalised over what is allowed)."""
        ops = self.allowed(name)
        raw = np.array([self.weight(name, op) for op in ops], dtype=np.float64)
        if raw.sum() <= 0:
            raw = np.ones_like(raw)
        raw /= raw.sum()
        return dict(zip(ops, raw.tolist()))

    def space_size(self) -> int:
        """How many architectures satisfy the constraints."""
        return math.prod(len(self.allowed(cp.name)) for cp in self.space)

    def contains(self, arch: Sequence[str]) -> bool:
        arch = self.space.validate_arch(arch)
        return all(op in self.allowed(cp.name) for op, cp in zip(arch, self.space))

    def membership(self) -> Callable[[Arch], bool]:
        """A fast ``contains`` for valid architectures, fixed to the constraints as they are now
        (for scanning a whole archive: no validation, the allowed ops looked up once)."""
        allowed = [frozenset(self.allowed(cp.name)) for cp in self.space]
        return lambda arch: all(op in ops for op, ops in zip(arch, allowed))

    def sample(self, rng: np.random.Generator) -> Arch:
        """One architecture drawn by the per-choice-point weights (uniform by default)."""
        ops = []
        for cp in self.space:
            probs = self.probabilities(cp.name)
            names = list(probs)
            ops.append(names[rng.choice(len(names), p=list(probs.values()))])
        return tuple(ops)

    def project(self, arch: Sequence[str], rng: np.random.Generator) -> Arch:
        """Replace every disallowed op of ``arch`` by an allowed one (for stale focus sets)."""
        arch = self.space.validate_arch(arch)
        out = []
        for op, cp in zip(arch, self.space):
            allowed = self.allowed(cp.name)
            out.append(op if op in allowed else allowed[rng.integers(len(allowed))])
        return tuple(out)

    # -- edits (validate, then apply) ---------------------------------------
    def _check_op(self, name: str, op: str) -> None:
        cp = self.space.choice_point(name)
        if op not in cp.candidates:
            raise ValueError(
                f"{op!r} is not a candidate of {name!r}; candidates are {list(cp.candidates)}"
            )

    def prune(self, name: str, op: str) -> None:
        self._check_op(name, op)
        if self.locked.get(name) == op:
            raise ValueError(f"{name!r} is locked to {op!r}: unlock it before pruning that op")
        remaining = [o for o in self.space.choice_point(name).candidates
                     if o not in self.pruned.get(name, set()) and o != op]
        if not remaining:
            raise ValueError(
                f"cannot prune {op!r}: it is the last remaining op of {name!r}; "
                "every choice point needs at least one op"
            )
        self.pruned.setdefault(name, set()).add(op)

    def restore(self, name: str, op: str) -> None:
        self._check_op(name, op)
        if not self.is_pruned(name, op):
            raise ValueError(f"{op!r} on {name!r} is not pruned, so there is nothing to restore")
        self.pruned[name].discard(op)
        if not self.pruned[name]:
            del self.pruned[name]

    def lock(self, name: str, op: str) -> None:
        self._check_op(name, op)
        if self.is_pruned(name, op):
            raise ValueError(f"cannot lock {name!r} to {op!r}: that op is pruned; restore it first")
        self.locked[name] = op

    def unlock(self, name: str) -> None:
        self.space.choice_point(name)
        if name not in self.locked:
            raise ValueError(f"{name!r} is not locked")
        del self.locked[name]

    def set_weights(self, name: str, weights: Mapping[str, float]) -> None:
        """Set relative sampling weights; ops not named keep weight 1."""
        for op in weights:
            self._check_op(name, op)
        weights = validate(dict[str, Weight], dict(weights), f"weights on {name!r}")
        merged = {op: self.weight(name, op) for op in self.space.choice_point(name).candidates}
        merged.update({op: float(w) for op, w in weights.items()})
        if sum(merged[op] for op in self.allowed(name)) <= 0:
            raise ValueError(
                f"weights on {name!r} are all zero for the ops still allowed "
                f"({list(self.allowed(name))}); at least one must be positive"
            )
        self.weights[name] = merged

    def set_focus(self, archs: Iterable[Sequence[str]]) -> None:
        self.focus = [self.space.validate_arch(a) for a in archs]

    def copy(self) -> SteeringState:
        return SteeringState(
            space=self.space,
            pruned=copy.deepcopy(self.pruned),
            locked=dict(self.locked),
            weights=copy.deepcopy(self.weights),
            focus=list(self.focus),
        )

    def carried_over(self, space: SearchSpace) -> tuple[SteeringState, int]:
        """This steering on an edited space: every edit that still applies, and how many did not.

        Edits on choice points or ops the new space lacks are dropped, as is any edit that
        would now be illegal (say, a prune that would leave a choice point empty).
        """
        state, dropped = SteeringState(space=space), 0
        for name, op in self.locked.items():
            dropped += _failed(state.lock, name, op)
        for name, ops in self.pruned.items():
            dropped += sum(_failed(state.prune, name, op) for op in sorted(ops))
        for name, weights in self.weights.items():
            known = space.choice_point(name).candidates if name in space.names() else ()
            dropped += _failed(state.set_weights, name, {op: w for op, w in weights.items() if op in known})
        focus = [a for a in self.focus if space.accepts(a)]
        state.set_focus(focus)
        return state, dropped + len(self.focus) - len(focus)

    # -- serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "pruned": {k: sorted(v) for k, v in self.pruned.items() if v},
            "locked": dict(self.locked),
            "weights": {k: dict(v) for k, v in self.weights.items()},
            "focus": [self.space.to_string(a) for a in self.focus],
            "space_size": self.space_size(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], space: SearchSpace) -> SteeringState:
        """Rebuild and re-validate: a tampered dict raises instead of yielding an illegal state."""
        return validate(_SteeringDocument, data, "steering state").replayed(cls(space=space))

    def assign(self, other: SteeringState) -> None:
        """Take over ``other``'s edits in place (the trainer and the search hold this object,
        so a restored or carried-over state must land in it, not replace it)."""
        if other.space != self.space:
            raise ValueError("cannot take over steering edits made on another search space")
        self.pruned, self.locked = copy.deepcopy(other.pruned), dict(other.locked)
        self.weights, self.focus = copy.deepcopy(other.weights), list(other.focus)


Weight = Annotated[float, Field(ge=0, allow_inf_nan=False,
                                description="a finite number, not negative")]
"""A relative sampling weight."""


@dataclass
class _SteeringDocument:
    """The JSON form of a steering state (``to_dict``); keys it does not know, such as an
    event's envelope, are ignored."""

    __pydantic_config__ = ConfigDict(extra="ignore", allow_inf_nan=False)

    pruned: dict[str, list[str]] = field(default_factory=dict)
    locked: dict[str, str] = field(default_factory=dict)
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    focus: list[str] = field(default_factory=list)
    space_size: int | None = None  # written for readers; recomputed, never trusted

    def replayed(self, state: SteeringState) -> SteeringState:
        """These edits applied one by one to ``state``, each validated as a live edit is."""
        for name, op in self.locked.items():
            state.lock(name, op)
        for name, ops in self.pruned.items():
            for op in ops:
                state.prune(name, op)
        for name, weights in self.weights.items():
            state.set_weights(name, weights)
        state.set_focus(state.space.from_string(s) for s in self.focus)
        return state


def _failed(edit: Callable[..., None], *args: Any) -> int:
    """1 when the edit is illegal on this state (it is then skipped), else 0."""
    try:
        edit(*args)
    except ValueError:
        return 1
    return 0

