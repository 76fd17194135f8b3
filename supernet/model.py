"""The weight-sharing supernet: every candidate op of every edge keeps its own
weights, shared by all subnets; ``forward(x, arch)`` runs one single path.

Cost model: ``params(arch)`` and ``flops(arch)`` are sums of a fixed part (stem,
reductions, classifier) and of the chosen op of every edge in every cell. An
edge op's input shape does not depend on the architecture, so both are profiled
once per op with a one-sample forward pass and then summed per architecture
without building the subnet. FLOPs count multiply-adds of convolutions and
linear layers for one input sample (BN, pooling and additions are not counted,
as in NAS-Bench-201's tables). Like those tables, the costs include an op whose
input node is fed only by 'none' edges, although ``forward`` skips it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from supernet.ops import Cell, CellNetwork
from supernet.space import SearchSpace


def _count_macs(module: nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    """Multiply-adds of convs and linears inside ``module`` for input ``x`` (batch 1)."""
    total = 0

    def hook(mod: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            total += out.numel() * k
        elif isinstance(mod, nn.Linear):
            total += mod.in_features * mod.out_features

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        out = module(x)
    finally:
        for h in handles:
            h.remove()
    return total, out


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class Supernet(CellNetwork):
    def __init__(self, space: SearchSpace, in_channels: int, num_classes: int,
                 image_size: int) -> None:
        t = space.template
        super().__init__(t.n_nodes, [cp.candidates for cp in space], t.C, t.cells_per_stage,
                         t.n_stages, in_channels, num_classes)
        self.space = space
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.image_size = image_size
        self._costs: tuple[int, int, list[dict[str, tuple[int, int]]]] | None = None
        self._all_modules = tuple(self.modules())  # the module tree is fixed from here on

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
        """Every module a path uses (fixed parts and the chosen op of each edge)."""
        arch = self.space.validate_arch(arch)
        yield from (self.stem, self.lastact, self.classifier)
        for layer in self.layers:
            if isinstance(layer, Cell):
                for k, op in enumerate(arch):
                    yield layer.edges[k][op]
            else:
                yield layer

    def path_parameters(self, arch: Sequence[str]) -> Iterator[nn.Parameter]:
        """The parameters ``params(arch)`` counts: fixed parts and every chosen op.

        An op whose source node only has 'none' inputs is counted (as NAS-Bench-201's
        tables do) but skipped at run time, so it receives no gradient.
        """
        for module in self.path_modules(arch):
            yield from module.parameters()

    @torch.no_grad()
    def _profile(self) -> tuple[int, int, list[dict[str, tuple[int, int]]]]:
        """(fixed params, fixed MACs, per-edge {op: (params, MACs)} summed over cells)."""
        if self._costs is not None:
            return self._costs
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        x = torch.zeros(1, self.in_channels, self.image_size, self.image_size, device=device)
        fixed_macs, x = _count_macs(self.stem, x)
        fixed_params = _n_params(self.stem) + _n_params(self.lastact) + _n_params(self.classifier)
        per_edge: list[dict[str, tuple[int, int]]] = [
            {op: (0, 0) for op in cp.candidates} for cp in self.space
        ]
        for layer in self.layers:
            if isinstance(layer, Cell):
                for k, ops in enumerate(layer.edges):
                    for op, module in ops.items():
                        macs, _ = _count_macs(module, x)
                        p, m = per_edge[k][op]
                        per_edge[k][op] = (p + _n_params(module), m + macs)
            else:
                macs, x = _count_macs(layer, x)
                fixed_macs += macs
                fixed_params += _n_params(layer)
        fixed_macs += self.classifier.in_features * self.classifier.out_features
        self.train(was_training)
        self._costs = (fixed_params, fixed_macs, per_edge)
        return self._costs

    def params(self, arch: Sequence[str]) -> int:
        arch = self.space.validate_arch(arch)
        fixed, _, per_edge = self._profile()
        return fixed + sum(per_edge[k][op][0] for k, op in enumerate(arch))

    def flops(self, arch: Sequence[str]) -> int:
        arch = self.space.validate_arch(arch)
        _, fixed, per_edge = self._profile()
        return fixed + sum(per_edge[k][op][1] for k, op in enumerate(arch))

    def config(self) -> dict:
        """What is needed to rebuild this supernet (stored in checkpoints and exports)."""
        return {"template": self.space.to_dict(), "in_channels": self.in_channels,
                "num_classes": self.num_classes, "image_size": self.image_size}

    @classmethod
    def from_config(cls, config: dict) -> Supernet:
        return cls(SearchSpace.from_dict(config["template"]), config["in_channels"],
                   config["num_classes"], config["image_size"])

