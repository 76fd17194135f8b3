"""Operations and the cell network they compose, as in NAS-Bench-201.

This module imports nothing but torch on purpose: ``supernet.export`` copies its
source verbatim into every exported stand-alone model file, so an exported model
runs anywhere PyTorch does.

A :class:`CellNetwork` holds, for every edge of every cell, one module per
candidate op in an ``nn.ModuleDict`` keyed by op name. The weight-sharing
supernet is a CellNetwork with all candidates; a stand-alone subnet is the same
class with a single candidate per edge, so its ``state_dict`` keys are a subset
of the supernet's and weights copy over by name.

Every op takes ``dims`` (2: images ``[B, C, H, W]``; 1: series ``[B, C, L]``), so the same
cells run on 1-D signals (NAS-Bench-360's point: search spaces should travel beyond CIFAR).
``head="field"`` ends in a 1x1 conv that predicts one value per position, resized back to
the input's resolution (Darcy flow; the reductions keep the cost of a field search at that of a
classification one); ``masked=True`` reads the input's last channel
as a padding mask that the global pooling of the classifier honours (variable-length series).

Batch norm is plain ``nn.BatchNorm2d`` (``1d`` for series) with ``affine=True`` and running statistics,
as in NAS-Bench-201's supernet: the affine parameters are shared like every other
weight, and the running statistics, which a single shared copy cannot get right
for every subnet, are reset and re-estimated per subnet before it is evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import nn


def conv_class(dims: int) -> type[nn.Conv1d] | type[nn.Conv2d]:
    return nn.Conv1d if dims == 1 else nn.Conv2d


def bn_class(dims: int) -> type[nn.BatchNorm1d] | type[nn.BatchNorm2d]:
    return nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d


def avg_pool(dims: int, kernel: int, stride: int, padding: int) -> nn.Module:
    if dims == 1:
        return nn.AvgPool1d(kernel, stride, padding, count_include_pad=False)
    return nn.AvgPool2d(kernel, stride, padding, count_include_pad=False)


def max_pool(dims: int, kernel: int, stride: int, padding: int) -> nn.Module:
    return (nn.MaxPool1d if dims == 1 else nn.MaxPool2d)(kernel, stride, padding)


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Global average over the positions ``mask`` marks real (all of them without a mask);
    the mask is resized to ``x``'s resolution, which strided layers may have reduced."""
    if mask is None:
        return x.flatten(2).mean(2)
    mask = nn.functional.adaptive_max_pool1d(mask, x.shape[-1]) if x.dim() == 3 else mask
    return (x * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int = 1, affine: bool = True, dims: int = 2) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            conv_class(dims)(c_in, c_out, kernel, stride, padding, dilation=dilation, bias=False),
            bn_class(dims)(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """ReLU, depthwise conv, pointwise conv, BN: DARTS' DilConv, and one half of its SepConv."""

    def __init__(self, c: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True, dims: int = 2) -> None:
        conv = conv_class(dims)
        super().__init__(
            nn.ReLU(inplace=False),
            conv(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
            conv(c, c, 1, bias=False),
            bn_class(dims)(c, affine=affine),
        )


class DualSepConv(nn.Sequential):
    """DARTS' separable conv: the SepConv stack twice, only the first one strided."""

    def __init__(self, c: int, kernel: int, stride: int, padding: int,
                 affine: bool = True, dims: int = 2) -> None:
        super().__init__(
            SepConv(c, kernel, stride, padding, 1, affine, dims),
            SepConv(c, kernel, 1, padding, 1, affine, dims),
        )


class Zero(nn.Module):
    """The 'none' op. Cells skip it entirely; it exists so that every candidate has a module."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = (slice(None), slice(None)) + (slice(None, None, self.stride),) * (x.dim() - 2)
        return x[index].mul(0.0)


class FactorizedReduce(nn.Module):
    def __init__(self, c: int, affine: bool = True, dims: int = 2) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = conv_class(dims)(c, c // 2, 1, stride=2, bias=False)
        self.conv_2 = conv_class(dims)(c, c - c // 2, 1, stride=2, bias=False)
        self.bn = bn_class(dims)(c, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        spatial = x.dim() - 2
        index = (slice(None), slice(None)) + (slice(1, None),) * spatial
        y = nn.functional.pad(x, (0, 1) * spatial)[index]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(y)], dim=1))


def _skip(c: int, stride: int, affine: bool, dims: int = 2) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, affine, dims)


OPS: dict[str, Callable[..., nn.Module]] = {
    "none": lambda c, stride, affine, dims=2: Zero(stride),
    "skip_connect": _skip,
    "nor_conv_1x1": lambda c, stride, affine, dims=2: ReLUConvBN(c, c, 1, stride, 0, 1, affine,
                                                               dims),
    "nor_conv_3x3": lambda c, stride, affine, dims=2: ReLUConvBN(c, c, 3, stride, 1, 1, affine,
                                                               dims),
    "nor_conv_5x5": lambda c, stride, affine, dims=2: ReLUConvBN(c, c, 5, stride, 2, 1, affine,
                                                               dims),
    "avg_pool_3x3": lambda c, stride, affine, dims=2: avg_pool(dims, 3, stride, 1),
    "max_pool_3x3": lambda c, stride, affine, dims=2: max_pool(dims, 3, stride, 1),
    "sep_conv_3x3": lambda c, stride, affine, dims=2: DualSepConv(c, 3, stride, 1, affine, dims),
    "dil_conv_3x3": lambda c, stride, affine, dims=2: SepConv(c, 3, stride, 2, 2, affine, dims),
}
"""Factories ``(channels, stride, affine, dims=2) -> module`` for every cell op name."""


class ResNetBasicBlock(nn.Module):
    """The reduction block between stages: halves resolution, doubles channels."""

    def __init__(self, c_in: int, c_out: int, dims: int = 2) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, dims=dims)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, dims=dims)
        self.downsample = nn.Sequential(
            # ceil: odd lengths (a series of 29 steps) halve like the strided conv does
            (nn.AvgPool1d if dims == 1 else nn.AvgPool2d)(2, 2, 0, ceil_mode=True),
            conv_class(dims)(c_in, c_out, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


def cell_edges(n_nodes: int) -> list[tuple[int, int]]:
    """``(src, dst)`` pairs in canonical order: by target node, then source."""
    return [(i, j) for j in range(1, n_nodes) for i in range(j)]


class Cell(nn.Module):
    def __init__(self, n_nodes: int, candidates: Sequence[Sequence[str]], c: int,
                 dims: int = 2) -> None:
        super().__init__()
        self.n_nodes = n_nodes
        self.edge_list = cell_edges(n_nodes)
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: OPS[op](c, 1, True, dims) for op in ops}) for ops in candidates
        )

    def edge_ops(self, k: int) -> nn.ModuleDict:
        """The candidate ops of edge ``k`` by name (``ModuleList`` items are typed ``Module``)."""
        return cast(nn.ModuleDict, self.edges[k])

    def forward(self, x: torch.Tensor, arch: Sequence[str]) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x]
        k = 0
        for dst in range(1, self.n_nodes):
            total: torch.Tensor | None = None
            for src in range(dst):
                op, inp = arch[k], nodes[src]
                if op != "none" and inp is not None:
                    out = self.edge_ops(k)[op](inp)
                    total = out if total is None else total + out
                k += 1
            nodes.append(total)
        return nodes[-1] if nodes[-1] is not None else x.mul(0.0)


class CellNetwork(nn.Module):
    """Stem, ``n_stages`` stages of cells with residual reductions between them, and the head:
    a classifier on the (masked) global average, or a 1x1 conv per position (``field``)."""

    def __init__(self, n_nodes: int, candidates: Sequence[Sequence[str]], C: int,
                 cells_per_stage: int, n_stages: int, in_channels: int, num_classes: int,
                 dims: int = 2, head: str = "classify", masked: bool = False) -> None:
        super().__init__()
        self.head, self.masked = head, masked
        signal_channels = in_channels - 1 if masked else in_channels
        self.stem = nn.Sequential(
            conv_class(dims)(signal_channels, C, 3, padding=1, bias=False), bn_class(dims)(C)
        )
        layers: list[nn.Module] = []
        c = C
        for stage in range(n_stages):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, c * 2, dims))
                c *= 2
            layers.extend(Cell(n_nodes, candidates, c, dims) for _ in range(cells_per_stage))
        self.layers = nn.ModuleList(layers)
        self.lastact = nn.Sequential(bn_class(dims)(c), nn.ReLU(inplace=True))
        self.classifier: nn.Module = (conv_class(dims)(c, num_classes, 1) if head == "field"
                                      else nn.Linear(c, num_classes))

    def forward_arch(self, x: torch.Tensor, arch: Sequence[str]) -> torch.Tensor:
        mask = None
        if self.masked:
            x, mask = x[:, :-1], x[:, -1:]
        size = x.shape[2:]
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, arch) if isinstance(layer, Cell) else layer(x)
        x = self.lastact(x)
        if self.head == "field":  # per position, then back to the input's resolution
            mode = "linear" if x.dim() == 3 else "bilinear"
            return nn.functional.interpolate(self.classifier(x), size=tuple(size), mode=mode,
                                             align_corners=False)
        return self.classifier(masked_mean(x, mask))


class StandaloneNet(CellNetwork):
    """One fixed architecture: only the chosen op on every edge."""

    def __init__(self, n_nodes: int, arch: Sequence[str], C: int, cells_per_stage: int,
                 n_stages: int, in_channels: int, num_classes: int, dims: int = 2,
                 head: str = "classify", masked: bool = False) -> None:
        super().__init__(n_nodes, [[op] for op in arch], C, cells_per_stage, n_stages,
                         in_channels, num_classes, dims, head, masked)
        self.arch = tuple(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_arch(x, self.arch)
