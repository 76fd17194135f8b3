from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from supernet.configs import TrainConfig
from supernet.data import Dataset, load_dataset
from supernet.model import Supernet
from supernet.samplers import sample_paths
from supernet.space import SearchSpace
from supernet.steering import SteeringState
from supernet.train import Trainer, TrainProgress, read_checkpoint


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", limit=400)


def make_trainer(space: SearchSpace, data: Dataset, **overrides) -> Trainer:
    torch.manual_seed(0)
    net = Supernet(space, data.in_channels, data.num_classes, data.image_size)
    config = TrainConfig(**({"epochs": 3, "batch_size": 32, "device": "cpu"} | overrides))
    return Trainer(net, data, SteeringState(space), config)


def test_loss_decreases_on_digits(micro_space: SearchSpace) -> None:
    data = load_dataset("digits")
    trainer = make_trainer(micro_space, data, epochs=4, lr=0.1, batch_size=64)
    stats = [trainer.train_epoch() for _ in range(4)]
    assert stats[-1]["loss"] < stats[0]["loss"] - 0.3
    assert trainer.done


def test_resume_from_checkpoint_gives_identical_losses(micro_space: SearchSpace, digits: Dataset,
                                                       tmp_path: Path) -> None:
    trainer = make_trainer(micro_space, digits)
    trainer.steering.prune("1<-0", "avg_pool_3x3")
    trainer.train_steps(5)  # mid-epoch on purpose
    trainer.save_checkpoint(tmp_path / "ck.pt")
    expected = trainer.train_steps(12)

    other = make_trainer(micro_space, digits, seed=123)  # different seed, overwritten by the load
    other.load_state_dict(read_checkpoint(tmp_path / "ck.pt", "trainer", other.device))
    assert other.steering.to_dict() == trainer.steering.to_dict()
    assert other.train_steps(12) == expected


def test_sampling_obeys_steering_changed_between_steps(micro_space: SearchSpace,
                                                       digits: Dataset) -> None:
    seen: list[tuple] = []
    trainer = make_trainer(micro_space, digits)
    original = trainer.supernet.forward

    def spy(x: torch.Tensor, arch: tuple) -> torch.Tensor:
        seen.append(tuple(arch))
        return original(x, arch)

    trainer.supernet.forward = spy  # type: ignore[method-assign]
    trainer.train_steps(3)
    trainer.steering.prune("2<-1", "nor_conv_3x3")
    trainer.steering.lock("1<-0", "avg_pool_3x3")
    seen.clear()
    trainer.train_steps(10)
    assert seen and all(a[2] != "nor_conv_3x3" and a[0] == "avg_pool_3x3" for a in seen)


def test_fair_sampling_uses_every_allowed_op_once_per_step(nb201_space: SearchSpace) -> None:
    steering = SteeringState(nb201_space)
    steering.prune("1<-0", "none")
    steering.lock("3<-2", "skip_connect")
    paths = sample_paths(steering, "fair", np.random.default_rng(0))
    assert len(paths) == 5
    for k, cp in enumerate(nb201_space):
        column = [p[k] for p in paths]
        assert set(column) == set(steering.allowed(cp.name))
        if len(steering.allowed(cp.name)) == 5:
            assert sorted(column) == sorted(cp.candidates)


def test_samplers_come_from_a_registry(nb201_space: SearchSpace,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import supernet.samplers as samplers

    assert samplers.sampler_names() == ("uniform", "weighted", "fair")
    with pytest.raises(ValueError, match=r"one of \['uniform', 'weighted', 'fair'\], got 'greedy'"):
        sample_paths(SteeringState(nb201_space), "greedy", np.random.default_rng(0))
    monkeypatch.setattr(samplers, "_SAMPLERS", dict(samplers._SAMPLERS))

    @samplers.register_sampler("first")
    def first(steering: SteeringState, rng: np.random.Generator) -> list[tuple[str, ...]]:
        return [tuple(steering.allowed(cp.name)[0] for cp in steering.space)]

    assert TrainConfig(sampler="first").sampler == "first"
    assert sample_paths(SteeringState(nb201_space), "first", np.random.default_rng(0)) == [
        tuple(cp.candidates[0] for cp in nb201_space)]
    with pytest.raises(ValueError, match="already registered"):
        samplers.register_sampler("first")(first)


def test_progress_callback_and_finetune(micro_space: SearchSpace, digits: Dataset) -> None:
    reports: list[TrainProgress] = []
    trainer = make_trainer(micro_space, digits, epochs=1)
    trainer.callback = reports.append
    trainer.train_epoch()
    assert trainer.done and len(reports) == trainer.steps_per_epoch
    assert reports[-1].step == reports[-1].steps_per_epoch and reports[-1].eta_s == 0
    base_lr = trainer.config.lr
    trainer.extend(2)
    assert not trainer.done and trainer.current_lr() == pytest.approx(base_lr * 0.2)
    trainer.train_epoch()
    trainer.train_epoch()
    assert trainer.epoch == 3 and trainer.done
    trainer.finetune(1)
    assert trainer.epoch == 4 and trainer.done


@pytest.mark.gpu
def test_cuda_checkpoint_with_amp_resumes(micro_space: SearchSpace, digits: Dataset,
                                          tmp_path: Path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    trainer = make_trainer(micro_space, digits, device="cuda", amp=True)
    trainer.train_steps(3)
    trainer.save_checkpoint(tmp_path / "ck.pt")  # holds a CPU torch RNG state next to CUDA tensors
    expected = trainer.train_steps(4)
    other = make_trainer(micro_space, digits, device="cuda", amp=True)
    other.load_state_dict(read_checkpoint(tmp_path / "ck.pt", "trainer", other.device))
    assert other.train_steps(4) == pytest.approx(expected, rel=1e-2)  # cuDNN may reorder sums


@pytest.mark.parametrize(("field", "value", "message"), [
    ("epochs", 0, "positive integer"), ("lr", -1.0, ">= 0"), ("sampler", "greedy", "sampler"),
    ("device", "tpu", "device"), ("batch_size", 2.5, "positive integer"),
    ("seed", "0", "train.seed"), ("amp", "yes", "true or false"),
])
def test_bad_config_is_rejected(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


CHILD = """
import sys, torch
from supernet.data import load_dataset
from supernet.model import Supernet
from supernet.space import SearchSpace, CellTemplate
from supernet.steering import SteeringState
from supernet.configs import TrainConfig
from supernet.train import Trainer, read_checkpoint
ops = ("skip_connect", "nor_conv_3x3", "avg_pool_3x3")
space = SearchSpace(CellTemplate(n_nodes=3, edges={"1<-0": ops, "2<-0": ops, "2<-1": ops},
                                 C=4, cells_per_stage=1, n_stages=2))
torch.manual_seed(0)
data = load_dataset("digits", limit=400)
net = Supernet(space, 1, 10, 8)
trainer = Trainer(net, data, SteeringState(space), TrainConfig(epochs=1000, batch_size=32, device="cpu"))
if len(sys.argv) > 2:
    trainer.load_state_dict(read_checkpoint(sys.argv[1], "trainer"))
    print(" ".join(repr(l) for l in trainer.train_steps(int(sys.argv[2]))), flush=True)
    raise SystemExit
while True:
    trainer.train_steps(3)
    trainer.save_checkpoint(sys.argv[1])
    print("saved", trainer.global_step, flush=True)
"""


@pytest.mark.slow
def test_kill_9_then_resume_continues_identically(tmp_path: Path) -> None:
    ck = tmp_path / "ck.pt"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2]),
                        "OMP_NUM_THREADS": "1"}  # tiny nets: one thread is fastest
    proc = subprocess.Popen([sys.executable, str(script), str(ck)], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        for _ in range(3):
            assert proc.stdout is not None and proc.stdout.readline().startswith("saved")
        time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    saved = torch.load(ck, weights_only=False)  # never half-written: rename is atomic
    first = subprocess.run([sys.executable, str(script), str(ck), "6"], capture_output=True,
                           text=True, env=env, check=True).stdout
    second = subprocess.run([sys.executable, str(script), str(ck), "6"], capture_output=True,
                            text=True, env=env, check=True).stdout
    assert saved["counters"]["global_step"] >= 9
    assert first == second and len(first.split()) == 6
