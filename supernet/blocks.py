"""Blocks and the chain network they compose (chain-of-blocks templates).

Like ``supernet.ops`` this module imports nothing but torch, because
``supernet.export`` copies its source verbatim into exported stand-alone models.
Blocks are described by plain dicts (``supernet.templates.chain.BlockSpec.to_dict``).

A :class:`ChainNetwork` keeps, for every choice point, one module per candidate
block in an ``nn.ModuleDict`` keyed by block name; the stand-alone network is the
same class with one candidate per choice point, so its ``state_dict`` keys are a
subset of the supernet's and weights copy over by name.

``dims`` 1 runs every block on series ``[B, C, L]``; ``head="field"`` turns the dense heads
into 1x1 convs per position and resizes the output back to the input's resolution (a field,
Darcy flow); ``masked`` reads the input's last channel as a padding mask that the heads'
global average honours (variable-length series).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import nn

ACTIVATION_LAYERS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh,
                     "none": nn.Identity}


def _conv(dims: int) -> type[nn.Conv1d] | type[nn.Conv2d]:
    return nn.Conv1d if dims == 1 else nn.Conv2d


def _bn(dims: int) -> type[nn.BatchNorm1d] | type[nn.BatchNorm2d]:
    return nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d


class GlobalAverage(nn.Module):
    """Global average over the real positions (``mask`` resized to ``x``'s length); the
    identity for a field head, which keeps every position."""

    def __init__(self, field: bool = False) -> None:
        super().__init__()
        self.field = field

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.field:
            return x
        if mask is None:
            return x.flatten(2).mean(2)
        mask = nn.functional.adaptive_max_pool1d(mask, x.shape[-1])
        return (x * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)


class DenseHead(nn.Module):
    """Global (masked) average pooling, then hidden dense layers, then the classifier; as a
    ``field`` head the same layers as 1x1 convs, applied at every position."""

    def __init__(self, c_in: int, hidden: Sequence[int], num_classes: int, dropout: float,
                 activation: str, dims: int = 2, field: bool = False) -> None:
        super().__init__()

        def dense(c_from: int, c_to: int) -> nn.Module:
            return _conv(dims)(c_from, c_to, 1) if field else nn.Linear(c_from, c_to)

        # the pooling keeps its two places, so that weights saved before stay loadable
        layers: list[nn.Module] = [GlobalAverage(field), nn.Flatten() if not field
                                   else nn.Identity()]
        width = c_in
        for h in hidden:
            layers += [dense(width, h), ACTIVATION_LAYERS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(dense(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        pool, *rest = self.layers
        x = pool(x, mask)
        for layer in rest:
            x = layer(x)
        return x


def make_block(spec: dict[str, Any], c_in: int, num_classes: int, dims: int = 2,
               head: str = "classify") -> tuple[nn.Module, int]:
    """The module of one block spec and the channels it outputs."""
    t = spec["type"]
    conv = _conv(dims)
    if t == "conv":
        f = spec["filters"]
        return nn.Sequential(
            conv(c_in, f, spec["kernel"], spec["stride"], spec["padding"], bias=False),
            _bn(dims)(f), ACTIVATION_LAYERS[spec["activation"]](),
        ), f
    if t == "sep_conv":
        f = spec["filters"]
        return nn.Sequential(
            conv(c_in, c_in, spec["kernel"], spec["stride"], spec["padding"], groups=c_in,
                 bias=False),
            conv(c_in, f, 1, bias=False),
            _bn(dims)(f), ACTIVATION_LAYERS[spec["activation"]](),
        ), f
    if t == "max_pool":
        pool = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
        return pool(spec["kernel"], spec["stride"], spec["padding"]), c_in
    if t == "avg_pool":
        avg = nn.AvgPool1d if dims == 1 else nn.AvgPool2d
        return avg(spec["kernel"], spec["stride"], spec["padding"],
                   count_include_pad=False), c_in
    if t == "identity":
        return nn.Identity(), c_in
    if t == "dense":
        return DenseHead(c_in, spec["hidden"], num_classes, spec["dropout"],
                         spec["activation"], dims, head == "field"), num_classes
    raise ValueError(f"unknown block type {t!r}")


class ChainNetwork(nn.Module):
    """One ``ModuleDict`` of candidate blocks per choice point, applied in order."""

    def __init__(self, choices: Sequence[Sequence[dict[str, Any]]], in_channels: int,
                 num_classes: int, dims: int = 2, head: str = "classify",
                 masked: bool = False) -> None:
        super().__init__()
        self.head, self.masked = head, masked
        self.choices = nn.ModuleList()
        c = in_channels - 1 if masked else in_channels
        for specs in choices:
            modules, widths = {}, set()
            for spec in specs:
                modules[spec["name"]], width = make_block(spec, c, num_classes, dims, head)
                widths.add(width)
            assert len(widths) == 1, "candidates of a choice point must agree on their channels"
            self.choices.append(nn.ModuleDict(modules))
            c = widths.pop()

    def candidates(self) -> list[nn.ModuleDict]:
        """The candidate blocks of each choice point by name (``ModuleList`` items are typed
        ``Module``)."""
        return [cast(nn.ModuleDict, blocks) for blocks in self.choices]

    def forward_arch(self, x: torch.Tensor, arch: Sequence[str]) -> torch.Tensor:
        mask = None
        if self.masked:
            x, mask = x[:, :-1], x[:, -1:]
        size = x.shape[2:]
        for blocks, name in zip(self.candidates(), arch):
            block = blocks[name]
            x = block(x, mask) if isinstance(block, DenseHead) else block(x)
        if self.head == "field" and x.shape[2:] != size:  # strided layers: back to the input's
            mode = "linear" if x.dim() == 3 else "bilinear"
            x = nn.functional.interpolate(x, size=tuple(size), mode=mode, align_corners=False)
        return x


class StandaloneChainNet(ChainNetwork):
    """One fixed architecture: one block per choice point."""

    def __init__(self, blocks: Sequence[dict[str, Any]], in_channels: int,
                 num_classes: int, dims: int = 2, head: str = "classify",
                 masked: bool = False) -> None:
        super().__init__([[spec] for spec in blocks], in_channels, num_classes, dims, head,
                         masked)
        self.arch = tuple(spec["name"] for spec in blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_arch(x, self.arch)
