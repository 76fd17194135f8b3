"""Path samplers of supernet training, by name (``TrainConfig.sampler``).

Each sampler draws the path(s) one training step uses, always inside the steering
constraints: ``uniform`` (every allowed op of a choice point equally likely, SPOS, until
the analyst sets sampling weights: from then on it follows them, so weights set in the UI
take effect under the default sampler), ``weighted`` (the steering state's weights, the
same draw under its explicit name) and ``fair`` (FairNAS strict fairness, see
:mod:`supernet.train`: every op trains equally often, so weights cannot apply to it;
:func:`weights_apply` says so and the worker's acknowledgement tells the analyst). They need numpy only, so a config naming
one validates without torch (the lab's web process has none).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from supernet.space import Arch
from supernet.steering import SteeringState

Sampler = Callable[[SteeringState, np.random.Generator], list[Arch]]
"""The path(s) one training step uses, drawn inside the steering constraints."""

_SAMPLERS: dict[str, Sampler] = {}


def register_sampler(name: str) -> Callable[[Sampler], Sampler]:
    """Decorator: make a path sampler available as ``TrainConfig.sampler = name``."""
    def register(sampler: Sampler) -> Sampler:
        if name in _SAMPLERS:
            raise ValueError(f"sampler {name!r} is already registered")
        _SAMPLERS[name] = sampler
        return sampler
    return register


def sampler_names() -> tuple[str, ...]:
    """Registered samplers, in registration order (the CLI's choices)."""
    return tuple(_SAMPLERS)


def get_sampler(name: str) -> Sampler:
    if name not in _SAMPLERS:
        raise ValueError(f"train.sampler must be one of {list(_SAMPLERS)}, got {name!r}")
    return _SAMPLERS[name]


def sample_paths(steering: SteeringState, sampler: str, rng: np.random.Generator) -> list[Arch]:
    """The path(s) one training step uses, always inside the steering constraints."""
    return get_sampler(sampler)(steering, rng)


def weights_apply(sampler: str) -> bool:
    """Whether sampling weights change what ``sampler`` trains (not FairNAS's strict fairness)."""
    return sampler != "fair"


@register_sampler("uniform")
def _uniform(steering: SteeringState, rng: np.random.Generator) -> list[Arch]:
    if not steering.weights:
        allowed = [steering.allowed(cp.name) for cp in steering.space]
        return [tuple(ops[rng.integers(len(ops))] for ops in allowed)]
    return [steering.sample(rng)]


@register_sampler("weighted")
def _weighted(steering: SteeringState, rng: np.random.Generator) -> list[Arch]:
    return [steering.sample(rng)]


@register_sampler("fair")
def _fair(steering: SteeringState, rng: np.random.Generator) -> list[Arch]:
    allowed = [steering.allowed(cp.name) for cp in steering.space]
    m = max(len(ops) for ops in allowed)
    columns = []
    for ops in allowed:
        column = list(ops) + [ops[i] for i in rng.integers(len(ops), size=m - len(ops))]
        columns.append([column[i] for i in rng.permutation(m)])
    return [tuple(col[i] for col in columns) for i in range(m)]
