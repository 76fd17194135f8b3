"""The cell family: NAS-Bench-201 style cells stacked into a fixed macro skeleton.

A cell has ``n_nodes`` nodes and one edge for every pair ``i < j`` (named
``"j<-i"``), ordered by target node and then by source node, which is exactly the
order of the benchmark's architecture strings. Every edge is a choice point among
operation names of :data:`CELL_OPS` (implemented in ``supernet.ops``).

What the cell kind knows beyond the template: the NAS-Bench-201 string encoding,
which edges actually run (the cell skips ``none`` edges and edges out of nodes that
received nothing, so those cost no time), and the exact fastest architecture under
an additive cost of the edges that run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from supernet.choice import Arch, ChoicePoint
from supernet.settings import check_fields, parse
from supernet.templates.limits import (
    MAX_CELL_CHANNELS,
    MAX_CELL_NODES,
    MAX_CELLS_PER_STAGE,
    MAX_CHOICE_POINTS,
    MAX_STAGES,
    too_many,
)
from supernet.templates.registry import (
    TemplateKind,
    check_template_size,
    register_template_kind,
    template_kinds,
)
from supernet.validation import STRICT, show

if TYPE_CHECKING:
    from torch import nn

    from supernet.model import Supernet
    from supernet.space import SearchSpace

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


def _count(candidates: Any) -> int:
    """How many candidates a raw list names (0 when it is no list)."""
    return len(candidates) if isinstance(candidates, (list, tuple)) else 0


def _parse_edge_name(name: str) -> tuple[int, int]:
    try:
        dst_text, src_text = name.split("<-")
        return int(src_text), int(dst_text)
    except ValueError:
        raise ValueError(
            f"edge name {name!r} is not of the form 'j<-i' (for example '2<-0')"
        ) from None


_Nodes = Annotated[int, Field(ge=2, le=MAX_CELL_NODES, description=(
    f"an integer: at least 2 nodes (input and output), at most {MAX_CELL_NODES}"))]
_Channels = Annotated[int, Field(ge=1, le=MAX_CELL_CHANNELS, description=(
    f"a positive integer (at most {MAX_CELL_CHANNELS})"))]
_Cells = Annotated[int, Field(ge=1, le=MAX_CELLS_PER_STAGE, description=(
    f"a positive integer (at most {MAX_CELLS_PER_STAGE})"))]
_Stages = Annotated[int, Field(ge=1, le=MAX_STAGES, description=(
    f"a positive integer (at most {MAX_STAGES})"))]


@dataclass(frozen=True)
class CellTemplate:
    """A user-editable description of a cell search space and its macro skeleton.

    ``edges`` maps every edge name to its candidate operations. The macro network
    is a stem, ``n_stages`` stages of ``cells_per_stage`` cells with a residual
    reduction block between stages (channels double, resolution halves), then a
    global-pool classifier, as in NAS-Bench-201.
    """

    __pydantic_config__ = STRICT

    n_nodes: _Nodes = 4
    edges: dict[str, tuple[str, ...]] = field(default_factory=dict)
    C: _Channels = 16
    cells_per_stage: _Cells = 5
    n_stages: _Stages = 3

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.edges:
            object.__setattr__(
                self,
                "edges",
                {edge_name(i, j): NB201_OPS for i, j in cell_edges(self.n_nodes)},
            )
        self._check_edges()

    def _check_edges(self) -> None:
        """Raise ``ValueError`` naming the first edge that does not fit the cell."""
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
            raise ValueError(f"unsupported template kind {show(kind)} for a cell template; "
                             f"registered kinds: {', '.join(map(repr, template_kinds()))} "
                             "(template_from_dict reads any of them)")
        check_template_size(data)
        doc = parse(_CellDocument, data, "cell template", "template field")
        edges = doc.edges
        if edges is None:
            edges = {edge_name(i, j): doc.ops for i, j in cell_edges(doc.n_nodes)}
        return cls(n_nodes=doc.n_nodes, edges=edges, C=doc.C,
                   cells_per_stage=doc.cells_per_stage, n_stages=doc.n_stages)


@dataclass(frozen=True)
class _CellDocument:
    """The JSON form of a cell template: ``ops``, when ``edges`` is absent, for every edge."""

    __pydantic_config__ = STRICT

    kind: str = "cell"
    n_nodes: _Nodes = 4
    edges: dict[str, tuple[str, ...]] | None = None
    ops: tuple[str, ...] = NB201_OPS
    C: _Channels = 16
    cells_per_stage: _Cells = 5
    n_stages: _Stages = 3


NONE_OP = "none"
"""The op that computes nothing: the cell skips it."""


def _node_plan(edges: list[int], node_live: bool, allowed: Sequence[tuple[str, ...]],
               costs: list[dict[str, float]], ops: list[str]) -> float | None:
    """Cheapest ops for the edges from live nodes into one node that must be (not) live.

    Fills ``ops`` in place; ``None`` when the node cannot be in that state.
    """
    if not node_live:
        if any(NONE_OP not in allowed[k] for k in edges):
            return None
        for k in edges:
            ops[k] = NONE_OP
        return 0.0
    options = []
    for k in edges:
        runnable = [op for op in allowed[k] if op != NONE_OP]
        run_op = min(runnable, key=costs[k].__getitem__) if runnable else None
        idle = 0.0 if NONE_OP in allowed[k] else math.inf
        options.append((k, run_op, costs[k][run_op] if run_op else math.inf, idle))
    for k, run_op, run, idle in options:
        ops[k] = run_op if run_op is not None and run <= idle else NONE_OP
    if all(ops[k] == NONE_OP for k in edges):  # a live node needs one running input
        k, run_op, _, _ = min(options, key=lambda o: o[2] - o[3])
        if run_op is None:
            return None
        ops[k] = run_op
    return sum(o[2] if ops[o[0]] != NONE_OP else 0.0 for o in options)


@register_template_kind("cell")
class CellKind(TemplateKind[CellTemplate]):
    template_type = CellTemplate
    supports_tabular = True

    def from_dict(self, data: dict[str, Any]) -> CellTemplate:
        return CellTemplate.from_dict(data)

    def choice_sizes(self, data: dict[str, Any]) -> list[int]:
        n_nodes = data.get("n_nodes", 4)
        if not isinstance(n_nodes, int) or isinstance(n_nodes, bool) or n_nodes < 2:
            return []  # not a node count: from_dict says what is wrong
        if n_nodes > MAX_CELL_NODES:
            raise too_many("nodes", n_nodes, MAX_CELL_NODES, "MAX_CELL_NODES")
        edges = data.get("edges")
        if isinstance(edges, dict):
            if len(edges) > MAX_CHOICE_POINTS:
                raise too_many("edges", len(edges), MAX_CHOICE_POINTS, "MAX_CHOICE_POINTS")
            return [_count(ops) for ops in edges.values()]
        return [_count(data.get("ops", NB201_OPS))] * (n_nodes * (n_nodes - 1) // 2)

    def edges(self, template: CellTemplate) -> list[tuple[int, int]]:
        return cell_edges(template.n_nodes)

    def to_string(self, template: CellTemplate, arch: Arch) -> str:
        """The NAS-Bench-201 string, e.g. ``|nor_conv_3x3~0|+|skip_connect~0|none~1|``."""
        parts = []
        k = 0
        for dst in range(1, template.n_nodes):
            node = []
            for src in range(dst):
                node.append(f"{arch[k]}~{src}")
                k += 1
            parts.append("|" + "|".join(node) + "|")
        return "+".join(parts)

    def from_string(self, template: CellTemplate, text: str) -> list[str]:
        nodes = text.split("+")
        if len(nodes) != template.n_nodes - 1:
            raise ValueError(
                f"{text!r} describes {len(nodes)} nodes after the input; this space has "
                f"{template.n_nodes - 1}"
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
        return ops

    def runs(self, template: CellTemplate, arch: Arch) -> list[bool]:
        """As ``supernet.ops.Cell`` executes: ``none`` edges and edges out of dead nodes idle."""
        live = [True] + [False] * (template.n_nodes - 1)
        runs = []
        for (src, dst), op in zip(cell_edges(template.n_nodes), arch):
            run = live[src] and op != NONE_OP
            live[dst] = live[dst] or run
            runs.append(run)
        return runs

    def fastest(self, template: CellTemplate, allowed: Sequence[tuple[str, ...]],
                costs: Mapping[str, Mapping[str, float]]) -> Arch:
        """Exact argmin over edges that run, by enumerating which nodes are live.

        Every pattern of live nodes (``2**(n_nodes-1)`` of them) is tried with the
        cheapest consistent ops per node.
        """
        edges = cell_edges(template.n_nodes)
        per_edge = [dict(costs[cp.name]) for cp in template.choice_points()]
        best: tuple[float, Arch] | None = None
        for rest in itertools.product((True, False), repeat=template.n_nodes - 1):
            live = (True, *rest)
            ops = [NONE_OP if NONE_OP in a else a[0] for a in allowed]  # edges from dead nodes
            total = 0.0
            for dst in range(1, template.n_nodes):
                into = [k for k, (src, d) in enumerate(edges) if d == dst and live[src]]
                cost = _node_plan(into, live[dst], allowed, per_edge, ops)
                if cost is None:
                    break
                total += cost
            else:
                if best is None or total < best[0]:
                    best = (total, tuple(ops))
        if best is None:  # unreachable: the live pattern of any allowed arch is feasible
            raise ValueError("no allowed architecture found")
        return best[1]

    def supernet_class(self) -> type[Supernet]:
        from supernet.model import CellSupernet  # model imports the space, which imports kinds

        return CellSupernet

    def standalone_class(self) -> type[nn.Module]:
        from supernet.ops import StandaloneNet  # torch: loaded only when a network is built

        return StandaloneNet

    def standalone_config(self, space: SearchSpace, arch: Arch, in_channels: int,
                          num_classes: int, image_size: int) -> dict[str, Any]:
        """The cell network is resolution-agnostic, so ``image_size`` is not checked."""
        t = space.template
        return {"n_nodes": t.n_nodes, "arch": list(space.validate_arch(arch)), "C": t.C,
                "cells_per_stage": t.cells_per_stage, "n_stages": t.n_stages,
                "in_channels": in_channels, "num_classes": num_classes}
