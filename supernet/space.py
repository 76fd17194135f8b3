"""Search spaces as a DAG of choice points.

Every search space is an ordered tuple of :class:`ChoicePoint` objects, each
picking exactly one operation name from its candidates. An architecture is the
tuple of picked operation names, one per choice point, in that order. Pruning,
locking, sampling weights and fitness scores all address a choice point by its
name, so the rest of the system does not care whether a choice point is an edge
of a NAS-Bench-201 cell or a layer of a chain-of-blocks template.

Templates come in kinds registered in ``supernet.templates`` (the cell family in
``supernet.templates.cell``, chains of blocks in ``supernet.templates.chain``); a
:class:`SearchSpace` asks its template's kind (``space.kind``) for whatever differs,
such as the architecture string format. This module also names the template
vocabulary most callers need (``CellTemplate``, ``CELL_OPS``, ``template_from_dict``),
so that describing a space takes one import.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from supernet.choice import Arch, ChoicePoint
from supernet.templates import Template, TemplateKind, kind_of, template_from_dict
from supernet.templates.cell import CELL_OPS, NB201_OPS, CellTemplate, cell_edges, edge_name
from supernet.templates.chain import chain_tiny, navigator_chain

__all__ = ["CELL_OPS", "NB201_OPS", "PRESETS", "Arch", "CellTemplate", "ChoicePoint",
           "SearchSpace", "Template", "cell_edges", "edge_name", "preset", "template_from_dict"]


PRESETS: dict[str, Template] = {
    "nb201": CellTemplate(n_nodes=4, C=16, cells_per_stage=5, n_stages=3),
    "tiny": CellTemplate(n_nodes=4, C=8, cells_per_stage=1, n_stages=3),
    "navigator-chain": navigator_chain(),
    "chain-tiny": chain_tiny(),
}
"""``nb201`` is the NAS-Bench-201 macro (15,625 architectures); ``tiny`` keeps the
same cell but a CPU-sized skeleton, for tests and the digits demo. ``navigator-chain``
is the NAS-Navigator template network (839,808 architectures) and ``chain-tiny`` a
three-layer chain for the CPU."""


def preset(name: str) -> Template:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


class SearchSpace:
    """The set of architectures a template allows, with their encodings.

    Encodings: a canonical string (NAS-Bench-201's for cells; for chains the block
    names of each layer joined by ``,`` and the layers by ``|``, ending in the head,
    e.g. ``conv3x3,max|sep3x3,avg|dense2``), a mixed-radix integer index
    (bijective on the space; choice point 0 is the most significant digit), a
    one-hot vector (one block per choice point) and a short stable hash.
    """

    def __init__(self, template: Template) -> None:
        self.template: Any = template
        self.kind: TemplateKind[Any] = kind_of(template)
        """What this family of templates does differently; ``kind.name`` is its JSON ``kind``."""
        self.edges: list[tuple[int, int]] = self.kind.edges(template)
        """``(src, dst)`` of each choice point for cells, empty for kinds without edges."""
        self.choice_points: tuple[ChoicePoint, ...] = template.choice_points()
        self._by_name = {cp.name: k for k, cp in enumerate(self.choice_points)}
        self._offsets = np.cumsum([0] + [len(cp.candidates) for cp in self.choice_points])

    @classmethod
    def from_preset(cls, name: str) -> SearchSpace:
        return cls(preset(name))

    def __len__(self) -> int:
        return len(self.choice_points)

    def __iter__(self) -> Iterator[ChoicePoint]:
        return iter(self.choice_points)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and other.template == self.template

    def __hash__(self) -> int:
        return hash(json.dumps(self.template.to_dict(), sort_keys=True))

    def size(self) -> int:
        return math.prod(len(cp.candidates) for cp in self.choice_points)

    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def choice_point(self, name: str) -> ChoicePoint:
        if name not in self._by_name:
            raise ValueError(
                f"unknown choice point {name!r}; this space has {[cp.name for cp in self]}"
            )
        return self.choice_points[self._by_name[name]]

    def position(self, name: str) -> int:
        """Index of a choice point in the architecture tuple."""
        self.choice_point(name)
        return self._by_name[name]

    def validate_arch(self, arch: Sequence[str]) -> Arch:
        arch = tuple(arch)
        if len(arch) != len(self.choice_points):
            raise ValueError(
                f"an architecture of this space picks {len(self.choice_points)} ops, got {len(arch)}"
            )
        for op, cp in zip(arch, self.choice_points):
            if op not in cp.candidates:
                raise ValueError(
                    f"op {op!r} is not a candidate of {cp.name!r} (candidates: {list(cp.candidates)})"
                )
        return arch

    def to_string(self, arch: Sequence[str]) -> str:
        """The canonical string, e.g. NAS-Bench-201's ``|nor_conv_3x3~0|+|skip_connect~0|none~1|``."""
        return self.kind.to_string(self.template, self.validate_arch(arch))

    def from_string(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise ValueError(f"an architecture string must be a str, got {type(text).__name__}")
        return self.validate_arch(self.kind.from_string(self.template, text))

    def accepts(self, arch: str | Sequence[str]) -> bool:
        """Whether an architecture (tuple or string) belongs to this space, without raising."""
        try:
            self.from_string(arch) if isinstance(arch, str) else self.validate_arch(arch)
        except ValueError:
            return False
        return True

    def index(self, arch: Sequence[str]) -> int:
        arch = self.validate_arch(arch)
        value = 0
        for op, cp in zip(arch, self.choice_points):
            value = value * len(cp.candidates) + cp.candidates.index(op)
        return value

    def from_index(self, index: int) -> Arch:
        if not 0 <= index < self.size():
            raise ValueError(f"index {index} is outside 0..{self.size() - 1}")
        ops: list[str] = []
        for cp in reversed(self.choice_points):
            index, digit = divmod(index, len(cp.candidates))
            ops.append(cp.candidates[digit])
        return tuple(reversed(ops))

    @property
    def one_hot_dim(self) -> int:
        return int(self._offsets[-1])

    def one_hot(self, arch: Sequence[str]) -> np.ndarray:
        arch = self.validate_arch(arch)
        vec = np.zeros(self.one_hot_dim, dtype=np.float32)
        for k, (op, cp) in enumerate(zip(arch, self.choice_points)):
            vec[self._offsets[k] + cp.candidates.index(op)] = 1.0
        return vec

    def one_hot_many(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        return np.stack([self.one_hot(a) for a in archs]) if archs else np.zeros((0, self.one_hot_dim), np.float32)

    def arch_hash(self, arch: Sequence[str]) -> str:
        """A short hash of the canonical string: stable across processes and runs."""
        return hashlib.sha1(self.to_string(arch).encode()).hexdigest()[:12]

    def random_arch(self, rng: np.random.Generator) -> Arch:
        return tuple(cp.candidates[rng.integers(len(cp.candidates))] for cp in self.choice_points)

    def all_archs(self) -> Iterator[Arch]:
        for i in range(self.size()):
            yield self.from_index(i)

    def to_dict(self) -> dict[str, Any]:
        return self.template.to_dict()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchSpace:
        return cls(template_from_dict(data))
