"""The ArchLock panel and the leaderboard's target columns, for a session with the objective.

The objective comes from the session's config (``session_state.config["archlock"]``, an
:class:`~supernet.archlock.ArchLockConfig`); each candidate's target accuracy from its
record's ``scores`` (``target:<name>``). Feasibility and the locked front are computed here
from every current record with the search's own functions (:mod:`supernet.archlock`), since
the threshold moves as the best source accuracy found improves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from dash import Dash, Input, Output, dcc, html
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.archlock_builder import LOCK_STATES, lock_error
from frontend.archlock_figures import lock_scatter
from frontend.callbacks import live, watched_view
from supernet.archlock import (
    UNKNOWN_TARGET,
    ArchLockConfig,
    feasible,
    locked_front,
    target_key,
    target_names,
    threshold,
)

if TYPE_CHECKING:
    from dash.dash_table.DataTable import DataTable

    from frontend.hub import Hub

HIDDEN = {"display": "none"}


def lock_config(config: dict[str, Any]) -> ArchLockConfig | None:
    """The session's objective, None without one (or one this version cannot read)."""
    doc = (config or {}).get("archlock")
    if not doc:
        return None
    try:
        return ArchLockConfig.from_dict(doc)
    except ValueError:
        return None


def target_label(name: str) -> str:
    """A target's column and axis name: the unknown one is scored on simulated targets."""
    return "simulated targets" if name == UNKNOWN_TARGET else f"target {name}"


def lock_columns(columns: list[DataTable.Columns], config: ArchLockConfig | None
                 ) -> list[DataTable.Columns]:
    """The leaderboard's columns with the metric called the source's and a column per target."""
    if config is None:
        return columns
    out: list[Any] = [dict(c, name=f"source {c['name']}") if c["id"] == "accuracy" else dict(c)
                      for c in columns]
    at = next((k + 1 for k, c in enumerate(out) if c["id"] == "accuracy"), len(out))
    targets: list[Any] = [{"name": target_label(name), "id": target_key(name), "type": "numeric",
                           "format": {"specifier": ".3f"}} for name in target_names(config)]
    return out[:at] + targets + out[at:]


def lock_points(records: list[dict[str, Any]], config: ArchLockConfig) -> dict[str, Any]:
    """Source, mean target, feasibility, threshold and locked front of the scored records."""
    names = target_names(config)
    scored = [r for r in records
              if all(target_key(n) in (r.get("scores") or {}) for n in names)]
    source = np.array([float(r["accuracy"]) for r in scored])
    target = np.array([np.mean([r["scores"][target_key(n)] for n in names]) for r in scored])
    ok = feasible(config, source)
    return {"archs": [r["arch"] for r in scored], "source": source.tolist(),
            "target": target.tolist(), "feasible": ok.tolist(),
            "threshold": threshold(config, source),
            "front": locked_front(source, target, ok)}


def lock_summary(points: dict[str, Any], config: ArchLockConfig) -> str:
    front = points["front"]
    if not front:
        return "no candidate scored on the targets yet"
    low = min(front, key=lambda i: points["target"][i])
    constraint = (f"within {config.tolerance:g} points of the best source found"
                  if config.mode == "relative" else f"source at least {config.min_source:g}")
    return (f"{sum(points['feasible'])} of {len(points['archs'])} candidates {constraint}; "
            f"lowest target among them {points['target'][low]:.4f} (source "
            f"{points['source'][low]:.4f}): {points['archs'][low]}")


def lock_panel() -> html.Section:
    """Hidden until the watched session has the ArchLock objective."""
    return html.Section([html.H3("ArchLock: source vs target"),
                         dcc.Graph(id=ids.ARCHLOCK_SCATTER, config={"displaylogo": False}),
                         html.Div(id=ids.ARCHLOCK_INFO, className="hint")],
                        id=ids.ARCHLOCK_PANEL, className="panel archlock", style=HIDDEN)


def register_archlock(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.ARCHLOCK_ERROR, "children"), *(Input(i, "value") for i in LOCK_STATES))
    def check(*values: Any) -> str:
        """The builder's ArchLock fields checked as they change, the error beside them."""
        return lock_error(*values)

    @app.callback(Output(ids.ARCHLOCK_SCATTER, "figure"), Output(ids.ARCHLOCK_PANEL, "style"),
                  Output(ids.ARCHLOCK_INFO, "children"), live(ids.LIVE_TABLES),
                  Input(ids.SESSION, "data"), Input(ids.THEME, "data"))
    def render(_events: Any, session: str | None, theme: str | None) -> tuple:
        if not session:
            raise PreventUpdate
        view = watched_view(hub, session)
        with view.lock:
            config = lock_config(view.config)
            records = view.current_records() if config is not None else []
        if config is None:
            return {}, HIDDEN, ""
        points = lock_points(records, config)
        label = " + ".join("simulated targets" if n == UNKNOWN_TARGET else n
                           for n in target_names(config))
        figure = lock_scatter(points["source"], points["target"], points["archs"],
                              points["feasible"], points["threshold"], points["front"], label,
                              theme == "dark")
        return figure, {}, lock_summary(points, config)
