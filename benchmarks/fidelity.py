"""Estimator fidelity: does what the analyst steers by rank architectures like the truth?

Procedure (CPU size, stated in the output as ``recipe``): the NAS-Bench-201 cell space on a
reduced macro skeleton (``C`` = 16 channels, 1 cell per stage, 3 stages; ``--full-macro``:
5 cells per stage, the real NAS-Bench-201 network, for a GPU) is trained as a weight-sharing
supernet on the shared CIFAR-10 subset (8000 training images) for a fixed number of epochs
(``RECIPE["epochs"]``; a fixed step count, not a time limit, so a busy machine changes the
seconds but never the result; calibrated to about 10 minutes on an idle 2-core CPU and
reported as ``train_seconds``). Then ``--n`` (150) architectures drawn at random with a fixed
seed from the table's rows are scored: supernet accuracy and loss with inherited weights
after BatchNorm recalibration on the 2000 validation images, the zero-cost proxies of a
fresh network on one batch of 64 images, FLOPs and params. Kendall's tau-b and Spearman's
rho of each against the table's ``--column`` (any accuracy column; percent or fraction
detected) are reported, with ``default`` the rank ensemble the app uses as ``score``
(:data:`supernet.estimators.ENSEMBLE_MEMBERS`) and FLOPs the baseline it must beat.

Levers (``levers``: {lever: {"on": tau, "off": tau}}): training levers (few-shot split,
in-place distillation, lr warm-up) are each trained twice at a smaller budget
(``LEVER_EPOCHS``) from the same seed: the default recipe at that budget, and with the
lever flipped; evaluation levers (loss instead of accuracy, more BatchNorm recalibration
batches, the ensemble itself) are measured on the main supernet. ``--no-levers`` skips
the extra trainings.

Prints progress lines, then exactly one JSON object as the last line.

    python -m benchmarks.fidelity --json [--table PATH] [--column NAME] [--quick]
        [--device cpu|cuda] [--amp] [--full-macro] [--no-levers]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from supernet.configs import EvalConfig, TrainConfig
from supernet.data import Dataset, load_dataset
from supernet.estimators import (
    ENSEMBLE_MEMBERS,
    rank_ensemble,
    top_k_percentile,
)
from supernet.evaluate import Evaluator
from supernet.fewshot import fewshot_supernet
from supernet.model import Supernet
from supernet.proxies import ProxyScorer, proxy_batch, rank_correlations
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.tabular.table import BenchmarkTable
from supernet.templates.cell import CellTemplate
from supernet.train import Trainer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_TABLE = SHARED / "nb201_cifar.csv"
SHARED_NPZ = SHARED / "cifar10_subset.npz"
DEFAULT_COLUMN = "CIFAR10TestAccuracy200Epochs"
PROXY_SET: tuple[str, ...] = ("synflow", "naswot", "jacob_cov", "snip", "grad_norm")


@dataclass(frozen=True)
class Setup:
    """One benchmark size: the macro skeleton, the budget and how much is evaluated."""

    C: int
    cells_per_stage: int
    epochs: int
    lever_epochs: int
    n: int
    data_limit: int | None
    train: dict[str, Any]
    image_size: int = 32
    """Images are average-pooled down to this size (16: a 4x cheaper step, as NAS-Bench-201's
    ImageNet16 is; its rankings agree closely with CIFAR's)."""


RECIPE: dict[str, Any] = {"batch_size": 128, "lr": 0.1, "warmup_epochs": 2,
                          "fewshot_split": [], "fewshot_at": 0.5,
                          "distill_weight": 0.0, "sampler": "uniform"}
"""The default estimator recipe. Measured 2026-12-03 with ``--small`` (one seed, CIFAR-10
column, each lever flipped from the few-shot recipe): few-shot on edge 1<-0 at half the
budget lowered the supernet's tau (-0.01 on, 0.20 off), so it is off by default; warm-up
and distillation were measured only with few-shot on (README, Benchmarks)."""

FULL = Setup(C=16, cells_per_stage=1, epochs=40, lever_epochs=10, n=150, data_limit=None,
             train=RECIPE)
SMALL = Setup(C=8, cells_per_stage=1, epochs=40, lever_epochs=40, n=150, data_limit=None,
              train=RECIPE, image_size=16)
"""What a busy shared 2-core CPU can finish (``--small``): 8 channels, 16x16 images."""
QUICK = Setup(C=8, cells_per_stage=1, epochs=6, lever_epochs=3, n=40, data_limit=3000,
              train=RECIPE | {"warmup_epochs": 1})

TRAIN_LEVERS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "fewshot": ({"fewshot_split": ["1<-0"]}, {"fewshot_split": []}),
    "distill": ({"distill_weight": 0.5}, {"distill_weight": 0.0}),
    "warmup": ({"warmup_epochs": 2}, {"warmup_epochs": 0}),
}
"""Training levers as (on, off) overrides of the recipe."""


def _tau(estimate: Sequence[float], truth: Sequence[float]) -> float | None:
    return rank_correlations({"x": estimate}, truth)["x"]["kendall"]


def downsampled(data: Dataset, size: int) -> Dataset:
    """``data`` with its images average-pooled to ``size`` (unchanged when already that size)."""
    factor = data.image_size // size
    if factor <= 1:
        return data
    pool = torch.nn.functional.avg_pool2d
    return replace(data, x_train=pool(data.x_train, factor), x_val=pool(data.x_val, factor),
                   x_test=pool(data.x_test, factor))


def train_supernet(space: SearchSpace, data: Dataset, train: dict[str, Any], epochs: int,
                   seed: int, device: str, amp: bool) -> tuple[Supernet, float]:
    torch.manual_seed(seed)
    config = TrainConfig(epochs=epochs, seed=seed, device=device, amp=amp, **train)
    net = fewshot_supernet(Supernet(space, data.in_channels, data.num_classes, data.image_size),
                           config, len(data.y_train))
    trainer = Trainer(net, data, SteeringState(space), config)
    started = time.perf_counter()
    while not trainer.done:
        stats = trainer.train_epoch()
    seconds = time.perf_counter() - started
    print(f"  trained {epochs} epochs {train} in {seconds:.0f} s: last epoch loss "
          f"{stats['loss']:.3f} accuracy {stats['accuracy']:.3f}", flush=True)
    return net, seconds


def supernet_scores(net: Supernet, data: Dataset, archs: Sequence[Arch], bn_batches: int,
                    seed: int) -> tuple[list[float], list[float]]:
    """(accuracy, negated loss) of each architecture with inherited weights."""
    evaluator = Evaluator(net, data, EvalConfig(bn_batches=bn_batches), seed=seed)
    results = evaluator.evaluate(archs)
    return [a for a, _ in results], [-lo for _, lo in results]


def proxy_scores(space: SearchSpace, data: Dataset, archs: Sequence[Arch], seed: int,
                 device: str) -> dict[str, list[float]]:
    scorer = ProxyScorer(space, data.in_channels, data.num_classes, PROXY_SET, seed=seed,
                         device=device)
    x, y = (t.to(device) for t in proxy_batch(data, 64, seed))
    rows = [scorer.score(arch, x, y) for arch in archs]
    return {name: [row[name] for row in rows] for name in PROXY_SET}


def run(setup: Setup, table: BenchmarkTable, data: Dataset, seed: int, device: str,
        amp: bool, levers: bool, supernet_only: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    space = SearchSpace(CellTemplate(C=setup.C, cells_per_stage=setup.cells_per_stage))
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(table), min(setup.n, len(table)), replace=False)
    archs = [space.from_string(table.archs[r]) for r in rows]
    truth = [table.lookup(table.archs[r]) for r in rows]
    percentile = [table.true_rank(table.archs[r])[1] for r in rows]
    print(f"{len(archs)} architectures of {table.source} column {table.dataset}; "
          f"supernet C={setup.C}, {setup.cells_per_stage} cell(s)/stage, {setup.epochs} epochs",
          flush=True)
    net, train_seconds = train_supernet(space, data, setup.train, setup.epochs, seed, device, amp)
    accuracy, neg_loss = supernet_scores(net, data, archs, 4, seed)
    scores: dict[str, list[float]] = {"supernet": accuracy, "supernet_loss": neg_loss}
    if not supernet_only:
        scores |= proxy_scores(space, data, archs, seed, device)
    scores["flops"] = [float(net.flops(a)) for a in archs]
    scores["params"] = [float(net.params(a)) for a in archs]
    scores["default"] = rank_ensemble(scores).tolist()
    scores["proxies_only"] = rank_ensemble(scores, [m for m in ENSEMBLE_MEMBERS
                                                    if m != "supernet"]).tolist()
    corr = rank_correlations(scores, truth)
    print(f"  supernet accuracies {min(accuracy):.3f}-{max(accuracy):.3f}", flush=True)
    lever_report: dict[str, dict[str, float | None]] = {
        "ensemble": {"on": corr["default"]["kendall"], "off": corr["supernet"]["kendall"]},
        "loss_instead_of_accuracy": {"on": corr["supernet_loss"]["kendall"],
                                     "off": corr["supernet"]["kendall"]},
    }
    if not supernet_only:
        more_bn, _ = supernet_scores(net, data, archs, 16, seed)
        lever_report["bn_batches_16_vs_4"] = {"on": _tau(more_bn, truth),
                                              "off": corr["supernet"]["kendall"]}
    lever_seconds: dict[str, float] = {}
    if levers:
        base_net, lever_seconds["base"] = train_supernet(space, data, setup.train,
                                                         setup.lever_epochs, seed, device, amp)
        base_tau = _tau(supernet_scores(base_net, data, archs, 4, seed)[0], truth)
        for name, (on, off) in TRAIN_LEVERS.items():
            is_on = all(setup.train.get(k) == v for k, v in on.items())
            flipped = setup.train | (off if is_on else on)
            lever_net, lever_seconds[name] = train_supernet(space, data, flipped,
                                                            setup.lever_epochs, seed, device, amp)
            tau = _tau(supernet_scores(lever_net, data, archs, 4, seed)[0], truth)
            lever_report[name] = {"on": base_tau if is_on else tau,
                                  "off": tau if is_on else base_tau}
    return {
        "n": len(archs), "column": table.dataset, "table": table.source,
        "train_seconds": round(train_seconds, 2),
        "kendall": {k: v["kendall"] for k, v in corr.items()},
        "spearman": {k: v["spearman"] for k, v in corr.items()},
        "top10_true_percentile": {k: top_k_percentile(scores[k], percentile)
                                  for k in ("supernet", "default", "flops")},
        "levers": lever_report,
        "lever_train_seconds": {k: round(v, 1) for k, v in lever_seconds.items()},
        "supernet_accuracy_range": [min(accuracy), max(accuracy)],
        "recipe": {"C": setup.C, "cells_per_stage": setup.cells_per_stage, "n_stages": 3,
                   "image_size": data.image_size,
                   "epochs": setup.epochs, "lever_epochs": setup.lever_epochs,
                   "train_images": len(data.y_train), "val_images": len(data.y_val),
                   "ensemble": list(ENSEMBLE_MEMBERS), **setup.train},
        "device": device, "amp": amp, "threads": torch.get_num_threads(), "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fidelity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="end with one JSON object (always)")
    parser.add_argument("--table", type=Path, default=SHARED_TABLE)
    parser.add_argument("--column", default=DEFAULT_COLUMN, help="the table's accuracy column")
    parser.add_argument("--data", type=Path, default=SHARED_NPZ, help="the CIFAR-10 subset .npz")
    parser.add_argument("--quick", action="store_true", help="a few-minute configuration")
    parser.add_argument("--small", action="store_true",
                        help="C=8 on 16x16 images, 40 epochs: about 12x cheaper than the default")
    parser.add_argument("--n", type=int, help="architectures to evaluate")
    parser.add_argument("--epochs", type=int, help="supernet epochs (default: the setup's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    parser.add_argument("--full-macro", action="store_true",
                        help="5 cells per stage: the real NAS-Bench-201 network (GPU)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--no-levers", action="store_true", help="skip the lever trainings")
    parser.add_argument("--recipe", type=json.loads, default={},
                        help='JSON object of TrainConfig overrides, e.g. \'{"distill_weight": 0.5}\'')
    parser.add_argument("--supernet-only", action="store_true",
                        help="score the supernet only (no proxies, no extra BN batches): one "
                             "lever's run on its own")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but no CUDA device is available")
    setup = QUICK if args.quick else SMALL if args.small else FULL
    if args.full_macro:
        setup = replace(setup, cells_per_stage=5)
    if args.n is not None:
        setup = replace(setup, n=args.n)
    if args.recipe:
        setup = replace(setup, train=setup.train | args.recipe)
    if args.epochs is not None:
        setup = replace(setup, epochs=args.epochs, lever_epochs=max(1, args.epochs // 4))
    try:
        table = BenchmarkTable.from_csv(args.table, args.column)
        if not args.data.is_file():
            raise ValueError(f"{args.data}: the CIFAR-10 subset is missing")
        data = downsampled(load_dataset(f"npz:{args.data}", seed=args.seed,
                                        limit=setup.data_limit), setup.image_size)
    except ValueError as exc:
        parser.error(str(exc))
    torch.set_num_threads(args.threads)
    report = run(setup, table, data, args.seed, args.device, args.amp and args.device == "cuda",
                 not args.no_levers, args.supernet_only)
    for name, tau in report["kendall"].items():
        print(f"  kendall {name:14s} {tau}")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
