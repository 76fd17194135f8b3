"""Chain-of-blocks templates: the "lego" search spaces of the original NAS-Navigator.

A template is a sequence of layers. Every layer is a choice point among candidate
blocks (``<layer>.block``), optionally followed by a second choice point, usually a
pooling block (``<layer>.pool``); the network ends in a choice among dense heads
(``head``). An architecture picks one block name per choice point, so pruning,
locking, sampling weights and fitness work exactly as on the edges of a cell.
Every block of a chain runs, so the latency model charges all of them. The networks
are ``supernet.blocks`` (torch only, copied into exports).

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
import typing
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from supernet.choice import Arch, ChoicePoint
from supernet.settings import check_fields, parse
from supernet.templates.limits import (
    MAX_CHOICE_POINTS,
    MAX_FILTERS,
    MAX_HIDDEN_LAYERS,
    MAX_KERNEL,
    too_many,
)
from supernet.templates.registry import TemplateKind, check_template_size, register_template_kind
from supernet.validation import STRICT, requirement, show

if TYPE_CHECKING:
    from torch import nn

    from supernet.model import Supernet
    from supernet.space import SearchSpace

Activation = Literal["relu", "gelu", "silu", "tanh", "none"]
ACTIVATIONS: tuple[str, ...] = typing.get_args(Activation)
HEAD = "head"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

Name = Annotated[str, requirement(
    lambda name: bool(_NAME.match(name)),
    "must be 1-40 letters, digits, '_' or '-' (it becomes part of architecture strings and "
    "module names)")]
_Channels = Annotated[int, Field(ge=1, le=MAX_FILTERS,
                                 description=f"an integer >= 1 (at most {MAX_FILTERS:,})")]
_Window = Annotated[int, Field(ge=1, le=MAX_KERNEL,
                               description=f"an integer >= 1 (at most {MAX_KERNEL})")]
_Padding = Annotated[int, Field(ge=0, le=MAX_KERNEL,
                                description=f"an integer >= 0 (at most {MAX_KERNEL})")]


@dataclass
class ConvProps:
    """Properties of ``conv`` and ``sep_conv`` blocks."""

    __pydantic_config__ = STRICT

    filters: _Channels = 16
    kernel: _Window = 3
    stride: _Window = 1
    padding: _Padding = 1
    activation: Activation = "relu"


@dataclass
class PoolProps:
    """Properties of ``max_pool`` and ``avg_pool`` blocks."""

    __pydantic_config__ = STRICT

    kernel: _Window = 2
    stride: _Window = 2
    padding: _Padding = 0


@dataclass
class IdentityProps:
    __pydantic_config__ = STRICT


@dataclass
class DenseProps:
    """Properties of ``dense`` heads: hidden layer widths, dropout before each layer."""

    __pydantic_config__ = STRICT

    hidden: Annotated[list[_Channels], Field(max_length=MAX_HIDDEN_LAYERS)] = field(
        default_factory=list)
    dropout: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False,
                                    description="a number in [0, 1)")] = 0.0
    activation: Activation = "relu"


BLOCK_PROPS: dict[str, type] = {"conv": ConvProps, "sep_conv": ConvProps, "max_pool": PoolProps,
                                "avg_pool": PoolProps, "identity": IdentityProps,
                                "dense": DenseProps}
"""The properties (and their constraints) of every block type."""

BLOCK_TYPES: dict[str, dict[str, Any]] = {kind: asdict(props())
                                          for kind, props in BLOCK_PROPS.items()}
"""Every block type with its properties and their defaults (the lego palette)."""

BODY_TYPES = tuple(t for t in BLOCK_TYPES if t != "dense")
HEAD_TYPES = ("dense",)

Shape = tuple[int, int, int]
"""(channels, height, width) of one sample."""


@dataclass(frozen=True)
class BlockSpec:
    """One candidate block: a type from ``BLOCK_TYPES`` and its properties."""

    __pydantic_config__ = STRICT

    name: Name
    type: str
    props: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self, "block")
        if self.type not in BLOCK_TYPES:
            raise ValueError(
                f"block {self.name!r}: unknown type {show(self.type)}; known types are "
                f"{list(BLOCK_TYPES)}"
            )
        where = f"block {self.name!r} ({self.type})"
        props: Any = parse(BLOCK_PROPS[self.type], self.props, where, "property",
                      unknown="has no property {keys}; it has {allowed}")
        object.__setattr__(self, "props", asdict(props))
        p = self.props
        if self.type in ("max_pool", "avg_pool") and 2 * p["padding"] > p["kernel"]:
            raise ValueError(f"{where}: padding {p['padding']} may be at most half the kernel ({p['kernel']})")

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
            raise ValueError(f"a block must be a mapping with 'name' and 'type', got {show(data)}")
        props = {k: v for k, v in data.items() if k not in ("name", "type")}
        return cls(name=data["name"], type=data["type"], props=props)


@dataclass(frozen=True)
class ChainLayer:
    """One layer: a choice among ``blocks``, then (if given) a choice among ``pools``."""

    __pydantic_config__ = STRICT

    name: Name
    blocks: tuple[BlockSpec, ...]
    pools: tuple[BlockSpec, ...] = ()

    def __post_init__(self) -> None:
        check_fields(self, "layer")
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
        doc = parse(_LayerDocument, data, "layer", "layer field")
        return doc.layer()


@dataclass(frozen=True)
class _LayerDocument:
    __pydantic_config__ = STRICT

    name: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)

    def layer(self) -> ChainLayer:
        return ChainLayer(name=self.name, blocks=tuple(BlockSpec.from_dict(b) for b in self.blocks),
                          pools=tuple(BlockSpec.from_dict(b) for b in self.pools))


@dataclass(frozen=True)
class _ChainDocument:
    """The JSON form of a chain template."""

    __pydantic_config__ = STRICT

    layers: list[_LayerDocument]
    heads: list[dict[str, Any]]
    kind: str = "chain"


@dataclass(frozen=True)
class ChainTemplate:
    """A chain of layers ending in a choice of dense heads."""

    __pydantic_config__ = STRICT

    layers: tuple[ChainLayer, ...]
    heads: tuple[BlockSpec, ...]

    def __post_init__(self) -> None:
        check_fields(self, "template")
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
        check_template_size(data)
        doc = parse(_ChainDocument, data, "chain template", "chain template field")
        return cls(layers=tuple(layer.layer() for layer in doc.layers),
                   heads=tuple(BlockSpec.from_dict(h) for h in doc.heads))


def _count(candidates: Any) -> int:
    """How many candidates a raw list names (0 when it is no list)."""
    return len(candidates) if isinstance(candidates, list) else 0


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


@register_template_kind("chain")
class ChainKind(TemplateKind[ChainTemplate]):
    """Architecture strings: each layer's picks joined by ``,``, layers by ``|``, the head last
    (``conv3x3,max|sep3x3,avg|dense2``)."""

    template_type = ChainTemplate

    def from_dict(self, data: dict[str, Any]) -> ChainTemplate:
        return ChainTemplate.from_dict(data)

    def choice_sizes(self, data: dict[str, Any]) -> list[int]:
        layers = data.get("layers")
        layers = layers if isinstance(layers, list) else []
        if len(layers) > MAX_CHOICE_POINTS:
            raise too_many("layers", len(layers), MAX_CHOICE_POINTS, "MAX_CHOICE_POINTS")
        sizes = []
        for layer in layers:
            if isinstance(layer, dict):
                sizes.append(_count(layer.get("blocks")))
                if _count(layer.get("pools")):
                    sizes.append(_count(layer.get("pools")))
        return sizes + [_count(data.get("heads"))]

    def to_string(self, template: ChainTemplate, arch: Arch) -> str:
        groups, k = [], 0
        for layer in template.layers:
            n = len(layer.choice_points())
            groups.append(arch[k:k + n])
            k += n
        return "|".join(",".join(group) for group in groups + [arch[k:]])

    def from_string(self, template: ChainTemplate, text: str) -> list[str]:
        groups = text.split("|")
        layers = template.layers
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
        return ops + [groups[-1]]

    def supernet_class(self) -> type[Supernet]:
        from supernet.model import ChainSupernet  # model imports the space, which imports kinds

        return ChainSupernet

    def standalone_class(self) -> type[nn.Module]:
        from supernet.blocks import StandaloneChainNet  # torch: loaded only when a net is built

        return StandaloneChainNet

    def standalone_config(self, space: SearchSpace, arch: Arch, in_channels: int,
                          num_classes: int, image_size: int) -> dict[str, Any]:
        """The picked block specs; ``ValueError`` when they do not compose at ``image_size``."""
        template = space.template
        template.output_shapes(in_channels, image_size, num_classes)
        picked = [next(b for b in cands if b.name == op)
                  for (_, cands), op in zip(template.blocks_per_choice(), space.validate_arch(arch))]
        return {"blocks": [b.to_dict() for b in picked], "in_channels": in_channels,
                "num_classes": num_classes}
