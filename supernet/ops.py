"""Operations and the cell network they compose, as in NAS-Bench-201.

This module imports nothing but torch on purpose: ``supernet.export`` copies its
source verbatim into every exported stand-alone model file, so an exported model
runs anywhere PyTorch does.

A :class:`CellNetwork` holds, for every edge of every cell, one module per
candidate op in an ``nn.ModuleDict`` keyed by op name. The weight-sharing
supernet is a CellNetwork with all candidates; a stand-alone subnet is the same
class with a single candidate per edge, so its ``state_dict`` keys are a subset
of the supernet's and weights copy over by name.

Batch norm is plain ``nn.BatchNorm2d`` with ``affine=True`` and running statistics,
as in NAS-Bench-201's supernet: the affine parameters are shared like every other
weight, and the running statistics, which a single shared copy cannot get right
for every subnet, are reset and re-estimated per subnet before it is evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """ReLU, depthwise conv, pointwise conv, BN: DARTS' DilConv, and one half of its SepConv."""

    def __init__(self, c: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=affine),
        )


class DualSepConv(nn.Sequential):
    """DARTS' separable conv: the SepConv stack twice, only the first one strided."""

    def __init__(self, c: int, kernel: int, stride: int, padding: int,
                 affine: bool = True) -> None:
        super().__init__(
            SepConv(c, kernel, stride, padding, 1, affine),
            SepConv(c, kernel, 1, padding, 1, affine),
        )


class Zero(nn.Module):
    """The 'none' op. Cells skip it entirely; it exists so that every candidate has a module."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    def __init__(self, c: int, affine: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c, c // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c, c - c // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        y = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(y)], dim=1))


def _skip(c: int, stride: int, affine: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, affine)


OPS: dict[str, Callable[[int, int, bool], nn.Module]] = {
    "none": lambda c, stride, affine: Zero(stride),
    "skip_connect": _skip,
    "nor_conv_1x1": lambda c, stride, affine: ReLUConvBN(c, c, 1, stride, 0, affine=affine),
    "nor_conv_3x3": lambda c, stride, affine: ReLUConvBN(c, c, 3, stride, 1, affine=affine),
    "nor_conv_5x5": lambda c, stride, affine: ReLUConvBN(c, c, 5, stride, 2, affine=affine),
    "avg_pool_3x3": lambda c, stride, affine: nn.AvgPool2d(3, stride, 1, count_include_pad=False),
    "max_pool_3x3": lambda c, stride, affine: nn.MaxPool2d(3, stride, 1),
    "sep_conv_3x3": lambda c, stride, affine: DualSepConv(c, 3, stride, 1, affine),
    "dil_conv_3x3": lambda c, stride, affine: SepConv(c, 3, stride, 2, 2, affine),
}
"""Factories ``(channels, stride, affine) -> module`` for every cell op name."""


class ResNetBasicBlock(nn.Module):
    """The reduction block between stages: halves resolution, doubles channels."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(2, 2, 0), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


def cell_edges(n_nodes: int) -> list[tuple[int, int]]:
    """``(src, dst)`` pairs in canonical order: by target node, then source."""
    return [(i, j) for j in range(1, n_nodes) for i in range(j)]


class Cell(nn.Module):
    def __init__(self, n_nodes: int, candidates: Sequence[Sequence[str]], c: int) -> None:
        super().__init__()
        self.n_nodes = n_nodes
        self.edge_list = cell_edges(n_nodes)
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: OPS[op](c, 1, True) for op in ops}) for ops in candidates
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
    """Stem, ``n_stages`` stages of cells with residual reductions between them, classifier."""

    def __init__(self, n_nodes: int, candidates: Sequence[Sequence[str]], C: int,
                 cells_per_stage: int, n_stages: int, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C)
        )
        layers: list[nn.Module] = []
        c = C
        for stage in range(n_stages):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, c * 2))
                c *= 2
            layers.extend(Cell(n_nodes, candidates, c) for _ in range(cells_per_stage))
        self.layers = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward_arch(self, x: torch.Tensor, arch: Sequence[str]) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, arch) if isinstance(layer, Cell) else layer(x)
        x = self.pool(self.lastact(x)).flatten(1)
        return self.classifier(x)


class StandaloneNet(CellNetwork):
    """One fixed architecture: only the chosen op on every edge."""

    def __init__(self, n_nodes: int, arch: Sequence[str], C: int, cells_per_stage: int,
                 n_stages: int, in_channels: int, num_classes: int) -> None:
        super().__init__(n_nodes, [[op] for op in arch], C, cells_per_stage, n_stages,
                         in_channels, num_classes)
        self.arch = tuple(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_arch(x, self.arch)
