"""Measured latency (``supernet.hardware.meter``)."""

from __future__ import annotations

import math

import pytest
import torch

from supernet.hardware.meter import LatencyMeter
from supernet.space import SearchSpace


def test_latency_meter_measures_and_caches(micro_space: SearchSpace) -> None:
    meter = LatencyMeter(micro_space, in_channels=1, image_size=8, batch_size=4,
                         warmup=1, repeats=3)
    archs = [micro_space.from_index(i) for i in (0, 13, 26)]
    state = torch.get_rng_state()
    first = meter.measure_many(archs)
    assert meter.measurements == 3
    assert all(math.isfinite(ms) and ms > 0 for ms in first)
    assert meter.measure_many(archs) == first and meter.measurements == 3  # cached
    profile = meter.profile(archs[0])
    assert set(profile) == {1, 4} and profile[1] == first[0] and meter.measurements == 4
    assert set(meter.cached()) == {(a, 1) for a in archs} | {(archs[0], 4)}
    assert torch.equal(state, torch.get_rng_state())  # seeded without touching global RNG
    with pytest.raises(ValueError, match="batch"):
        meter.measure(archs[0], batch=0)
    with pytest.raises(ValueError, match="not a candidate"):
        meter.measure(("none", "none", "none"))


def test_latency_meter_refuses_missing_cuda(micro_space: SearchSpace) -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ValueError, match="no CUDA device"):
        LatencyMeter(micro_space, 1, 8, device="cuda")


@pytest.mark.gpu
def test_latency_meter_on_cuda(micro_space: SearchSpace) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    meter = LatencyMeter(micro_space, 1, 8, device="cuda", warmup=2, repeats=5)
    ms = meter.measure(micro_space.from_index(5), batch=8)
    assert math.isfinite(ms) and ms > 0
