"""Candidate evaluation throughput: architectures scored per second.

Both paths score the same architectures of the same supernet (tiny preset, digits,
one short training epoch so BN statistics and logits are realistic) with the same
BN recalibration batches:

- ``archs_per_s``: :class:`supernet.evaluate.Evaluator` (validation tensors
  preloaded on the device, ``inference_mode``, large batches);
- ``baseline_archs_per_s``: the naive way, each validation image sent to the device
  and scored on its own under ``no_grad``.

The two must report the same accuracies (checked: ``agree``), so the ratio
measures speed only. Prints human lines, then one JSON object as the last line:
``{"archs_per_s", "baseline_archs_per_s", "ratio", ...}``.

    python -m benchmarks.eval_throughput --json [--archs 20] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from supernet.configs import EvalConfig, TrainConfig
from supernet.data import Dataset, load_dataset
from supernet.evaluate import Evaluator
from supernet.model import Supernet
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.train import Trainer, resolve_device


@torch.no_grad()
def naive_evaluate(evaluator: Evaluator, data: Dataset, archs: Sequence[Arch]
                   ) -> list[tuple[float, float]]:
    """Per-architecture, per-image scoring: the baseline the evaluator is compared with."""
    supernet = evaluator.supernet
    device = next(supernet.parameters()).device
    n = len(evaluator.y_val)
    results = []
    for arch in archs:
        evaluator.recalibrate(arch)
        correct, loss = 0, 0.0
        for i in range(n):
            x = data.x_val[i:i + 1].to(device)
            y = data.y_val[i:i + 1].to(device)
            logits = supernet(x, arch).float()
            loss += nn.functional.cross_entropy(logits, y).item()
            correct += int(logits.argmax(1).item() == y.item())
        results.append((correct / n, loss / n))
    supernet.train()
    return results


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(n_archs: int, device_name: str, seed: int) -> dict:
    device = resolve_device(device_name)
    torch.manual_seed(seed)
    space = SearchSpace.from_preset("tiny")
    data = load_dataset("digits", seed=seed)
    supernet = Supernet(space, data.in_channels, data.num_classes, data.image_size)
    trainer = Trainer(supernet, data, SteeringState(space),
                      TrainConfig(epochs=1, seed=seed, device=device_name))
    trainer.train_epoch()
    rng = np.random.default_rng(seed)
    archs = [space.from_index(int(i)) for i in rng.choice(space.size(), n_archs, replace=False)]
    evaluator = Evaluator(supernet, data, EvalConfig(), seed=seed)
    evaluator.evaluate(archs[:2])  # warm-up (allocator, kernels)

    _sync(device)
    start = time.perf_counter()
    fast = evaluator.evaluate(archs)
    _sync(device)
    fast_s = time.perf_counter() - start

    start = time.perf_counter()
    slow = naive_evaluate(evaluator, data, archs)
    _sync(device)
    slow_s = time.perf_counter() - start

    tolerance = 1.5 / len(evaluator.y_val)  # one image may flip on a near-tie in float32
    agree = all(abs(a[0] - b[0]) <= tolerance for a, b in zip(fast, slow))
    return {
        "archs_per_s": round(n_archs / fast_s, 2),
        "baseline_archs_per_s": round(n_archs / slow_s, 2),
        "ratio": round(slow_s / fast_s, 2),
        "agree": agree,
        "archs": n_archs,
        "val_images": len(evaluator.y_val),
        "bn_images": sum(len(b) for b in evaluator.bn_batches),
        "device": str(device),
        "threads": torch.get_num_threads(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true",
                        help="(kept for symmetry: the last line is always the JSON result)")
    parser.add_argument("--archs", type=int, default=20, help="architectures to score")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 avoids oversubscription on a shared 2-core box)")
    args = parser.parse_args(argv)
    if args.archs < 1 or args.threads < 1:
        parser.error("--archs and --threads must be positive integers")
    torch.set_num_threads(args.threads)
    try:
        result = run(args.archs, args.device, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"evaluator: {result['archs_per_s']:.1f} archs/s; naive per-image baseline: "
          f"{result['baseline_archs_per_s']:.2f} archs/s; ratio {result['ratio']:.1f}x on "
          f"{result['device']} ({result['val_images']} validation images, accuracies "
          f"{'agree' if result['agree'] else 'DISAGREE'})")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
