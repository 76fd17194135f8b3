"""Evidence beyond the marginal mean: what each op has *reached*, how ops interact, and what
a model of the evaluated architectures says each choice point matters.

The heatmap's mean ("accuracy of candidates using the op") ranks an op by its average
company, so an op the optimum needs can look poor (``skip_connect`` on ``3<-0`` in
NAS-Bench-201). What an analyst needs before pruning is the op's *upper tail* and a
model's estimate of the best it could still reach:

- :func:`op_quantiles`: per (choice point, op) the count, best and an upper quantile
  (default the 90th percentile) with a distribution-free 95% interval from order
  statistics (the binomial ranks around ``q * n``; an end of it is None when ``n`` is too
  small to bound it);
- :func:`pairwise`: for two choice points, mean, interval, best and count of each op pair
  (the second heatmap);
- :func:`model_importance`: a scikit-learn random forest on the one-hot code, fitted on
  the data and on bootstrap resamples, then per
  choice point the share of the prediction variance its partial dependence explains (the
  main effect of fANOVA, as in Optuna's importance), per op the partial dependence, and
  per op the model's best predicted accuracy over the allowed space with that op (what a
  prune or lock preview compares inside vs outside); every number with the range over the
  refits and the count it was fitted on.

Pure functions of (architectures, accuracies): the worker publishes them in the
``evidence`` event, the web process draws them; scikit-learn is imported when a model is fitted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState

UPPER_QUANTILE = 0.9
REFITS = 3
MAX_CANDIDATES = 512


def upper_tail(values: Sequence[float], q: float) -> dict[str, Any]:
    """The q-quantile of ``values`` and its distribution-free 95% interval, ``{quantile,
    q_low, q_high, q}`` (None where there are too few values to bound it)."""
    tail = _tail(np.asarray(values, dtype=np.float64), q)
    return {"quantile": tail["quantile"], "q_low": tail["q_low"], "q_high": tail["q_high"], "q": q}


def _tail(values: np.ndarray, q: float) -> dict[str, Any]:
    """Count, best, the q-quantile and its distribution-free 95% interval of ``values``."""
    n = int(values.size)
    if n == 0:
        return {"count": 0, "best": None, "quantile": None, "q_low": None, "q_high": None}
    ordered = np.sort(values)
    # ranks (1-based) of the order statistics that bracket the q-quantile with >= 95%
    low = int(stats.binom.ppf(0.025, n, q))
    high = int(stats.binom.ppf(0.975, n, q)) + 1
    return {"count": n, "best": float(ordered[-1]),
            "quantile": float(np.quantile(ordered, q)),
            "q_low": float(ordered[low - 1]) if low >= 1 else None,
            "q_high": float(ordered[high - 1]) if high <= n else None}


def op_quantiles(space: SearchSpace, archs: Sequence[Arch], accuracies: Sequence[float],
                 q: float = UPPER_QUANTILE) -> dict[str, dict[str, dict[str, Any]]]:
    """``{cp: {op: {count, best, quantile, q_low, q_high, q}}}`` over the evaluated ``archs``."""
    acc = np.asarray(accuracies, dtype=np.float64)
    codes = _codes(space, archs)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for j, cp in enumerate(space):
        out[cp.name] = {op: _tail(acc[codes[:, j] == k] if len(archs) else acc[:0], q) | {"q": q}
                        for k, op in enumerate(cp.candidates)}
    return out


def pairwise(space: SearchSpace, archs: Sequence[Arch], accuracies: Sequence[float],
             first: str, second: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{op_a: {op_b: {mean, ci_low, ci_high, count, best}}}`` for choice points ``first``
    (rows) and ``second`` (columns): how op pairs do together, not each alone."""
    if first == second:
        raise ValueError(f"pick two different choice points (both are {first!r})")
    a, b = space.choice_point(first), space.choice_point(second)
    ja, jb = space.names().index(a.name), space.names().index(b.name)
    acc = np.asarray(accuracies, dtype=np.float64)
    codes = _codes(space, archs)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for ka, op_a in enumerate(a.candidates):
        row: dict[str, dict[str, Any]] = {}
        for kb, op_b in enumerate(b.candidates):
            values = acc[(codes[:, ja] == ka) & (codes[:, jb] == kb)] if len(archs) else acc[:0]
            row[op_b] = _mean_interval(values)
        out[op_a] = row
    return out


def _mean_interval(values: np.ndarray) -> dict[str, Any]:
    n = int(values.size)
    if n == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "count": 0, "best": None}
    mean = float(values.mean())
    if n < 2:
        return {"mean": mean, "ci_low": None, "ci_high": None, "count": 1, "best": mean}
    half = float(stats.t.ppf(0.975, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "count": n,
            "best": float(values.max())}


def _codes(space: SearchSpace, archs: Sequence[Arch]) -> np.ndarray:
    """Each architecture as the candidate index of its op at every choice point."""
    index = [{op: k for k, op in enumerate(cp.candidates)} for cp in space]
    return np.array([[index[j][op] for j, op in enumerate(arch)] for arch in archs],
                    dtype=np.int64).reshape(len(archs), len(space.choice_points))


def _candidates(steering: SteeringState, rng: np.random.Generator) -> np.ndarray:
    """Codes of allowed architectures to predict on: all of them, or a random sample."""
    space = steering.space
    if steering.space_size() <= MAX_CANDIDATES:
        allowed = [steering.allowed(cp.name) for cp in space]
        archs = list(_product(allowed))
    else:
        archs = [steering.sample(rng) for _ in range(MAX_CANDIDATES)]
    return _codes(space, archs)


def _product(allowed: list[tuple[str, ...]]) -> list[Arch]:
    import itertools

    return [tuple(arch) for arch in itertools.product(*allowed)]


def model_importance(space: SearchSpace, archs: Sequence[Arch], accuracies: Sequence[float],
                     steering: SteeringState | None = None, seed: int = 0,
                     refits: int = REFITS) -> dict[str, Any]:
    """Importance, partial dependence and best predicted accuracy per op (module docstring).

    ``{"count", "refits", "importance": {cp: {value, low, high}},
    "partial_dependence": {cp: {op: {value, low, high}}}, "potential": {cp: {op: {value,
    low, high}}}}``; empty parts while fewer than 10 architectures are evaluated.
    """
    from sklearn.ensemble import RandomForestRegressor

    n = len(archs)
    if n < 10:
        return {"count": n, "refits": 0, "importance": {}, "partial_dependence": {},
                "potential": {}}
    steering = steering or SteeringState(space)
    rng = np.random.default_rng(seed)
    codes, y = _codes(space, archs), np.asarray(accuracies, dtype=np.float64)
    candidates = _candidates(steering, rng)
    sizes = [len(cp.candidates) for cp in space]
    settings = [(j, k) for j, size in enumerate(sizes) for k in range(size)]
    # every evaluated (for the partial dependence) and every candidate (for the best
    # reachable) architecture with choice point j set to op k, predicted in one batch each
    data_grid = np.concatenate([_set(codes, j, k) for j, k in settings])
    cand_grid = np.concatenate([_set(candidates, j, k) for j, k in settings])
    importance: list[list[float]] = []
    dependence: list[list[dict[int, float]]] = []
    potential: list[list[dict[int, float]]] = []
    for r in range(refits):
        rows = rng.integers(n, size=n) if r else np.arange(n)  # the first fit sees all data once
        model = RandomForestRegressor(n_estimators=32, min_samples_leaf=2, max_features=0.5,
                                      random_state=seed + r, n_jobs=1)
        model.fit(_one_hot(codes[rows], sizes), y[rows])
        total = float(np.var(model.predict(_one_hot(codes, sizes)))) or 1e-12
        pd = model.predict(_one_hot(data_grid, sizes)).reshape(len(settings), n).mean(axis=1)
        best = model.predict(_one_hot(cand_grid, sizes)).reshape(len(settings), -1).max(axis=1)
        shares, pds, pots = [], [], []
        for j, size in enumerate(sizes):
            at = [settings.index((j, k)) for k in range(size)]
            values = pd[at]
            freq = np.bincount(codes[:, j], minlength=size).astype(np.float64)
            mean = float(np.average(values, weights=freq))
            shares.append(float(np.average((values - mean) ** 2, weights=freq)) / total)
            pds.append({k: float(values[k]) for k in range(size)})
            pots.append({k: float(best[at[k]]) for k in range(size)})
        importance.append(shares)
        dependence.append(pds)
        potential.append(pots)
    return {"count": n, "refits": refits,
            "importance": {cp.name: _spread([imp[j] for imp in importance])
                           for j, cp in enumerate(space)},
            "partial_dependence": _per_op(space, dependence),
            "potential": _per_op(space, potential)}


def _set(codes: np.ndarray, j: int, k: int) -> np.ndarray:
    out = codes.copy()
    out[:, j] = k
    return out


def _one_hot(codes: np.ndarray, sizes: list[int]) -> np.ndarray:
    """The one-hot code the forest splits on (one column per (choice point, op))."""
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    out = np.zeros((codes.shape[0], int(sum(sizes))), dtype=np.float32)
    rows = np.repeat(np.arange(codes.shape[0]), codes.shape[1])
    out[rows, (codes + offsets).ravel()] = 1.0
    return out


def _per_op(space: SearchSpace, fits: list[list[dict[int, float]]]
            ) -> dict[str, dict[str, dict[str, float]]]:
    return {cp.name: {op: _spread([fit[j][k] for fit in fits if k in fit[j]])
                      for k, op in enumerate(cp.candidates)
                      if any(k in fit[j] for fit in fits)}
            for j, cp in enumerate(space)}


def _spread(values: list[float]) -> dict[str, float]:
    """A refitted number: its value on all the data, and the range over the refits."""
    return {"value": values[0], "low": min(values), "high": max(values)}


def best_estimate(importance: dict[str, Any], before: SteeringState, after: SteeringState
                  ) -> tuple[float | None, float | None]:
    """The model's best predicted accuracy (inside, outside) ``after`` for an edit of
    ``before``, from the per-op potentials of :func:`model_importance` (fitted on ``before``,
    each choice point judged with the others as they were): inside, the weakest choice
    point's best allowed op; outside, the best op the edit removed. None: no estimate."""
    potential = importance.get("potential") or {}
    if not potential:
        return None, None
    inside: list[float] = []
    outside: list[float] = []
    for cp in after.space:
        ops = potential.get(cp.name, {})
        now, was = set(after.allowed(cp.name)), set(before.allowed(cp.name))
        kept = [v["value"] for op, v in ops.items() if op in now]
        if kept:
            inside.append(max(kept))
        outside += [v["value"] for op, v in ops.items() if op in was - now]
    return (min(inside) if inside else None), (max(outside) if outside else None)


def predicted_best(space: SearchSpace, steering: SteeringState, archive: Mapping[Arch, float],
                   n: int, seed: int = 0, pairs: bool = True) -> list[tuple[Arch, float]]:
    """The ``n`` unevaluated allowed architectures a ridge model predicts best (the space
    enumerated up to ``MAX_ENUMERATED``, else a random sample of it): where a focus set
    points the breeding next. Features: the one-hot code and, with ``pairs``, the one-hot
    code of every pair of choice points (ops that only work together, such as a skip
    beside convolutions)."""
    from sklearn.linear_model import Ridge

    if len(archive) < 2 or n <= 0:
        return []
    sizes = [len(cp.candidates) for cp in space]
    codes = _allowed_codes(steering, np.random.default_rng(seed))
    strides = np.cumprod([1] + sizes[:0:-1])[::-1]
    seen = _codes(space, list(archive)) @ strides
    codes = codes[~np.isin(codes @ strides, seen)]
    if not len(codes):
        return []
    model = Ridge(alpha=1.0).fit(_features(_codes(space, list(archive)), sizes, pairs),
                                 np.fromiter(archive.values(), dtype=np.float64))
    # a linear model on one-hot blocks: a prediction is the intercept plus one coefficient
    # per block, looked up by index (no feature matrix of the whole space is built)
    predicted = np.full(len(codes), float(model.intercept_))
    for offset, index in _blocks(codes, sizes, pairs):
        predicted += model.coef_[offset + index]
    order = np.argsort(-predicted, kind="stable")[:n]
    return [(tuple(space.choice_points[j].candidates[k] for j, k in enumerate(codes[i])),
             float(predicted[i])) for i in order]


MAX_ENUMERATED = 50_000


def _blocks(codes: np.ndarray, sizes: list[int], pairs: bool
            ) -> list[tuple[int, np.ndarray]]:
    """(column offset, index within the block) of each one-hot block: a block per choice
    point and, with ``pairs``, one per pair of choice points (its ops' combination)."""
    out, offset = [], 0
    for j, size in enumerate(sizes):
        out.append((offset, codes[:, j]))
        offset += size
    if pairs:
        for a in range(len(sizes)):
            for b in range(a + 1, len(sizes)):
                out.append((offset, codes[:, a] * sizes[b] + codes[:, b]))
                offset += sizes[a] * sizes[b]
    return out


def _features(codes: np.ndarray, sizes: list[int], pairs: bool) -> np.ndarray:
    """The one-hot code, and with ``pairs`` the one-hot code of each choice-point pair."""
    blocks = _blocks(codes, sizes, pairs)
    width = blocks[-1][0] + (sizes[-2] * sizes[-1] if pairs and len(sizes) > 1 else sizes[-1])
    out = np.zeros((codes.shape[0], width), dtype=np.float64)
    rows = np.arange(codes.shape[0])
    for offset, index in blocks:
        out[rows, offset + index] = 1.0
    return out


def _allowed_codes(steering: SteeringState, rng: np.random.Generator) -> np.ndarray:
    """Codes of every allowed architecture, or of 4096 random ones in a larger space."""
    space = steering.space
    allowed = [[cp.candidates.index(op) for op in steering.allowed(cp.name)] for cp in space]
    if steering.space_size() > MAX_ENUMERATED:
        return _codes(space, [steering.sample(rng) for _ in range(4096)])
    grid = np.meshgrid(*[np.array(a, dtype=np.int64) for a in allowed], indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1)
