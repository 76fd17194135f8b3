"""Plotly figures as pure functions: plain data in, ``go.Figure`` out, no Dash state.

They are unit-tested on their own and used by the callbacks, the replay view
and the benchmarks alike.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import plotly.graph_objects as go

from frontend.evidence_figures import cell_evidence_lines
from supernet.tasks import METRIC_LABELS

OP_COLOURS = {
    "none": "#9e9e9e", "skip_connect": "#26a69a", "nor_conv_1x1": "#5c6bc0",
    "nor_conv_3x3": "#ef5350", "nor_conv_5x5": "#ab47bc", "avg_pool_3x3": "#ffa726",
    "max_pool_3x3": "#8d6e63", "sep_conv_3x3": "#42a5f5", "dil_conv_3x3": "#d4e157",
}
COLOR_LABELS = {"accuracy": "accuracy", "params": "parameters", "flops": "FLOPs",
                "latency_ms": "latency (ms)", "generation": "generation", "loss": "loss"}


def theme_layout(dark: bool) -> dict[str, str]:
    """The template and backgrounds of a chart: in the dark theme the panel's own colour
    (assets/navigator.css, --panel), so a chart does not sit in a black box."""
    if dark:
        return {"template": "plotly_dark", "paper_bgcolor": "#1b2027", "plot_bgcolor": "#161a20"}
    return {"template": "plotly_white", "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff"}


def _base(title: str, dark: bool, **layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(**theme_layout(dark), title={"text": title, "x": 0.01, "font": {"size": 14}},
                      margin={"l": 50, "r": 20, "t": 40, "b": 40}, uirevision="keep", **layout)
    return fig


TRAIN_ACCURACY = "training-batch accuracy of the sampled paths"
"""What ``train_progress.accuracy`` measures: not a validation score of any one architecture."""


def smoothed(values: list[float], window: int) -> list[float]:
    """Trailing moving average over ``window`` steps (1: the values as they are)."""
    if window <= 1:
        return list(values)
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def training_curves(progress: list[dict[str, Any]], dark: bool = False, window: int = 1) -> go.Figure:
    """Supernet loss (left axis) and training-batch accuracy (right axis) per step, smoothed
    over ``window`` steps; the title says which accuracy it is."""
    title = f"Supernet training: loss and {TRAIN_ACCURACY}"
    fig = _base(title + (f" (mean of {window} steps)" if window > 1 else ""), dark,
                yaxis={"title": "loss"},
                yaxis2={"title": "train-batch accuracy", "overlaying": "y", "side": "right",
                        "range": [0, 1]},
                xaxis={"title": "epoch"}, legend={"orientation": "h", "y": -0.25})
    x = [p["epoch"] + p["step"] / max(p["steps_per_epoch"], 1) for p in progress]
    fig.add_scatter(x=x, y=smoothed([p["loss"] for p in progress], window), name="loss",
                    mode="lines", line={"color": "#ef5350"})
    fig.add_scatter(x=x, y=smoothed([p["accuracy"] for p in progress], window),
                    name="train-batch accuracy", mode="lines", yaxis="y2", line={"color": "#42a5f5"})
    return fig


def progress_summary(progress: list[dict[str, Any]]) -> tuple[float, str]:
    """Percent of planned training done and a one-line status for the progress bar."""
    if not progress:
        return 0.0, "waiting for the first training step"
    p = progress[-1]
    total = p["epochs"] * p["steps_per_epoch"]
    done = p["epoch"] * p["steps_per_epoch"] + p["step"]
    if p["step"] == p["steps_per_epoch"]:
        done = (p["epoch"] + 1) * p["steps_per_epoch"]
    pct = 100.0 * min(done / max(total, 1), 1.0)
    epoch = min(p["epoch"] + 1, p["epochs"])
    return pct, (f"epoch {epoch}/{p['epochs']} · loss {p['loss']:.3f} · "
                 f"{p['samples_per_s']:,.0f} samples/s · ETA {_duration(p['eta_s'])}")


def candidate_summary(record: dict[str, Any]) -> str:
    """One line of a candidate's metrics; a metric the worker did not send is left out."""
    parts = [f"accuracy {record.get('accuracy') or 0:.3f}"]
    for key, label in (("params", "params"), ("flops", "FLOPs")):
        if record.get(key) is not None:
            parts.append(f"{label} {record[key]:,}")
    if record.get("latency_ms") is not None:
        parts.append(f"latency {record['latency_ms']:.2f} ms")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def map_trace(snapshot: dict[str, Any], color: str = "accuracy",
              task: dict[str, Any] | None = None) -> dict[str, Any]:
    """The WebGL scatter trace of the architecture map (also used to extend it in place).
    ``task`` (``SessionView.task``) names the metric the ``accuracy`` values hold; a
    lower-is-better one reverses the colour scale, so good candidates keep their colour."""
    task = task or {}
    metric = METRIC_LABELS.get(str(task.get("metric")), "accuracy")
    lower = color == "accuracy" and not task.get("higher_is_better", True)
    title = str(task.get("label") or metric) if color == "accuracy" else COLOR_LABELS.get(color, color)
    values = snapshot["values"]
    colour = values.get(color) or [None] * len(snapshot["archs"])
    n = len(snapshot["archs"])
    acc = values.get("accuracy") or [None] * n
    params = values.get("params") or [None] * n
    details = [map_hover_details(g, f, lat) for g, f, lat in zip(
        values.get("generation") or [None] * n, values.get("flops") or [None] * n,
        values.get("latency_ms") or [None] * n)]
    return {
        "type": "scattergl", "mode": "markers", "name": "candidates",
        "x": list(snapshot["x"]), "y": list(snapshot["y"]),
        "customdata": [[a, c, p, d] for a, c, p, d in zip(snapshot["archs"], acc, params, details)],
        "marker": {"color": list(colour), "colorscale": "Viridis", "reversescale": lower,
                   "size": 7, "opacity": 0.85, "showscale": True,
                   "colorbar": {"title": {"text": title}}},
        "hovertemplate": f"%{{customdata[0]}}<br>{metric} %{{customdata[1]:.3f}}"
                         "<br>params %{customdata[2]:,}<br>%{customdata[3]}<extra></extra>",
    }


def map_hover_details(generation: Any, flops: Any, latency_ms: Any) -> str:
    """The map hover's last line (assets/navigator.js words live points the same way)."""
    parts = [f"generation {generation}" if generation is not None else "generation ?"]
    parts.append(f"FLOPs {flops:,}" if isinstance(flops, (int, float)) else "FLOPs ?")
    parts.append(f"latency {latency_ms:.2f} ms" if isinstance(latency_ms, (int, float))
                 else "latency ?")
    return " · ".join(parts)


def architecture_map(snapshot: dict[str, Any], color: str = "accuracy", dark: bool = False,
                     method: str = "", session: str | None = None,
                     selected: Collection[str] | None = None,
                     task: dict[str, Any] | None = None) -> go.Figure:
    """The map figure; the trace's ``meta`` ({session, color, method}) lets the browser
    append live candidates to it in place (``assets/navigator.js``).

    ``selected`` arch strings are drawn as a lasso selection (the trace's ``selectedpoints``:
    the other points dimmed), so a replay shows the map as the participant had selected it.
    """
    title = f"Search-space map ({len(snapshot['archs']):,} candidates{', ' + method if method else ''})"
    fig = _base(title, dark, dragmode="lasso", xaxis={"showticklabels": False, "title": ""},
                yaxis={"showticklabels": False, "title": ""})
    fig.add_trace(map_trace(snapshot, color, task) | {"meta": {"session": session, "color": color,
                                                         "method": method}})
    if selected is not None:
        chosen = set(selected)
        points = [i for i, arch in enumerate(snapshot["archs"]) if arch in chosen]
        fig.data[0].selectedpoints = points
        fig.layout.title.text += f" · {len(points):,} selected"
    return fig


PRUNED, LOCKED_OUT = 1, 2  # values of the heatmap's grey layer
PRUNED_COLOUR, LOCKED_OUT_COLOUR = "#9e9e9e", "#d9c89e"
LOCK_MARK = "\u25c6"  # a filled diamond: drawn by any text font, no emoji font needed
HEATMAP_LEGEND = (f"<span style='color:{PRUNED_COLOUR}'>\u25a0</span> pruned   "
                  f"<span style='color:{LOCKED_OUT_COLOUR}'>\u25a0</span> excluded by a lock   "
                  f"{LOCK_MARK} locked op")


def heatmap_columns(choice_points: list[dict[str, Any]]) -> list[str]:
    """The heatmap's columns: the cell ops in palette order, any other candidates (a chain
    space's blocks, pools and heads) in the order of the choice points that offer them."""
    seen = list(dict.fromkeys(op for cp in choice_points for op in cp["candidates"]))
    known = sorted((op for op in seen if op in OP_COLOURS), key=list(OP_COLOURS).index)
    return known + [op for op in seen if op not in OP_COLOURS]


def fitness_heatmap(choice_points: list[dict[str, Any]], matrix: dict[str, Any],
                    steering: dict[str, Any], dark: bool = False, label: str = "accuracy",
                    lower_is_better: bool = False) -> go.Figure:
    """Choice points x ops: colour = mean ``label`` (the task's metric in its own units,
    ``frontend.metric_units``), text = count; pruned grey, locked marked. A lower-is-better
    metric reverses the colour scale, so that good ops have the same colour for every task."""
    ops = heatmap_columns(choice_points)
    names = [cp["name"] for cp in choice_points]
    z, text, grey, hover = [], [], [], []
    pruned, locked = steering.get("pruned", {}), steering.get("locked", {})
    for cp in choice_points:
        row_z, row_t, row_g, row_h = [], [], [], []
        for op in ops:
            cell = matrix.get(cp["name"], {}).get(op) if op in cp["candidates"] else None
            # 1: pruned by hand; 2: excluded because another op of the choice point is locked
            excluded = (PRUNED if op in pruned.get(cp["name"], []) else
                        LOCKED_OUT if cp["name"] in locked and locked[cp["name"]] != op else None)
            mean = cell.get("mean") if cell else None
            row_z.append(None if excluded or op not in cp["candidates"] else mean)
            row_g.append(excluded)
            mark = f"{LOCK_MARK} " if locked.get(cp["name"]) == op else ""
            count = cell.get("count", 0) if cell else 0
            row_h.append(evidence_hover(cell) if cell else "")
            row_t.append(f"{mark}{mean:.2f}<br>n={count}" if mean is not None else f"{mark}n={count}"
                         if op in cp["candidates"] else "")
        z.append(row_z)
        text.append(row_t)
        grey.append(row_g)
        hover.append(row_h)
    fig = _base(f"Operation fitness (mean {label} of candidates using the op)", dark,
                xaxis={"title": "operation", "side": "bottom"},
                yaxis={"title": "choice point", "autorange": "reversed"})
    fig.add_heatmap(z=grey, x=ops, y=names, zmin=PRUNED, zmax=LOCKED_OUT, showscale=False,
                    colorscale=[[0, PRUNED_COLOUR], [0.5, PRUNED_COLOUR], [0.5, LOCKED_OUT_COLOUR],
                                [1, LOCKED_OUT_COLOUR]], hoverinfo="skip", name="pruned")
    fig.add_annotation(text=HEATMAP_LEGEND, xref="paper", yref="paper", x=1.0, y=1.0,
                       xanchor="right", yanchor="bottom", showarrow=False, font={"size": 11})
    fig.add_heatmap(z=z, x=ops, y=names, text=text, texttemplate="%{text}", colorscale="Viridis",
                    reversescale=lower_is_better, colorbar={"title": {"text": label}},
                    name="fitness", customdata=hover,
                    hovertemplate="%{y} · %{x}<br>%{customdata}<extra>click to edit</extra>")
    return fig


def _node_positions(n_nodes: int) -> list[tuple[float, float]]:
    return [(math.cos(math.pi * (1 - i / max(n_nodes - 1, 1))), 0.25 * math.sin(math.pi * i / max(n_nodes - 1, 1)))
            for i in range(n_nodes)]


def _graph_canvas(title: str, dark: bool, arch: str | None) -> go.Figure:
    """An empty candidate drawing; with no architecture, it says how to pick one."""
    fig = _base(title, dark, xaxis={"visible": False}, yaxis={"visible": False},
                showlegend=False, height=280)
    if not arch:
        fig.add_annotation(text="click a point on the map or a leaderboard row", showarrow=False)
    return fig


def cell_graph(arch: str | None, record: dict[str, Any] | None = None, dark: bool = False,
               title: str = "Candidate") -> go.Figure:
    """The cell of an architecture string drawn as nodes and op-labelled edges."""
    fig = _graph_canvas(title, dark, arch)
    if not arch:
        return fig
    nodes = arch.split("+")
    pos = _node_positions(len(nodes) + 1)
    for dst, node in enumerate(nodes, start=1):
        for entry in node.strip("|").split("|"):
            op, _, src_text = entry.rpartition("~")
            src = int(src_text)
            (x0, y0), (x1, y1) = pos[src], pos[dst]
            bend = 0.35 * (dst - src - 1) + 0.1
            xs = [x0 + (x1 - x0) * t for t in (0, 0.5, 1)]
            ys = [y0, (y0 + y1) / 2 + bend, y1]
            fig.add_scatter(x=xs, y=ys, mode="lines", line={
                "color": OP_COLOURS.get(op, "#666"), "width": 1 if op == "none" else 3,
                "dash": "dot" if op == "none" else "solid", "shape": "spline"}, hoverinfo="skip")
            fig.add_annotation(x=xs[1], y=ys[1], text=op, showarrow=False, font={"size": 10},
                               bgcolor="rgba(255,255,255,0.6)" if not dark else "rgba(0,0,0,0.5)")
    fig.add_scatter(x=[p[0] for p in pos], y=[p[1] for p in pos], mode="markers+text",
                    text=[str(i) for i in range(len(pos))], textposition="middle center",
                    marker={"size": 26, "color": "#37474f"}, textfont={"color": "white"}, hoverinfo="skip")
    if record:
        fig.add_annotation(x=0, y=-0.45, showarrow=False, font={"size": 11},
                           text=candidate_summary(record))
    fig.update_yaxes(range=[-0.6, 1.0])
    return fig


BRICK_COLOURS = {"conv": "#1e88e5", "sep": "#8e24aa", "max": "#e53935", "avg": "#fb8c00",
                 "dense": "#43a047"}


def _brick_colour(name: str) -> str:
    return next((c for prefix, c in BRICK_COLOURS.items() if name.startswith(prefix)), "#546e7a")


def chain_graph(arch: str | None, record: dict[str, Any] | None = None, dark: bool = False,
                title: str = "Candidate") -> go.Figure:
    """A chain architecture (``conv3x3,max|sep3x3,avg|dense2``) as lego bricks, layer by layer."""
    fig = _graph_canvas(title, dark, arch)
    if not arch:
        return fig
    groups = [group.split(",") for group in arch.split("|")]
    for x, picks in enumerate(groups):
        label = "head" if x == len(groups) - 1 else f"L{x + 1}"
        fig.add_annotation(x=x, y=1.15, text=label, showarrow=False, font={"size": 10})
        for row, name in enumerate(picks):
            y = 0.6 - 0.7 * row
            fig.add_shape(type="rect", x0=x - 0.42, x1=x + 0.42, y0=y - 0.3, y1=y + 0.3,
                          fillcolor=_brick_colour(name), line={"width": 0}, opacity=0.85)
            fig.add_annotation(x=x, y=y, text=name, showarrow=False,
                               font={"size": 10, "color": "white"})
    fig.add_scatter(x=list(range(len(groups))), y=[0.95] * len(groups), mode="lines",
                    line={"color": "#90a4ae", "width": 1}, hoverinfo="skip")
    if record:
        fig.add_annotation(x=(len(groups) - 1) / 2, y=-1.35, showarrow=False, font={"size": 11},
                           text=candidate_summary(record))
    fig.update_xaxes(range=[-0.6, len(groups) - 0.4])
    fig.update_yaxes(range=[-1.6, 1.3])
    return fig


HIGHLIGHT_COLOUR = "#ff6d00"  # the hovered block: its brick here, its candidates' rings on the map


def template_strip(choice_points: list[dict[str, Any]], steering: dict[str, Any],
                   highlight: tuple[str, str] | None = None, dark: bool = False) -> go.Figure:
    """The whole template as columns of bricks (one column per choice point, one brick per
    candidate), so that a block hovered in another view can be shown where it sits.

    Pruned bricks, and those shut out by a lock on their choice point, are faded; a locked
    brick has a dark outline; the ``highlight`` (choice point, op) an orange one, in a shape
    named "highlight" (what tests look for).
    """
    pruned, locked = steering.get("pruned", {}) or {}, steering.get("locked", {}) or {}
    fig = _base("Template: where the hovered block sits", dark, xaxis={"visible": False},
                yaxis={"visible": False}, showlegend=False, height=200)
    for x, cp in enumerate(choice_points):
        name = cp["name"]
        fig.add_annotation(x=x, y=1.0, text=name, showarrow=False, font={"size": 9},
                           textangle=-30 if len(choice_points) > 8 else 0)
        for row, op in enumerate(cp["candidates"]):
            y = 0.5 - 0.55 * row
            out = op in pruned.get(name, []) or (name in locked and locked[name] != op)
            marked = highlight == (name, op)
            line = ({"width": 4, "color": HIGHLIGHT_COLOUR} if marked else
                    {"width": 2, "color": "#263238"} if locked.get(name) == op else {"width": 0})
            fig.add_shape(type="rect", x0=x - 0.44, x1=x + 0.44, y0=y - 0.24, y1=y + 0.24,
                          fillcolor=_brick_colour(op), line=line, opacity=0.25 if out else 0.85,
                          name="highlight" if marked else f"{name}/{op}")
            fig.add_annotation(x=x, y=y, text=op, showarrow=False,
                               font={"size": 9, "color": "white"})
    rows = max((len(cp["candidates"]) for cp in choice_points), default=1)
    fig.update_xaxes(range=[-0.6, max(len(choice_points), 1) - 0.4])
    fig.update_yaxes(range=[0.5 - 0.55 * rows, 1.2])
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def architecture_graph(arch: str | None, record: dict[str, Any] | None = None, dark: bool = False,
                       title: str = "Candidate") -> go.Figure:
    """A cell drawing for NAS-Bench-201 strings (they name inputs with ``~``), bricks for chains."""
    draw = cell_graph if not arch or "~" in arch else chain_graph
    return draw(arch, record, dark, title)


def pareto_front_figure(costs: list[float | None], accuracies: list[float | None], archs: list[str],
                        front: list[int], cost_key: str = "latency_ms",
                        budget: float | None = None, dark: bool = False) -> go.Figure:
    """Accuracy against a cost, the Pareto front drawn over it (and the budget, if any).

    ``front`` indexes the non-dominated points (as ``supernet.hardware.pareto_front`` gives
    them); points without the cost are left out, not drawn at zero.
    """
    label = COLOR_LABELS.get(cost_key, cost_key)
    fig = _base(f"Accuracy vs {label} ({len(front)} on the Pareto front)", dark,
                xaxis={"title": label}, yaxis={"title": "accuracy"},
                legend={"orientation": "h", "y": -0.25}, dragmode="select")
    shown = [i for i, c in enumerate(costs) if c is not None and accuracies[i] is not None]
    fig.add_scatter(x=[costs[i] for i in shown], y=[accuracies[i] for i in shown],
                      customdata=[[archs[i]] for i in shown], mode="markers", name="candidates",
                      marker={"size": 6, "color": "#90a4ae", "opacity": 0.6},
                      hovertemplate="%{customdata[0]}<br>%{x:.3g} · acc %{y:.3f}<extra></extra>")
    front_cost = {i: c for i in front if (c := costs[i]) is not None}
    ordered = sorted(front_cost, key=front_cost.__getitem__)
    fig.add_scatter(x=[front_cost[i] for i in ordered], y=[accuracies[i] for i in ordered],
                    customdata=[[archs[i]] for i in ordered], mode="lines+markers",
                    name="Pareto front", line={"shape": "hv", "color": "#ef5350"},
                    marker={"size": 9, "color": "#ef5350"},
                    hovertemplate="%{customdata[0]}<br>%{x:.3g} · acc %{y:.3f}<extra>front</extra>")
    if budget is not None and cost_key == "latency_ms":
        fig.add_vline(x=budget, line={"dash": "dash", "color": "#ffa726"},
                      annotation_text=f"budget {budget:.2f} ms")
    return fig


def correlation_figure(correlations: dict[str, dict[str, float]], dark: bool = False) -> go.Figure:
    """Rank correlation of each score (proxies, costs) with supernet accuracy, as bars."""
    names = sorted(correlations, key=lambda k: -abs(correlations[k]["spearman"]))
    fig = _base("Scores vs accuracy (rank correlation)", dark, barmode="group",
                yaxis={"title": "correlation", "range": [-1, 1]},
                legend={"orientation": "h", "y": -0.3})
    for measure, colour in (("spearman", "#42a5f5"), ("kendall", "#ab47bc")):
        fig.add_bar(x=names, y=[correlations[k][measure] for k in names], name=measure,
                    marker_color=colour)
    return fig


BLOCK_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#7b4173",
                 "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#843c39")
BLOCK_EXCLUDED = "#9e9e9e"


def evidence_hover(cell: dict[str, Any]) -> str:
    """Mean, best and upper quantile of one (choice point, op), each with its count and
    interval, and the model's estimates when there are some (``frontend.evidence_figures``)."""
    return "<br>".join(cell_evidence_lines(cell))


def _block_hover(cp: str, op: str, k: int, n: int, cell: dict[str, Any], state: str,
                 label: str = "accuracy") -> str:
    mean, low, high = cell.get("mean"), cell.get("ci_low"), cell.get("ci_high")
    ci = f" (95% CI {low:.3f} to {high:.3f})" if low is not None and high is not None else ""
    relative = cell.get("relative")
    rel = f"<br>{relative:+.3f} vs its rivals at this choice point" if relative is not None else ""
    return (f"<b>{cp}</b> · {op}<br>choice point {k + 1} of {n} in the template"
            f"<br>mean {label} {mean:.3f}{ci}<br>evaluated {cell.get('count', 0):,} times{rel}"
            + "".join(f"<br>{line}" for line in cell_evidence_lines(cell)[1:])
            + (f"<br>{state}" if state else ""))


def block_information(fitness: dict[str, dict[str, dict[str, Any]]], steering: dict[str, Any],
                      dark: bool = False, choice_points: list[str] | None = None,
                      label: str = "accuracy", lower_is_better: bool = False) -> go.Figure:
    """One dot per (choice point, op): x = mean accuracy, y = times evaluated, colour = choice point.

    ``label`` names the metric the (``frontend.metric_units``-converted) fitness holds; a
    lower-is-better one reverses the x axis, so that good blocks stay on the right.

    The heatmap answers "which op is best on this edge"; this view puts every block of every
    choice point on one plane so that blocks that are both good and well-evaluated (top right)
    and blocks the search barely tried (bottom) stand out across the whole template. Names are
    never parsed: any choice points work. ``choice_points`` fixes their order (the template's,
    for "k of N" in the hover); by default the matrix's order.

    Active blocks are drawn in one trace per choice point (its legend entry); pruned blocks,
    and blocks shut out because another op is locked on their choice point, in one grey hollow
    trace; a locked op is a star. Every dot's ``customdata`` is ``[choice point, op]``. Blocks
    without evaluations have no mean to place: they sit at y = 0 left of every evaluated dot,
    hollow diamonds in their choice point's colour (one trace, "not evaluated yet", before the
    grey one, which stays last), so they can still be hovered, pruned or locked.
    """
    names = list(choice_points) if choice_points is not None else list(fitness)
    names += [cp for cp in fitness if cp not in names]
    pruned, locked = steering.get("pruned", {}) or {}, steering.get("locked", {}) or {}
    fig = _base("Blocks: fitness vs how often evaluated", dark,
                xaxis={"title": f"mean {label} of candidates using the block (95% CI)",
                       "autorange": "reversed" if lower_is_better else True},
                yaxis={"title": "times evaluated", "rangemode": "tozero"},
                legend={"title": {"text": "choice point"}}, hovermode="closest",
                clickmode="event")
    excluded: dict[str, list[Any]] = {"x": [], "y": [], "customdata": [], "hovertext": []}
    waiting: dict[str, list[Any]] = {"customdata": [], "hovertext": [], "color": []}
    means = [c["mean"] for ops in fitness.values() for c in ops.values()
             if c.get("mean") is not None and c.get("count")]
    margin = 0.05 * max(max(means) - min(means), 0.02) if means else 0.0
    edge = (max(means) + margin if lower_is_better else min(means) - margin) if means else 0.0
    for k, cp in enumerate(names):
        x, y, custom, hover, symbol, size, low, high = [], [], [], [], [], [], [], []
        for op, cell in (fitness.get(cp) or {}).items():
            mean = cell.get("mean")
            is_locked = locked.get(cp) == op
            shut_out = op in pruned.get(cp, []) or (cp in locked and not is_locked)
            state = ("pruned" if op in pruned.get(cp, []) else f"excluded: {locked.get(cp)} is locked"
                     if shut_out else "locked" if is_locked else "")
            if mean is None or not cell.get("count"):
                text = (f"<b>{cp}</b> · {op}<br>choice point {k + 1} of {len(names)} in the "
                        f"template<br>not evaluated yet" + (f"<br>{state}" if state else ""))
                target = excluded if shut_out else waiting
                target["customdata"].append([cp, op])
                target["hovertext"].append(text)
                if shut_out:
                    excluded["x"].append(edge)
                    excluded["y"].append(0)
                else:
                    waiting["color"].append(BLOCK_PALETTE[k % len(BLOCK_PALETTE)])
                continue
            text = _block_hover(cp, op, k, len(names), cell, state, label)
            if shut_out:
                for key, value in (("x", mean), ("y", cell["count"]), ("customdata", [cp, op]),
                                   ("hovertext", text)):
                    excluded[key].append(value)
                continue
            x.append(mean)
            y.append(cell["count"])
            custom.append([cp, op])
            hover.append(text)
            symbol.append("star" if is_locked else "circle")
            size.append(16 if is_locked else 10)
            low.append(mean - cell["ci_low"] if cell.get("ci_low") is not None else 0)
            high.append(cell["ci_high"] - mean if cell.get("ci_high") is not None else 0)
        fig.add_scatter(x=x, y=y, customdata=custom, hovertext=hover, hoverinfo="text",
                        mode="markers", name=cp, legendgroup=cp,
                        marker={"color": BLOCK_PALETTE[k % len(BLOCK_PALETTE)], "size": size,
                                "symbol": symbol, "line": {"width": 1, "color": "#263238"}},
                        error_x={"type": "data", "array": high, "arrayminus": low,
                                 "thickness": 1, "width": 0},
                        meta={"choice_point": cp, "position": k})
    unevaluated = len(waiting["customdata"])
    if unevaluated:
        fig.add_scatter(x=[edge] * unevaluated, y=[0] * unevaluated,
                        customdata=waiting["customdata"], hovertext=waiting["hovertext"],
                        hoverinfo="text", mode="markers", name="not evaluated yet",
                        marker={"color": waiting["color"], "size": 11, "symbol": "diamond-open",
                                "line": {"width": 2, "color": waiting["color"]}},
                        meta={"choice_point": None, "unevaluated": True})
        # in the title: an annotation would sit on top of dots or the title
        fig.layout.title.text += (f" · {unevaluated} block{'s' if unevaluated != 1 else ''}"
                                  " not evaluated yet (left, at 0)")
    fig.add_scatter(**excluded, hoverinfo="text", mode="markers", name="pruned / excluded",
                    marker={"color": BLOCK_EXCLUDED, "size": 10, "symbol": "circle-open",
                            "line": {"width": 2, "color": BLOCK_EXCLUDED}},
                    meta={"choice_point": None})
    return fig


def inside_outside_figure(rows: list[dict[str, Any]], name: str = "selection", n_inside: int = 0,
                          n_outside: int = 0, dark: bool = False) -> go.Figure:
    """Inside-minus-outside mean accuracy per (choice point, op) as diverging bars.

    ``rows`` are ``OpContrast.to_dict()`` (frontend/selections.py). An op not seen on one
    side has no bar and says so in its label instead of showing a difference of 0.
    """
    labels = [f"{r['choice_point']} · {r['op']}" for r in rows]
    diffs = [r["difference"] for r in rows]
    notes = ["" if d is not None else " (not inside)" if not r["count_inside"] else
             " (not outside)" if not r["count_outside"] else "" for r, d in zip(rows, diffs)]
    fig = _base(f"Fitness inside vs outside {name!r} ({n_inside:,} inside, {n_outside:,} outside)",
                dark, xaxis={"title": "mean accuracy inside − outside", "zeroline": True},
                yaxis={"autorange": "reversed", "type": "category"}, showlegend=False,
                height=max(300, 16 * len(rows) + 90))
    fig.update_layout(margin={"l": 190})  # room for "choice point · op" labels
    fig.add_bar(
        x=[d if d is not None else 0 for d in diffs], y=[lb + n for lb, n in zip(labels, notes)],
        orientation="h", marker_color=["#9e9e9e" if d is None else "#2e7d32" if d >= 0 else "#c62828"
                                       for d in diffs],
        customdata=[[_acc(r["mean_inside"]), r["count_inside"], _acc(r["mean_outside"]),
                     r["count_outside"]] for r in rows],
        hovertemplate="%{y}<br>inside %{customdata[0]} (n=%{customdata[1]})"
                      "<br>outside %{customdata[2]} (n=%{customdata[3]})<extra></extra>")
    return fig


def _acc(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
