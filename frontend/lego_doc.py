"""The lego builder's template document: pure edits, validation and loading (no components).

A chain template (``supernet/templates/chain.py``) is edited as its JSON dict, the form the builder
keeps in a ``dcc.Store`` (``frontend/lego_view.py`` draws it). Every edit is a pure
``dict -> dict`` function, never mutating its input, unit-tested on its own. Docs may hold
invalid values on purpose (a property being typed, a layer with no bricks yet):
:func:`validate` reports them, it never blocks an edit, so the builder never fights the user.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

from frontend.callbacks import proxy_fields
from supernet.configs import input_shape
from supernet.space import PRESETS, SearchSpace
from supernet.templates.chain import BLOCK_TYPES, BODY_TYPES, HEAD, HEAD_TYPES, ChainTemplate

Doc = dict[str, Any]
"""A chain template in its JSON form (``ChainTemplate.to_dict``), possibly invalid."""
Selection = dict[str, Any]
"""``{"layer": int | None, "slot": "blocks" | "pools" | "heads" | None, "index": int | None}``:
a brick (all three set), a slot (index None) or a layer (slot and index None)."""

SLOTS = ("blocks", "pools", "heads")
SLOT_LABELS = {"blocks": "block choice", "pools": "pool choice", "heads": "head choice"}
HEAD_LAYER = -1  # the "layer" of the head slot in pattern-matching ids and refs
EMPTY = "empty"
PRESET_OPTIONS = [
    {"label": "empty start (1 layer, 1 conv, 1 head)", "value": EMPTY},
    {"label": "chain-tiny (3 layers, 648 archs)", "value": "chain-tiny"},
    {"label": "navigator-chain (7 layers, 839,808 archs)", "value": "navigator-chain"},
]
# Short brick names (they become part of architecture strings, so they stay short).
NAME_PREFIX = {"conv": "conv", "sep_conv": "sep", "max_pool": "max", "avg_pool": "avg",
               "identity": "skip", "dense": "dense"}
# A brick added next to one of its family copies the properties that fix the output shape
# (with any odd kernel and padding (k-1)/2 a conv's output size depends on the stride alone),
# so that a new candidate composes with its siblings at once instead of starting in red.
FAMILY_PROPS = {"conv": ("filters", "stride"), "sep_conv": ("filters", "stride"),
                "max_pool": ("kernel", "stride", "padding"), "avg_pool": ("kernel", "stride", "padding")}
FAMILY = {"conv": "conv", "sep_conv": "conv", "max_pool": "pool", "avg_pool": "pool"}
PALETTE_HINT = {
    "conv": "convolution + BatchNorm + activation",
    "sep_conv": "depthwise-separable convolution + BatchNorm + activation",
    "max_pool": "max pooling",
    "avg_pool": "average pooling",
    "identity": "pass-through (lets the search skip this choice)",
    "dense": "classifier head: hidden dense layers, dropout, then the classes",
}
NUM_CLASSES = 10  # only the head's printed shape depends on it


# -- pure edits: dict -> dict, never mutating their input ------------------------------------


def preset_doc(name: str) -> Doc:
    """The JSON form of a chain preset, or of the minimal valid start (``"empty"``)."""
    if name == EMPTY:
        return {"kind": "chain",
                "layers": [{"name": "layer1", "blocks": [new_block("conv", "conv1")], "pools": []}],
                "heads": [new_block("dense", "dense1")]}
    template = PRESETS.get(name)
    if not isinstance(template, ChainTemplate):
        raise ValueError(f"unknown chain preset {name!r}; choose one of {chain_presets()}")
    return template.to_dict()


def chain_presets() -> list[str]:
    return [EMPTY] + [k for k, t in PRESETS.items() if isinstance(t, ChainTemplate)]


def new_block(block_type: str, name: str) -> dict[str, Any]:
    """A brick of ``block_type`` with the palette's default properties."""
    if block_type not in BLOCK_TYPES:
        raise ValueError(f"unknown block type {block_type!r}; the palette has {list(BLOCK_TYPES)}")
    return {"name": name, "type": block_type} | copy.deepcopy(BLOCK_TYPES[block_type])


def _unique(prefix: str, taken: Collection[object]) -> str:
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def layers_of(doc: Doc) -> list[dict[str, Any]]:
    """The layer list of a doc (empty when the doc has none, or not a list: a bad upload)."""
    layers = doc.get("layers")
    return layers if isinstance(layers, list) else []


def _group(doc: Doc, layer: int | None, slot: str) -> list[dict[str, Any]]:
    """The brick list of a slot in ``doc`` (a copy of the caller's), created when missing."""
    if slot == "heads":
        return doc.setdefault("heads", [])
    if slot not in ("blocks", "pools"):
        raise ValueError(f"unknown slot {slot!r}; slots are {list(SLOTS)}")
    layers = layers_of(doc)
    if layer is None or not 0 <= layer < len(layers):
        raise ValueError("add a layer first" if not layers else f"there is no layer {layer}")
    return layers[layer].setdefault(slot, [])


def add_layer(doc: Doc, after: int | None = None) -> tuple[Doc, int]:
    """A new empty layer after ``after`` (default: at the end), and its index.

    It starts with no bricks, so validation says so until one is added: an empty layer is
    where the next palette click goes (the callback selects it).
    """
    out = copy.deepcopy(doc)
    layers = out.setdefault("layers", [])
    name = _unique("layer", [layer.get("name") for layer in layers if isinstance(layer, dict)])
    at = len(layers) if after is None else max(0, min(after + 1, len(layers)))
    layers.insert(at, {"name": name, "blocks": [], "pools": []})
    return out, at


def _layers_to_edit(doc: Doc, layer: int) -> tuple[Doc, list[dict[str, Any]]]:
    """A copy of ``doc`` and its layer list, once ``layer`` is known to index one."""
    out = copy.deepcopy(doc)
    layers = layers_of(out)
    if not 0 <= layer < len(layers):
        raise ValueError(f"there is no layer {layer}")
    return out, layers


def delete_layer(doc: Doc, layer: int) -> Doc:
    out, layers = _layers_to_edit(doc, layer)
    del layers[layer]
    return out


def rename_layer(doc: Doc, layer: int, name: str) -> Doc:
    out, layers = _layers_to_edit(doc, layer)
    layers[layer]["name"] = name
    return out


def add_block(doc: Doc, layer: int | None, slot: str, block_type: str) -> tuple[Doc, Selection]:
    """Add a ``block_type`` brick to a slot; the new doc and the new brick's selection.

    Dense bricks go to the head choice only, the others to layers only (``ValueError``
    otherwise: a drop on the wrong slot). Names are unique within the slot.
    """
    if block_type not in BLOCK_TYPES:
        raise ValueError(f"unknown block type {block_type!r}; the palette has {list(BLOCK_TYPES)}")
    if slot == "heads" and block_type not in HEAD_TYPES:
        raise ValueError(f"the head choice takes {' or '.join(HEAD_TYPES)} bricks, not {block_type!r}")
    if slot != "heads" and block_type not in BODY_TYPES:
        raise ValueError(f"a {block_type!r} brick is a classifier head: drop it on the head choice")
    out = copy.deepcopy(doc)
    group = _group(out, layer, slot)
    brick = new_block(block_type, _unique(NAME_PREFIX[block_type],
                                          [b.get("name") for b in group if isinstance(b, dict)]))
    sibling = next((b for b in group if isinstance(b, dict)
                    and FAMILY.get(str(b.get("type"))) == FAMILY.get(block_type, "")), None)
    if sibling is not None:
        brick |= {k: sibling[k] for k in FAMILY_PROPS[block_type] if k in sibling}
    group.append(brick)
    where = HEAD_LAYER if slot == "heads" else layer
    return out, {"layer": where, "slot": slot, "index": len(group) - 1}


def delete_block(doc: Doc, layer: int | None, slot: str, index: int) -> Doc:
    out = copy.deepcopy(doc)
    group = _group(out, layer, slot)
    if not 0 <= index < len(group):
        raise ValueError(f"there is no brick {index} in that {SLOT_LABELS.get(slot, slot)}")
    del group[index]
    return out


def set_props(doc: Doc, layer: int | None, slot: str, index: int, props: dict[str, Any]) -> Doc:
    """Set a brick's properties (``name`` included); values are stored as given."""
    out = copy.deepcopy(doc)
    group = _group(out, layer, slot)
    if not 0 <= index < len(group):
        raise ValueError(f"there is no brick {index} in that {SLOT_LABELS.get(slot, slot)}")
    group[index] = group[index] | props
    return out


def target_of(doc: Doc, selection: Selection | None, block_type: str) -> tuple[int | None, str]:
    """Where a palette click puts a ``block_type`` brick: (layer index, slot).

    Dense bricks go to the head choice. Others go to the selected slot (or the slot of the
    selected brick) unless that is the head choice; else to the selected layer (pools to
    its pool choice, the rest to its block choice); else to the last layer.
    """
    if block_type in HEAD_TYPES:
        return HEAD_LAYER, "heads"
    sel = selection or {}
    layers = layers_of(doc)
    layer = sel.get("layer")
    if not isinstance(layer, int) or not 0 <= layer < len(layers):
        layer = len(layers) - 1 if layers else None
    elif sel.get("slot") in ("blocks", "pools"):
        return layer, sel["slot"]
    return layer, "pools" if block_type in ("max_pool", "avg_pool") else "blocks"


def delete_selected(doc: Doc, selection: Selection | None) -> tuple[Doc, Selection | None, str]:
    """Delete the selected brick or layer: (new doc, new selection, status line)."""
    sel = selection or {}
    layer, slot, index = sel.get("layer"), sel.get("slot"), sel.get("index")
    if slot and isinstance(index, int):
        brick = selected_block(doc, sel)
        out = delete_block(doc, None if slot == "heads" else layer, slot, index)
        name = brick.get("name") if brick else index
        return out, {"layer": layer, "slot": slot, "index": None}, f"deleted brick {name}"
    if isinstance(layer, int) and layer >= 0 and not slot:
        name = layers_of(doc)[layer].get("name") if layer < len(layers_of(doc)) else layer
        return delete_layer(doc, layer), None, f"deleted layer {name}"
    raise ValueError("select a brick or a layer's title first, then press Delete")


def move_selected(doc: Doc, selection: Selection | None, step: int
                  ) -> tuple[Doc, Selection | None, str]:
    """Move the selected layer (in a chain, order is the only connection) or brick (the
    candidates' order in its choice) ``step`` places: (new doc, new selection, status)."""
    sel = selection or {}
    layer, slot, index = sel.get("layer"), sel.get("slot"), sel.get("index")
    out = copy.deepcopy(doc)
    if slot and isinstance(index, int):
        group, what = _group(out, None if slot == "heads" else layer, slot), "brick"
    elif isinstance(layer, int) and layer >= 0 and not slot:
        group, index, what = layers_of(out), layer, "layer"
    else:
        raise ValueError("select a brick or a layer's title first, then move it")
    if not 0 <= index < len(group):
        raise ValueError(f"there is no {what} {index} to move")
    to = index + step
    if not 0 <= to < len(group):
        raise ValueError(f"the {what} is already the {'first' if step < 0 else 'last'}")
    group.insert(to, group.pop(index))
    name = group[to].get("name") if isinstance(group[to], dict) else to
    moved = {"layer": to, "slot": None, "index": None} if what == "layer" else sel | {"index": to}
    return out, moved, f"moved {what} {name} {'left' if step < 0 else 'right'}"


def selected_block(doc: Doc, selection: Selection | None) -> dict[str, Any] | None:
    """The selected brick's dict, or None when the selection is not (or no longer) a brick."""
    sel = selection or {}
    slot, index = sel.get("slot"), sel.get("index")
    if slot not in SLOTS or not isinstance(index, int):
        return None
    try:
        group = _group(copy.deepcopy(doc), None if slot == "heads" else sel.get("layer"), slot)
    except ValueError:
        return None
    return group[index] if 0 <= index < len(group) and isinstance(group[index], dict) else None


def coerce_prop(key: str, value: Any) -> Any:
    """A side-pane input's value as the template wants it.

    ``hidden`` is typed as "64, 32"; text that is not a list of integers is kept as typed,
    so that validation names the problem instead of the edit being dropped silently.
    """
    if key == "hidden" and isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        return [int(p) for p in parts] if all(re.fullmatch(r"\d+", p) for p in parts) else value
    if isinstance(value, float) and value.is_integer() and key not in ("dropout",):
        return int(value)
    return value


def make_ref(layer: int | None, slot: str | None, index: int | None) -> str:
    """A selection as one string, for the pattern-matching ids of the side pane's inputs."""
    return f"{HEAD_LAYER if layer is None else layer}:{slot or ''}:{'' if index is None else index}"


def parse_ref(ref: str) -> Selection:
    layer, slot, index = ref.split(":")
    return {"layer": int(layer), "slot": slot or None, "index": int(index) if index else None}


def apply_pane(doc: Doc, ref: str, values: dict[str, Any]) -> Doc:
    """The doc after the side pane's inputs for ``ref`` took ``values`` (key -> raw value)."""
    sel = parse_ref(ref)
    props = {k: coerce_prop(k, v) for k, v in values.items()}
    if sel["slot"] is None:
        return rename_layer(doc, sel["layer"], props.get("name", ""))
    layer = None if sel["slot"] == "heads" else sel["layer"]
    return set_props(doc, layer, sel["slot"], sel["index"], props)


def load_upload(contents: str | None, filename: str | None = None) -> Doc:
    """A chain template from an uploaded JSON file (a ``dcc.Upload`` data URL).

    Also accepts a document holding one under ``"template"`` (a session's ``space``
    event, say). ``ValueError`` with a message fit for the user when it is not JSON or
    not a valid chain template; shapes are not checked here, they depend on the dataset.
    """
    what = repr(filename) if filename else "the file"
    if not contents:
        raise ValueError(f"{what} is empty")
    try:
        raw = base64.b64decode(contents.partition(",")[2] or contents, validate=True)
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {what}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("template"), dict):
        data = data["template"]
    if isinstance(data, dict) and data.get("kind", "chain" if "layers" in data else "cell") != "chain":
        raise ValueError(f"{what} holds a {data.get('kind', 'cell')} template; the lego builder edits "
                         "chain templates (load cell templates in the Search space panel)")
    try:
        return ChainTemplate.from_dict(data).to_dict()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} is not a valid chain template: {exc}") from None


# -- validation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Validation:
    """What the canvas shows about a doc for a dataset."""

    error: str = ""  # "" when the template is valid and (if known) its shapes compose
    size: int | None = None  # number of architectures, when the template is well formed
    choice_points: int = 0
    input: str = ""  # "1×8×8", or "" when the dataset's shape is unknown before loading
    shapes: dict[str, str] = field(default_factory=dict)  # choice point -> output shape
    note: str = ""
    bad_layer: str | None = None  # the layer (or "head") the error is about

    def summary(self) -> str:
        if self.size is None:
            return "—"
        archs = "architecture" if self.size == 1 else "architectures"
        return f"{self.size:,} {archs} · {self.choice_points} choice points"


def _fmt(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


def failing_layer(message: str, layer_names: list[str]) -> str | None:
    """The layer (or ``"head"``) an error message is about, to outline it on the canvas."""
    point = re.match(r"^([A-Za-z0-9_-]+)(?:\.(?:block|pool))?: ", message)
    if point and (point.group(1) in layer_names or point.group(1) == HEAD):
        return point.group(1)
    named = re.search(r"layer '([A-Za-z0-9_-]+)'", message)
    if named and named.group(1) in layer_names:
        return named.group(1)
    if re.search(r"\bheads?\b", message):
        return HEAD
    return None


def validate(doc: Doc, dataset: str | None, num_classes: int = NUM_CLASSES) -> Validation:
    """Check a doc: well-formed template, then shapes for the dataset's input size.

    When shapes do not compose, the shapes of the layers before the failing one are still
    returned (from the longest prefix of layers that does compose), so the canvas shows
    where things go wrong.
    """
    names = [str(layer.get("name")) for layer in layers_of(doc) if isinstance(layer, dict)]
    try:
        template = ChainTemplate.from_dict(doc)
    except (ValueError, TypeError) as exc:
        return Validation(error=str(exc), bad_layer=failing_layer(str(exc), names))
    space = SearchSpace(template)
    base = Validation(size=space.size(), choice_points=len(space))
    shape = input_shape(dataset or "")
    if shape is None:
        return replace(base, note=f"input size of {dataset or 'the dataset'!r} is known once "
                                        "it loads: shapes are checked then")
    channels, size = shape
    base = replace(base, input=_fmt((channels, size, size)))
    try:
        shapes = template.output_shapes(channels, size, num_classes)
    except ValueError as exc:
        partial: list[tuple[str, tuple[int, int, int]]] = []
        for k in range(len(template.layers) - 1, 0, -1):
            try:
                prefix = ChainTemplate(layers=template.layers[:k], heads=template.heads)
                partial = prefix.output_shapes(channels, size, num_classes)[:-1]
                break
            except ValueError:
                continue
        return replace(base, error=str(exc), shapes={n: _fmt(s) for n, s in partial},
                       bad_layer=failing_layer(str(exc), names))
    return replace(base, shapes={n: _fmt(s) for n, s in shapes})


def start_config(doc: Doc, dataset: str | None, epochs: Any, sampler: str | None,
                 proxies: list[str] | None, prescreen: Any,
                 prescreen_by: list[str] | None = None) -> dict[str, Any]:
    """The engine config for a search of ``doc``, from the cell builder's shared fields.

    Chains are always trained as supernets (tabular benchmarks index cell strings), so the
    builder's "accuracy from" mode is not read.
    """
    return {"template": copy.deepcopy(doc), "dataset": (dataset or "digits").strip(),
            "train": {"epochs": epochs, "sampler": sampler or "uniform", "lr": 0.1},
            **proxy_fields(proxies, prescreen, prescreen_by)}
