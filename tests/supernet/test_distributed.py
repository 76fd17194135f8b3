"""Data-parallel supernet training (supernet/distributed.py) on CPU: gloo, 2 processes.

One spawn of 2 ranks runs every scenario (process start-up dominates the runtime) and
saves what each rank ended with; the single-process references run in the test process.
Setup: the tiny cell space, 96 digits training images, global batch 19: five steps whose
batch splits 10/9 over the ranks, then a sixth, one-row batch (rank 1 borrows the row
with share 0).

Tolerance: ``atol = 1e-5`` (absolute, weights up to ~1.1 in magnitude, lr 0.1). The
synchronised run differs from one process only by float32 rounding (per-rank partial sums,
the synchronised BatchNorm's two-pass statistics instead of the native kernel). Measured
(torch 2.13 CPU): at most 1.2e-6 over steps 1-5 on weights and running statistics, 2.8e-6 on
the weights after step 6, growing by a few 1e-7 per step. Every broken variant (no gradient
averaging, per-rank BatchNorm statistics) is off by 3e-2 or more from the first step on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp

from supernet.configs import TrainConfig
from supernet.data import Dataset, load_dataset
from supernet.distributed import (
    DistributedContext,
    DistributedTrainer,
    SyncedBatchNorm2d,
    synchronise_batchnorm,
)
from supernet.model import Supernet
from supernet.space import SearchSpace
from supernet.steering import SteeringState
from supernet.train import Trainer

WORLD = 2
LIMIT = 150  # digits images -> 96 training rows
BATCH = 19  # 96 = 5 * 19 + 1: uneven 10/9 shards, then a one-row batch
STEPS = 6
ATOL = 1e-5
BROKEN = 1e-2  # every broken variant differs from one process by more than this

SCENARIOS: dict[str, dict[str, Any]] = {
    "synced": {},
    "fair": {"sampler": "fair"},
    "no_grad_sync": {"sync_gradients": False},
    "local_bn": {"sync_batchnorm": False},
    # rank 1 starts from other weights and another sampler seed: rank 0's broadcasts win
    "drifted": {"rank1_seed": 123},
}


def _config(sampler: str = "uniform", seed: int = 0) -> TrainConfig:
    return TrainConfig(epochs=2, batch_size=BATCH, lr=0.1, sampler=sampler, seed=seed,
                       device="cpu")


def _supernet(data: Dataset, seed: int) -> Supernet:
    torch.manual_seed(seed)
    return Supernet(SearchSpace.from_preset("tiny"), data.in_channels, data.num_classes,
                    data.image_size)


def _snapshot(net: Supernet) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _worker(rank: int, port: int, out: str) -> None:
    """One rank: every scenario, STEPS steps each; saves states, paths and losses."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank))
    context = DistributedContext.from_env("cpu", timeout_s=60)
    data = load_dataset("digits", limit=LIMIT)
    results: dict[str, Any] = {}
    for name, scenario in SCENARIOS.items():
        seed = scenario.get("rank1_seed", 0) if rank == 1 else 0
        net = _supernet(data, seed)
        options = {k: v for k, v in scenario.items() if k.startswith("sync_")}
        trainer = DistributedTrainer(net, data, SteeringState(net.space),
                                     _config(scenario.get("sampler", "uniform"), seed),
                                     context=context, **options)
        paths, losses, states = [], [], []
        for _ in range(STEPS):
            losses.append(trainer.train_step().loss)
            paths.append(trainer.last_paths)
            states.append(_snapshot(net))
        results[name] = {"paths": paths, "losses": losses, "states": states,
                         "synced_batchnorms": trainer.synced_batchnorms}
    torch.save(results, Path(out) / f"rank{rank}.pt")
    context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", limit=LIMIT)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


@pytest.fixture(scope="module")
def reference(digits: Dataset) -> dict[str, dict[str, Any]]:
    """One process, whole global batch, same seeds: uniform and fair sampler."""
    runs = {}
    for sampler in ("uniform", "fair"):
        net = _supernet(digits, 0)
        trainer = Trainer(net, digits, SteeringState(net.space), _config(sampler))
        losses, states = [], []
        for _ in range(STEPS):
            losses.append(trainer.train_step().loss)
            states.append(_snapshot(net))
        runs[sampler] = {"losses": losses, "states": states}
    return runs


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor],
              params_only: Any = None) -> float:
    keys = [k for k in a if params_only is None or k in params_only]
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in keys)


def _param_names(digits: Dataset) -> set[str]:
    return {k for k, _ in _supernet(digits, 0).named_parameters()}


@pytest.mark.parametrize("scenario,sampler", [("synced", "uniform"), ("fair", "fair"),
                                              ("drifted", "uniform")])
def test_ddp_step_equals_single_process_on_global_batch(
        ranks: list[dict[str, Any]], reference: dict[str, dict[str, Any]], digits: Dataset,
        scenario: str, sampler: str) -> None:
    ref = reference[sampler]
    params = _param_names(digits)
    for rank in ranks:
        run = rank[scenario]
        assert run["synced_batchnorms"] > 0
        # steps 1-5 (10/9 shards): weights and BatchNorm running statistics
        for step in range(STEPS - 1):
            assert _max_diff(run["states"][step], ref["states"][step]) < ATOL, step
        # step 6, one row: rank 1 borrows it with share 0, so weights still match; the
        # borrowed copy doubles the row count behind the running variance's n/(n-1)
        assert _max_diff(run["states"][-1], ref["states"][-1], params) < ATOL
        assert run["losses"] == pytest.approx(ref["losses"], abs=1e-5)


def test_every_rank_trains_the_same_architecture(
        ranks: list[dict[str, Any]], reference: dict[str, dict[str, Any]]) -> None:
    for scenario in SCENARIOS:
        assert ranks[0][scenario]["paths"] == ranks[1][scenario]["paths"], scenario
    # 'drifted': rank 1's own sampler (seed 123) would draw other paths; rank 0's are trained
    assert ranks[1]["drifted"]["paths"] == ranks[0]["synced"]["paths"]
    assert len({p for step in ranks[0]["synced"]["paths"] for p in step}) > 1
    assert all(len(step) == 5 for step in ranks[0]["fair"]["paths"])  # tiny: 5 ops per edge


def test_negative_controls_differ(ranks: list[dict[str, Any]],
                                  reference: dict[str, dict[str, Any]]) -> None:
    """Without gradient averaging, or with per-rank BatchNorm statistics, weights differ:
    the equality above is not an accident of the setup."""
    ref = reference["uniform"]["states"][STEPS - 2]
    for scenario in ("no_grad_sync", "local_bn"):
        assert _max_diff(ranks[0][scenario]["states"][STEPS - 2], ref) > BROKEN, scenario
    # unsynchronised gradients: the ranks also drift apart from each other
    assert _max_diff(ranks[0]["no_grad_sync"]["states"][-1],
                     ranks[1]["no_grad_sync"]["states"][-1]) > BROKEN


def test_single_process_context_and_errors(digits: Dataset,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    context = DistributedContext.from_env("cpu")
    assert (context.world_size, context.rank, context.is_main, context.distributed) == (
        1, 0, True, False)
    context.close()  # no-op
    net = _supernet(digits, 0)
    with pytest.raises(ValueError, match="torchrun"):
        DistributedTrainer(net, digits, SteeringState(net.space), _config(), context=context)
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="RANK.*not set"):
        DistributedContext.from_env("cpu")


def test_synchronised_batchnorm_is_plain_batchnorm_in_one_process(digits: Dataset) -> None:
    """Class switch keeps modules, state-dict keys and (without a process group) outputs."""
    a, b = _supernet(digits, 0), _supernet(digits, 0)
    keys = list(b.state_dict())
    n = synchronise_batchnorm(b)
    assert n > 0 and sum(isinstance(m, SyncedBatchNorm2d) for m in b.modules()) == n
    assert list(b.state_dict()) == keys
    x, arch = digits.x_train[:16], b.space.from_index(7)
    a.train(), b.train()
    torch.testing.assert_close(a(x, arch), b(x, arch))


@pytest.mark.slow
def test_torchrun_cli_search_trains_on_two_ranks_and_only_rank_0_reports(
        tmp_path: Path) -> None:
    torchrun = Path(sys.executable).parent / "torchrun"
    cmd = [str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "supernet.cli", "search",
           "--preset", "tiny", "--dataset", "digits", "--data-limit", "120", "--epochs", "1",
           "--batch-size", "16", "--population", "2", "--generations", "0", "--device", "cpu",
           "--top", "2", "--out", str(tmp_path / "best")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("data-parallel: 2 ranks") == 1, proc.stdout
    assert proc.stdout.count("Top 2 of 2 evaluated candidates") == 1, proc.stdout
    assert (tmp_path / "best" / "model.py").exists()
