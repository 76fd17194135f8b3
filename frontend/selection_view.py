"""Callbacks of the Selections panel: name map selections, combine them, act on the result.

The named selections live in the browser (``ids.SELECTIONS``, a session-storage store keyed
by session id): they are the analyst's scratch work, not part of the search, so the worker
never sees them until one is used. Using one sends the existing ``focus`` command, or draws
how the ops' fitness differs inside the selection and outside it. The set algebra itself is
in :mod:`frontend.selections`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dash import Dash, Input, NoUpdate, Output, State, ctx, html, no_update

from frontend import figures, ids
from frontend.callbacks import selected_archs, send_command, watched_view
from frontend.selections import (
    UNARY,
    NamedSelection,
    combine_named,
    find,
    fitness_inside_outside,
    focus_args,
    load_all,
    validate_name,
)
from supernet.space import SearchSpace

if TYPE_CHECKING:
    from frontend.hub import Hub



def stored(data: Any, session: str | None) -> list[NamedSelection]:
    """The session's saved selections from the browser store (any other shape: none)."""
    return load_all(data.get(session)) if isinstance(data, dict) and session else []


def with_selections(data: Any, session: str, selections: list[NamedSelection]) -> dict[str, Any]:
    """A copy of the store with ``session``'s list replaced; other sessions' lists kept."""
    out = dict(data) if isinstance(data, dict) else {}
    out[session] = [s.to_dict() for s in selections]
    return out


def listing(selections: list[NamedSelection]) -> tuple[list[Any], list[dict[str, str]]]:
    """The panel's list items and the dropdowns' options."""
    if not selections:
        return [html.Li("no saved selections: lasso points on the map, name them and save",
                        className="hint")], []
    items = [html.Li(f"{s.name} · {len(s):,} architectures") for s in selections]
    return items, [{"label": f"{s.name} ({len(s):,})", "value": s.name} for s in selections]


def register_selections(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.SELECTIONS, "data"), Output(ids.SEL_STATUS, "children"),
                  Output(ids.SEL_LIST, "children"), Output(ids.SEL_A, "options"),
                  Output(ids.SEL_B, "options"), Output(ids.SEL_ACTIVE, "options"),
                  Output(ids.SEL_ACTIVE, "value"), Output(ids.SEL_NAME, "value"),
                  Input(ids.SEL_SAVE, "n_clicks"), Input(ids.SEL_COMBINE, "n_clicks"),
                  Input(ids.SEL_DELETE, "n_clicks"), Input(ids.SESSION, "data"),
                  State(ids.MAP, "selectedData"), State(ids.SEL_NAME, "value"),
                  State(ids.SEL_A, "value"), State(ids.SEL_B, "value"), State(ids.SEL_OP, "value"),
                  State(ids.SEL_ACTIVE, "value"), State(ids.SELECTIONS, "data"))
    def edit(_s: Any, _c: Any, _d: Any, session: str | None, selected: dict | None,
             name: str | None, a: str | None, b: str | None, operation: str, active: str | None,
             data: Any) -> tuple:
        # One callback for every change of the list, so that the store, the list and the
        # dropdowns' options and value are always written together.
        selections = stored(data, session)
        trigger = ctx.triggered_id
        status = ""
        new_data: dict[str, Any] | NoUpdate = no_update
        new_name: str | NoUpdate = no_update
        new_active: str | None | NoUpdate = no_update
        if trigger in (ids.SEL_SAVE, ids.SEL_COMBINE, ids.SEL_DELETE):
            try:
                if not session:
                    raise ValueError("start or join a session first")
                if trigger == ids.SEL_DELETE:
                    gone = find(selections, active)
                    selections = [s for s in selections if s.name != gone.name]
                    status, new_active = f"deleted {gone.name!r}", None
                else:
                    made = (_save_from_map(selected, name, selections) if trigger == ids.SEL_SAVE
                            else _combine_saved(hub, session, selections, operation, a, b, name))
                    selections = [*selections, made]
                    status = f"saved {made.name!r} · {len(made):,} architectures"
                    new_active, new_name = made.name, ""
                new_data = with_selections(data, session, selections)
            except ValueError as exc:
                status = f"not saved: {exc}" if trigger != ids.SEL_DELETE else f"not deleted: {exc}"
        elif active not in {s.name for s in selections}:
            new_active = None  # another session's list: its names mean nothing here
        items, options = listing(selections)
        return new_data, status, items, options, options, options, new_active, new_name

    @app.callback(Output(ids.SEL_STATUS, "children", allow_duplicate=True),
                  Output(ids.SEL_FIGURE, "figure"), Output(ids.SEL_FIGURE, "style"),
                  Input(ids.SEL_FOCUS, "n_clicks"), Input(ids.SEL_FITNESS, "n_clicks"),
                  State(ids.SEL_ACTIVE, "value"), State(ids.SELECTIONS, "data"),
                  State(ids.SESSION, "data"), State(ids.THEME, "data"), prevent_initial_call=True)
    def act(_f: Any, _x: Any, active: str | None, data: Any, session: str | None,
            theme: str | None) -> tuple:
        try:
            if not session:
                raise ValueError("start or join a session first")
            selection = find(stored(data, session), active)
            if ctx.triggered_id == ids.SEL_FOCUS:
                # a template edit may have removed some of its candidates since it was saved
                current = selection.archs & frozenset(watched_view(hub, session).current_archs())
                args = focus_args(replace(selection, archs=current))
                return (send_command(hub, session, "focus", args)
                        + f" around {len(args['archs']):,} candidates of {selection.name!r}",
                        no_update, no_update)
            status, fig = _fitness_figure(hub, session, selection, theme == "dark")
            # responsive: the panel's width; the height grows with the number of blocks
            return status, fig, {"height": f"{fig.layout.height}px"}
        except ValueError as exc:
            return f"not done: {exc}", no_update, no_update


def _save_from_map(selected: dict | None, name: str | None,
                   selections: list[NamedSelection]) -> NamedSelection:
    archs = selected_archs(selected)
    if not archs:
        raise ValueError("select candidates on the map first (lasso or box), then save them")
    return NamedSelection(validate_name(name, (s.name for s in selections)), frozenset(archs))


def _combine_saved(hub: Hub, session: str, selections: list[NamedSelection], operation: str,
                   a: str | None, b: str | None, name: str | None) -> NamedSelection:
    universe: list[str] = []
    if operation in UNARY:  # only the complement needs every point on the map
        universe = watched_view(hub, session).current_archs()
    made = combine_named(selections, operation, a, b, universe, name)
    if not made.archs:
        raise ValueError(f"{made.name!r} is empty: no architecture is in it")
    return made


def _fitness_figure(hub: Hub, session: str, selection: NamedSelection,
                    dark: bool) -> tuple[str, Any]:
    view = watched_view(hub, session)
    with view.lock:
        space, records = view.space, view.current_records()
    if space is None:
        raise ValueError("the session's search space has not arrived yet")
    rows = fitness_inside_outside(records, SearchSpace.from_dict(space["template"]), selection.archs)
    inside = sum(r["arch"] in selection.archs for r in records)
    if not inside:
        raise ValueError(f"no evaluated candidate of this session is in {selection.name!r}")
    fig = figures.inside_outside_figure([r.to_dict() for r in rows], selection.name, inside,
                                        len(records) - inside, dark)
    return f"fitness inside vs outside {selection.name!r}", fig
