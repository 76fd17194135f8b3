"""Exporting a chosen architecture: a JSON description, a stand-alone PyTorch
module holding only the chosen ops (weights copied from the supernet or fresh),
and a short stand-alone training run to report its real accuracy.

The written ``model.py`` embeds the source of the module that defines the template
kind's stand-alone class (``supernet/ops.py`` for cells, ``supernet/blocks.py`` for
chains), torch only, so the exported directory works without NAS Navigator installed.
:func:`export_model` makes it self-contained: the module applies the dataset's input
standardisation itself (it takes images as loaded, digits: pixel / 16), the weights carry
BatchNorm statistics estimated for this one network (the supernet's shared ones mix every
path and put a copied path at chance), and ``arch.json`` holds the metrics measured by
loading the written files back.
"""

from __future__ import annotations

import inspect
import json
import pprint
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from supernet.configs import check_epochs
from supernet.data import Dataset, iterate_batches
from supernet.model import Supernet
from supernet.space import SearchSpace
from supernet.task_metrics import metric_of, task_loss
from supernet.tasks import IMAGE_CLASSIFICATION, Task


def arch_to_json(space: SearchSpace, arch: Sequence[str], metrics: dict | None = None) -> dict:
    arch = space.validate_arch(arch)
    return {
        "arch": space.to_string(arch),
        "index": space.index(arch),
        "hash": space.arch_hash(arch),
        "ops": {cp.name: op for cp, op in zip(space, arch)},
        "template": space.to_dict(),
        "metrics": dict(metrics or {}),
    }


def standalone_kwargs(space: SearchSpace, arch: Sequence[str], in_channels: int,
                      num_classes: int, image_size: int, task: Task = IMAGE_CLASSIFICATION
                      ) -> dict[str, Any]:
    """The stand-alone class's JSON keyword arguments: the kind's, and the task's (dims, head,
    mask) where it is not image classification (older exports stay as they were)."""
    signal = in_channels - 1 if task.masked else in_channels
    kwargs = space.kind.standalone_config(space, tuple(arch), signal, num_classes, image_size)
    kwargs["in_channels"] = in_channels
    return kwargs if task == IMAGE_CLASSIFICATION else kwargs | task.network_kwargs()


def build_standalone(space: SearchSpace, arch: Sequence[str], in_channels: int,
                     num_classes: int, image_size: int, supernet: Supernet | None = None,
                     task: Task = IMAGE_CLASSIFICATION) -> nn.Module:
    """Only the chosen ops; with ``supernet`` given, every weight and BN buffer is copied."""
    if supernet is not None:
        task = supernet.task
    kwargs = standalone_kwargs(space, arch, in_channels, num_classes, image_size, task)
    model = space.kind.standalone_class()(**kwargs)
    if supernet is not None:
        if supernet.space != space or (supernet.in_channels, supernet.num_classes) != (
                in_channels, num_classes):
            raise ValueError(
                "the supernet was built for another search space or data shape "
                f"({supernet.in_channels} channels, {supernet.num_classes} classes); pass the "
                "space, in_channels and num_classes it was built with, or supernet=None"
            )
        source = supernet.state_dict()
        model.load_state_dict({k: source[k].detach().clone().cpu() for k in model.state_dict()})
    return model


_MODEL_FILE = '''"""Stand-alone network exported by NAS Navigator; needs only PyTorch.

Architecture: {arch}
Input: float32 {layout}, shape (N, {in_channels}, {shape}), scaled as the
training data was before standardisation ({note}). The module standardises them itself with
INPUT_MEAN / INPUT_STD, the per-channel statistics of the training split.
Load it with:  from model import load; net = load()  (eval mode; BatchNorm statistics
estimated for this network on training data before it was saved; metrics in arch.json)
"""

from __future__ import annotations
{ops_source}

ARCH_CONFIG = {config}
INPUT_MEAN = {mean}
INPUT_STD = {std}


class StandardisedInput(nn.Module):
    """The network behind the input standardisation it was trained with."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(INPUT_MEAN), persistent=False)
        self.register_buffer("std", torch.tensor(INPUT_STD), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)  # images (N, C, H, W) or series (N, C, L)
        return self.net((x - self.mean.view(shape)) / self.std.view(shape))


def load(weights: str | None = "weights.pt") -> StandardisedInput:
    import os

    net = {net_class}(**ARCH_CONFIG)
    if weights:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), weights)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return StandardisedInput(net).eval()
'''


@dataclass(frozen=True)
class InputScaling:
    """How the images a loaded export takes become what the network saw in training."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    note: str

    @classmethod
    def of(cls, data: Dataset) -> InputScaling:
        if not data.input_mean:
            raise ValueError(f"dataset {data.name!r} does not record its standardisation; load "
                             "it with supernet.data.load_dataset")
        note = ("digits: pixel / 16" if data.name == "digits" else "pixel / 255"
                if data.task == IMAGE_CLASSIFICATION else "as loaded")
        return cls(tuple(data.input_mean), tuple(data.input_std), note)

    @classmethod
    def identity(cls, channels: int) -> InputScaling:
        return cls((0.0,) * channels, (1.0,) * channels, "already standardised inputs")

    def to_dict(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "std": list(self.std), "scale": self.note}


def write_standalone(out_dir: str | Path, space: SearchSpace, arch: Sequence[str],
                     in_channels: int, num_classes: int, image_size: int,
                     supernet: Supernet | None = None, metrics: dict | None = None, *,
                     model: nn.Module | None = None, scaling: InputScaling | None = None,
                     extra: dict[str, Any] | None = None,
                     task: Task = IMAGE_CLASSIFICATION) -> dict[str, Path]:
    """Write ``model.py``, ``weights.pt`` and ``arch.json`` into ``out_dir``.

    ``model``: the stand-alone network whose weights to save (trained or recalibrated);
    without it they are copied from ``supernet`` (or fresh). ``scaling`` defaults to none,
    for inputs that are already standardised; :func:`export_model` passes the dataset's.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if model is None:
        model = build_standalone(space, arch, in_channels, num_classes, image_size, supernet, task)
    task = supernet.task if supernet is not None else task
    scaling = scaling or InputScaling.identity(in_channels)
    if len(scaling.mean) != in_channels or len(scaling.std) != in_channels:
        raise ValueError(f"input scaling has {len(scaling.mean)} channels, the network "
                         f"{in_channels}; pass the dataset's InputScaling")
    paths = {"model": out / "model.py", "weights": out / "weights.pt", "json": out / "arch.json"}
    net_class = space.kind.standalone_class()
    layout = "NCL series" if task.dims == 1 else "NCHW images"
    if task.masked:
        layout += " (last channel: 1 on real samples, 0 on padding)"
    shape = ", ".join([str(image_size)] * task.dims)
    source = _MODEL_FILE.format(
        arch=space.to_string(arch), net_class=net_class.__name__, in_channels=in_channels,
        layout=layout, shape=shape, note=scaling.note, mean=list(scaling.mean), std=list(scaling.std),
        ops_source=inspect.getsource(sys.modules[net_class.__module__]).replace(
            "from __future__ import annotations\n", ""),
        config=pprint.pformat(standalone_kwargs(space, arch, in_channels, num_classes,
                                                image_size, task), sort_dicts=False),
    )
    paths["model"].write_text(source)
    paths["readme"] = out / "README.txt"
    paths["readme"].write_text(
        f"{space.to_string(arch)}\nLoad it with PyTorch only, from this folder: "
        f"import model; net = model.load()  # eval mode; net(x) takes float {layout} "
        f"({scaling.note}) of shape (N, {in_channels}, {shape}); "
        "metrics in arch.json\n")
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, paths["weights"])
    doc = arch_to_json(space, arch, metrics) | {"in_channels": in_channels,
                                                "num_classes": num_classes,
                                                "image_size": image_size,
                                                "input": scaling.to_dict(),
                                                "task": task.describe()} | dict(extra or {})
    paths["json"].write_text(json.dumps(doc, indent=2))
    return paths


def train_standalone(model: nn.Module, data: Dataset, epochs: int, lr: float = 0.05,
                     batch_size: int = 128, seed: int = 0, device: str = "cpu",
                     weight_decay: float = 5e-4) -> dict[str, Any]:
    """Train a stand-alone network from its current weights and report its real metric
    (``val_<metric>``, ``test_<metric>``: accuracy, or relative L2 for a field);
    ``curve`` holds each epoch's mean training loss and validation metric."""
    task, key = data.task, data.task.metric
    epochs = check_epochs(epochs, "epochs")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True,
                          weight_decay=weight_decay)
    steps = epochs * -(-len(data.y_train) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    x_tr, y_tr = data.x_train.to(device), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device), data.y_val.to(device)
    started = time.perf_counter()
    loss_sum, seen = 0.0, 0
    curve: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        model.train()
        epoch_loss, epoch_seen = 0.0, 0
        for x, y in iterate_batches(x_tr, y_tr, batch_size, rng):
            opt.zero_grad(set_to_none=True)
            loss = task_loss(task, model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            epoch_loss += loss.item() * len(y)
            epoch_seen += len(y)
        loss_sum, seen = loss_sum + epoch_loss, seen + epoch_seen
        curve.append({"epoch": epoch, "train_loss": epoch_loss / max(epoch_seen, 1),
                      f"val_{key}": metric_of(task, model, x_val, y_val)})
    return {
        f"val_{key}": metric_of(task, model, x_val, y_val),
        f"test_{key}": metric_of(task, model, data.x_test.to(device), data.y_test.to(device)),
        "train_loss": loss_sum / max(seen, 1),
        "seconds": time.perf_counter() - started,
        "curve": curve,
    }


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, x_train: torch.Tensor, limit: int = 2048,
                          batch_size: int = 256, seed: int = 0) -> nn.Module:
    """Estimate the BatchNorm running statistics of ``model`` itself (cumulative average over
    up to ``limit`` training images) and return it in eval mode. A supernet's shared
    statistics mix every path trained, so a path copied out of it needs its own."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    device = next(model.parameters()).device
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(x_train))[:limit])
    model.train()
    for chunk in x_train[order].split(batch_size):
        model(chunk.to(device))
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
    return model.eval()


def load_written(model_file: str | Path) -> nn.Module:
    """Import a written ``model.py`` under a fresh module name and call its ``load()``,
    exactly as a user would, so that what is measured is what was saved."""
    import importlib.util

    name = f"nasnav_export_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, model_file)
    if spec is None or spec.loader is None:
        raise ValueError(f"{model_file} is not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and annotations look their module up
    try:
        spec.loader.exec_module(module)
        loaded: nn.Module = module.load()
    finally:
        sys.modules.pop(name, None)
    return loaded


def raw_images(x: torch.Tensor, scaling: InputScaling) -> torch.Tensor:
    """Standardised images (or series) back in the scale an export takes (digits: pixel / 16)."""
    shape = (1, -1) + (1,) * (x.dim() - 2)
    mean = torch.tensor(scaling.mean, dtype=x.dtype).view(shape)
    std = torch.tensor(scaling.std, dtype=x.dtype).view(shape)
    return x * std + mean


def export_model(out_dir: str | Path, space: SearchSpace, arch: Sequence[str], data: Dataset,
                 supernet: Supernet | None = None, train_epochs: int = 0, device: str = "cpu",
                 extra: dict[str, Any] | None = None) -> tuple[dict[str, Path], dict[str, Any]]:
    """Export ``arch`` as a self-contained folder and return its files and metrics.

    The network takes the supernet's weights (or fresh ones), is trained ``train_epochs``
    stand-alone, gets its own BatchNorm statistics, and is written with the dataset's input
    scaling. The metrics in ``arch.json`` are then measured by loading the written files
    back, on the validation and test splits in the input scale the export takes.
    """
    arch = space.validate_arch(arch)
    model = build_standalone(space, arch, data.in_channels, data.num_classes, data.image_size,
                             supernet, data.task)
    task, key = data.task, data.task.metric
    metrics: dict[str, Any] = {"weights": "supernet" if supernet is not None else "fresh",
                               "train_epochs": train_epochs, "metric": key}
    if train_epochs:
        trained = train_standalone(model, data, train_epochs, device=device)
        metrics |= {"train_loss": trained["train_loss"], "train_seconds": trained["seconds"],
                    "curve": trained["curve"]}
    model = recalibrate_batchnorm(model.cpu(), data.x_train)
    scaling = InputScaling.of(data)
    paths = write_standalone(out_dir, space, arch, data.in_channels, data.num_classes,
                             data.image_size, model=model, scaling=scaling, extra=extra,
                             task=task)
    loaded = load_written(paths["model"])
    metrics |= {
        f"val_{key}": metric_of(task, loaded, raw_images(data.x_val, scaling), data.y_val),
        f"test_{key}": metric_of(task, loaded, raw_images(data.x_test, scaling), data.y_test),
        "test_images": len(data.y_test), "measured": "loaded from the written files"}
    doc = json.loads(paths["json"].read_text())
    doc["metrics"] = metrics
    if task.head == "field":  # the network predicts the target divided by this
        doc["target_std"] = data.target_std
    paths["json"].write_text(json.dumps(doc, indent=2))
    return paths, metrics
