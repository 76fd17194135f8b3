"""Measured latency: timing stand-alone subnets on the device they are meant for."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from supernet.export import build_standalone
from supernet.hardware.checks import positive_int
from supernet.space import Arch, SearchSpace
from supernet.tasks import IMAGE_CLASSIFICATION, Task


def _resolve_device(device: str | torch.device) -> torch.device:
    """Fail at construction, not on the first measurement, when CUDA is missing."""
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} requested but no CUDA device is available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"latency is measured on 'cpu' or 'cuda', got {str(dev)!r}")
    return dev


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
                 seed: int = 0, group_size: int = 64, task: Task = IMAGE_CLASSIFICATION) -> None:
        self.space = space
        self.task = task
        self.in_channels = positive_int("in_channels", in_channels)
        self.image_size = positive_int("image_size", image_size)
        self.num_classes = positive_int("num_classes", num_classes)
        self.batch_size = positive_int("batch_size", batch_size)
        self.warmup = positive_int("warmup", warmup, minimum=0)
        self.repeats = positive_int("repeats", repeats)
        self.group_size = positive_int("group_size", group_size)
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
                                     self.image_size, task=self.task)
        return model.to(self.device).eval()

    def _input(self, batch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed)
        spatial = (self.image_size,) * self.task.dims
        x = torch.randn(batch, self.in_channels, *spatial, generator=gen)
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
        positive_int("batch", batch)
        valid = [self.space.validate_arch(a) for a in archs]
        todo = list(dict.fromkeys(a for a in valid if (a, batch) not in self._cache))
        for start in range(0, len(todo), self.group_size):
            self._measure_group(todo[start:start + self.group_size], batch)
        return [self._cache[(a, batch)] for a in valid]

    def measure(self, arch: Sequence[str], batch: int = 1) -> float:
        """Median forward latency (ms) of one architecture at ``batch`` images, cached."""
        return self.measure_many([arch], batch)[0]

    def profile(self, arch: Sequence[str]) -> dict[int, float]:
        """Latency at batch 1 (interactive use) and at ``batch_size`` (throughput use)."""
        return {b: self.measure(arch, b) for b in dict.fromkeys((1, self.batch_size))}

    def cached(self) -> dict[tuple[Arch, int], float]:
        """A copy of every measurement so far, keyed by ``(arch, batch)``."""
        return dict(self._cache)
