"""Hardware cost as a second objective: measured latency, a linear latency
predictor, transfer to other devices, Pareto fronts and a latency budget.

Why a predictor: measuring a stand-alone network takes tens to hundreds of forward
passes, while the search scores thousands of candidates. Cell latency is close to a
sum of per-(edge, op) costs over the edges that actually run, so least squares on
the space's one-hot encoding predicts it in microseconds and ranks architectures
almost like the real device (``python -m benchmarks.latency``, 40 CPU measurements
on a loaded shared 2-core machine: held-out Spearman 0.95-0.97 on ``tiny`` and
0.94-0.997 on ``nb201``, against 0.75-0.8 for the parameter count).

Why adaptation instead of refitting: Lu et al. ("One Proxy Device Is Enough for
Hardware-Aware Neural Architecture Search", 2021) show that latency rankings are
strongly monotone across devices. A predictor fitted on the proxy (host) device is
therefore a good prior for a target device; a handful of target measurements only
needs to correct what differs (for example one op the target runs slowly), which
ridge regression towards the host model does with far fewer samples than a fit from
scratch.

Every cost here is in milliseconds. ``supernet`` stays headless: nothing prints.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from supernet.export import build_standalone
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState

CSV_COLUMNS = ("arch", "latency_ms")
"""Columns an uploaded latency table must have (others are ignored)."""


# -- measuring --------------------------------------------------------------------


def _resolve_device(device: str | torch.device) -> torch.device:
    """Fail at construction, not on the first measurement, when CUDA is missing."""
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} requested but no CUDA device is available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"latency is measured on 'cpu' or 'cuda', got {str(dev)!r}")
    return dev


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


class LatencyMeter:
    """Real inference latency (ms) of stand-alone subnets on one device.

    The subnet is the exported stand-alone network (only the chosen ops), because
    that is what gets deployed; timing the supernet path would include the
    bookkeeping of weight sharing. Each figure is the median of ``repeats`` timed
    forward passes after ``warmup`` untimed ones (first calls allocate and pick
    kernels), with CUDA synchronised around every pass.

    :meth:`measure_many` times up to ``group_size`` networks in interleaved rounds
    (every round runs each network once), so that load changes on a shared machine
    hit all of them alike instead of whichever was being measured at that moment;
    on a loaded 2-core CPU this lifted the rank agreement of two repeated runs from
    about 0.65 to 0.97. Results are cached by ``(arch, batch)``; ``measurements``
    counts the real (uncached) ones and ``cost_s`` what each took. Weights and
    inputs are seeded, and the global torch RNG is left untouched.
    """

    def __init__(self, space: SearchSpace, in_channels: int, image_size: int,
                 num_classes: int = 10, device: str | torch.device = "cpu",
                 batch_size: int = 32, warmup: int = 3, repeats: int = 10,
                 seed: int = 0, group_size: int = 64) -> None:
        self.space = space
        self.in_channels = _positive_int("in_channels", in_channels)
        self.image_size = _positive_int("image_size", image_size)
        self.num_classes = _positive_int("num_classes", num_classes)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.warmup = _positive_int("warmup", warmup, minimum=0)
        self.repeats = _positive_int("repeats", repeats)
        self.group_size = _positive_int("group_size", group_size)
        self.device = _resolve_device(device)
        self.seed = seed
        self.measurements = 0
        self._cache: dict[tuple[Arch, int], float] = {}
        self.cost_s: dict[tuple[Arch, int], float] = {}
        """Seconds each measurement took (building + every pass), to weigh against predicting."""

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _build(self, arch: Arch) -> torch.nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = build_standalone(self.space, arch, self.in_channels, self.num_classes,
                                     self.image_size)
        return model.to(self.device).eval()

    def _input(self, batch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed)
        x = torch.randn(batch, self.in_channels, self.image_size, self.image_size, generator=gen)
        return x.to(self.device)

    def _time_once(self, model: torch.nn.Module, x: torch.Tensor) -> float:
        self._sync()
        start = time.perf_counter()
        model(x)
        self._sync()
        return (time.perf_counter() - start) * 1000.0

    def _timed_build(self, arch: Arch) -> tuple[torch.nn.Module, float]:
        start = time.perf_counter()
        model = self._build(arch)
        return model, (time.perf_counter() - start) * 1000.0

    @torch.inference_mode()
    def _measure_group(self, archs: Sequence[Arch], batch: int) -> None:
        x = self._input(batch)
        models, spent = zip(*(self._timed_build(a) for a in archs))
        spent_ms = list(spent)
        times: list[list[float]] = [[] for _ in models]
        for round_ in range(self.warmup + self.repeats):
            for k, model in enumerate(models):
                ms = self._time_once(model, x)
                spent_ms[k] += ms
                if round_ >= self.warmup:
                    times[k].append(ms)
        for arch, samples, cost in zip(archs, times, spent_ms):
            self._cache[(arch, batch)] = float(np.median(samples))
            self.cost_s[(arch, batch)] = cost / 1000.0
            self.measurements += 1

    def measure_many(self, archs: Sequence[Sequence[str]], batch: int = 1) -> list[float]:
        """Median forward latency (ms) of each architecture at ``batch`` images, cached."""
        _positive_int("batch", batch)
        archs = [self.space.validate_arch(a) for a in archs]
        todo = list(dict.fromkeys(a for a in archs if (a, batch) not in self._cache))
        for start in range(0, len(todo), self.group_size):
            self._measure_group(todo[start:start + self.group_size], batch)
        return [self._cache[(a, batch)] for a in archs]

    def measure(self, arch: Sequence[str], batch: int = 1) -> float:
        """Median forward latency (ms) of one architecture at ``batch`` images, cached."""
        return self.measure_many([arch], batch)[0]

    def profile(self, arch: Sequence[str]) -> dict[int, float]:
        """Latency at batch 1 (interactive use) and at ``batch_size`` (throughput use)."""
        return {b: self.measure(arch, b) for b in dict.fromkeys((1, self.batch_size))}

    def cached(self) -> dict[tuple[Arch, int], float]:
        """A copy of every measurement so far, keyed by ``(arch, batch)``."""
        return dict(self._cache)


# -- predicting --------------------------------------------------------------------


def _as_vector(name: str, values: Sequence[float] | np.ndarray, n: int | None = None
               ) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64).reshape(-1)
    if n is not None and len(out) != n:
        raise ValueError(f"{name} has {len(out)} values for {n} architectures")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must all be finite numbers")
    return out


def _with_intercept(features: np.ndarray, penalty: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    ones = np.ones((len(features), 1))
    return np.hstack([ones, features]), np.concatenate([[0.0], penalty])


def _ridge(features: np.ndarray, target: np.ndarray, penalty: np.ndarray
           ) -> tuple[np.ndarray, float]:
    """Ridge regression with an unpenalised intercept and a per-column penalty.

    Solved by least squares on the system augmented with ``sqrt(penalty)`` rows: the
    one-hot blocks each sum to 1, so without a penalty the problem is singular, and
    ``lstsq`` stays well posed even where a column (an op never measured) is all 0.
    """
    z, pen = _with_intercept(features, penalty)
    a = np.vstack([z, np.diag(np.sqrt(pen))])
    b = np.concatenate([target, np.zeros(len(pen))])
    coef = np.linalg.lstsq(a, b, rcond=None)[0]
    return coef[1:], float(coef[0])


def _loo_mse(features: np.ndarray, target: np.ndarray, penalty: np.ndarray) -> float:
    """Exact leave-one-out error of a ridge fit, from the hat matrix (no refits)."""
    z, pen = _with_intercept(features, penalty)
    inverse = np.linalg.pinv(z.T @ z + np.diag(pen))
    leverage = np.einsum("ij,jk,ik->i", z, inverse, z)
    residual = target - z @ (inverse @ (z.T @ target))
    return float(np.mean((residual / np.maximum(1.0 - leverage, 1e-12)) ** 2))


ALPHA_GRID: tuple[float, ...] = tuple(np.logspace(-3, 3, 7).tolist())
"""Ridge strengths chosen from by exact leave-one-out error when none is given."""


def _op_matrix(space: SearchSpace) -> np.ndarray:
    """``(one_hot_dim, n_op_names)``: which op name each one-hot column stands for."""
    names = list(dict.fromkeys(op for cp in space for op in cp.candidates))
    columns = [op for cp in space for op in cp.candidates]
    return np.array([[c == name for name in names] for c in columns], dtype=np.float64)


@dataclass(frozen=True)
class _AdditiveFit:
    weights: np.ndarray
    intercept: float
    extra: np.ndarray
    op_alpha: float
    edge_alpha: float


def _fit_additive(onehot: np.ndarray, target: np.ndarray, op_matrix: np.ndarray,
                  op_alphas: Sequence[float], edge_alphas: Sequence[float],
                  extra: np.ndarray | None = None) -> _AdditiveFit:
    """Cost of (choice point, op) = shared cost of the op + a per-edge deviation.

    Every edge of a cell sees the same channels and resolution, so an op costs about
    the same wherever it sits: sharing that cost makes a few measurements go a long
    way, and the penalised per-edge deviation (``edge_alpha``) still lets the data
    say otherwise. ``extra`` columns (the host prediction) are unpenalised. Lists of
    several alphas are searched jointly by leave-one-out error.
    """
    extra = np.zeros((len(target), 0)) if extra is None else extra.reshape(len(target), -1)
    x = np.hstack([extra, onehot @ op_matrix, onehot])
    k, n_ops = extra.shape[1], op_matrix.shape[1]

    def penalty(op_alpha: float, edge_alpha: float) -> np.ndarray:
        return np.concatenate([np.zeros(k), np.full(n_ops, op_alpha),
                               np.full(onehot.shape[1], edge_alpha)])

    grid = list(itertools.product(op_alphas, edge_alphas))
    best = grid[0] if len(grid) == 1 else min(
        grid, key=lambda pair: _loo_mse(x, target, penalty(*pair)))
    coef, intercept = _ridge(x, target, penalty(*best))
    weights = op_matrix @ coef[k:k + n_ops] + coef[k + n_ops:]
    return _AdditiveFit(weights, intercept, coef[:k], best[0], best[1])


def _check_alpha(name: str, value: float | None, allow_none: bool = True) -> None:
    if value is None and not allow_none:
        raise ValueError(f"{name} must be a positive finite number, got None")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{name} must be a positive finite number or None, got {value!r}")


def _alphas(value: float | None) -> tuple[float, ...]:
    return ALPHA_GRID if value is None else (float(value),)


def rank_correlation(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
                     ) -> float:
    """Spearman's rho; NaN when either side is constant (a ranking is then undefined)."""
    x = _as_vector("first ranking", a)
    y = _as_vector("second ranking", b, len(x))
    if len(x) < 2:
        raise ValueError(f"a rank correlation needs at least 2 points, got {len(x)}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.spearmanr(x, y).statistic)


NONE_OP = "none"
"""The op that computes nothing: the cell skips it."""


def active_edges(space: SearchSpace, arch: Sequence[str]) -> list[bool]:
    """Which edges of ``arch`` run when the cell executes it (``supernet.ops.Cell``).

    The cell skips ``none`` edges and every edge whose source node received nothing
    (all of its inputs ``none`` or from such nodes), so those cost no time at all.
    """
    return _runs(space, space.validate_arch(arch))


def _runs(space: SearchSpace, arch: Arch) -> list[bool]:
    if space.is_chain:  # every block of a chain runs
        return [True] * len(arch)
    live = [True] + [False] * (space.template.n_nodes - 1)
    runs = []
    for (src, dst), op in zip(space.edges, arch):
        run = live[src] and op != NONE_OP
        live[dst] = live[dst] or run
        runs.append(run)
    return runs


def _node_plan(edges: list[int], node_live: bool, allowed: Sequence[tuple[str, ...]],
               costs: list[dict[str, float]], ops: list[str]) -> float | None:
    """Cheapest ops for the edges from live nodes into one node that must be (not) live.

    Fills ``ops`` in place; ``None`` when the node cannot be in that state.
    """
    if not node_live:
        if any(NONE_OP not in allowed[k] for k in edges):
            return None
        for k in edges:
            ops[k] = NONE_OP
        return 0.0
    options = []
    for k in edges:
        runnable = [op for op in allowed[k] if op != NONE_OP]
        run_op = min(runnable, key=costs[k].__getitem__) if runnable else None
        idle = 0.0 if NONE_OP in allowed[k] else math.inf
        options.append((k, run_op, costs[k][run_op] if run_op else math.inf, idle))
    for k, run_op, run, idle in options:
        ops[k] = run_op if run <= idle else NONE_OP
    if all(ops[k] == NONE_OP for k in edges):  # a live node needs one running input
        k, run_op, _, _ = min(options, key=lambda o: o[2] - o[3])
        if run_op is None:
            return None
        ops[k] = run_op
    return sum(o[2] if ops[o[0]] != NONE_OP else 0.0 for o in options)


def _fastest_active(space: SearchSpace, allowed: Sequence[tuple[str, ...]],
                    costs: Mapping[str, Mapping[str, float]]) -> Arch:
    """Exact argmin of an additive cost over edges that run, by enumerating live nodes."""
    per_edge = [dict(costs[cp.name]) for cp in space]
    if space.is_chain:  # no dead nodes: each choice point's cheapest allowed block
        return tuple(min(a, key=per_edge[k].__getitem__) for k, a in enumerate(allowed))
    n_nodes = space.template.n_nodes
    best: tuple[float, Arch] | None = None
    for rest in itertools.product((True, False), repeat=n_nodes - 1):
        live = (True, *rest)
        ops = [NONE_OP if NONE_OP in a else a[0] for a in allowed]  # edges from dead nodes
        total = 0.0
        for dst in range(1, n_nodes):
            edges = [k for k, (src, d) in enumerate(space.edges) if d == dst and live[src]]
            cost = _node_plan(edges, live[dst], allowed, per_edge, ops)
            if cost is None:
                break
            total += cost
        else:
            if best is None or total < best[0]:
                best = (total, tuple(ops))
    if best is None:  # unreachable: the live pattern of any allowed arch is feasible
        raise ValueError("no allowed architecture found")
    return best[1]


class LatencyPredictor:
    """Latency (ms) as intercept + one cost per (choice point, op), by ridge least squares.

    The model is linear in the space's one-hot encoding. Each cost is fitted as a
    cost shared by the op on every edge plus a per-edge deviation penalised by
    ``edge_ridge`` (``None``: chosen by leave-one-out from :data:`ALPHA_GRID`): with
    few measurements (fewer than one-hot columns) the shared part carries the fit,
    with many the deviations are free. ``ridge`` only makes the collinear one-hot
    system solvable; it is not meant to shrink real costs. A (choice point, op) never
    measured gets the op's shared cost from the other edges, but an op measured
    nowhere costs 0 like an idle edge: measure every op at least once.
    ``device`` is a free-text label of what was measured.

    With ``active_only`` (default) an edge is charged only when it runs (see
    :func:`active_edges`): the cell skips ``none`` edges and edges out of nodes that
    received nothing, and charging them anyway mis-predicts exactly the cheap cells
    a latency budget cares about (on measured ``nb201`` CPU latencies, 20 samples:
    Spearman 0.89 -> 0.99, median error 1.2 -> 0.5 ms).
    """

    def __init__(self, space: SearchSpace, ridge: float = 1e-3,
                 edge_ridge: float | None = None, device: str = "",
                 active_only: bool = True) -> None:
        _check_alpha("ridge", ridge, allow_none=False)
        _check_alpha("edge_ridge", edge_ridge)
        self.space = space
        self.active_only = bool(active_only)
        self.ridge = float(ridge)
        self.edge_ridge = edge_ridge
        self.device = device
        self.weights: np.ndarray | None = None
        self.intercept = 0.0
        self.n_samples = 0
        self.chosen: dict[str, float] = {}
        """Ridge strengths the last fit used (``edge``; ``op`` and ``scale`` when adapted)."""

    @property
    def fitted(self) -> bool:
        return self.weights is not None

    def features(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        """One-hot encoding; with ``active_only``, blocks of edges that never run are 0."""
        archs = [self.space.validate_arch(a) for a in archs]
        x = self.space.one_hot_many(archs).astype(np.float64)
        if self.active_only and archs:
            sizes = [len(cp.candidates) for cp in self.space]
            x *= np.array([np.repeat(_runs(self.space, a), sizes) for a in archs])
        return x

    def fit(self, archs: Sequence[Sequence[str]], latencies: Sequence[float] | np.ndarray
            ) -> LatencyPredictor:
        """Fit on measured ``(arch, latency)`` pairs; returns ``self`` for chaining."""
        if len(archs) < 2:
            raise ValueError(f"fitting needs at least 2 measured architectures, got {len(archs)}")
        y = _as_vector("latencies", latencies, len(archs))
        fit = _fit_additive(self.features(archs), y, _op_matrix(self.space), (self.ridge,),
                            _alphas(self.edge_ridge))
        self._set(fit.weights, fit.intercept, len(y), {"edge": fit.edge_alpha})
        return self

    def _set(self, weights: np.ndarray, intercept: float, n_samples: int,
             chosen: dict[str, float]) -> None:
        self.weights, self.intercept = weights, float(intercept)
        self.n_samples, self.chosen = n_samples, chosen

    def _require_fit(self) -> np.ndarray:
        if self.weights is None:
            raise ValueError("the latency predictor is not fitted yet: call fit() first")
        return self.weights

    def predict(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        """Predicted latency (ms) of each architecture."""
        weights = self._require_fit()
        return self.features(archs) @ weights + self.intercept

    def spearman(self, archs: Sequence[Sequence[str]],
                 latencies: Sequence[float] | np.ndarray) -> float:
        """Rank agreement with measurements that were not used for fitting."""
        return rank_correlation(self.predict(archs), latencies)

    def op_costs(self) -> dict[str, dict[str, float]]:
        """Predicted cost of each op on each choice point (relative; the intercept is apart)."""
        weights = self._require_fit()
        out: dict[str, dict[str, float]] = {}
        k = 0
        for cp in self.space:
            out[cp.name] = {op: float(weights[k + i]) for i, op in enumerate(cp.candidates)}
            k += len(cp.candidates)
        return out

    def fastest(self, steering: SteeringState | None = None) -> tuple[Arch, float]:
        """The allowed architecture with the lowest predicted latency, found exactly.

        The model is additive over the edges that run, so no search over the space
        is needed: without ``active_only`` the cheapest allowed op on every choice
        point wins; with it, every pattern of live nodes is tried (``2**(n_nodes-1)``
        of them) with the cheapest consistent ops per node.
        """
        costs = self.op_costs()
        allowed = [steering.allowed(cp.name) if steering else cp.candidates
                   for cp in self.space]
        if self.active_only:
            arch = _fastest_active(self.space, allowed, costs)
        else:
            arch = tuple(min(ops, key=costs[cp.name].__getitem__)
                         for ops, cp in zip(allowed, self.space))
        return arch, float(self.predict([arch])[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (costs keyed by choice point and op) for checkpoints and events."""
        return {"space": self.space.to_dict(), "ridge": self.ridge,
                "edge_ridge": self.edge_ridge, "active_only": self.active_only,
                "device": self.device, "n_samples": self.n_samples, "chosen": dict(self.chosen),
                "intercept": self.intercept,
                "op_costs": self.op_costs() if self.fitted else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], space: SearchSpace | None = None
                  ) -> LatencyPredictor:
        """Rebuild and validate; with ``space`` given, the stored space must match it."""
        stored = SearchSpace.from_dict(dict(data["space"]))
        if space is not None and space != stored:
            raise ValueError("the latency predictor was fitted on another search space")
        out = cls(space or stored, float(data.get("ridge", 1e-3)), data.get("edge_ridge"),
                  str(data.get("device", "")), bool(data.get("active_only", True)))
        costs = data.get("op_costs")
        if costs is not None:
            out._set(_weights_from_costs(out.space, costs),
                     float(_as_vector("intercept", [data["intercept"]])[0]),
                     int(data.get("n_samples", 0)),
                     {str(k): float(v) for k, v in dict(data.get("chosen", {})).items()})
        return out


def _weights_from_costs(space: SearchSpace, costs: Mapping[str, Mapping[str, float]]
                        ) -> np.ndarray:
    values = []
    for cp in space:
        given = costs.get(cp.name, {})
        missing = [op for op in cp.candidates if op not in given]
        if missing:
            raise ValueError(f"latency predictor: no cost for {missing} on {cp.name!r}")
        values.extend(given[op] for op in cp.candidates)
    return _as_vector("op costs", values)


# -- other devices ----------------------------------------------------------------


def device_srcc(host_latencies: Sequence[float] | np.ndarray,
                target_latencies: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation of the same architectures on two devices.

    Near 1 means the host is a valid proxy: ranking (and Pareto fronts) found with
    host latencies carry over to the target.
    """
    return rank_correlation(host_latencies, target_latencies)


def adapt_predictor(host: LatencyPredictor, archs: Sequence[Sequence[str]],
                    target_latencies: Sequence[float] | np.ndarray,
                    alpha: float | None = None, edge_alpha: float | None = None,
                    fit_scale: bool = True, device: str = "target") -> LatencyPredictor:
    """A predictor for a target device from a few target measurements and the host model.

    Fits ``target = b + s * host_pred + delta . one_hot``: the host (proxy device)
    model is the prior and only ``delta`` is learned, ridge-regularised towards 0
    (equivalently: ridge towards the host's op costs scaled by ``s``). As in
    :class:`LatencyPredictor`, ``delta`` is a shift per op shared by all edges
    (strength ``alpha``: "this device is slow at 3x3 convolutions") plus a
    per-edge deviation (``edge_alpha``). ``b`` and, with ``fit_scale``, the global
    speed ratio ``s`` are free, because a uniformly faster or slower device should
    cost no evidence (without it ``s = 1``). Large alphas keep the host's costs;
    small ones approach a fit from scratch. ``None`` picks a strength from
    :data:`ALPHA_GRID` by exact leave-one-out error, since how far the target
    strays from the host is not known in advance (and the scale depends on ms).
    The result is linear again, so it is an ordinary :class:`LatencyPredictor`.
    """
    _check_alpha("alpha", alpha)
    _check_alpha("edge_alpha", edge_alpha)
    if len(archs) < 2:
        raise ValueError(f"adaptation needs at least 2 target measurements, got {len(archs)}")
    y = _as_vector("target latencies", target_latencies, len(archs))
    onehot = host.features(archs)
    host_weights = host._require_fit()
    prior = onehot @ host_weights + host.intercept
    fit = _fit_additive(onehot, y if fit_scale else y - prior, _op_matrix(host.space),
                        _alphas(alpha), _alphas(edge_alpha), prior if fit_scale else None)
    scale = float(fit.extra[0]) if fit_scale else 1.0
    out = LatencyPredictor(host.space, host.ridge, host.edge_ridge, device, host.active_only)
    out._set(scale * host_weights + fit.weights, fit.intercept + scale * host.intercept,
             len(y), {"op": fit.op_alpha, "edge": fit.edge_alpha, "scale": scale})
    return out


def scale_predictor(host: LatencyPredictor, archs: Sequence[Sequence[str]],
                    target_latencies: Sequence[float] | np.ndarray,
                    device: str = "target") -> LatencyPredictor:
    """The host model times one least-squares speed ratio, for a device that ranks like it.

    When the ranks already agree, the few uploaded latencies only need to convert host
    ms into target ms: one ratio ``s`` minimising ``|target - s * host_pred|^2`` keeps
    the host's ranking (and :meth:`LatencyPredictor.fastest`) exactly, where a ridge
    adaptation would spend them on per-op corrections that are mostly noise.
    """
    if len(archs) < 1:
        raise ValueError("scaling needs at least 1 target measurement, got 0")
    y = _as_vector("target latencies", target_latencies, len(archs))
    prior = host.predict(archs)
    scale = float(prior @ y / (prior @ prior)) if prior @ prior > 0 else math.nan
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError("no positive speed ratio maps the host model onto these latencies: "
                         "the host model predicts no positive latency for these architectures")
    weights = host._require_fit()
    out = LatencyPredictor(host.space, host.ridge, host.edge_ridge, device, host.active_only)
    out._set(scale * weights, scale * host.intercept, len(y), {"scale": scale})
    return out


def _read_text(source: str | Path | bytes) -> str:
    """Bytes (an upload), a path, or the CSV text itself (anything with a newline)."""
    if isinstance(source, bytes):
        return source.decode("utf-8-sig")
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        return Path(source).read_text(encoding="utf-8-sig")
    if source.strip() and "\n" not in source and "," not in source:
        raise ValueError(f"latency CSV file {source!r} does not exist")
    return source.removeprefix("\ufeff")


def _header_columns(header: list[str], line: int) -> tuple[int, int]:
    names = [h.strip().lower() for h in header]
    if not all(c in names for c in CSV_COLUMNS):
        raise ValueError(f"line {line}: the header must name the columns "
                         f"{','.join(CSV_COLUMNS)}, got {','.join(header)!r}")
    return names.index(CSV_COLUMNS[0]), names.index(CSV_COLUMNS[1])


def _parse_latency(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"line {line}: latency_ms {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"line {line}: latency_ms {text!r} is not a finite number")
    if value < 0:
        raise ValueError(f"line {line}: latency_ms {value:g} is negative")
    return value


def load_latency_csv(source: str | Path | bytes, space: SearchSpace
                     ) -> tuple[list[Arch], np.ndarray]:
    """Parse measured latencies (``arch,latency_ms``) uploaded for another device.

    Arch strings use the space's canonical NAS-Bench-201 format. Blank lines are
    skipped; repeated architectures are kept (repeated measurements average out in
    the fit). Every problem raises ``ValueError`` naming the line, so a user can fix
    the file.
    """
    reader = csv.reader(io.StringIO(_read_text(source)))
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"the latency CSV is empty: expected a header {','.join(CSV_COLUMNS)}")
    arch_col, lat_col = _header_columns(rows[0][1], rows[0][0])
    archs: list[Arch] = []
    latencies: list[float] = []
    for line, row in rows[1:]:
        if len(row) <= max(arch_col, lat_col):
            raise ValueError(f"line {line}: expected {len(rows[0][1])} fields, got {len(row)}")
        try:
            archs.append(space.from_string(row[arch_col].strip()))
        except ValueError as exc:
            raise ValueError(f"line {line}: unknown architecture "
                             f"{row[arch_col].strip()!r}: {exc}") from None
        latencies.append(_parse_latency(row[lat_col].strip(), line))
    if not archs:
        raise ValueError("the latency CSV has a header but no data rows")
    return archs, np.asarray(latencies, dtype=np.float64)


# -- Pareto -------------------------------------------------------------------------


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated ``(accuracy, cost)`` points, by ascending cost.

    ``a`` dominates ``b`` when it is at least as accurate and at most as costly, and
    strictly better in one of the two. So of equal-cost points only the most accurate
    survive, of equal-accuracy points only the cheapest, and exact duplicates of a
    front point are all kept (neither dominates the other; ties in the output keep
    index order). Non-finite values raise, since they cannot be ordered.
    """
    if not len(points):
        return []
    arr = np.asarray(points, dtype=np.float64).reshape(len(points), 2)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"point {bad} has a non-finite accuracy or cost: {points[bad]!r}")
    acc, cost = arr[:, 0], arr[:, 1]
    order = np.lexsort((np.arange(len(arr)), -acc, cost))  # cost up, accuracy down, index
    front: list[int] = []
    best_cheaper = -math.inf  # best accuracy among strictly cheaper points
    group_cost, group_best = math.nan, -math.inf
    for i in order.tolist():
        if cost[i] != group_cost:
            best_cheaper = max(best_cheaper, group_best)
            group_cost, group_best = cost[i], acc[i]
        if acc[i] == group_best and acc[i] > best_cheaper:
            front.append(i)
    return front


def _field(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, Mapping) else getattr(record, key, None)


def pareto_table(records: Sequence[Any], cost_key: str = "latency_ms",
                 accuracy_key: str = "accuracy") -> list[dict[str, Any]]:
    """The Pareto-optimal records as plain rows sorted by cost (for a table or a CSV).

    ``records`` are :class:`~supernet.evaluate.CandidateRecord` objects or dicts;
    those without a cost (``None``, e.g. latency not measured) cannot be placed and
    are left out.
    """
    usable = [r for r in records
              if _field(r, cost_key) is not None and _field(r, accuracy_key) is not None]
    points = [(float(_field(r, accuracy_key)), float(_field(r, cost_key))) for r in usable]
    rows = []
    for i in pareto_front(points):
        record = usable[i]
        rows.append(dict(record) if isinstance(record, Mapping) else record.to_dict())
    return rows


# -- budget -------------------------------------------------------------------------


def _check_budget(budget_ms: float) -> float:
    if not isinstance(budget_ms, (int, float)) or not math.isfinite(budget_ms) or budget_ms <= 0:
        raise ValueError(f"the latency budget must be a positive number of ms, got {budget_ms!r}")
    return float(budget_ms)


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
    _positive_int("n", n, minimum=0)
    _positive_int("max_tries", max_tries)
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
