"""Headless search from the command line: ``python -m supernet.cli search --preset tiny``.

The same loop the web worker runs (train an epoch, evaluate a generation), with
a progress bar and the leaderboard printed at the end. No web code involved.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from supernet.archlock.config import UNKNOWN_TARGET, ArchLockConfig
from supernet.baseline import compare_with_baseline
from supernet.configs import EngineConfig, EvalConfig, TrainConfig
from supernet.datasets import eval_defaults
from supernet.engine import SearchEngine
from supernet.export import export_model
from supernet.fewshot import inherited_net
from supernet.samplers import sampler_names
from supernet.search import SearchConfig, strategy_names
from supernet.space import PRESETS

if TYPE_CHECKING:
    from supernet.distributed import DistributedContext


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type for integers >= ``minimum``, so typos fail before any data loads."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny",
                        help="search space preset (default: tiny)")
    parser.add_argument("--template", type=Path, help="JSON template file instead of a preset")
    parser.add_argument("--dataset", default="digits",
                        help="digits | cifar10:<dir> | npz:<file> | folder:<dir> | aeon:<Name> "
                             "(a UCR/UEA set aeon ships, e.g. aeon:BasicMotions) | darcy[:<N>] "
                             "(Darcy flow fields) (default: digits)")
    parser.add_argument("--epochs", type=_count(1), default=10, help="supernet training epochs")
    parser.add_argument("--batch-size", type=_count(1), default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--sampler", choices=sampler_names(), default="uniform")
    parser.add_argument("--population", type=_count(1), default=20, help="candidates per generation")
    parser.add_argument("--generations", "--extra-generations", dest="extra_generations",
                        type=_count(0), default=5,
                        help="generations after training ends")
    parser.add_argument("--strategy", choices=strategy_names(), default="evolution")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    parser.add_argument("--data-limit", type=_count(20), help="use only the first N images")
    parser.add_argument("--top", type=_count(1), default=10, help="leaderboard size to print")
    parser.add_argument("--out", type=Path, help="export the best architecture into this folder")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip training the best found and the task's fixed baseline "
                             "stand-alone for --epochs to compare them")
    parser.add_argument("--fewshot-split", default="",
                        help="comma-separated choice points to split the supernet on (few-shot)")
    parser.add_argument("--distill-weight", type=float, default=0.0,
                        help="in-place distillation from the largest path, 0-1 (0: off)")
    parser.add_argument("--warmup-epochs", type=_count(0), default=0, help="linear lr warm-up")
    parser.add_argument("--mode", choices=["supernet", "tabular"], default="supernet",
                        help="tabular: look accuracies up in --table instead of training")
    parser.add_argument("--table", help="benchmark table CSV for --mode tabular")
    parser.add_argument("--column", default="cifar10", help="the table's accuracy column")
    parser.add_argument("--seeds", type=_count(1), default=1,
                        help="tabular: seeded searches to run and summarise")
    parser.add_argument("--lock-target", action="append", default=[], metavar="TARGET",
                        help="ArchLock: a task to degrade (tabular: another column; supernet: "
                             "a dataset spec scored by a zero-cost proxy; 'unknown': simulated "
                             "targets near the source); repeatable")
    parser.add_argument("--lock-tolerance", type=float, default=2.0,
                        help="ArchLock: source accuracy points a locked architecture may lose "
                             "against the best found (default: 2)")
    parser.add_argument("--lock-pick", choices=["lowest_target", "fitness"],
                        default="lowest_target", help="ArchLock: the architecture handed over")


def archlock_from_args(args: argparse.Namespace) -> ArchLockConfig | None:
    """The ArchLock objective the ``--lock-*`` flags ask for (None without a target)."""
    if not args.lock_target:
        return None
    return ArchLockConfig(targets=[t for t in args.lock_target if t != UNKNOWN_TARGET],
                          unknown_target=UNKNOWN_TARGET in args.lock_target,
                          tolerance=args.lock_tolerance, pick=args.lock_pick)


def config_from_args(args: argparse.Namespace) -> EngineConfig:
    template: str | dict = args.preset
    if args.template is not None:
        try:
            template = json.loads(args.template.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read template {args.template}: {exc}") from None
    return EngineConfig(
        template=template, dataset=args.dataset, seed=args.seed, data_limit=args.data_limit,
        train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          sampler=args.sampler, seed=args.seed, device=args.device,
                          fewshot_split=[n.strip() for n in args.fewshot_split.split(",") if n.strip()],
                          distill_weight=args.distill_weight, warmup_epochs=args.warmup_epochs),
        search=SearchConfig(strategy=args.strategy, population=args.population, seed=args.seed),
        eval=EvalConfig(**eval_defaults(args.dataset)), archlock=archlock_from_args(args),
    )


def run_search(args: argparse.Namespace) -> int:
    """Search; under ``torchrun`` with WORLD_SIZE > 1 the supernet trains data-parallel
    (supernet/distributed.py) and only rank 0 evaluates, prints and exports."""
    if args.mode == "tabular":
        return _tabular_search(args)
    context = None
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from supernet.distributed import DistributedContext  # torch.distributed only if used

        try:
            context = DistributedContext.from_env(args.device)
        except (ValueError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        return _search(args, context)
    finally:
        if context is not None:
            context.close()


def _search(args: argparse.Namespace, context: DistributedContext | None) -> int:
    main = context is None or context.is_main
    say: Callable[..., None] = print if main else (lambda *_, **__: None)
    try:
        config = config_from_args(args)
        if context is not None:
            config.train = replace(config.train, device=str(context.device))
        bar = tqdm(total=config.train.epochs, desc="supernet", unit="epoch", file=sys.stdout,
                   disable=not main)
        engine = SearchEngine(config)
        if context is not None:
            from supernet.distributed import distribute_engine

            distribute_engine(engine, context)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    say(f"space: {engine.space.size():,} architectures; data: {engine.data.summary()}; "
        f"device: {engine.device}")
    if context is not None:
        say(f"data-parallel: {context.world_size} ranks ({context.backend}), global batch "
            f"{config.train.batch_size}; rank 0 evaluates")
    while not engine.trainer.done:
        stats = engine.train_epoch()
        if not main:  # the other ranks only train; they wait for rank 0 at the next step
            continue
        engine.search_generation()
        best = engine.leaderboard(1)[0].accuracy if engine.archive else float("nan")
        bar.set_postfix(loss=f"{stats['loss']:.3f}", best=f"{best:.3f}")
        bar.update(1)
    bar.close()
    if not main:
        return 0
    for _ in tqdm(range(args.extra_generations), desc="search", unit="gen", file=sys.stdout):
        engine.search_generation()
    board = engine.leaderboard(args.top)
    task = engine.data.task
    print(f"\nTop {len(board)} of {len(engine.archive)} evaluated candidates by validation "
          f"{task.label()}:")
    print(f"{'rank':>4}  {task.metric:>11}  {'params':>9}  {'MFLOPs':>8}  architecture")
    for i, r in enumerate(board, start=1):
        params = "-" if r.params is None else f"{r.params:,}"  # a table may lack costs
        mflops = "-" if r.flops is None else f"{r.flops / 1e6:.2f}"
        print(f"{i:>4}  {r.accuracy:11.4f}  {params:>9}  {mflops:>8}  {r.arch}")
    if args.out and board:
        files, metrics = export_model(
            args.out, engine.space, engine.space.from_string(board[0].arch), engine.data,
            supernet=inherited_net(engine.supernet, engine.space.from_string(board[0].arch)),
            extra={"search": board[0].to_dict()})
        print(f"exported the best architecture to {files['model'].parent}: test {task.metric} "
              f"{metrics[f'test_{task.metric}']:.4f} loaded from the written files "
              f"(search estimate {board[0].accuracy:.4f})")
    if args.baseline and board:
        comparison = compare_with_baseline(engine.space, engine.space.from_string(board[0].arch),
                                           engine.data, config.train.epochs, config.seed,
                                           str(engine.device))
        print(f"baseline {comparison.baseline_arch}: {comparison.summary()}")
    return 0


def _tabular_search(args: argparse.Namespace) -> int:
    """``--seeds`` tabular searches of ``--generations`` generations; one summary."""
    from supernet.tabular.runs import run_seeds, summary, tabular_config
    from supernet.tabular.specs import open_table

    try:
        if not args.table:
            raise ValueError("--mode tabular needs --table PATH (a benchmark CSV)")
        config = tabular_config(args.table, args.column, args.population, args.strategy,
                                args.seed, archlock_from_args(args))
        table = open_table(args.table, args.column, config.space())
        results = run_seeds(config, table, args.seeds, max(args.extra_generations, 1))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = summary(results, table)
    for r in results:
        locked = "".join(f", target {name} {value:.4f}" for name, value in r.targets.items())
        print(f"seed {r.seed}: best {r.best_accuracy:.4f} (top {100 - r.best_percentile:.2f} % "
              f"of the table{locked}) after {r.evaluated} look-ups: {r.best_arch}")
    print(f"{report['seeds']} seeds on {args.column}: median best {report['median_best_accuracy']:.4f} "
          f"(percentile {report['median_best_percentile']:.2f}; table best "
          f"{report['table_best_accuracy']:.4f}), median {report['median_evaluated']} look-ups")
    print(json.dumps(report))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m supernet.cli",
                                     description="Headless one-shot NAS with a weight-sharing supernet.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_search_arguments(sub.add_parser("search", help="train a supernet and search it"))
    args = parser.parse_args(argv)
    return run_search(args)


if __name__ == "__main__":
    sys.exit(main())
