"""Few-shot supernets (Zhao et al., "Few-shot Neural Architecture Search", ICML 2021).

One weight-sharing supernet forces every op of a choice point to co-adapt with every
path through the others, which is what makes its ranking unfaithful. Splitting it on one
or more choice points into sub-supernets, one per op (per combination of ops when
several are split), removes that interference there: each child inherits the parent's
trained weights at the split and from then on trains and scores only the paths that use
its op. The total number of training steps stays that of the one-shot budget.

:class:`FewShotSupernet` holds the parent and every child from the start (so checkpoints
and the optimizer see a fixed set of tensors); before ``split_step`` every path runs on
the parent, at ``split_step`` the trainer calls :meth:`FewShotSupernet.split_if_due`,
which copies the parent's weights into every child, and from then on a path runs on the
child of its op. Samplers are unchanged: a path drawn inside the steering constraints
goes to the child of its op, so a child never sees another op of its choice point.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from supernet.configs import TrainConfig
from supernet.model import Supernet
from supernet.space import Arch, SearchSpace

MAX_CHILDREN = 36
"""Most sub-supernets a split may make (every child is a full copy of the parent)."""


def check_split(space: SearchSpace, names: Sequence[str]) -> tuple[str, ...]:
    """The choice points to split on, if they exist and make few enough children."""
    names = tuple(names)
    unknown = [n for n in names if n not in space.names()]
    if unknown:
        raise ValueError(f"few-shot split on unknown choice point(s) {unknown}; "
                         f"the space has {list(space.names())}")
    if len(set(names)) != len(names):
        raise ValueError(f"few-shot split names a choice point twice: {list(names)}")
    children = math.prod(len(space.choice_point(n).candidates) for n in names)
    if children > MAX_CHILDREN:
        raise ValueError(f"a few-shot split on {list(names)} makes {children} sub-supernets; "
                         f"at most {MAX_CHILDREN}: split on fewer choice points")
    return names


class FewShotSupernet(Supernet):
    """A parent supernet and one child per op combination of the split choice points."""

    def __init__(self, parent: Supernet, split: Sequence[str], split_step: int) -> None:
        nn.Module.__init__(self)
        space = parent.space
        self.split_names = check_split(space, split)
        self.positions = tuple(space.position(n) for n in self.split_names)
        self.keys: list[tuple[str, ...]] = list(itertools.product(
            *(space.choice_point(n).candidates for n in self.split_names)))
        self.split_step = int(split_step)
        self.parent = parent
        self.subnets = nn.ModuleList(copy.deepcopy(parent) for _ in self.keys)
        self.is_split: torch.Tensor
        self.register_buffer("is_split", torch.zeros((), dtype=torch.bool))
        self._setup(space, parent.in_channels, parent.num_classes, parent.image_size,
                    parent.task)

    @property
    def split(self) -> bool:
        return bool(self.is_split)

    @torch.no_grad()
    def split_if_due(self, global_step: int) -> bool:
        """Split (once) when training reaches ``split_step``; True when it just happened."""
        if self.split or global_step < self.split_step:
            return False
        state = self.parent.state_dict()
        for child in self.subnets:
            child.load_state_dict(state)
        self.is_split.fill_(True)
        return True

    def child_index(self, arch: Sequence[str]) -> int:
        arch = self.space.validate_arch(arch)
        return self.keys.index(tuple(arch[p] for p in self.positions))

    def path_net(self, arch: Sequence[str]) -> Supernet:
        """The supernet that runs ``arch`` now: its child once split, the parent before."""
        return self.subnets[self.child_index(arch)] if self.split else self.parent  # type: ignore[return-value]

    def forward(self, x: torch.Tensor, arch: Sequence[str]) -> torch.Tensor:
        return self.path_net(arch)(x, arch)

    def path_modules(self, arch: Sequence[str]) -> Iterator[nn.Module]:
        return self.path_net(arch).path_modules(arch)

    def params(self, arch: Sequence[str]) -> int:
        return self.parent.params(arch)

    def flops(self, arch: Sequence[str]) -> int:
        return self.parent.flops(arch)

    def config(self) -> dict:
        return self.parent.config()


def with_fewshot(net: Supernet, split: Sequence[str], split_step: int) -> Supernet:
    """``net`` itself without a split, else a :class:`FewShotSupernet` around it."""
    return FewShotSupernet(net, split, split_step) if split else net


def inherited_net(net: Supernet, arch: Arch) -> Supernet:
    """The supernet whose weights ``arch`` inherits (what an export copies)."""
    return net.path_net(arch) if isinstance(net, FewShotSupernet) else net


def planned_split_step(config: TrainConfig, n_train: int) -> int:
    """The step at which ``config.fewshot_at`` of the planned training is done."""
    steps = math.ceil(n_train / config.batch_size) * config.epochs
    return int(round(config.fewshot_at * steps))


def fewshot_supernet(net: Supernet, config: TrainConfig, n_train: int) -> Supernet:
    """``net`` split as ``config.fewshot_split`` asks (itself when it names no choice point)."""
    return with_fewshot(net, config.fewshot_split, planned_split_step(config, n_train))
