"""Data-parallel supernet training with ``torch.distributed`` (launched with ``torchrun``).

One search whose supernet steps are too slow for one GPU runs as ``W`` processes (ranks),
each holding a full copy of the supernet and of the dataset; every step each rank trains
the step's path(s) on its shard of the global batch and the ranks combine gradients, so
that the step equals one single-process step on the whole global batch:

- **Same path on every rank.** SPOS trains one path per step (``fair``: a few). All ranks
  draw paths and data order from identically seeded generators anyway, but rank 0's draw
  is broadcast every step and is the one trained (one small collective), so a rank whose
  generator or steering state drifted still trains the same path on the right rows
  instead of silently training a different subnet.
- **Gradients: one manual all-reduce, not ``DistributedDataParallel``.** Only the path's
  parameters get gradients. DDP would need ``find_unused_parameters=True`` (a walk of the
  autograd graph every step), all-reduces its fixed buckets of *all* parameters, the
  unused ones included (the whole supernet instead of one path of it), expects one
  forward per backward (``fair`` runs several) and wraps the module (``module.`` state-dict
  keys, a second object for the trainer, evaluator and export to know about). Instead,
  after backward the gradients of the step's paths are packed into one flat buffer with
  a has-gradient flag per tensor and the step's loss / correct / sample counts, and summed
  with a single ``all_reduce``. Each rank scales its loss by its share ``n_rank / n_global``,
  so the sum is exactly the gradient of the global-batch mean loss even when the batch
  does not split evenly; a tensor no rank touched keeps ``grad=None``, as in one process
  (SGD then leaves it alone: no weight decay, no momentum step), so steps match the
  single-process trainer including which weights move.
- **BatchNorm: synchronised by default.** Local batch statistics (plain DDP) normalise
  each shard by its own mean and variance: a different function from the single-process
  step (ghost batch norm), so weights could not match. ``torch.nn.SyncBatchNorm`` only runs
  on GPUs, so :func:`synchronise_batchnorm` switches the supernet's BatchNorm layers (in place, by
  class, so the module tree, the optimizer's parameters, the evaluator's caches and the
  state-dict keys stay as they are) to :class:`SyncedBatchNorm2d`, which sums per-channel
  sums and squared deviations over ranks with differentiable all-reduces on any backend
  (gloo on CPU, NCCL on GPU). It costs two small collectives per BatchNorm layer in the
  forward pass and two in backward; ``sync_batchnorm=False`` keeps per-rank statistics
  (cheaper, the usual DDP behaviour, no longer equal to one process). Running statistics
  are then identical on every rank.
- Ranks start from rank 0's weights and buffers (broadcast once). Only rank 0 evaluates,
  prints and saves (the caller's job, see ``supernet.cli``); meanwhile the other ranks wait
  at their next collective.

When the last batch of an epoch has fewer rows than there are ranks, a rank without a
row runs one of the others' rows with share 0: it contributes no gradient and no
statistics, but its row enters the synchronised BatchNorm statistics once more (for a
one-row batch the normalisation is unchanged, only the running variance's ``n/(n-1)``
correction differs; the evaluator re-estimates running statistics per candidate anyway).
Dropout masks (chain templates' dense heads) are drawn per rank, so with dropout a step
equals one process in distribution, not bit for bit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from supernet.configs import TrainConfig
from supernet.data import Dataset
from supernet.model import Supernet
from supernet.space import Arch
from supernet.steering import SteeringState
from supernet.train import Trainer, TrainProgress, resolve_device

_TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a data-parallel run; ``world_size == 1``: no run at all."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # None: single process, no process group
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that evaluates, prints and saves."""
        return self.rank == 0

    @classmethod
    def single(cls, device: str = "auto") -> DistributedContext:
        """The no-op context of an ordinary one-process run."""
        return cls(device=resolve_device(device))

    @classmethod
    def from_env(cls, device: str = "auto", timeout_s: float = 1800.0) -> DistributedContext:
        """The context ``torchrun`` describes in the environment; joins the process group.

        ``WORLD_SIZE`` missing or 1 gives :meth:`single`. ``device`` ``auto`` or ``cuda``
        means this rank's GPU ``cuda:LOCAL_RANK`` with NCCL when CUDA is available, otherwise
        the CPU with gloo; an explicit ``cuda:N`` is refused (each rank owns one GPU).
        """
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls.single(device)
        missing = [name for name in _TORCHRUN_ENV if name not in os.environ]
        if missing:
            raise ValueError(f"WORLD_SIZE={world_size} but {', '.join(missing)} not set: "
                             "launch with torchrun --nproc_per_node N")
        rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
        if device.startswith("cuda:"):
            raise ValueError(f"device {device!r}: under torchrun each rank uses cuda:LOCAL_RANK; "
                             "pass --device cuda (or auto) and pick GPUs with "
                             "CUDA_VISIBLE_DEVICES")
        use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        if use_cuda:
            if local_rank >= torch.cuda.device_count():
                raise ValueError(f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} "
                                 "CUDA device(s) visible")
            torch.cuda.set_device(local_rank)  # NCCL object collectives use the current device
            backend, dev = "nccl", torch.device("cuda", local_rank)
        elif device in ("auto", "cpu"):
            backend, dev = "gloo", torch.device("cpu")
        else:
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
        if not dist.is_initialized():
            dist.init_process_group(backend, rank=rank, world_size=world_size,
                                    timeout=timedelta(seconds=timeout_s))
        return cls(rank=rank, world_size=world_size, local_rank=local_rank, backend=backend,
                   device=dev)

    def close(self) -> None:
        """Leave the process group (a no-op for a single process)."""
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


# -- synchronised BatchNorm (any backend) ---------------------------------------------
_SYNC = threading.local()  # per thread: an embedded worker may run other searches beside


class _SumOverRanks(torch.autograd.Function):
    """``all_reduce(SUM)`` that autograd can see through: the gradient of a sum over ranks
    is the sum over ranks of the gradients (every rank's loss depends on every rank's
    input). ``torch.distributed.nn.functional.all_reduce`` does the same but is deprecated
    in favour of a private module."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(tensor)
        return tensor

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return _SumOverRanks.apply(grad)


def differentiable_all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    return _SumOverRanks.apply(tensor)


@contextmanager
def batchnorm_sync() -> Iterator[None]:
    """Within this block (this thread), synchronised BatchNorm layers reduce over ranks."""
    previous = getattr(_SYNC, "active", False)
    _SYNC.active = True
    try:
        yield
    finally:
        _SYNC.active = previous


class _SyncedBatchNormMixin:
    """Training-mode BatchNorm over the union of all ranks' batches.

    Two-pass statistics (sum, then sum of squared deviations from the global mean) in
    float32, each summed over ranks with an all-reduce whose backward all-reduces the
    gradient, so autograd gives the exact gradient of the global-batch normalisation.
    It synchronises only inside :func:`batchnorm_sync` (a :class:`DistributedTrainer`
    step), where every rank runs the same layers in the same order; elsewhere, e.g. the
    evaluator's BatchNorm recalibration that only rank 0 runs, it is plain BatchNorm, as
    it is in eval mode: a collective on one rank alone would wait forever.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        bn: Any = self
        if not (bn.training and getattr(_SYNC, "active", False) and dist.is_initialized()
                and dist.get_world_size() > 1):
            return super().forward(input)  # type: ignore[misc]
        bn._check_input_dim(input)
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        x = input.float()
        local_count = x.new_tensor([x.numel() / max(x.size(1), 1)])
        summed = differentiable_all_reduce(torch.cat([x.sum(dims), local_count]))
        count = summed[-1].detach()
        mean = summed[:-1] / count
        centred = x - mean.view(shape)
        var = differentiable_all_reduce((centred * centred).sum(dims)) / count
        y = centred * torch.rsqrt(var + bn.eps).view(shape)
        if bn.weight is not None:
            y = y * bn.weight.view(shape) + bn.bias.view(shape)
        if bn.track_running_stats and bn.running_mean is not None:
            with torch.no_grad():
                bn.num_batches_tracked.add_(1)
                factor = (1.0 / float(bn.num_batches_tracked) if bn.momentum is None
                          else bn.momentum)
                unbiased = var * (count / torch.clamp(count - 1, min=1))
                bn.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                bn.running_var.mul_(1 - factor).add_(unbiased.detach(), alpha=factor)
        return y.to(input.dtype)


class SyncedBatchNorm1d(_SyncedBatchNormMixin, nn.BatchNorm1d):
    pass


class SyncedBatchNorm2d(_SyncedBatchNormMixin, nn.BatchNorm2d):
    pass


class SyncedBatchNorm3d(_SyncedBatchNormMixin, nn.BatchNorm3d):
    pass


_SYNCED: dict[type, type] = {nn.BatchNorm1d: SyncedBatchNorm1d,
                             nn.BatchNorm2d: SyncedBatchNorm2d,
                             nn.BatchNorm3d: SyncedBatchNorm3d}


def synchronise_batchnorm(module: nn.Module) -> int:
    """Switch every BatchNorm layer of ``module`` to its synchronised class, in place.

    Changing the class instead of replacing the layer keeps the very same module objects
    (weights, buffers, optimizer references, cached module lists such as the supernet's
    ``_all_modules``) and the state-dict keys. Returns how many layers were switched.
    """
    switched = 0
    for m in module.modules():
        synced = _SYNCED.get(type(m))
        if synced is not None:
            m.__class__ = synced
            switched += 1
    return switched


# -- the trainer ----------------------------------------------------------------------
def _unique_parameters(supernet: Supernet, paths: list[Arch]) -> Iterator[nn.Parameter]:
    seen: set[int] = set()
    for path in paths:
        for p in supernet.path_parameters(path):
            if id(p) not in seen:
                seen.add(id(p))
                yield p


def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Copy ``src``'s parameters and buffers to every rank (one collective per tensor)."""
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=src)


class DistributedTrainer(Trainer):
    """:class:`~supernet.train.Trainer` whose steps are split over the ranks of ``context``.

    Every rank constructs it with the same arguments (same config, seed and data) and calls
    the same methods in the same order; see the module docstring for what is synchronised
    and why. ``sync_gradients=False`` skips the gradient all-reduce: each rank then steps on
    its own shard's gradients, the broken setup the tests use as a negative control.
    """

    def __init__(self, supernet: Supernet, data: Dataset, steering: SteeringState,
                 config: TrainConfig, callback: Callable[[TrainProgress], None] | None = None,
                 *, context: DistributedContext, sync_batchnorm: bool = True,
                 sync_gradients: bool = True) -> None:
        if not context.distributed or not dist.is_initialized():
            raise ValueError("DistributedTrainer needs a joined process group with more than "
                             "one rank: DistributedContext.from_env() under torchrun")
        super().__init__(supernet, data, steering, config, callback)
        self.context = context
        self.sync_gradients = sync_gradients
        self.synced_batchnorms = synchronise_batchnorm(supernet) if sync_batchnorm else 0
        self.last_paths: list[Arch] = []
        self._named_parameters = list(supernet.named_parameters())  # a walk costs ms per step
        self._has_rows = True
        broadcast_module(supernet)

    def train_step(self) -> TrainProgress:
        with batchnorm_sync():
            return super().train_step()

    def _partition(self, batch: np.ndarray, paths: list[Arch]
                   ) -> tuple[np.ndarray, float, list[Arch]]:
        """Rank 0's batch and paths for everyone; this rank's contiguous slice of the batch."""
        shared: list[Any] = [[int(i) for i in batch], [list(p) for p in paths]]
        dist.broadcast_object_list(shared, src=0,
                                   device=self.device if self.device.type == "cuda" else None)
        batch = np.asarray(shared[0], dtype=np.int64)
        paths = [tuple(p) for p in shared[1]]
        self.last_paths = paths
        rows = np.array_split(batch, self.context.world_size)[self.context.rank]
        self._has_rows = len(rows) > 0
        if not self._has_rows:  # fewer rows than ranks: run a borrowed row that counts 0
            return batch[self.context.rank % len(batch):][:1], 0.0, paths
        return rows, len(rows) / len(batch), paths

    def _synchronise(self, paths: list[Arch], loss: float, correct: float,
                     n: int) -> tuple[float, float, int]:
        """Sum path gradients (with has-gradient flags) and step statistics in one all-reduce."""
        if not self._has_rows:
            loss, correct, n = 0.0, 0.0, 0
        stats = torch.tensor([loss, float(correct), float(n)], device=self.device)
        params = list(_unique_parameters(self.supernet, paths)) if self.sync_gradients else []
        if self.sync_gradients:
            self._check_covered(params)
        if params:
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
            flags = torch.tensor([p.grad is not None for p in params], dtype=grads[0].dtype,
                                 device=self.device)
            flat = torch.cat([g.reshape(-1) for g in grads] + [flags, stats.to(grads[0].dtype)])
        else:
            flat = stats
        dist.all_reduce(flat)
        if params:
            offset = 0
            for p, flag in zip(params, flat[-3 - len(params):-3].tolist()):
                chunk = flat[offset:offset + p.numel()].view_as(p)
                offset += p.numel()
                p.grad = chunk if flag > 0 else None  # views of one buffer: no copies
        total_loss, total_correct, total_n = flat[-3:].tolist()
        return total_loss, total_correct, int(round(total_n))


    def _check_covered(self, params: list[nn.Parameter]) -> None:
        """Every gradient must be among those all-reduced, or ranks would drift silently."""
        listed = {id(p) for p in params}
        stray = [name for name, p in self._named_parameters
                 if p.grad is not None and id(p) not in listed]
        if stray:  # the same on every rank (same paths), so all ranks stop here together
            raise RuntimeError(f"parameters {stray[:3]} got gradients but are not in the "
                               "supernet's path_parameters(); fix path_modules()")


def distribute_engine(engine: Any, context: DistributedContext, **options: Any) -> None:
    """Make a :class:`~supernet.engine.SearchEngine` train data-parallel (every rank calls it).

    Replaces ``engine.trainer`` by a :class:`DistributedTrainer` over the same supernet,
    data, steering, config and callback; the engine's config must already name this
    rank's device (``context.device``). ``options`` go to :class:`DistributedTrainer`.
    The optimizer state and the progress (epoch, schedule, data order, random state) carry
    over, so that an engine resumed from a checkpoint or rebuilt on an edited template
    (the web worker, ``navigator/ddp.py``) goes on where it stood instead of at epoch 0.
    """
    old = engine.trainer
    if old.device != context.device:
        raise ValueError(f"engine trains on {old.device} but this rank's device is "
                         f"{context.device}; set train.device to {str(context.device)!r}")
    state = old.state_dict()
    trainer = DistributedTrainer(engine.supernet, engine.data, engine.steering,
                                 old.config, old.callback, context=context, **options)
    trainer.optimizer.load_state_dict(state["optimizer"])
    if state.get("scaler"):
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.load_progress(state)
    engine.trainer = trainer
