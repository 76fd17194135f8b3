"""Single-path supernet training (SPOS) that obeys the analyst's steering.

Each step samples path(s) from the shared :class:`SteeringState`, re-read every
step so that a prune or lock applied between steps takes effect at once, with the
sampler ``TrainConfig.sampler`` names (one function each, registered in :mod:`supernet.samplers`):

- ``uniform``: every allowed op of a choice point equally likely (SPOS);
- ``weighted``: the per-choice-point sampling weights of the steering state;
- ``fair``: FairNAS strict fairness. With ``m`` the largest number of allowed ops
  of any choice point, ``m`` paths are drawn per step so that every allowed op of
  every choice point is trained exactly once per step (choice points with fewer
  ops are padded with random allowed ops); gradients of the ``m`` paths are
  averaged into one optimizer step.

The learning rate follows a cosine from ``lr`` to 0 over the planned epochs; a
fine-tune after edits starts a fresh, shorter cosine from ``lr * finetune_lr_factor``.
All random sources (data order, path sampling, torch) are seeded and saved in
checkpoints, so a resumed run continues with identical losses.
"""

from __future__ import annotations

import importlib
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from supernet.configs import TrainConfig, check_epochs, device_name_problem
from supernet.data import Dataset
from supernet.distill import distillation_loss, largest_path
from supernet.fewshot import FewShotSupernet
from supernet.model import Supernet
from supernet.progress import TrainProgress
from supernet.samplers import sample_paths
from supernet.space import Arch
from supernet.steering import SteeringState
from supernet.task_metrics import loss_and_metric_sums, task_loss


def device_problem(name: str) -> str | None:
    """Why ``name`` is no device of this machine (text starting "must"), or None."""
    problem = device_name_problem(name)
    if problem is not None or name in ("auto", "cpu"):
        return problem
    if not torch.cuda.is_available():
        return "must be 'auto' or 'cpu': no CUDA device is available on this machine"
    return None


def check_device(config: TrainConfig) -> None:
    """Refuse a ``train.device`` this machine lacks, naming the setting: asked by the engine
    on the worker that will train, not when the config is validated (the web may have no
    GPU where the workers do)."""
    problem = device_problem(config.device)
    if problem is not None:
        raise ValueError(f"train.device {problem}, got {config.device!r}")


def resolve_device(name: str) -> torch.device:
    problem = device_problem(name)
    if problem is not None:
        raise ValueError(f"device {problem}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    def __init__(self, supernet: Supernet, data: Dataset, steering: SteeringState,
                 config: TrainConfig, callback: Callable[[TrainProgress], None] | None = None
                 ) -> None:
        self.supernet = supernet
        self.data = data
        self.steering = steering
        self.config = config
        self.callback = callback
        self.device = resolve_device(config.device)
        self.supernet.to(self.device)
        self.x_train = data.x_train.to(self.device)
        self.y_train = data.y_train.to(self.device)
        self.optimizer = torch.optim.SGD(
            supernet.parameters(), lr=config.lr, momentum=config.momentum,
            weight_decay=config.weight_decay, nesterov=config.nesterov and config.momentum > 0,
        )
        self.amp_dtype: torch.dtype | None = None
        if self.device.type == "cuda" and config.amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        # fp16 (GPUs without bf16) needs loss scaling, or small gradients flush to zero
        self.scaler = torch.amp.GradScaler(self.device.type,
                                           enabled=self.amp_dtype == torch.float16)
        self.task = data.task
        self.rng = np.random.default_rng(config.seed)
        self.steps_per_epoch = math.ceil(len(self.y_train) / config.batch_size)
        self.epochs = config.epochs
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.schedule = {"start": 0, "length": self.epochs * self.steps_per_epoch,
                         "base_lr": config.lr}
        self._order: np.ndarray | None = None
        self._epoch_loss = 0.0
        self._epoch_correct = 0.0  # accuracy x samples, summed over the epoch's steps
        self._epoch_seen = 0

    @property
    def done(self) -> bool:
        return self.epoch >= self.epochs

    def current_lr(self) -> float:
        """Cosine over the schedule; the first ``warmup_epochs`` of the first schedule ramp
        up linearly (a fresh supernet's shared weights diverge under a full lr at once)."""
        s = self.schedule
        step = max(self.global_step - s["start"], 0)
        t = min(step / max(s["length"], 1), 1.0)
        lr = s["base_lr"] * 0.5 * (1.0 + math.cos(math.pi * t))
        warmup = self.config.warmup_epochs * self.steps_per_epoch
        if s["start"] == 0 and step < warmup:
            lr *= (step + 1) / warmup
        return lr

    def _autocast(self) -> Any:
        if self.amp_dtype is None:
            return torch.autocast("cpu", enabled=False)
        return torch.autocast("cuda", dtype=self.amp_dtype)

    def train_step(self) -> TrainProgress:
        """One optimizer step on the next minibatch; advances the epoch when it ends."""
        started = time.perf_counter()
        if self._order is None:
            self._order = self.rng.permutation(len(self.y_train))
        bs = self.config.batch_size
        batch = self._order[self.step_in_epoch * bs:(self.step_in_epoch + 1) * bs]
        if isinstance(self.supernet, FewShotSupernet):
            self.supernet.split_if_due(self.global_step)
        paths = sample_paths(self.steering, self.config.sampler, self.rng)
        rows, share, paths = self._partition(batch, paths)
        idx = torch.from_numpy(rows).to(self.device)
        x, y = self.x_train[idx], self.y_train[idx]
        self.supernet.train()
        self.optimizer.zero_grad(set_to_none=True)
        teacher_logits, trained = self._teach(x, y, share, len(paths))
        total_loss, correct = 0.0, 0.0  # correct: the summed metric (relative L2 for a field)
        for path in paths:
            with self._autocast():
                logits = self.supernet(x, path)
                if self.task.kind == "classification":
                    loss = distillation_loss(logits.float(), y, teacher_logits,
                                             self.config.distill_weight,
                                             self.config.distill_temperature)
                else:
                    loss = task_loss(self.task, logits.float(), y)
                loss = loss * share / len(paths)
            self.scaler.scale(loss).backward()
            total_loss += loss.item()
            correct += loss_and_metric_sums(self.task, logits.detach().float(), y)[1]
        total_loss, correct, n = self._synchronise(paths + trained, total_loss, correct, len(y))
        self.scaler.unscale_(self.optimizer)
        if self.config.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.supernet.parameters(), self.config.grad_clip)
        lr = self.current_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return self._advance(total_loss, correct / (max(n, 1) * len(paths)), n,
                             time.perf_counter() - started, lr)

    def _teach(self, x: torch.Tensor, y: torch.Tensor, share: float, n_paths: int
               ) -> tuple[torch.Tensor | None, list[Arch]]:
        """In-place distillation (:mod:`supernet.distill`): the teacher path learns from the
        labels, weighted like one sampled path, and its detached logits are returned; with
        ``distill_weight`` 0 nothing runs."""
        if self.config.distill_weight == 0:
            return None, []
        teacher = largest_path(self.supernet, self.steering)
        with self._autocast():
            logits = self.supernet(x, teacher)
            loss = task_loss(self.task, logits.float(), y) * share / n_paths
        self.scaler.scale(loss).backward()
        return logits.detach().float(), [teacher]

    # Hooks for data-parallel training (supernet/distributed.py); one process: the identity.
    def _partition(self, batch: np.ndarray, paths: list[Arch]
                   ) -> tuple[np.ndarray, float, list[Arch]]:
        """This process's rows of the step's batch, their share of it, and the step's paths."""
        return batch, 1.0, paths

    def _synchronise(self, paths: list[Arch], loss: float, correct: float,
                     n: int) -> tuple[float, float, int]:
        """Combine gradients and step statistics of all processes (after backward)."""
        return loss, correct, n

    def _advance(self, loss: float, accuracy: float, n: int, seconds: float,
                 lr: float) -> TrainProgress:
        self.global_step += 1
        self.step_in_epoch += 1
        self._epoch_loss += loss * n
        self._epoch_correct += accuracy * n
        self._epoch_seen += n
        progress = TrainProgress(
            epoch=self.epoch, epochs=self.epochs, step=self.step_in_epoch,
            steps_per_epoch=self.steps_per_epoch, loss=loss, accuracy=accuracy,
            samples_per_s=n / max(seconds, 1e-9),
            eta_s=seconds * self.steps_remaining(), lr=lr,
        )
        if self.step_in_epoch >= self.steps_per_epoch:
            self.epoch += 1
            self.step_in_epoch = 0
            self._order = None
        if self.callback is not None:
            self.callback(progress)
        return progress

    def steps_remaining(self) -> int:
        return max(self.epochs * self.steps_per_epoch - self.global_step_in_plan(), 0)

    def global_step_in_plan(self) -> int:
        return self.epoch * self.steps_per_epoch + self.step_in_epoch

    def train_steps(self, n: int) -> list[float]:
        """Up to ``n`` steps (fewer when the planned epochs end); returns their losses."""
        losses = []
        for _ in range(n):
            if self.done:
                break
            losses.append(self.train_step().loss)
        return losses

    def train_epoch(self) -> dict[str, float]:
        """Finish the current epoch; returns its mean loss and accuracy."""
        target = self.epoch + 1
        while self.epoch < target:
            self.train_step()
        stats = {"epoch": self.epoch, "loss": self._epoch_loss / max(self._epoch_seen, 1),
                 "accuracy": self._epoch_correct / max(self._epoch_seen, 1)}
        self._epoch_loss, self._epoch_correct, self._epoch_seen = 0.0, 0.0, 0
        return stats

    def extend(self, epochs: int) -> None:
        """Plan ``epochs`` more epochs (fine-tuning) with a fresh cosine from a lower lr."""
        epochs = check_epochs(epochs, "fine-tune epochs")
        start_epoch = self.epoch if self.step_in_epoch == 0 else self.epoch + 1
        self.epochs = start_epoch + epochs
        self.schedule = {"start": self.global_step, "length": epochs * self.steps_per_epoch,
                         "base_lr": self.config.lr * self.config.finetune_lr_factor}

    def finetune(self, epochs: int) -> list[dict[str, float]]:
        self.extend(epochs)
        return [self.train_epoch() for _ in range(epochs) if not self.done]

    # -- checkpoints -----------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "supernet": self.supernet.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "config": self.config.to_dict(),
            "steering": self.steering.to_dict(),
            "numpy_rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "counters": {"epoch": self.epoch, "epochs": self.epochs,
                         "step_in_epoch": self.step_in_epoch, "global_step": self.global_step},
            "schedule": dict(self.schedule),
            "order": None if self._order is None else self._order.tolist(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.supernet.load_state_dict(state["supernet"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):  # empty when saved without fp16 loss scaling
            self.scaler.load_state_dict(state["scaler"])
        self.steering.assign(SteeringState.from_dict(state["steering"], self.steering.space))
        self.load_progress(state)

    def load_progress(self, state: dict[str, Any]) -> None:
        """Where training stands (epoch, schedule, data order, random state), from a state dict.

        Apart from weights and optimizer, so that a supernet rebuilt on an edited template
        goes on from the same point of its schedule.
        """
        self.rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"].cpu())  # map_location may have moved it
        c = state["counters"]
        self.epoch, self.epochs = c["epoch"], c["epochs"]
        self.step_in_epoch, self.global_step = c["step_in_epoch"], c["global_step"]
        self.schedule = dict(state["schedule"])
        self._order = None if state["order"] is None else np.asarray(state["order"])

    def save_checkpoint(self, path: str | Path) -> Path:
        return save_atomic(self.state_dict(), path)


_CHECKPOINT_GLOBALS: list[Any] = [
    np.dtype, np.dtypes.Float64DType, np.dtypes.Float32DType, np.dtypes.Int64DType,
    np.dtypes.Int32DType, np.dtypes.BoolDType,
    importlib.import_module("numpy._core.multiarray").scalar,  # private: what pickles name
]
"""What a checkpoint may hold beyond tensors and plain containers: numpy scalars (a fitted
statistic that was never cast to ``float``). Each rebuilds a number, none runs code."""


def read_checkpoint(path: str | Path, what: str, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """A checkpoint written by :func:`save_atomic`, loaded with ``weights_only=True``: a
    crafted file cannot run code (plain ``torch.load`` unpickles anything). The error names
    the file, never what it holds."""
    try:
        with torch.serialization.safe_globals(_CHECKPOINT_GLOBALS):
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling reports many kinds of error
        raise ValueError(f"cannot read {what} checkpoint {path}: it is missing, damaged or not "
                         f"a checkpoint NAS Navigator wrote ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a {what} checkpoint")
    return state


def save_atomic(obj: Any, path: str | Path) -> Path:
    """Write to a temporary file and rename, so a crash never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path
