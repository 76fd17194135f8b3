"""The live map: explored candidates over the faint density of the whole space.

The worker sends the fixed map's density grid once (``map_update.background``, see
``navigator/live_map.py``); it is drawn as two heatmaps under the candidates: where the
space is (faint) and the pruned / lock-excluded region (grey). The candidates stay trace
0, the one the browser extends in place (``assets/navigator.js``).

A refit (template edit, another encoding) is announced next to the map (``refit_note``)
and animated: the figures of the refit, while the old map stays up and when the new one
has placed the points, carry ``layout.transition`` and draw the candidates as an SVG
scatter (WebGL traces do not animate), so Plotly moves the points to their new places
where it can.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import plotly.graph_objects as go

from frontend.figures import architecture_map

BUILDING = {"building": "building the map of the space…",
            "refit": "re-mapping the space: every point moves once…"}
REFIT_TRANSITION = {"duration": 800, "easing": "cubic-in-out"}


def refit_note(snapshot: dict[str, Any]) -> str:
    """The announcement of the session's last refit ("" when the map was never refit)."""
    refit = snapshot.get("refit")
    if not refit:
        return ""
    if refit.get("previous") and refit["encoding"] != refit["previous"]:
        change = f"encoding changed to {refit['encoding']}"
    else:
        change = "template edited" if "template" in refit.get("message", "") else "space re-mapped"
    return f"Map refit: {change} — " + ("points re-placed" if refit["placed"] else "re-placing points…")


def refit_animates(snapshot: dict[str, Any]) -> bool:
    """Whether this figure belongs to a refit: the old map under way, or the first figure
    of the new one (a later change of the map is drawn as usual)."""
    refit = snapshot.get("refit")
    if not refit:
        return False
    return not refit["placed"] or snapshot.get("version") == refit["version"]


def _centres(grid: dict[str, Any]) -> list[float]:
    lo, hi = grid["extent"]
    step = (hi - lo) / grid["bins"]
    return [lo + step * (k + 0.5) for k in range(grid["bins"])]


def _faint(counts: list[list[int]]) -> list[list[float | None]]:
    """log counts, empty cells transparent (None)."""
    return [[math.log1p(c) if c else None for c in row] for row in counts]


def background_traces(grid: dict[str, Any], dark: bool) -> list[dict[str, Any]]:
    centres = _centres(grid)
    space = "rgba(120,160,220,0.35)" if dark else "rgba(70,110,180,0.22)"
    common = {"type": "heatmap", "x": centres, "y": centres, "showscale": False,
              "hoverinfo": "skip", "zsmooth": "fast"}  # redrawn with every extend
    return [
        common | {"name": "space", "z": _faint(grid["allowed"]),
                  "colorscale": [[0, "rgba(0,0,0,0)"], [1, space]]},
        common | {"name": "excluded", "z": _faint(grid["excluded"]),
                  "colorscale": [[0, "rgba(158,158,158,0.15)"], [1, "rgba(158,158,158,0.55)"]]},
    ]


def live_map(snapshot: dict[str, Any], color: str = "accuracy", dark: bool = False,
             session: str | None = None, selected: Collection[str] | None = None,
             task: dict[str, Any] | None = None) -> go.Figure:
    """The map figure: ``snapshot`` is ``SessionView.snapshot_map`` (points, status,
    encoding, method, background); ``task`` (``SessionView.task``) titles the metric's colour
    scale and reverses it for a lower-is-better metric."""
    method = " · ".join(p for p in (snapshot.get("encoding"), (snapshot.get("method") or "").upper()) if p)
    fig = architecture_map(snapshot, color, dark, method, session=session, selected=selected,
                           task=task)
    if refit_animates(snapshot):
        doc = fig.to_dict()
        doc["data"][0]["type"] = "scatter"
        doc["layout"]["transition"] = REFIT_TRANSITION
        fig = go.Figure(doc)
    grid = snapshot.get("background")
    if grid:
        for trace in background_traces(grid, dark):
            fig.add_trace(trace)
        fig.update_layout(xaxis={"range": [-1.05, 1.05]}, yaxis={"range": [-1.05, 1.05]})
        fig.layout.title.text += f" · map of {grid['mapped']:,} of {grid['space_size']:,}"
    status = snapshot.get("status") or ""
    if status in BUILDING or status == "failed":
        text = BUILDING.get(status) or snapshot.get("message") or "no map"
        fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font={"size": 14}, name="map-status")
    return fig
