"""Weight-sharing overhead: one supernet training step on a sampled path versus the
same step on the exported stand-alone module of that architecture.

Both models start from the same weights and train on the same fixed minibatch
(``tiny``: digits-shaped 1 x 8 x 8; ``nb201``: CIFAR-shaped 3 x 32 x 32; 10 classes)
with the trainer's optimizer settings (SGD, momentum, weight decay,
``zero_grad(set_to_none=True)``, ``model.train()`` every step); the supernet's
optimizer holds every candidate's parameters, as in real training. Steps of the
two models alternate, in alternating order, so that machine noise hits both
alike; the figure is the median over ``--repeats`` steps after a warm-up. Torch
runs single-threaded by default (``--threads``): on a shared CPU, thread
contention would swamp the small difference being measured. A ratio near 1
means the supernet only pays for the path it runs.

Prints human-readable lines, then exactly one JSON object as the last line:
``{"ratio", "supernet_ms", "standalone_ms", "device", "preset", ...}``.

    python -m benchmarks.overhead --json [--device cpu|cuda] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from supernet.export import build_standalone
from supernet.model import Supernet
from supernet.space import SearchSpace

TARGET_RATIO = 1.15
NUM_CLASSES = 10
INPUT_SHAPES = {"tiny": (1, 8), "nb201": (3, 32)}
"""(channels, image size) each preset is benchmarked on: the data it is meant for."""


def _step_fn(model: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor],
             x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """One training step as the trainer does it, on a fixed batch."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4,
                          nesterov=True)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(forward(x), y).backward()
        opt.step()

    return step


def _timed(step: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - started) * 1000.0


def measure(preset: str = "tiny", device: str = "cpu", repeats: int = 100, warmup: int = 10,
            batch_size: int = 64, seed: int = 0, threads: int = 1) -> dict:
    """Median ms per training step of the supernet path and of its stand-alone twin."""
    if repeats < 1 or warmup < 0 or batch_size < 1:
        raise ValueError("repeats and batch_size must be positive and warmup non-negative")
    dev = torch.device(device)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    space = SearchSpace.from_preset(preset)
    arch = space.random_arch(np.random.default_rng(seed))
    channels, size = INPUT_SHAPES[preset]
    supernet = Supernet(space, channels, NUM_CLASSES, size)
    standalone = build_standalone(space, arch, channels, NUM_CLASSES, size,
                                  supernet=supernet)
    supernet.to(dev)
    standalone.to(dev)
    x = torch.randn(batch_size, channels, size, size, device=dev)
    y = torch.randint(0, NUM_CLASSES, (batch_size,), device=dev)
    steps = {
        "supernet": _step_fn(supernet, lambda inp: supernet(inp, arch), x, y),
        "standalone": _step_fn(standalone, standalone, x, y),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for i in range(warmup + repeats):
        for name in names if i % 2 == 0 else names[::-1]:
            ms = _timed(steps[name], dev)
            if i >= warmup:
                times[name].append(ms)
    supernet_ms = statistics.median(times["supernet"])
    standalone_ms = statistics.median(times["standalone"])
    return {
        "ratio": supernet_ms / standalone_ms,
        "supernet_ms": supernet_ms,
        "standalone_ms": standalone_ms,
        "device": str(dev),
        "preset": preset,
        "arch": space.to_string(arch),
        "batch_size": batch_size,
        "repeats": repeats,
        "threads": threads,
        "supernet_params": sum(p.numel() for p in supernet.parameters()),
        "path_params": supernet.params(arch),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object (always printed; kept for the Makefile)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=100, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps per model first")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--preset", default="tiny", choices=sorted(INPUT_SHAPES))
    parser.add_argument("--seed", type=int, default=0, help="picks the sampled architecture")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op CPU threads")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but no CUDA device is available")
    report = measure(args.preset, args.device, args.repeats, args.warmup, args.batch_size,
                     args.seed, args.threads)
    print(f"preset {report['preset']} on {report['device']} ({report['threads']} thread(s)), "
          f"batch {report['batch_size']}, arch {report['arch']}")
    print(f"supernet path : {report['supernet_ms']:.3f} ms/step "
          f"({report['supernet_params']:,} params held, {report['path_params']:,} on the path)")
    print(f"stand-alone   : {report['standalone_ms']:.3f} ms/step")
    verdict = "ok" if report["ratio"] <= TARGET_RATIO else "OVER TARGET"
    print(f"ratio {report['ratio']:.3f} (target <= {TARGET_RATIO}): {verdict}")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
