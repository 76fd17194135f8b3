"""Latency as a second objective of a running search: predictor, budget and other devices.

A :class:`LatencyObjective` lives next to a search engine. It refits the linear
latency predictor (:class:`~supernet.hardware.LatencyPredictor`) from every
measured candidate, so that any architecture has a latency at once; it turns the
analyst's latency budget into a constraint on proposals (an architecture whose
predicted latency is over budget is never proposed); and it keeps predictors
adapted to other devices from the few latencies an analyst uploads for them
(the one-proxy-device method: when the ranks agree poorly with the host, the host
model is corrected with a ridge fit instead of starting from scratch; when they
agree, it is only scaled by the device's speed ratio).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from supernet.hardware import (
    LatencyPredictor,
    adapt_predictor,
    device_srcc,
    rank_correlation,
    scale_predictor,
)
from supernet.records import CandidateRecord
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState

HOST = "host"
ADAPT_BELOW_SRCC = 0.9  # below this rank agreement with the host, a device gets its own model
MIN_SAMPLES = 5


@dataclass
class DeviceReport:
    """How a device's uploaded latencies relate to the host, and what model it got.

    A device ranking like the host (SRCC >= ``ADAPT_BELOW_SRCC``) gets the host model
    times one speed ratio (``scale``); one ranking differently gets an adapted model
    (``adapted``); ``note`` says why a device got neither.
    """

    device: str
    n: int
    srcc_host: float | None  # rank agreement of the host's latencies with the device's
    adapted: bool
    srcc_adapted: float | None  # cross-validated rank agreement of the adapted model
    fastest_ms: float  # the fastest uploaded latency: budgets below it are extrapolation
    scale: float | None = None  # device ms per host ms, when the host model is only scaled
    note: str = ""

    def describe(self) -> str:
        """One line for the analyst: how the device ranks like the host and what model it got."""
        return describe_device(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: an undefined rank agreement (NaN, older checkpoints) becomes None."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v
                for k, v in asdict(self).items()}


def describe_device(report: dict[str, Any]) -> str:
    """:meth:`DeviceReport.describe` on its ``to_dict`` form (what the ``hardware`` event holds)."""
    srcc = report.get("srcc_host")
    text = (f"{report['device']}: {report['n']} latencies, SRCC with host "
            + (f"{srcc:.2f}" if srcc is not None else "undefined"))
    if report.get("adapted"):
        adapted = report.get("srcc_adapted")
        text += (f"; below {ADAPT_BELOW_SRCC}, so adapted (cross-validated SRCC "
                 + (f"{adapted:.2f})" if adapted is not None else "undefined)"))
    elif report.get("scale") is not None:
        text += f"; host model x {report['scale']:.3g}"
    if report.get("note"):
        text += f"; {report['note']}"
    return text


class LatencyObjective:
    def __init__(self, space: SearchSpace, refit_every: int = 1) -> None:
        self.space = space
        self.refit_every = refit_every
        self.measured: dict[Arch, float] = {}
        self.predictors: dict[str, LatencyPredictor] = {}
        self.devices: dict[str, DeviceReport] = {}
        self.budget_ms: float | None = None
        self.budget_device = HOST
        self._since_fit = 0
        self._host_srcc: float | None = None

    # -- the host predictor --------------------------------------------------------
    def observe(self, records: Sequence[CandidateRecord]) -> None:
        """Take the measured latencies of new candidates; refit the host predictor."""
        for r in records:
            if r.latency_ms is not None and math.isfinite(r.latency_ms):
                self.measured[self.space.from_string(r.arch)] = float(r.latency_ms)
        self._since_fit += 1
        if len(self.measured) >= MIN_SAMPLES and (
                HOST not in self.predictors or self._since_fit >= self.refit_every):
            archs = list(self.measured)
            latencies = [self.measured[a] for a in archs]
            self.predictors[HOST] = LatencyPredictor(self.space, device=HOST).fit(archs, latencies)
            self._host_srcc = _cross_validated(archs, latencies, lambda a, y: LatencyPredictor(
                self.space, device=HOST).fit(a, y))
            self._since_fit = 0

    def predict(self, archs: Sequence[Arch], device: str = HOST) -> np.ndarray | None:
        predictor = self.predictors.get(device)
        return None if predictor is None else predictor.predict(archs)

    def host_srcc(self) -> float | None:
        """Cross-validated rank agreement of the host predictor with what was measured."""
        return self._host_srcc

    # -- the budget ----------------------------------------------------------------
    def set_budget(self, budget_ms: float | None, steering: SteeringState,
                   device: str = HOST) -> str:
        """Constrain proposals to ``budget_ms`` on ``device``; None lifts the budget."""
        if budget_ms is None:
            self.budget_ms, self.budget_device = None, HOST
            return "latency budget lifted"
        if not math.isfinite(budget_ms) or budget_ms <= 0:
            raise ValueError(f"a latency budget must be a positive number of ms, got {budget_ms!r}")
        predictor = self.predictors.get(device)
        if predictor is None:
            known = sorted(self.predictors) or ["none yet"]
            raise ValueError(f"no latency model for device {device!r} yet (have: {known}); "
                             f"wait until {MIN_SAMPLES} candidates were measured or upload latencies")
        seen = (min(self.measured.values()) if device == HOST
                else self.devices[device].fastest_ms)
        if budget_ms < seen:
            raise ValueError(f"{budget_ms:.2f} ms is below every latency measured on {device} "
                             f"(fastest {seen:.2f} ms): the latency model would be guessing; "
                             f"lower the budget step by step as faster candidates are found")
        arch, fastest = predictor.fastest(steering)
        if fastest > budget_ms:
            raise ValueError(f"no allowed architecture fits {budget_ms:.2f} ms on {device}: the "
                             f"fastest is predicted at {fastest:.2f} ms ({self.space.to_string(arch)})")
        self.budget_ms, self.budget_device = float(budget_ms), device
        return f"proposals limited to {budget_ms:.2f} ms on {device}"

    def allows(self, arch: Arch) -> bool:
        """The search's constraint: within budget (always true without a budget or model)."""
        if self.budget_ms is None:
            return True
        predicted = self.predict([arch], self.budget_device)
        return predicted is None or float(predicted[0]) <= self.budget_ms

    # -- other devices -------------------------------------------------------------
    def add_device(self, device: str, archs: Sequence[Arch], latencies: Sequence[float],
                   host_latency: Callable[[Arch], float]) -> DeviceReport:
        """Compare uploaded latencies of ``device`` with the host and give it a latency model:
        the host's scaled when ranks agree, an adapted one when they disagree."""
        if device == HOST:
            raise ValueError(f"'{HOST}' names this worker's own device: pick another device name")
        if len(archs) < MIN_SAMPLES:
            raise ValueError(f"need latencies of at least {MIN_SAMPLES} architectures for "
                             f"device {device!r}, got {len(archs)}")
        host = [host_latency(a) for a in archs]
        _require_spread(latencies, f"uploaded for device {device!r}")
        _require_spread(host, "this worker measured for the uploaded architectures")
        srcc = device_srcc(host, latencies)
        report = DeviceReport(device, len(archs), srcc, False, None, float(min(latencies)))
        self.predictors.pop(device, None)
        if HOST not in self.predictors:
            report.note = self._no_host_model_note(device, srcc)
        elif srcc < ADAPT_BELOW_SRCC:
            self.predictors[device] = adapt_predictor(self.predictors[HOST], archs, latencies,
                                                      device=device)
            report.adapted = True
            report.srcc_adapted = self._cross_validated_srcc(archs, latencies)
        else:
            self.predictors[device] = scale_predictor(self.predictors[HOST], archs, latencies,
                                                      device=device)
            report.scale = self.predictors[device].chosen["scale"]
        self.devices[device] = report
        return report

    def _no_host_model_note(self, device: str, srcc: float) -> str:
        action = "adapting the host model" if srcc < ADAPT_BELOW_SRCC else "scaling the host model"
        return (f"no host latency model yet ({len(self.measured)} of {MIN_SAMPLES} candidates "
                f"measured), so {action} to {device} was not possible: no latency budget on "
                f"{device} until you upload its latencies again once the host model exists")

    def _cross_validated_srcc(self, archs: Sequence[Arch], latencies: Sequence[float]) -> float:
        host = self.predictors[HOST]
        return _cross_validated(archs, latencies, lambda a, y: adapt_predictor(host, a, y))

    # -- reporting and checkpoints -------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """What the UI shows: budget, how good the host model is, other devices."""
        srcc = self.host_srcc()
        return {"budget_ms": self.budget_ms, "budget_device": self.budget_device,
                "measured": len(self.measured),
                "predictor_srcc": None if srcc is None or math.isnan(srcc) else srcc,
                "devices": {k: v.to_dict() for k, v in self.devices.items()}}

    def state_dict(self) -> dict[str, Any]:
        return {"measured": [[self.space.to_string(a), v] for a, v in self.measured.items()],
                "predictors": {k: p.to_dict() for k, p in self.predictors.items()},
                "devices": {k: v.to_dict() for k, v in self.devices.items()},
                "budget_ms": self.budget_ms, "budget_device": self.budget_device,
                "host_srcc": self._host_srcc}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._host_srcc = state["host_srcc"]
        self.measured = {self.space.from_string(s): v for s, v in state["measured"]}
        self.predictors = {k: LatencyPredictor.from_dict(p, self.space)
                           for k, p in state["predictors"].items()}
        self.devices = {k: DeviceReport(**v) for k, v in state["devices"].items()}
        self.budget_ms, self.budget_device = state["budget_ms"], state["budget_device"]


def _require_spread(latencies: Sequence[float], what: str) -> None:
    """Equal latencies have no ranking: their SRCC would be NaN, meaningless and not JSON."""
    if float(np.ptp(np.asarray(latencies, dtype=float))) == 0:
        raise ValueError(f"the {len(latencies)} latencies {what} are all equal "
                         f"({float(latencies[0]):.3g} ms): ranks cannot be compared; upload "
                         f"latencies of architectures that differ in speed")


def _cross_validated(archs: Sequence[Arch], latencies: Sequence[float],
                     fit: Callable[[list[Arch], np.ndarray], LatencyPredictor],
                     folds: int = 5) -> float:
    """Spearman of predictions made by models that never saw the predicted samples."""
    y = np.asarray(latencies, dtype=float)
    predicted = np.empty_like(y)
    fold_of = np.arange(len(archs)) % folds
    for fold in range(folds):
        test = fold_of == fold
        if not test.any():
            continue
        model = fit([a for a, t in zip(archs, test) if not t], y[~test])
        predicted[test] = model.predict([a for a, t in zip(archs, test) if t])
    return float(rank_correlation(predicted, y))
