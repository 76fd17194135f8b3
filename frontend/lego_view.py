"""The lego builder: compose a chain-of-blocks template from bricks, then search it.

A chain template (``supernet/templates/chain.py``) is a row of layers; each layer is a choice among
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

The template lives in a ``dcc.Store`` as its JSON dict (the source of truth); every edit
is a pure function of :mod:`frontend.lego_doc`, and the callbacks here only pick which one
to call and draw the result.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.callbacks import send_command, watched_view
from frontend.lego_doc import (
    HEAD_LAYER,
    NUM_CLASSES,
    PALETTE_HINT,
    PRESET_OPTIONS,
    SLOT_LABELS,
    SLOTS,
    Doc,
    Selection,
    Validation,
    add_block,
    add_layer,
    apply_pane,
    delete_selected,
    layers_of,
    load_upload,
    make_ref,
    move_selected,
    new_block,
    preset_doc,
    selected_block,
    start_config,
    target_of,
    validate,
)
from frontend.widgets import field
from supernet.templates.chain import ACTIVATIONS, BLOCK_TYPES, HEAD

if TYPE_CHECKING:
    from frontend.hub import Hub


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


def _data_attributes(**values: str) -> dict[str, Any]:
    """``data-lego-*`` attributes for the drag-and-drop glue in assets/. Typed ``Any``: spread
    as ``**`` into a component, a ``dict[str, str]`` would claim its typed keywords too."""
    return {f"data-lego-{key}": value for key, value in values.items()}


def _list_at(container: dict[str, Any], key: str) -> list[Any]:
    """``container[key]`` when it is a list, else empty: a doc may be a bad upload."""
    value = container.get(key)
    return value if isinstance(value, list) else []


def _layer_at(layers: list[dict[str, Any]], layer: object) -> dict[str, Any] | None:
    """The layer a selection names, or None (the head, no layer, or a stale index)."""
    return layers[layer] if isinstance(layer, int) and 0 <= layer < len(layers) else None


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
        **_data_attributes(layer=str(layer), slot=slot))


def canvas(doc: Doc, selection: Selection | None, check: Validation) -> list[Any]:
    """The template as lego: input, one column per layer, the head choice."""
    columns: list[Any] = [html.Div([html.Div("input", className="lego-layer-title"),
                                    html.Div(check.input or "?", className="lego-shape")],
                                   className="lego-layer lego-input")]
    for i, layer in enumerate(layers_of(doc)):
        layer = layer if isinstance(layer, dict) else {}
        name = str(layer.get("name", ""))
        blocks, pools = _list_at(layer, "blocks"), _list_at(layer, "pools")
        cls = "lego-layer" + (" selected" if _is(selection, i, None, None) else "") + (
            " bad" if check.bad_layer == name else "")
        columns.append(html.Div([
            html.Div(name or "(unnamed)", id={"type": ids.LEGO_LAYER, "layer": i},
                     title="select this layer (rename or delete it; palette clicks add to it)",
                     className="lego-layer-title"),
            _slot(blocks, i, "blocks", selection, check.shapes.get(f"{name}.block")),
            _slot(pools, i, "pools", selection, check.shapes.get(f"{name}.pool")),
        ], className=cls))
    heads = _list_at(doc, "heads")
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
    return field(key, control)


def pane(doc: Doc, selection: Selection | None) -> list[Any]:
    """The side pane: the selected brick's properties or the selected layer's name."""
    sel = selection or {}
    layer, slot, index = sel.get("layer"), sel.get("slot"), sel.get("index")
    chosen = _layer_at(layers_of(doc), layer)
    block = selected_block(doc, sel)
    if block is not None and slot in SLOTS:  # a brick: selected_block checked the slot
        where = ("head choice" if slot == "heads" or chosen is None
                 else f"{chosen.get('name')} · {SLOT_LABELS[slot]}")
        block_type = str(block.get("type"))
        ref = make_ref(layer, slot, index)
        return [html.H4(f"{block_type} brick"), html.Div(where, className="hint"),
                *[_prop_input(k, block.get(k), ref) for k in ["name", *BLOCK_TYPES.get(block_type, {})]],
                html.Div(PALETTE_HINT.get(block_type, ""), className="hint")]
    if chosen is not None and slot is None:
        return [html.H4("layer"), _prop_input("name", chosen.get("name"), make_ref(layer, None, None)),
                html.Div("palette clicks add bricks to this layer (pools to its pool choice); "
                         "Delete removes it", className="hint")]
    if slot in SLOTS:
        where = "the head choice" if slot == "heads" else (
            f"{chosen.get('name')}'s {SLOT_LABELS[slot]}" if chosen is not None else SLOT_LABELS[slot])
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
                           className="lego-palette-brick lego-" + t, **_data_attributes(type=t))
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


def register_lego_view(app: Dash, hub: Hub) -> None:
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
        sel: Selection | None  # the selection after the edit
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
                new, sel = add_block(doc, None if layer == HEAD_LAYER else layer,
                                     str(drop.get("slot")), str(drop.get("type")))
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
            view = watched_view(hub, session)
            with view.lock:
                dataset = view.config.get("dataset") or dataset
        check = validate(doc, dataset)
        if check.error:
            return html.Span(f"not sent: {check.error}", className="error-text")
        return send_command(hub, session, "edit_template", {"template": doc})
