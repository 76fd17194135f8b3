"""Latency on other devices: rank agreement with the host, and host models adapted or
scaled to a device from a few of its measurements (Lu et al. 2021, see the package doc)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from supernet.hardware.checks import as_vector, check_alpha
from supernet.hardware.predictor import LatencyPredictor, rank_correlation
from supernet.hardware.ridge import alphas, fit_additive, op_matrix


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
    check_alpha("alpha", alpha)
    check_alpha("edge_alpha", edge_alpha)
    if len(archs) < 2:
        raise ValueError(f"adaptation needs at least 2 target measurements, got {len(archs)}")
    y = as_vector("target latencies", target_latencies, len(archs))
    onehot = host.features(archs)
    host_weights = host._require_fit()
    prior = onehot @ host_weights + host.intercept
    fit = fit_additive(onehot, y if fit_scale else y - prior, op_matrix(host.space),
                        alphas(alpha), alphas(edge_alpha), prior if fit_scale else None)
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
    y = as_vector("target latencies", target_latencies, len(archs))
    prior = host.predict(archs)
    scale = float(prior @ y / (prior @ prior)) if prior @ prior > 0 else math.nan
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError("no positive speed ratio maps the host model onto these latencies: "
                         "the host model predicts no positive latency for these architectures")
    weights = host._require_fit()
    out = LatencyPredictor(host.space, host.ridge, host.edge_ridge, device, host.active_only)
    out._set(scale * weights, scale * host.intercept, len(y), {"scale": scale})
    return out
