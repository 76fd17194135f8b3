"""Exporting a chosen architecture: a JSON description, a stand-alone PyTorch
module holding only the chosen ops (weights copied from the supernet or fresh),
and a short stand-alone training run to report its real accuracy.

The written ``model.py`` embeds the source of the module that defines the template
kind's stand-alone class (``supernet/ops.py`` for cells, ``supernet/blocks.py`` for
chains), torch only, so the exported directory works without NAS Navigator installed.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from supernet.configs import check_epochs
from supernet.data import Dataset, iterate_batches
from supernet.model import Supernet
from supernet.space import SearchSpace


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


def build_standalone(space: SearchSpace, arch: Sequence[str], in_channels: int,
                     num_classes: int, image_size: int, supernet: Supernet | None = None
                     ) -> nn.Module:
    """Only the chosen ops; with ``supernet`` given, every weight and BN buffer is copied."""
    kwargs = space.kind.standalone_config(space, tuple(arch), in_channels, num_classes, image_size)
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
Load it with:  from model import load; net = load()
"""

from __future__ import annotations
{ops_source}

ARCH_CONFIG = {config}


def load(weights: str | None = "weights.pt") -> {net_class}:
    import os

    net = {net_class}(**ARCH_CONFIG)
    if weights:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), weights)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()
'''


def write_standalone(out_dir: str | Path, space: SearchSpace, arch: Sequence[str],
                     in_channels: int, num_classes: int, image_size: int,
                     supernet: Supernet | None = None, metrics: dict | None = None
                     ) -> dict[str, Path]:
    """Write ``model.py``, ``weights.pt`` and ``arch.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = build_standalone(space, arch, in_channels, num_classes, image_size, supernet)
    paths = {"model": out / "model.py", "weights": out / "weights.pt", "json": out / "arch.json"}
    net_class = space.kind.standalone_class()
    source = _MODEL_FILE.format(
        arch=space.to_string(arch), net_class=net_class.__name__,
        ops_source=inspect.getsource(sys.modules[net_class.__module__]).replace(
            "from __future__ import annotations\n", ""),
        config=json.dumps(space.kind.standalone_config(space, tuple(arch), in_channels,
                                                       num_classes, image_size), indent=4),
    )
    paths["model"].write_text(source)
    torch.save(model.state_dict(), paths["weights"])
    doc = arch_to_json(space, arch, metrics) | {"in_channels": in_channels,
                                                "num_classes": num_classes,
                                                "image_size": image_size}
    paths["json"].write_text(json.dumps(doc, indent=2))
    return paths


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
                  for i in range(0, len(y), batch))
    return correct / max(len(y), 1)


def train_standalone(model: nn.Module, data: Dataset, epochs: int, lr: float = 0.05,
                     batch_size: int = 128, seed: int = 0, device: str = "cpu",
                     weight_decay: float = 5e-4) -> dict[str, float]:
    """Train a stand-alone network from its current weights and report its real accuracy."""
    epochs = check_epochs(epochs, "epochs")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True,
                          weight_decay=weight_decay)
    steps = epochs * -(-len(data.y_train) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    x_tr, y_tr = data.x_train.to(device), data.y_train.to(device)
    started = time.perf_counter()
    loss_sum, seen = 0.0, 0
    for _ in range(epochs):
        model.train()
        for x, y in iterate_batches(x_tr, y_tr, batch_size, rng):
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(y)
            seen += len(y)
    return {
        "val_accuracy": _accuracy(model, data.x_val.to(device), data.y_val.to(device)),
        "test_accuracy": _accuracy(model, data.x_test.to(device), data.y_test.to(device)),
        "train_loss": loss_sum / max(seen, 1),
        "seconds": time.perf_counter() - started,
    }
