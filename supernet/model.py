"""The weight-sharing supernet: every candidate op of every choice point keeps its
own weights, shared by all subnets; ``forward(x, arch)`` runs one single path.

Cost model: ``params(arch)`` and ``flops(arch)`` are sums of a fixed part (stem,
reductions, classifier) and of the chosen op of every choice point (for a cell:
of every edge in every cell). An
edge op's input shape does not depend on the architecture, so both are profiled
once per op with a one-sample forward pass and then summed per architecture
without building the subnet. FLOPs count multiply-adds of convolutions and
linear layers for one input sample (BN, pooling and additions are not counted,
as in NAS-Bench-201's tables). Like those tables, the costs include an op whose
input node is fed only by 'none' edges, although ``forward`` skips it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from supernet.blocks import ChainNetwork
from supernet.ops import Cell, CellNetwork
from supernet.space import SearchSpace
from supernet.tasks import IMAGE_CLASSIFICATION, Task


def _count_macs(module: nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    """Multiply-adds of convs and linears inside ``module`` for input ``x`` (batch 1)."""
    total = 0

    def hook(mod: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
            k = math.prod(mod.kernel_size) * mod.in_channels // mod.groups
            total += out.numel() * k
        elif isinstance(mod, nn.Linear):
            total += mod.in_features * mod.out_features

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    try:
        out = module(x)
    finally:
        for h in handles:
            h.remove()
    return total, out


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class Supernet(nn.Module):
    """A weight-sharing supernet over a search space; ``Supernet(space, ...)`` builds the
    class its template's kind names (``space.kind.supernet_class()``: :class:`CellSupernet`
    or :class:`ChainSupernet`).

    Every kind runs one path with ``forward(x, arch)`` and knows, per choice point and
    candidate, the parameters and multiply-adds it adds; the costs of a path are the sum.
    """

    space: SearchSpace

    def __new__(cls, *args: object, **kwargs: object) -> Supernet:
        if cls is Supernet:  # copy and pickle call __new__ on the concrete class, without args
            space = args[0] if args else kwargs["space"]
            assert isinstance(space, SearchSpace)
            cls = space.kind.supernet_class()
        return super().__new__(cls)

    def _setup(self, space: SearchSpace, in_channels: int, num_classes: int,
               image_size: int, task: Task) -> None:
        self.space = space
        self.task = task
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.image_size = image_size
        self._costs: tuple[int, int, list[dict[str, tuple[int, int]]]] | None = None
        self._all_modules = tuple(self.modules())  # the module tree is fixed from here on

    if TYPE_CHECKING:  # given by the network class each kind mixes in (not shadowed here)
        def forward_arch(self, x: torch.Tensor, arch: Sequence[str]) -> torch.Tensor: ...

    def forward(self, x: torch.Tensor, arch: Sequence[str]) -> torch.Tensor:
        return self.forward_arch(x, arch)

    def train(self, mode: bool = True) -> Supernet:
        """Set train/eval mode on every module, exactly like ``nn.Module.train``.

        The trainer calls this every step, and the default recursion through
        ``nn.Module.__setattr__`` costs milliseconds on a supernet's thousand-odd
        modules (5 ms on nb201); setting the flag on a cached list costs ~0.2 ms.
        """
        if not isinstance(mode, bool):
            raise ValueError(f"training mode must be a bool, got {mode!r}")
        for module in self._all_modules:
            module.__dict__["training"] = mode
        return self

    def path_modules(self, arch: Sequence[str]) -> Iterator[nn.Module]:
        """Every module a path uses (fixed parts and the chosen op of each choice point)."""
        raise NotImplementedError

    def path_parameters(self, arch: Sequence[str]) -> Iterator[nn.Parameter]:
        """The parameters ``params(arch)`` counts: fixed parts and every chosen op.

        In a cell, an op whose source node only has 'none' inputs is counted (as
        NAS-Bench-201's tables do) but skipped at run time, so it receives no gradient.
        """
        for module in self.path_modules(arch):
            yield from module.parameters()

    def _measure_costs(self) -> tuple[int, int, list[dict[str, tuple[int, int]]]]:
        """(fixed params, fixed MACs, per choice point {op: (params, MACs)})."""
        raise NotImplementedError

    def stable_names(self) -> dict[str, str]:
        """State-dict key -> a name that survives a template edit.

        Keys hold positions (``choices.3.conv3x3.0.weight``); an edit that adds or removes a
        choice point shifts them, so :meth:`SearchEngine.retemplated` matches weights by
        these names instead. A cell's positions are fixed by its node count.
        """
        return {key: key for key in self.state_dict()}

    @torch.no_grad()
    def _profile(self) -> tuple[int, int, list[dict[str, tuple[int, int]]]]:
        if self._costs is None:
            was_training = self.training
            self.eval()
            self._costs = self._measure_costs()
            self.train(was_training)
        return self._costs

    def _input(self) -> torch.Tensor:
        device = next(self.parameters()).device
        spatial = (self.image_size,) * self.task.dims
        return torch.zeros(1, self.in_channels, *spatial, device=device)

    def params(self, arch: Sequence[str]) -> int:
        arch = self.space.validate_arch(arch)
        fixed, _, per_cp = self._profile()
        return fixed + sum(per_cp[k][op][0] for k, op in enumerate(arch))

    def flops(self, arch: Sequence[str]) -> int:
        arch = self.space.validate_arch(arch)
        _, fixed, per_cp = self._profile()
        return fixed + sum(per_cp[k][op][1] for k, op in enumerate(arch))

    def config(self) -> dict:
        """What is needed to rebuild this supernet (stored in checkpoints and exports)."""
        return {"template": self.space.to_dict(), "in_channels": self.in_channels,
                "num_classes": self.num_classes, "image_size": self.image_size,
                "task": self.task.to_dict()}

    @classmethod
    def from_config(cls, config: dict) -> Supernet:
        task = Task.from_dict(config["task"]) if "task" in config else IMAGE_CLASSIFICATION
        return Supernet(SearchSpace.from_dict(config["template"]), config["in_channels"],
                        config["num_classes"], config["image_size"], task)


class CellSupernet(Supernet, CellNetwork):
    """Every candidate op of every edge of every cell, NAS-Bench-201 style."""

    def __init__(self, space: SearchSpace, in_channels: int, num_classes: int,
                 image_size: int, task: Task = IMAGE_CLASSIFICATION) -> None:
        t = space.template
        CellNetwork.__init__(self, t.n_nodes, [cp.candidates for cp in space], t.C,
                             t.cells_per_stage, t.n_stages, in_channels, num_classes,
                             **task.network_kwargs())
        self._setup(space, in_channels, num_classes, image_size, task)

    def path_modules(self, arch: Sequence[str]) -> Iterator[nn.Module]:
        arch = self.space.validate_arch(arch)
        yield from (self.stem, self.lastact, self.classifier)
        for layer in self.layers:
            if isinstance(layer, Cell):
                for k, op in enumerate(arch):
                    yield layer.edge_ops(k)[op]
            else:
                yield layer

    def _measure_costs(self) -> tuple[int, int, list[dict[str, tuple[int, int]]]]:
        """Edge costs summed over cells; an edge op's input shape does not depend on the path."""
        x = self._input()
        fixed_macs, x = _count_macs(self.stem, x[:, :-1] if self.task.masked else x)
        fixed_params = _n_params(self.stem) + _n_params(self.lastact) + _n_params(self.classifier)
        per_edge: list[dict[str, tuple[int, int]]] = [
            {op: (0, 0) for op in cp.candidates} for cp in self.space
        ]
        for layer in self.layers:
            if isinstance(layer, Cell):
                for k in range(len(layer.edges)):
                    for op, module in layer.edge_ops(k).items():
                        macs, _ = _count_macs(module, x)
                        p, m = per_edge[k][op]
                        per_edge[k][op] = (p + _n_params(module), m + macs)
            else:
                macs, x = _count_macs(layer, x)
                fixed_macs += macs
                fixed_params += _n_params(layer)
        fixed_macs += _count_macs(self.classifier, x)[0] if self.task.head == "field" else (
            _count_macs(self.classifier, x.flatten(2).mean(2))[0])
        return fixed_params, fixed_macs, per_edge


class ChainSupernet(Supernet, ChainNetwork):
    """Every candidate block of every layer of a chain template, and every head."""

    def __init__(self, space: SearchSpace, in_channels: int, num_classes: int,
                 image_size: int, task: Task = IMAGE_CLASSIFICATION) -> None:
        template = space.template
        signal_channels = in_channels - 1 if task.masked else in_channels
        template.output_shapes(signal_channels, image_size, num_classes)
        ChainNetwork.__init__(
            self, [[b.to_dict() for b in blocks] for _, blocks in template.blocks_per_choice()],
            in_channels, num_classes, **task.network_kwargs())
        self._setup(space, in_channels, num_classes, image_size, task)

    def path_modules(self, arch: Sequence[str]) -> Iterator[nn.Module]:
        arch = self.space.validate_arch(arch)
        for blocks, name in zip(self.candidates(), arch):
            yield blocks[name]

    def stable_names(self) -> dict[str, str]:
        """``choices.<position>.`` becomes ``<choice point>/`` (e.g. ``layer2.block/``)."""
        names = [cp.name for cp in self.space]
        return {key: re.sub(r"^choices\.(\d+)\.", lambda m: f"{names[int(m[1])]}/", key)
                for key in self.state_dict()}

    def _measure_costs(self) -> tuple[int, int, list[dict[str, tuple[int, int]]]]:
        """A chain has no fixed part; each choice point sees one input shape whatever the path."""
        x = self._input()
        x = x[:, :-1] if self.task.masked else x
        per_cp = []
        for blocks in self.candidates():
            costs = {}
            for name, module in blocks.items():
                macs, out = _count_macs(module, x)
                costs[name] = (_n_params(module), macs)
            per_cp.append(costs)
            x = out
        return 0, 0, per_cp
