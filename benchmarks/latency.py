"""Latency predictor quality and cost: is the linear one-hot predictor a faithful and
cheap stand-in for measuring real inference latency?

Procedure, per preset (``tiny`` on digits-shaped 1 x 8 x 8 inputs, and ``nb201`` on
CIFAR-shaped 3 x 32 x 32 inputs unless ``--quick``):

1. draw ``--n`` distinct random architectures (seeded);
2. measure each stand-alone network's real batch-1 inference latency on the CPU with
   ``supernet.hardware.meter.LatencyMeter`` (median of ``--repeats`` after ``--warmup``, in
   interleaved rounds over all networks so that load changes hit all alike), with
   the time each measurement cost (building the network and all its passes);
3. fit ``LatencyPredictor`` on the first 2/3 and report Spearman's rho on the held-out
   1/3 (``spearman``), with the Spearman of the parameter count as the trivial proxy
   to beat (``params_spearman``) and the median absolute error in ms; as the
   held-out third is small (7 architectures with ``--quick``), also the Spearman of
   leave-one-out predictions over all ``n`` (``loo_spearman``), which is steadier;
4. time ``predict`` on one architecture at a time (median) against the median
   measurement time per architecture: ``speedup`` is how many predictions one
   measurement costs.

Torch runs single-threaded by default (``--threads``): on a shared CPU, thread
contention adds noise larger than the differences between cells.

Prints human-readable lines, then exactly one JSON object as the last line:
``{"spearman", "speedup", "presets": {preset: {...}}, "quick", "device", ...}`` where the
top-level ``spearman`` and ``speedup`` are the worst over the presets.

    python -m benchmarks.latency --json [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from supernet.export import build_standalone
from supernet.hardware import LatencyPredictor, rank_correlation
from supernet.hardware.meter import LatencyMeter
from supernet.space import Arch, SearchSpace

TARGET_SPEARMAN = 0.9
NUM_CLASSES = 10
INPUT_SHAPES = {"tiny": (1, 8), "nb201": (3, 32)}
"""(channels, image size) each preset is measured on: the data it is meant for."""


def distinct_archs(space: SearchSpace, n: int, rng: np.random.Generator) -> list[Arch]:
    """``n`` different random architectures (the space must hold at least ``n``)."""
    if n > space.size():
        raise ValueError(f"asked for {n} architectures from a space of {space.size()}")
    seen: dict[Arch, None] = {}
    while len(seen) < n:
        seen.setdefault(space.random_arch(rng))
    return list(seen)


def _measure(meter: LatencyMeter, archs: Sequence[Arch]) -> tuple[np.ndarray, list[float]]:
    """Latency (ms) of each architecture and the seconds each measurement cost.

    The meter times its networks in interleaved rounds, so the cost of one
    architecture is its own share: building it plus every pass it ran.
    """
    latencies = np.asarray(meter.measure_many(archs))
    return latencies, [meter.cost_s[(a, 1)] for a in archs]


def _predict_seconds(predictor: LatencyPredictor, archs: Sequence[Arch]) -> list[float]:
    seconds = []
    for arch in archs:
        started = time.perf_counter()
        predictor.predict([arch])
        seconds.append(time.perf_counter() - started)
    return seconds


def loo_spearman(space: SearchSpace, archs: Sequence[Arch], latencies: np.ndarray) -> float:
    """Spearman of leave-one-out predictions over all measurements: with 20 archs the
    1/3 held out is only 7 points, whose rank correlation swings by +-0.3 run to run."""
    predictions = [
        LatencyPredictor(space).fit([a for j, a in enumerate(archs) if j != i],
                                    np.delete(latencies, i)).predict([archs[i]])[0]
        for i in range(len(archs))
    ]
    return rank_correlation(predictions, latencies)


def _params(space: SearchSpace, arch: Arch, channels: int, size: int) -> int:
    model = build_standalone(space, arch, channels, NUM_CLASSES, size)
    return sum(p.numel() for p in model.parameters())


def measure_preset(preset: str, n: int, device: str = "cpu", warmup: int = 3,
                   repeats: int = 10, seed: int = 0) -> dict[str, Any]:
    """Held-out rank quality and prediction speed-up of the predictor on one preset."""
    if n < 6:
        raise ValueError(f"n must be at least 6 (fit on 2/3, test on 1/3), got {n}")
    space = SearchSpace.from_preset(preset)
    channels, size = INPUT_SHAPES[preset]
    archs = distinct_archs(space, n, np.random.default_rng(seed))
    meter = LatencyMeter(space, channels, size, NUM_CLASSES, device=device, warmup=warmup,
                         repeats=repeats, seed=seed)
    latencies, measure_s = _measure(meter, archs)
    n_fit = 2 * n // 3
    predictor = LatencyPredictor(space, device=device).fit(archs[:n_fit], latencies[:n_fit])
    held_out, truth = archs[n_fit:], latencies[n_fit:]
    predict_s = _predict_seconds(predictor, held_out)
    params = [_params(space, a, channels, size) for a in held_out]
    return {
        "spearman": predictor.spearman(held_out, truth),
        "loo_spearman": loo_spearman(space, archs, latencies),
        "params_spearman": rank_correlation(params, truth),
        "median_abs_error_ms": float(np.median(np.abs(predictor.predict(held_out) - truth))),
        "median_latency_ms": float(np.median(latencies)),
        "measure_ms_per_arch": statistics.median(measure_s) * 1000.0,
        "predict_ms_per_arch": statistics.median(predict_s) * 1000.0,
        "speedup": statistics.median(measure_s) / statistics.median(predict_s),
        "n": n, "n_fit": n_fit, "n_test": n - n_fit,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object (always printed; kept for the Makefile)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny preset only, 20 architectures (default n becomes 20)")
    parser.add_argument("--n", type=int, default=None,
                        help="architectures per preset (default 60, 20 with --quick)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--warmup", type=int, default=3, help="untimed passes per measurement")
    parser.add_argument("--repeats", type=int, default=10, help="timed passes per measurement")
    parser.add_argument("--seed", type=int, default=0, help="picks the architectures")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op CPU threads")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but no CUDA device is available")
    torch.set_num_threads(args.threads)
    n = args.n or (20 if args.quick else 60)
    presets = ["tiny"] if args.quick else ["tiny", "nb201"]
    started = time.perf_counter()
    results = {}
    for preset in presets:
        r = measure_preset(preset, n, args.device, args.warmup, args.repeats, args.seed)
        results[preset] = r
        print(f"{preset}: {r['n']} archs on {args.device}, median latency "
              f"{r['median_latency_ms']:.3f} ms; held-out Spearman {r['spearman']:.3f} "
              f"(leave-one-out over all {r['loo_spearman']:.3f}, params proxy "
              f"{r['params_spearman']:.3f}), median error "
              f"{r['median_abs_error_ms']:.3f} ms")
        print(f"{preset}: measuring {r['measure_ms_per_arch']:.2f} ms/arch, predicting "
              f"{r['predict_ms_per_arch'] * 1000:.1f} us/arch: {r['speedup']:,.0f}x faster")
    report = {
        "spearman": min(r["spearman"] for r in results.values()),
        "speedup": min(r["speedup"] for r in results.values()),
        "presets": results, "quick": args.quick, "device": args.device,
        "threads": args.threads, "warmup": args.warmup, "repeats": args.repeats,
        "seed": args.seed, "seconds": time.perf_counter() - started,
    }
    verdict = "ok" if report["spearman"] >= TARGET_SPEARMAN else "BELOW TARGET"
    print(f"worst held-out Spearman {report['spearman']:.3f} "
          f"(target >= {TARGET_SPEARMAN}): {verdict}")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
