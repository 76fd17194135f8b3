"""The lego builder: compose a chain-of-blocks template from bricks, then search it.

A chain template (``supernet/chain.py``) is a row of layers; each layer is a choice among
candidate blocks (``<layer>.block``), optionally followed by a second choice, usually a
pooling block (``<layer>.pool``); the network ends in a choice among dense heads
(``head``). Here every candidate is a "brick" on a canvas:

- **palette**: one button per block type of ``BLOCK_TYPES``. Click one to add that brick to
  the selected slot (a layer's block or pool choice, or the head choice); drag it onto a
  slot to put it there (``assets/lego_view.js`` writes the drop into a store). Dense bricks
  always go to the head choice.
- **canvas**: the layers left to right, with the output shape under every choice point for
  the dataset typed in the builder, the failing layer outlined in red when shapes do not
  compose, the space size and the number of choice points below.
- **◀ / ▶** move the selected layer (order is how layers connect) or brick (its place
  among the choice's candidates).
- **side pane**: the selected brick's name and properties (inputs generated from
  ``BLOCK_TYPES``), or the selected layer's name.
- **presets, save / load** as JSON, **start a search** from the template with the
  builder's dataset, epochs, sampler and proxies, and **apply** it to a paused session
  (the ``edit_template`` command), which re-enters that search.

The template lives in a ``dcc.Store`` as its JSON dict (the source of truth). Every edit
is a pure ``dict -> dict`` function below, unit-tested on its own; the Dash callbacks only
pick which one to call and draw the result. Docs may hold invalid values on purpose (a
property being typed, a layer with no bricks yet): validation reports them, it never
blocks an edit, so the builder never fights the user.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.callbacks import proxy_fields, send_command
from supernet.chain import ACTIVATIONS, BLOCK_TYPES, BODY_TYPES, HEAD, HEAD_TYPES, ChainTemplate
from supernet.data import input_shape
from supernet.space import PRESETS, SearchSpace

if TYPE_CHECKING:
    from navigator.server import LiveHub

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


def _unique(prefix: str, taken: list[str]) -> str:
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def _layers(doc: Doc) -> list[dict[str, Any]]:
    layers = doc.get("layers")
    return layers if isinstance(layers, list) else []


def _group(doc: Doc, layer: int | None, slot: str) -> list[dict[str, Any]]:
    """The brick list of a slot in ``doc`` (a copy of the caller's), created when missing."""
    if slot == "heads":
        return doc.setdefault("heads", [])
    if slot not in ("blocks", "pools"):
        raise ValueError(f"unknown slot {slot!r}; slots are {list(SLOTS)}")
    layers = _layers(doc)
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


def delete_layer(doc: Doc, layer: int) -> Doc:
    out = copy.deepcopy(doc)
    layers = _layers(out)
    if not 0 <= layer < len(layers):
        raise ValueError(f"there is no layer {layer}")
    del layers[layer]
    return out


def rename_layer(doc: Doc, layer: int, name: str) -> Doc:
    out = copy.deepcopy(doc)
    layers = _layers(out)
    if not 0 <= layer < len(layers):
        raise ValueError(f"there is no layer {layer}")
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
                    and FAMILY.get(b.get("type")) == FAMILY.get(block_type, "")), None)
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
    layers = _layers(doc)
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
        name = _layers(doc)[layer].get("name") if layer < len(_layers(doc)) else layer
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
        group, index, what = _layers(out), layer, "layer"
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
    names = [str(layer.get("name")) for layer in _layers(doc) if isinstance(layer, dict)]
    try:
        template = ChainTemplate.from_dict(doc)
    except (ValueError, TypeError) as exc:
        return Validation(error=str(exc), bad_layer=failing_layer(str(exc), names))
    space = SearchSpace(template)
    base = {"size": space.size(), "choice_points": len(space)}
    shape = input_shape(dataset or "")
    if shape is None:
        return Validation(**base, note=f"input size of {dataset or 'the dataset'!r} is known once "
                                        "it loads: shapes are checked then")
    channels, size = shape
    base["input"] = _fmt((channels, size, size))
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
        return Validation(**base, error=str(exc), shapes={n: _fmt(s) for n, s in partial},
                          bad_layer=failing_layer(str(exc), names))
    return Validation(**base, shapes={n: _fmt(s) for n, s in shapes})


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


# -- drawing ----------------------------------------------------------------------------------


def props_summary(block: dict[str, Any]) -> str:
    """A brick's properties in a few characters, e.g. ``16f 3×3 s1 p1 relu``."""
    t = block.get("type")
    if t in ("conv", "sep_conv"):
        k = block.get("kernel")
        return (f"{block.get('filters')}f {k}×{k} s{block.get('stride')} p{block.get('padding')} "
                f"{block.get('activation')}")
    if t in ("max_pool", "avg_pool"):
        k = block.get("kernel")
        return f"{k}×{k} s{block.get('stride')} p{block.get('padding')}"
    if t == "dense":
        hidden = block.get("hidden")
        layers = "→".join(str(h) for h in hidden) if isinstance(hidden, list) and hidden else "linear"
        return f"{layers} drop {block.get('dropout')}"
    return "pass-through" if t == "identity" else ""


def _is(sel: Selection | None, layer: int, slot: str | None, index: int | None) -> bool:
    sel = sel or {}
    return (sel.get("layer"), sel.get("slot"), sel.get("index")) == (layer, slot, index)


def _brick(block: Any, layer: int, slot: str, index: int, selection: Selection | None) -> html.Div:
    block = block if isinstance(block, dict) else {}
    t = str(block.get("type", "?"))
    details = ", ".join(f"{k}={v}" for k, v in block.items() if k not in ("name", "type"))
    return html.Div([html.B(str(block.get("name", "?"))), html.Span(t, className="lego-type"),
                     html.Span(props_summary(block), className="lego-props")],
                    id={"type": ids.LEGO_BRICK, "layer": layer, "slot": slot, "index": index},
                    title=f"{t}: {details}" if details else t,
                    className="lego-brick lego-" + t + (" selected" if _is(selection, layer, slot, index)
                                                        else ""))


def _slot(bricks: list[Any], layer: int, slot: str, selection: Selection | None,
          shape: str | None) -> html.Div:
    label = f"{SLOT_LABELS[slot]} ({len(bricks)})" if bricks else (
        f"{SLOT_LABELS[slot]}: none (optional)" if slot == "pools" else f"{SLOT_LABELS[slot]}: empty")
    selected = _is(selection, layer, slot, None)
    return html.Div([
        html.Div([html.Span(label), html.Span("+", className="lego-plus")],
                 id={"type": ids.LEGO_SLOT, "layer": layer, "slot": slot},
                 title="select this slot: palette clicks add bricks here (or drop one here)",
                 className="lego-slot-label" + (" selected" if selected else "")),
        *[_brick(b, layer, slot, k, selection) for k, b in enumerate(bricks)],
        html.Div(shape, className="lego-shape") if shape else None,
    ], className="lego-slot lego-" + slot + (" selected" if selected else ""),
        **{"data-lego-layer": str(layer), "data-lego-slot": slot})


def canvas(doc: Doc, selection: Selection | None, check: Validation) -> list[Any]:
    """The template as lego: input, one column per layer, the head choice."""
    columns: list[Any] = [html.Div([html.Div("input", className="lego-layer-title"),
                                    html.Div(check.input or "?", className="lego-shape")],
                                   className="lego-layer lego-input")]
    for i, layer in enumerate(_layers(doc)):
        layer = layer if isinstance(layer, dict) else {}
        name = str(layer.get("name", ""))
        blocks = layer.get("blocks") if isinstance(layer.get("blocks"), list) else []
        pools = layer.get("pools") if isinstance(layer.get("pools"), list) else []
        cls = "lego-layer" + (" selected" if _is(selection, i, None, None) else "") + (
            " bad" if check.bad_layer == name else "")
        columns.append(html.Div([
            html.Div(name or "(unnamed)", id={"type": ids.LEGO_LAYER, "layer": i},
                     title="select this layer (rename or delete it; palette clicks add to it)",
                     className="lego-layer-title"),
            _slot(blocks, i, "blocks", selection, check.shapes.get(f"{name}.block")),
            _slot(pools, i, "pools", selection, check.shapes.get(f"{name}.pool")),
        ], className=cls))
    heads = doc.get("heads") if isinstance(doc.get("heads"), list) else []
    head_shape = f"{NUM_CLASSES} classes" if HEAD in check.shapes else None
    columns.append(html.Div([html.Div("head", className="lego-layer-title"),
                             _slot(heads, HEAD_LAYER, "heads", selection, head_shape)],
                            className="lego-layer lego-head" + (" bad" if check.bad_layer == HEAD else "")))
    return columns


def _prop_input(key: str, value: Any, ref: str) -> html.Label:
    pid = {"type": ids.LEGO_PROP, "key": key, "ref": ref}
    if key == "activation":
        control: Any = dcc.Dropdown(id=pid, options=list(ACTIVATIONS), value=value, clearable=False)
    elif key == "hidden":
        text = ", ".join(str(h) for h in value) if isinstance(value, list) else str(value or "")
        control = dcc.Input(id=pid, type="text", value=text, placeholder="widths, e.g. 64, 32 (empty: linear)")
    elif key == "dropout":
        control = dcc.Input(id=pid, type="number", min=0, max=0.95, step=0.05, value=value)
    elif key == "name":
        control = dcc.Input(id=pid, type="text", value=value, maxLength=40)
    else:
        control = dcc.Input(id=pid, type="number", step=1, min=0 if key == "padding" else 1, value=value)
    return html.Label([html.Span(key, className="field-label"), control], className="field")


def pane(doc: Doc, selection: Selection | None) -> list[Any]:
    """The side pane: the selected brick's properties or the selected layer's name."""
    sel = selection or {}
    layer, slot, index = sel.get("layer"), sel.get("slot"), sel.get("index")
    layers = _layers(doc)
    block = selected_block(doc, sel)
    if block is not None:
        where = "head choice" if slot == "heads" else (
            f"{layers[layer].get('name')} · {SLOT_LABELS[slot]}")
        keys = ["name"] + [k for k in BLOCK_TYPES.get(block.get("type"), {})]
        ref = make_ref(layer, slot, index)
        return [html.H4(f"{block.get('type')} brick"), html.Div(where, className="hint"),
                *[_prop_input(k, block.get(k), ref) for k in keys],
                html.Div(PALETTE_HINT.get(block.get("type"), ""), className="hint")]
    if isinstance(layer, int) and 0 <= layer < len(layers) and slot is None:
        return [html.H4("layer"), _prop_input("name", layers[layer].get("name"), make_ref(layer, None, None)),
                html.Div("palette clicks add bricks to this layer (pools to its pool choice); "
                         "Delete removes it", className="hint")]
    if slot in SLOTS:
        where = "the head choice" if slot == "heads" else (
            f"{layers[layer].get('name')}'s {SLOT_LABELS[slot]}" if isinstance(layer, int)
            and 0 <= layer < len(layers) else SLOT_LABELS[slot])
        return [html.Div(f"palette clicks add bricks to {where}", className="hint")]
    return [html.Div("click a brick to edit it, a layer's title to rename or delete the layer, a slot "
                     "to choose where palette clicks add bricks", className="hint")]


def lego_panel() -> html.Details:
    """The "Lego builder" panel, full width above the views, collapsed until opened."""
    palette = [html.Button([html.B(t), html.Span(props_summary(new_block(t, t)) or "—", className="lego-props")],
                           id={"type": ids.LEGO_PALETTE, "block": t}, draggable="true",
                           title=f"{PALETTE_HINT[t]}. Properties: "
                                 + (", ".join(f"{k}={v}" for k, v in BLOCK_TYPES[t].items()) or "none")
                                 + ". Click to add to the selected slot, or drag onto a slot.",
                           className="lego-palette-brick lego-" + t, **{"data-lego-type": t})
               for t in BLOCK_TYPES]
    doc = preset_doc("chain-tiny")
    return html.Details([
        html.Summary(html.H3("Lego builder: chain-of-blocks templates", style={"display": "inline"})),
        # session storage: a reload keeps the template being built
        dcc.Store(id=ids.LEGO_DOC, data=doc, storage_type="session"), dcc.Store(id=ids.LEGO_SELECTED, data=None),
        dcc.Store(id=ids.LEGO_DROP), dcc.Download(id=ids.LEGO_DOWNLOAD),
        html.Div([
            dcc.Dropdown(id=ids.LEGO_PRESET, options=PRESET_OPTIONS, value=None, clearable=False,
                         placeholder="start from a preset…", className="small-dropdown"),
            html.Button("Add layer", id=ids.LEGO_ADD_LAYER),
            html.Button("◀", id=ids.LEGO_MOVE_LEFT, title="move the selected layer or brick left"),
            html.Button("▶", id=ids.LEGO_MOVE_RIGHT, title="move the selected layer or brick right"),
            html.Button("Delete", id=ids.LEGO_DELETE, className="danger",
                        title="delete the selected brick, or the selected layer"),
            html.Button("Download JSON", id=ids.LEGO_SAVE),
            dcc.Upload(html.Button("Load JSON"), id=ids.LEGO_UPLOAD, max_size=1_000_000),
            html.Button("Start search from this template", id=ids.LEGO_START, className="primary",
                        title="uses the dataset, epochs, sampler and proxies of the Search space panel"),
            html.Button("Apply to paused session", id=ids.LEGO_APPLY,
                        title="replace the template of the current (paused) session; its search re-enters"),
        ], className="button-row lego-toolbar"),
        html.Div([
            html.Div([html.Div("palette", className="field-label"), *palette], className="lego-palette"),
            html.Div(id=ids.LEGO_CANVAS, className="lego-canvas"),
            html.Div(id=ids.LEGO_PANE, className="lego-pane"),
        ], className="lego-body"),
        html.Div(id=ids.LEGO_SIZE, className="space-size"),
        html.Div(id=ids.LEGO_ERROR, className="error-text"),
        html.Div(id=ids.LEGO_STATUS, className="hint"),
    ], id=ids.LEGO_PANEL, className="panel lego")


# -- callbacks: pick the edit, draw the result ---------------------------------------------------


def _clicked() -> bool:
    """Whether a pattern-matched click really happened (not a redraw creating new components)."""
    return bool(ctx.triggered) and bool(ctx.triggered[0].get("value"))


def register_lego_view(app: Dash, hub: LiveHub) -> None:
    @app.callback(Output(ids.LEGO_DOC, "data"), Output(ids.LEGO_SELECTED, "data"),
                  Output(ids.LEGO_STATUS, "children"), Output(ids.LEGO_PRESET, "value"),
                  Input({"type": ids.LEGO_PALETTE, "block": ALL}, "n_clicks"),
                  Input(ids.LEGO_DROP, "data"), Input(ids.LEGO_ADD_LAYER, "n_clicks"),
                  Input(ids.LEGO_DELETE, "n_clicks"), Input(ids.LEGO_PRESET, "value"),
                  Input(ids.LEGO_UPLOAD, "contents"), Input(ids.LEGO_MOVE_LEFT, "n_clicks"),
                  Input(ids.LEGO_MOVE_RIGHT, "n_clicks"),
                  State(ids.LEGO_UPLOAD, "filename"), State(ids.LEGO_DOC, "data"),
                  State(ids.LEGO_SELECTED, "data"), prevent_initial_call=True)
    def edit(_palette: Any, drop: dict | None, _add: Any, _delete: Any, preset: str | None,
             upload: str | None, _left: Any, _right: Any, filename: str | None, doc: Doc,
             selection: Selection | None) -> tuple:
        trigger = ctx.triggered_id
        try:
            if isinstance(trigger, dict):  # a palette brick
                if not _clicked():
                    raise PreventUpdate
                layer, slot = target_of(doc, selection, trigger["block"])
                new, sel = add_block(doc, layer, slot, trigger["block"])
                return new, sel, f"added a {trigger['block']} brick", no_update
            if trigger == ids.LEGO_DROP:
                if not drop:
                    raise PreventUpdate
                layer = int(drop.get("layer", HEAD_LAYER))
                new, sel = add_block(doc, None if layer == HEAD_LAYER else layer, drop.get("slot"),
                                     drop.get("type"))
                return new, sel, f"added a {drop.get('type')} brick", no_update
            if trigger == ids.LEGO_ADD_LAYER:
                sel = selection or {}
                after = sel.get("layer") if isinstance(sel.get("layer"), int) and sel["layer"] >= 0 else None
                new, at = add_layer(doc, after)
                return (new, {"layer": at, "slot": None, "index": None},
                        f"added {new['layers'][at]['name']}: click palette bricks to fill it", no_update)
            if trigger == ids.LEGO_DELETE:
                new, sel, message = delete_selected(doc, selection)
                return new, sel, message, no_update
            if trigger in (ids.LEGO_MOVE_LEFT, ids.LEGO_MOVE_RIGHT):
                step = -1 if trigger == ids.LEGO_MOVE_LEFT else 1
                new, sel, message = move_selected(doc, selection, step)
                return new, sel, message, no_update
            if trigger == ids.LEGO_PRESET:
                if not preset:
                    raise PreventUpdate
                # The dropdown acts as a menu: it clears itself, so a preset can be loaded again.
                return preset_doc(preset), None, f"loaded preset {preset}", None
            if trigger == ids.LEGO_UPLOAD:
                if not upload:
                    raise PreventUpdate
                return load_upload(upload, filename), None, f"loaded {filename or 'template'}", no_update
        except ValueError as exc:
            return no_update, no_update, html.Span(str(exc), className="error-text"), no_update
        raise PreventUpdate

    # Selecting is pure browser state: no server round-trip. The canvas redraw after every
    # edit creates fresh components (n_clicks unset), which must not count as clicks.
    app.clientside_callback(
        """function () {
            const t = window.dash_clientside.callback_context.triggered || [];
            if (!t.length || !t[0].value) { return window.dash_clientside.no_update; }
            const id = JSON.parse(t[0].prop_id.slice(0, t[0].prop_id.lastIndexOf(".")));
            return {layer: id.layer, slot: id.slot || null, index: id.index === undefined ? null : id.index};
        }""",
        Output(ids.LEGO_SELECTED, "data", allow_duplicate=True),
        Input({"type": ids.LEGO_BRICK, "layer": ALL, "slot": ALL, "index": ALL}, "n_clicks"),
        Input({"type": ids.LEGO_SLOT, "layer": ALL, "slot": ALL}, "n_clicks"),
        Input({"type": ids.LEGO_LAYER, "layer": ALL}, "n_clicks"), prevent_initial_call=True)

    @app.callback(Output(ids.LEGO_DOC, "data", allow_duplicate=True),
                  Input({"type": ids.LEGO_PROP, "key": ALL, "ref": ALL}, "value"),
                  State({"type": ids.LEGO_PROP, "key": ALL, "ref": ALL}, "id"),
                  State(ids.LEGO_DOC, "data"), prevent_initial_call=True)
    def edit_props(values: list[Any], prop_ids: list[dict], doc: Doc) -> Doc:
        if not prop_ids:
            raise PreventUpdate
        ref = prop_ids[0]["ref"]
        try:
            new = apply_pane(doc, ref, {pid["key"]: v for pid, v in zip(prop_ids, values)
                                        if pid["ref"] == ref})
        except ValueError:  # the pane outlived its brick (deleted meanwhile)
            raise PreventUpdate from None
        if new == doc:  # the pane was just drawn: nothing typed yet
            raise PreventUpdate
        return new

    @app.callback(Output(ids.LEGO_CANVAS, "children"), Output(ids.LEGO_SIZE, "children"),
                  Output(ids.LEGO_ERROR, "children"),
                  Input(ids.LEGO_DOC, "data"), Input(ids.LEGO_SELECTED, "data"), Input(ids.DATASET, "value"))
    def draw(doc: Doc, selection: Selection | None, dataset: str | None) -> tuple:
        check = validate(doc or {}, dataset)
        size = check.summary() + (f" · {check.note}" if check.note else "")
        return canvas(doc or {}, selection, check), size, check.error

    # The pane is redrawn when the selection changes, not on every edit: redrawing the inputs
    # while the user types in one of them would take the focus away.
    @app.callback(Output(ids.LEGO_PANE, "children"), Input(ids.LEGO_SELECTED, "data"),
                  State(ids.LEGO_DOC, "data"))
    def side_pane(selection: Selection | None, doc: Doc) -> list[Any]:
        return pane(doc or {}, selection)

    @app.callback(Output(ids.LEGO_DOWNLOAD, "data"), Input(ids.LEGO_SAVE, "n_clicks"),
                  State(ids.LEGO_DOC, "data"), prevent_initial_call=True)
    def download(_n: Any, doc: Doc) -> dict[str, Any]:
        return {"content": json.dumps(doc, indent=1), "filename": "template.json", "type": "application/json"}

    @app.callback(Output(ids.SESSION, "data", allow_duplicate=True),
                  Output(ids.LEGO_STATUS, "children", allow_duplicate=True),
                  Input(ids.LEGO_START, "n_clicks"), State(ids.LEGO_DOC, "data"),
                  State(ids.DATASET, "value"), State(ids.EPOCHS, "value"), State(ids.SAMPLER, "value"),
                  State(ids.PROXIES, "value"), State(ids.PRESCREEN, "value"),
                  State(ids.PRESCREEN_BY, "value"), prevent_initial_call=True)
    def start(_n: Any, doc: Doc, dataset: str | None, epochs: Any, sampler: str | None,
              proxies: list[str] | None, prescreen: Any, prescreen_by: list[str] | None) -> tuple:
        check = validate(doc, dataset)
        if check.error:
            return no_update, html.Span(f"cannot start: {check.error}", className="error-text")
        try:
            session = hub.start_session(
                start_config(doc, dataset, epochs, sampler, proxies, prescreen, prescreen_by),
                owner=hub.user)
        except (ValueError, TypeError) as exc:
            return no_update, html.Span(f"cannot start: {exc}", className="error-text")
        return session, f"started {session} on {dataset or 'digits'}: {check.summary()}"

    @app.callback(Output(ids.LEGO_STATUS, "children", allow_duplicate=True),
                  Input(ids.LEGO_APPLY, "n_clicks"), State(ids.LEGO_DOC, "data"),
                  State(ids.DATASET, "value"), State(ids.SESSION, "data"), prevent_initial_call=True)
    def apply(_n: Any, doc: Doc, dataset: str | None, session: str | None) -> Any:
        if session:  # shapes must compose on the data the session trains on, not the builder's
            view = hub.view(session)
            with view.lock:
                dataset = view.config.get("dataset") or dataset
        check = validate(doc, dataset)
        if check.error:
            return html.Span(f"not sent: {check.error}", className="error-text")
        return send_command(hub, session, "edit_template", {"template": doc})
