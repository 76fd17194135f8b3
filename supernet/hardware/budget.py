"""A latency budget on predicted latency: filtering and sampling architectures under it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import Field

from supernet.hardware.checks import positive_int
from supernet.hardware.predictor import LatencyPredictor
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.validation import validate

_BUDGET = Annotated[float, Field(gt=0, allow_inf_nan=False,
                                 description="a positive number of ms")]


def _check_budget(budget_ms: float) -> float:
    return float(validate(_BUDGET, budget_ms, "the latency budget"))


def within_budget(predictor: LatencyPredictor, archs: Sequence[Sequence[str]],
                  budget_ms: float) -> list[bool]:
    """Whether each architecture's predicted latency is at most ``budget_ms``."""
    budget = _check_budget(budget_ms)
    if not len(archs):
        return []
    return (predictor.predict(archs) <= budget).tolist()


def sample_within_budget(space: SearchSpace, steering: SteeringState,
                         predictor: LatencyPredictor, budget_ms: float,
                         rng: np.random.Generator, n: int = 1, max_tries: int = 1000
                         ) -> list[Arch]:
    """``n`` architectures drawn like the search draws them, kept only when under budget.

    Sampling goes through :meth:`SteeringState.sample`, so prunes, locks and weights
    hold exactly as in training and search; repeats are possible, as there. When no
    allowed architecture can meet the budget (checked exactly, the model being
    additive) or ``max_tries`` draws are not enough, ``ValueError`` says how fast the
    fastest allowed architecture is predicted to be.
    """
    budget = _check_budget(budget_ms)
    positive_int("n", n, minimum=0)
    positive_int("max_tries", max_tries)
    if steering.space != space or predictor.space != space:
        raise ValueError("space, steering and predictor must describe the same search space")
    _, fastest = predictor.fastest(steering)
    if fastest > budget:
        raise ValueError(f"no architecture under {budget:.4g} ms is allowed (exact check, no "
                         f"sampling needed); the fastest allowed predicted is {fastest:.4g} ms: "
                         "raise the budget, or restore pruned / unlock ops")
    out: list[Arch] = []
    tries = 0
    while len(out) < n:
        if tries >= max_tries:
            raise ValueError(
                f"no architecture under {budget:.4g} ms after {tries} tries (found {len(out)} "
                f"of {n}); the fastest allowed predicted is {fastest:.4g} ms: such "
                "architectures are rare under the sampling weights; raise max_tries or the "
                "budget, or steer towards cheaper ops")
        chunk = [steering.sample(rng) for _ in range(min(max_tries - tries, 4 * (n - len(out))))]
        tries += len(chunk)
        out.extend(a for a, ok in zip(chunk, within_budget(predictor, chunk, budget)) if ok)
    return out[:n]
