"""ArchLock's picture: source accuracy against target accuracy (pure Plotly functions).

Every evaluated candidate is a point; the vertical line is the source threshold (right of it
is feasible), and the locked front joins the feasible candidates no other beats on both
counts (higher source, lower target): the choices an owner has between keeping accuracy and
denying it to an attacker.
"""

from __future__ import annotations

import plotly.graph_objects as go

from frontend.figures import _base

FEASIBLE = "#42a5f5"
INFEASIBLE = "#b0bec5"
FRONT = "#ef5350"


def lock_scatter(source: list[float], target: list[float], archs: list[str],
                 feasible: list[bool], threshold: float, front: list[int], target_label: str,
                 dark: bool = False) -> go.Figure:
    """The source-vs-target scatter; ``front`` indexes the locked front (by ascending source)."""
    fig = _base(f"Source vs {target_label} ({len(front)} on the locked front)", dark,
                xaxis={"title": "source accuracy"}, yaxis={"title": f"{target_label} accuracy"},
                legend={"orientation": "h", "y": -0.25})
    for inside, name, colour in ((True, "feasible", FEASIBLE), (False, "below the threshold",
                                                                 INFEASIBLE)):
        rows = [i for i, ok in enumerate(feasible) if ok is inside]
        fig.add_scatter(x=[source[i] for i in rows], y=[target[i] for i in rows],
                        customdata=[[archs[i]] for i in rows], mode="markers", name=name,
                        marker={"size": 6, "color": colour, "opacity": 0.7},
                        hovertemplate="%{customdata[0]}<br>source %{x:.4f} · target %{y:.4f}"
                                      "<extra></extra>")
    fig.add_scatter(x=[source[i] for i in front], y=[target[i] for i in front],
                    customdata=[[archs[i]] for i in front], mode="lines+markers",
                    name="locked front", line={"shape": "hv", "color": FRONT},
                    marker={"size": 9, "color": FRONT},
                    hovertemplate="%{customdata[0]}<br>source %{x:.4f} · target %{y:.4f}"
                                  "<extra>front</extra>")
    fig.add_vline(x=threshold, line={"dash": "dash", "color": "#ffa726"},
                  annotation_text=f"source threshold {threshold:.4f}")
    return fig
