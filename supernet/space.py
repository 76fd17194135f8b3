"""Search spaces as a DAG of choice points.

Every search space is an ordered tuple of :class:`ChoicePoint` objects, each
picking exactly one operation name from its candidates. An architecture is the
tuple of picked operation names, one per choice point, in that order. Pruning,
locking, sampling weights and fitness scores all address a choice point by its
name, so the rest of the system does not care whether a choice point is an edge
of a NAS-Bench-201 cell or a layer of a chain-of-blocks template.

Two template kinds produce choice points: :class:`CellTemplate` (below) and the
chain-of-blocks :class:`supernet.chain.ChainTemplate`.

The cell space follows NAS-Bench-201: ``n_nodes`` nodes, one edge for every pair
``i < j`` (named ``"j<-i"``), ordered by target node and then by source node,
which is exactly the order of the benchmark's architecture strings.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from supernet.chain import ChainTemplate, chain_tiny, navigator_chain
from supernet.choice import Arch, ChoicePoint

CELL_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
    "nor_conv_5x5",
    "max_pool_3x3",
    "sep_conv_3x3",
    "dil_conv_3x3",
)
"""Operation names a cell edge may choose from (implemented in ``supernet.ops``)."""

NB201_OPS: tuple[str, ...] = CELL_OPS[:5]


def edge_name(src: int, dst: int) -> str:
    """Name of the cell edge from node ``src`` into node ``dst`` (NAS-Bench-201 style)."""
    return f"{dst}<-{src}"


def cell_edges(n_nodes: int) -> list[tuple[int, int]]:
    """All ``(src, dst)`` pairs of a cell in canonical order (by target, then source)."""
    return [(i, j) for j in range(1, n_nodes) for i in range(j)]


def _parse_edge_name(name: str) -> tuple[int, int]:
    try:
        dst_text, src_text = name.split("<-")
        return int(src_text), int(dst_text)
    except ValueError:
        raise ValueError(
            f"edge name {name!r} is not of the form 'j<-i' (for example '2<-0')"
        ) from None


@dataclass(frozen=True)
class CellTemplate:
    """A user-editable description of a cell search space and its macro skeleton.

    ``edges`` maps every edge name to its candidate operations. The macro network
    is a stem, ``n_stages`` stages of ``cells_per_stage`` cells with a residual
    reduction block between stages (channels double, resolution halves), then a
    global-pool classifier, as in NAS-Bench-201.
    """

    n_nodes: int = 4
    edges: dict[str, tuple[str, ...]] = field(default_factory=dict)
    C: int = 16
    cells_per_stage: int = 5
    n_stages: int = 3

    def __post_init__(self) -> None:
        if not self.edges:
            object.__setattr__(
                self,
                "edges",
                {edge_name(i, j): NB201_OPS for i, j in cell_edges(self.n_nodes)},
            )
        object.__setattr__(
            self, "edges", {k: tuple(v) for k, v in self.edges.items()}
        )
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first problem found."""
        if not isinstance(self.n_nodes, int) or self.n_nodes < 2:
            raise ValueError(
                f"a cell needs at least 2 nodes (input and output), got n_nodes={self.n_nodes!r}"
            )
        for name, value in (("C", self.C), ("cells_per_stage", self.cells_per_stage),
                            ("n_stages", self.n_stages)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        expected = {edge_name(i, j) for i, j in cell_edges(self.n_nodes)}
        for name, ops in self.edges.items():
            src, dst = _parse_edge_name(name)
            if src >= dst:
                raise ValueError(
                    f"edge {name!r} goes from node {src} back to node {dst}: edges must go "
                    "from a lower to a higher node, otherwise the cell has a cycle"
                )
            if name not in expected:
                raise ValueError(
                    f"edge {name!r} does not exist in a cell with {self.n_nodes} nodes "
                    f"(nodes are 0..{self.n_nodes - 1})"
                )
            if not ops:
                raise ValueError(f"edge {name!r} has an empty candidate list: give it at least one op")
            unknown = [op for op in ops if op not in CELL_OPS]
            if unknown:
                raise ValueError(
                    f"edge {name!r}: unknown op(s) {unknown}; known ops are {list(CELL_OPS)}"
                )
            if len(set(ops)) != len(ops):
                raise ValueError(f"edge {name!r} lists an op twice: {list(ops)}")
        missing = sorted(expected - set(self.edges))
        if missing:
            raise ValueError(f"edges {missing} have no candidate list")

    def choice_points(self) -> tuple[ChoicePoint, ...]:
        return tuple(ChoicePoint(edge_name(i, j), self.edges[edge_name(i, j)])
                     for i, j in cell_edges(self.n_nodes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "cell",
            "n_nodes": self.n_nodes,
            "edges": {k: list(v) for k, v in self.edges.items()},
            "C": self.C,
            "cells_per_stage": self.cells_per_stage,
            "n_stages": self.n_stages,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellTemplate:
        """Build from a JSON/YAML document; ``ops`` may give one list for every edge."""
        if not isinstance(data, dict):
            raise ValueError(f"a template must be a mapping, got {type(data).__name__}")
        kind = data.get("kind", "cell")
        if kind != "cell":
            raise ValueError(f"unsupported template kind {kind!r}; supported: 'cell'")
        known = {"kind", "n_nodes", "edges", "ops", "C", "cells_per_stage", "n_stages"}
        extra = sorted(set(data) - known)
        if extra:
            raise ValueError(f"unknown template field(s) {extra}; known fields are {sorted(known)}")
        n_nodes = data.get("n_nodes", 4)
        if not isinstance(n_nodes, int) or n_nodes < 2:
            raise ValueError(
                f"a cell needs at least 2 nodes (input and output), got n_nodes={n_nodes!r}"
            )
        edges = data.get("edges")
        if edges is None:
            ops = tuple(data.get("ops", NB201_OPS))
            edges = {edge_name(i, j): ops for i, j in cell_edges(n_nodes)}
        if not isinstance(edges, dict):
            raise ValueError("'edges' must map edge names like '1<-0' to lists of op names")
        return cls(
            n_nodes=n_nodes,
            edges={str(k): tuple(v) for k, v in edges.items()},
            C=data.get("C", 16),
            cells_per_stage=data.get("cells_per_stage", 5),
            n_stages=data.get("n_stages", 3),
        )

    @classmethod
    def from_json(cls, text: str) -> CellTemplate:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"template is not valid JSON: {exc}") from None
        return cls.from_dict(data)


Template = CellTemplate | ChainTemplate


def template_from_dict(data: Any) -> Template:
    """A template of either kind from its JSON form (``kind`` defaults to ``cell``)."""
    if isinstance(data, dict) and data.get("kind") == "chain":
        return ChainTemplate.from_dict(data)
    return CellTemplate.from_dict(data)


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
        self.template = template
        self.is_chain = isinstance(template, ChainTemplate)
        self.edges: list[tuple[int, int]] = [] if self.is_chain else cell_edges(template.n_nodes)
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
        """The NAS-Bench-201 string, e.g. ``|nor_conv_3x3~0|+|skip_connect~0|none~1|``."""
        arch = self.validate_arch(arch)
        if self.is_chain:
            return "|".join(",".join(group) for group in self._layer_groups(arch))
        parts = []
        k = 0
        for dst in range(1, self.template.n_nodes):
            node = []
            for src in range(dst):
                node.append(f"{arch[k]}~{src}")
                k += 1
            parts.append("|" + "|".join(node) + "|")
        return "+".join(parts)

    def _layer_groups(self, arch: Arch) -> list[tuple[str, ...]]:
        """A chain architecture's picks grouped by layer, the head last."""
        groups, k = [], 0
        for layer in self.template.layers:
            n = len(layer.choice_points())
            groups.append(arch[k:k + n])
            k += n
        return groups + [arch[k:]]

    def _chain_from_string(self, text: str) -> Arch:
        groups = text.split("|")
        layers = self.template.layers
        if len(groups) != len(layers) + 1:
            raise ValueError(
                f"{text!r} has {len(groups)} '|'-separated parts; this chain needs one per layer "
                f"({len(layers)}) and the head"
            )
        ops: list[str] = []
        for layer, group in zip(layers, groups):
            picks = group.split(",")
            if len(picks) != len(layer.choice_points()):
                raise ValueError(f"layer {layer.name!r} in {text!r} needs "
                                 f"{len(layer.choice_points())} comma-separated picks, got {group!r}")
            ops.extend(picks)
        return self.validate_arch(ops + [groups[-1]])

    def from_string(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise ValueError(f"an architecture string must be a str, got {type(text).__name__}")
        if self.is_chain:
            return self._chain_from_string(text)
        nodes = text.split("+")
        if len(nodes) != self.template.n_nodes - 1:
            raise ValueError(
                f"{text!r} describes {len(nodes)} nodes after the input; this space has "
                f"{self.template.n_nodes - 1}"
            )
        ops: list[str] = []
        for dst, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")):
                raise ValueError(f"node {dst} in {text!r} must look like '|op~0|op~1|'")
            entries = node[1:-1].split("|")
            if len(entries) != dst:
                raise ValueError(f"node {dst} in {text!r} needs {dst} inputs, got {len(entries)}")
            for src, entry in enumerate(entries):
                op, _, src_text = entry.rpartition("~")
                if src_text != str(src):
                    raise ValueError(f"node {dst} in {text!r}: expected input ~{src}, got {entry!r}")
                ops.append(op)
        return self.validate_arch(ops)

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
