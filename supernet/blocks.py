"""Blocks and the chain network they compose (chain-of-blocks templates).

Like ``supernet.ops`` this module imports nothing but torch, because
``supernet.export`` copies its source verbatim into exported stand-alone models.
Blocks are described by plain dicts (``supernet.templates.chain.BlockSpec.to_dict``).

A :class:`ChainNetwork` keeps, for every choice point, one module per candidate
block in an ``nn.ModuleDict`` keyed by block name; the stand-alone network is the
same class with one candidate per choice point, so its ``state_dict`` keys are a
subset of the supernet's and weights copy over by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import nn

ACTIVATION_LAYERS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh,
                     "none": nn.Identity}


class DenseHead(nn.Module):
    """Global average pooling, then hidden dense layers, then the classifier."""

    def __init__(self, c_in: int, hidden: Sequence[int], num_classes: int, dropout: float,
                 activation: str) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        width = c_in
        for h in hidden:
            layers += [nn.Linear(width, h), ACTIVATION_LAYERS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def make_block(spec: dict[str, Any], c_in: int, num_classes: int) -> tuple[nn.Module, int]:
    """The module of one block spec and the channels it outputs."""
    t = spec["type"]
    if t == "conv":
        f = spec["filters"]
        return nn.Sequential(
            nn.Conv2d(c_in, f, spec["kernel"], spec["stride"], spec["padding"], bias=False),
            nn.BatchNorm2d(f), ACTIVATION_LAYERS[spec["activation"]](),
        ), f
    if t == "sep_conv":
        f = spec["filters"]
        return nn.Sequential(
            nn.Conv2d(c_in, c_in, spec["kernel"], spec["stride"], spec["padding"], groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, f, 1, bias=False),
            nn.BatchNorm2d(f), ACTIVATION_LAYERS[spec["activation"]](),
        ), f
    if t == "max_pool":
        return nn.MaxPool2d(spec["kernel"], spec["stride"], spec["padding"]), c_in
    if t == "avg_pool":
        return nn.AvgPool2d(spec["kernel"], spec["stride"], spec["padding"],
                            count_include_pad=False), c_in
    if t == "identity":
        return nn.Identity(), c_in
    if t == "dense":
        return DenseHead(c_in, spec["hidden"], num_classes, spec["dropout"],
                         spec["activation"]), num_classes
    raise ValueError(f"unknown block type {t!r}")


class ChainNetwork(nn.Module):
    """One ``ModuleDict`` of candidate blocks per choice point, applied in order."""

    def __init__(self, choices: Sequence[Sequence[dict[str, Any]]], in_channels: int,
                 num_classes: int) -> None:
        super().__init__()
        self.choices = nn.ModuleList()
        c = in_channels
        for specs in choices:
            modules, widths = {}, set()
            for spec in specs:
                modules[spec["name"]], width = make_block(spec, c, num_classes)
                widths.add(width)
            assert len(widths) == 1, "candidates of a choice point must agree on their channels"
            self.choices.append(nn.ModuleDict(modules))
            c = widths.pop()

    def candidates(self) -> list[nn.ModuleDict]:
        """The candidate blocks of each choice point by name (``ModuleList`` items are typed
        ``Module``)."""
        return [cast(nn.ModuleDict, blocks) for blocks in self.choices]

    def forward_arch(self, x: torch.Tensor, arch: Sequence[str]) -> torch.Tensor:
        for blocks, name in zip(self.candidates(), arch):
            x = blocks[name](x)
        return x


class StandaloneChainNet(ChainNetwork):
    """One fixed architecture: one block per choice point."""

    def __init__(self, blocks: Sequence[dict[str, Any]], in_channels: int,
                 num_classes: int) -> None:
        super().__init__([[spec] for spec in blocks], in_channels, num_classes)
        self.arch = tuple(spec["name"] for spec in blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_arch(x, self.arch)
