"""Exporting a chosen architecture: a JSON description, a stand-alone PyTorch
module holding only the chosen ops (weights copied from the supernet or fresh),
and a short stand-alone training run to report its real accuracy.

The written ``model.py`` embeds the source of ``supernet/ops.py`` (cells) or
``supernet/blocks.py`` (chains), both torch only, so the exported directory works
without NAS Navigator installed.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from supernet import blocks, ops
from supernet.blocks import StandaloneChainNet
from supernet.data import Dataset, iterate_batches
from supernet.model import Supernet
from supernet.ops import StandaloneNet
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


def _net_kwargs(space: SearchSpace, arch: Sequence[str], in_channels: int,
                num_classes: int) -> dict[str, Any]:
    t = space.template
    if space.is_chain:
        picked = [next(b for b in cands if b.name == op)
                  for (_, cands), op in zip(t.blocks_per_choice(), space.validate_arch(arch))]
        return {"blocks": [b.to_dict() for b in picked], "in_channels": in_channels,
                "num_classes": num_classes}
    return {"n_nodes": t.n_nodes, "arch": list(space.validate_arch(arch)), "C": t.C,
            "cells_per_stage": t.cells_per_stage, "n_stages": t.n_stages,
            "in_channels": in_channels, "num_classes": num_classes}


def build_standalone(space: SearchSpace, arch: Sequence[str], in_channels: int,
                     num_classes: int, image_size: int, supernet: Supernet | None = None
                     ) -> StandaloneNet | StandaloneChainNet:
    """Only the chosen ops; with ``supernet`` given, every weight and BN buffer is copied."""
    kwargs = _net_kwargs(space, arch, in_channels, num_classes)
    if space.is_chain:
        space.template.output_shapes(in_channels, image_size, num_classes)
        model: StandaloneNet | StandaloneChainNet = StandaloneChainNet(**kwargs)
    else:  # the cell network is resolution-agnostic
        model = StandaloneNet(**kwargs)
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
        net.load_state_dict(torch.load(path, map_location="cpu"))
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
    module, net_class = (blocks, "StandaloneChainNet") if space.is_chain else (ops, "StandaloneNet")
    source = _MODEL_FILE.format(
        arch=space.to_string(arch), net_class=net_class,
        ops_source=inspect.getsource(module).replace("from __future__ import annotations\n", ""),
        config=json.dumps(_net_kwargs(space, arch, in_channels, num_classes), indent=4),
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
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
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
