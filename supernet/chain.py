"""Chain-of-blocks templates: the "lego" search spaces of the original NAS-Navigator.

A template is a sequence of layers. Every layer is a choice point among candidate
blocks (``<layer>.block``), optionally followed by a second choice point, usually a
pooling block (``<layer>.pool``); the network ends in a choice among dense heads
(``head``). An architecture picks one block name per choice point, so pruning,
locking, sampling weights and fitness work exactly as on the edges of a cell.

Weight sharing needs every path through a choice point to hand the next one the
same tensor shape, so all candidates of a choice point must produce the same
(channels, height, width) from its input. :meth:`ChainTemplate.output_shapes`
checks this for a given input size and names the first layer that does not compose.

JSON form (``ChainTemplate.to_dict``)::

    {"kind": "chain",
     "layers": [{"name": "layer1",
                 "blocks": [{"name": "conv3x3", "type": "conv", "filters": 16,
                             "kernel": 3, "stride": 1, "padding": 1, "activation": "relu"}],
                 "pools": [{"name": "max", "type": "max_pool", "kernel": 2, "stride": 2,
                            "padding": 0}]}],
     "heads": [{"name": "dense1", "type": "dense", "hidden": [], "dropout": 0.0}]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from supernet.choice import ChoicePoint

BLOCK_TYPES: dict[str, dict[str, Any]] = {
    "conv": {"filters": 16, "kernel": 3, "stride": 1, "padding": 1, "activation": "relu"},
    "sep_conv": {"filters": 16, "kernel": 3, "stride": 1, "padding": 1, "activation": "relu"},
    "max_pool": {"kernel": 2, "stride": 2, "padding": 0},
    "avg_pool": {"kernel": 2, "stride": 2, "padding": 0},
    "identity": {},
    "dense": {"hidden": [], "dropout": 0.0, "activation": "relu"},
}
"""Every block type with its properties and their defaults (the lego palette)."""

BODY_TYPES = tuple(t for t in BLOCK_TYPES if t != "dense")
HEAD_TYPES = ("dense",)
ACTIVATIONS = ("relu", "gelu", "silu", "tanh", "none")
HEAD = "head"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

Shape = tuple[int, int, int]
"""(channels, height, width) of one sample."""


def _check_name(what: str, name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{what} name {name!r} must be 1-40 letters, digits, '_' or '-' (it becomes part "
            "of architecture strings and module names)"
        )
    return name


def _int(where: str, key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{where}: {key} must be an integer >= {low}, got {value!r}")
    return value


@dataclass(frozen=True)
class BlockSpec:
    """One candidate block: a type from ``BLOCK_TYPES`` and its properties."""

    name: str
    type: str
    props: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_name("block", self.name)
        if self.type not in BLOCK_TYPES:
            raise ValueError(
                f"block {self.name!r}: unknown type {self.type!r}; known types are {list(BLOCK_TYPES)}"
            )
        extra = sorted(set(self.props) - set(BLOCK_TYPES[self.type]))
        if extra:
            raise ValueError(
                f"block {self.name!r} ({self.type}) has no propert{'y' if len(extra) == 1 else 'ies'} "
                f"{extra}; it has {sorted(BLOCK_TYPES[self.type])}"
            )
        object.__setattr__(self, "props", BLOCK_TYPES[self.type] | dict(self.props))
        self._check_props()

    def _check_props(self) -> None:
        where, p = f"block {self.name!r} ({self.type})", self.props
        for key in ("filters", "kernel", "stride"):
            if key in p:
                _int(where, key, p[key], 1)
        if "padding" in p:
            _int(where, "padding", p["padding"], 0)
        if "activation" in p and p["activation"] not in ACTIVATIONS:
            raise ValueError(f"{where}: activation must be one of {list(ACTIVATIONS)}, got {p['activation']!r}")
        if self.type in ("max_pool", "avg_pool") and 2 * p["padding"] > p["kernel"]:
            raise ValueError(f"{where}: padding {p['padding']} may be at most half the kernel ({p['kernel']})")
        if "hidden" in p:
            if not isinstance(p["hidden"], (list, tuple)):
                raise ValueError(f"{where}: hidden must be a list of layer widths, got {p['hidden']!r}")
            object.__setattr__(self, "props", p | {"hidden": [_int(where, "hidden width", h, 1)
                                                               for h in p["hidden"]]})
        if "dropout" in p and not (isinstance(p["dropout"], (int, float)) and 0 <= p["dropout"] < 1):
            raise ValueError(f"{where}: dropout must be in [0, 1), got {p['dropout']!r}")

    def output_shape(self, shape: Shape, num_classes: int) -> Shape:
        """What this block makes of an input of ``shape`` (``num_classes`` for heads)."""
        c, h, w = shape
        p = self.props
        if self.type == "dense":
            return (num_classes, 1, 1)
        if self.type == "identity":
            return shape
        size = [(n + 2 * p["padding"] - p["kernel"]) // p["stride"] + 1 for n in (h, w)]
        return (p.get("filters", c), size[0], size[1])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type} | {
            k: list(v) if isinstance(v, (list, tuple)) else v for k, v in self.props.items()}

    @classmethod
    def from_dict(cls, data: Any) -> BlockSpec:
        if not isinstance(data, dict) or "name" not in data or "type" not in data:
            raise ValueError(f"a block must be a mapping with 'name' and 'type', got {data!r:.80}")
        props = {k: v for k, v in data.items() if k not in ("name", "type")}
        return cls(name=data["name"], type=data["type"], props=props)


@dataclass(frozen=True)
class ChainLayer:
    """One layer: a choice among ``blocks``, then (if given) a choice among ``pools``."""

    name: str
    blocks: tuple[BlockSpec, ...]
    pools: tuple[BlockSpec, ...] = ()

    def __post_init__(self) -> None:
        _check_name("layer", self.name)
        if not self.blocks:
            raise ValueError(f"layer {self.name!r} has no candidate blocks: add at least one")
        for group in (self.blocks, self.pools):
            names = [b.name for b in group]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"layer {self.name!r} lists block name(s) {dupes} twice in one choice")
            heads = [b.name for b in group if b.type not in BODY_TYPES]
            if heads:
                raise ValueError(f"layer {self.name!r}: dense block(s) {heads} may only be heads")

    def choice_points(self) -> list[tuple[str, tuple[BlockSpec, ...]]]:
        points = [(f"{self.name}.block", self.blocks)]
        if self.pools:
            points.append((f"{self.name}.pool", self.pools))
        return points

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "blocks": [b.to_dict() for b in self.blocks],
                "pools": [b.to_dict() for b in self.pools]}

    @classmethod
    def from_dict(cls, data: Any) -> ChainLayer:
        if not isinstance(data, dict):
            raise ValueError(f"a layer must be a mapping with 'name' and 'blocks', got {data!r:.80}")
        extra = sorted(set(data) - {"name", "blocks", "pools"})
        if extra:
            raise ValueError(f"layer {data.get('name')!r}: unknown field(s) {extra}; use name, blocks, pools")
        for key in ("blocks", "pools"):
            if not isinstance(data.get(key, []), list):
                raise ValueError(f"layer {data.get('name')!r}: {key} must be a list of blocks")
        return cls(name=data.get("name"), blocks=tuple(BlockSpec.from_dict(b) for b in data.get("blocks", [])),
                   pools=tuple(BlockSpec.from_dict(b) for b in data.get("pools", [])))


@dataclass(frozen=True)
class ChainTemplate:
    """A chain of layers ending in a choice of dense heads."""

    layers: tuple[ChainLayer, ...]
    heads: tuple[BlockSpec, ...]

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a chain template needs at least one layer")
        names = [layer.name for layer in self.layers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"layer name(s) {dupes} used twice: every layer needs its own name")
        if HEAD in names:
            raise ValueError(f"{HEAD!r} is reserved for the head choice; rename that layer")
        if not self.heads:
            raise ValueError("a chain template needs at least one head (a 'dense' block)")
        wrong = [h.name for h in self.heads if h.type not in HEAD_TYPES]
        if wrong:
            raise ValueError(f"head(s) {wrong} must be of type 'dense'")
        head_names = [h.name for h in self.heads]
        if len(set(head_names)) != len(head_names):
            raise ValueError(f"head names must differ, got {head_names}")

    def blocks_per_choice(self) -> list[tuple[str, tuple[BlockSpec, ...]]]:
        """(choice point name, candidate blocks) in architecture order."""
        points = [p for layer in self.layers for p in layer.choice_points()]
        return points + [(HEAD, self.heads)]

    def choice_points(self) -> tuple[ChoicePoint, ...]:
        return tuple(ChoicePoint(name, tuple(b.name for b in blocks))
                     for name, blocks in self.blocks_per_choice())

    def output_shapes(self, in_channels: int, image_size: int, num_classes: int = 10
                      ) -> list[tuple[str, Shape]]:
        """The shape after every choice point, or ``ValueError`` naming the first that breaks.

        A choice point breaks when a candidate shrinks the image below one pixel or when
        its candidates disagree on the output shape (weight sharing needs one shape).
        """
        shape: Shape = (in_channels, image_size, image_size)
        out = []
        for name, blocks in self.blocks_per_choice():
            shapes = {b.name: b.output_shape(shape, num_classes) for b in blocks}
            for block, s in shapes.items():
                if min(s[1:]) < 1:
                    raise ValueError(
                        f"{name}: block {block!r} turns {_fmt(shape)} into {_fmt(s)}; the image is "
                        "too small here (use stride 1, more padding or fewer pooling layers)"
                    )
            if len(set(shapes.values())) > 1:
                listing = ", ".join(f"{b} gives {_fmt(s)}" for b, s in shapes.items())
                raise ValueError(
                    f"{name}: candidates must give one output shape for weight sharing, but from "
                    f"{_fmt(shape)} {listing}; match filters, stride and padding"
                )
            shape = next(iter(shapes.values()))
            out.append((name, shape))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "chain", "layers": [layer.to_dict() for layer in self.layers],
                "heads": [h.to_dict() for h in self.heads]}

    @classmethod
    def from_dict(cls, data: Any) -> ChainTemplate:
        if not isinstance(data, dict):
            raise ValueError(f"a template must be a mapping, got {type(data).__name__}")
        extra = sorted(set(data) - {"kind", "layers", "heads"})
        if extra:
            raise ValueError(f"unknown chain template field(s) {extra}; known: kind, layers, heads")
        layers, heads = data.get("layers"), data.get("heads")
        if not isinstance(layers, list) or not isinstance(heads, list):
            raise ValueError("a chain template needs 'layers' and 'heads' lists")
        return cls(layers=tuple(ChainLayer.from_dict(layer) for layer in layers),
                   heads=tuple(BlockSpec.from_dict(h) for h in heads))


def _fmt(shape: Shape) -> str:
    return "×".join(str(n) for n in shape)


def conv_layer(name: str, filters: int, pool_stride: int) -> ChainLayer:
    """The NAS-Navigator layer: three conv blocks, then max or average pooling."""
    pool = ({"kernel": 2, "stride": 2, "padding": 0} if pool_stride == 2
            else {"kernel": 3, "stride": 1, "padding": 1})
    return ChainLayer(
        name=name,
        blocks=(BlockSpec("conv3x3", "conv", {"filters": filters, "kernel": 3, "padding": 1}),
                BlockSpec("conv5x5", "conv", {"filters": filters, "kernel": 5, "padding": 2}),
                BlockSpec("sep3x3", "sep_conv", {"filters": filters, "kernel": 3, "padding": 1})),
        pools=(BlockSpec("max", "max_pool", pool), BlockSpec("avg", "avg_pool", pool)),
    )


DENSE_HEADS: tuple[BlockSpec, ...] = (
    BlockSpec("dense1", "dense", {"hidden": []}),
    BlockSpec("dense2", "dense", {"hidden": [64]}),
    BlockSpec("dense3", "dense", {"hidden": [128, 64]}),
)
"""Three heads of different depth, as in the NAS-Navigator template network."""


def navigator_chain() -> ChainTemplate:
    """7 layers x (3 conv blocks, then 2 pools) + 3 heads: 839,808 architectures.

    Pools halve the image in layers 2, 4 and 6 (32 -> 4 on CIFAR-10, 8 -> 1 on digits)
    and keep its size elsewhere.
    """
    filters = (16, 16, 32, 32, 64, 64, 64)
    return ChainTemplate(
        layers=tuple(conv_layer(f"layer{i + 1}", f, 2 if i in (1, 3, 5) else 1)
                     for i, f in enumerate(filters)),
        heads=DENSE_HEADS,
    )


def chain_tiny() -> ChainTemplate:
    """Three narrow layers for tests and the CPU digits demo (6**3 * 3 = 648 architectures)."""
    return ChainTemplate(
        layers=(conv_layer("layer1", 8, 1), conv_layer("layer2", 16, 2), conv_layer("layer3", 16, 1)),
        heads=DENSE_HEADS[:2] + (BlockSpec("dense3", "dense", {"hidden": [32, 16]}),),
    )
