"""Callbacks of the hardware panel: accuracy vs cost with its Pareto front, the latency budget slider,
latencies uploaded from another device, and how every score ranks against accuracy.

The worker owns the latency model (``hardware`` events); this view only draws what
the session view holds and turns the controls into ``set_latency_budget`` and
``device_latencies`` commands.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import time
from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State, ctx, dcc, no_update
from dash.exceptions import PreventUpdate
from scipy import stats

from frontend import figures, ids
from frontend.callbacks import (
    LIVE_TRIGGERS,
    live,
    live_update,
    marker_of,
    send_command,
    watched_view,
)
from frontend.selections import finite_number
from supernet.hardware import pareto_front
from supernet.latency_budget import describe_device

if TYPE_CHECKING:
    from frontend.hub import Hub
    from navigator.session_view import SessionView

NOT_SCORES = frozenset({"accuracy", "loss", "generation", "parent"})
MAX_UPLOAD_BYTES = 1_000_000  # as the device_latencies command allows
MAX_CLOUD_POINTS = 2000  # the Pareto panel's background cloud; the front is always drawn whole
MIN_REDRAW_S = 2.0  # live redraws of this panel at most this often


def score_correlations(values: dict[str, list[Any]], target: str = "accuracy",
                       min_points: int = 5) -> dict[str, dict[str, float]]:
    """Spearman and Kendall of every numeric column with ``target`` over rows having both.

    Columns that are constant, or have fewer than ``min_points`` usable rows, have no
    defined rank correlation and are left out rather than shown as 0.
    """
    y = values.get(target) or []
    out = {}
    for name, column in values.items():
        if name in NOT_SCORES or name == target:
            continue
        pairs = [(a, b) for a, b in zip(column, y) if finite_number(a) and finite_number(b)]
        if len(pairs) < min_points or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
            continue
        xs, ys = zip(*pairs)
        out[name] = {"spearman": float(stats.spearmanr(xs, ys).statistic),
                     "kendall": float(stats.kendalltau(xs, ys).statistic)}
    return out


def front_of(costs: list[Any], accuracies: list[Any], higher_is_better: bool = True) -> list[int]:
    """Indices (into the full columns) of the Pareto-optimal points that have both values, by
    ascending cost (``pareto_front``'s order, which the CSV export keeps); the metric counts in
    its direction (a relative L2 error: the lower the better)."""
    usable = [i for i, (c, a) in enumerate(zip(costs, accuracies)) if finite_number(c) and finite_number(a)]
    sign = 1.0 if higher_is_better else -1.0
    return [usable[k] for k in pareto_front([(sign * accuracies[i], costs[i]) for i in usable])]


def thin_cloud(n: int, keep: list[int], limit: int = MAX_CLOUD_POINTS) -> list[int]:
    """At most ``limit`` evenly spread indices of ``n`` points, plus every index in ``keep``.

    Sending every candidate with every batch made the browser re-plot 10,000 points a few
    times a second, which delayed the live map by seconds (benchmarks/ui_latency.py).
    """
    stride = max(1, math.ceil(n / limit))
    return sorted(set(range(0, n, stride)) | set(keep))


def front_csv(rows: list[dict[str, Any]], cost_key: str) -> str:
    columns = ["arch", "accuracy", cost_key] + [k for k in ("params", "flops", "latency_ms")
                                                 if k != cost_key]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def budget_range(host_ms: list[float], device: dict[str, Any] | None) -> tuple[float, float]:
    """The budget slider's bounds in the chosen device's milliseconds.

    On the host: the measured latencies, widened by 10%. On another device the map holds no
    latencies, so its range is the host's times the device's speed ratio (its ``scale``, or
    for an adapted model the ratio of the fastest uploaded latency to the host's fastest),
    starting below the fastest uploaded latency. Bounds sit on the slider's 0.01 ms grid, so
    a typed budget is not snapped to a neighbour.
    """
    if not host_ms:
        return 0.0, 10.0
    fastest, slowest = min(host_ms), max(host_ms)
    if device is not None:
        ratio = device.get("scale") or device["fastest_ms"] / fastest
        fastest, slowest = min(device["fastest_ms"], fastest * ratio), slowest * ratio
    return math.floor(fastest * 90) / 100, math.ceil(slowest * 110) / 100


def hardware_summary(hardware: dict[str, Any]) -> str:
    if not hardware:
        return "latency model: waiting for measured candidates"
    parts = [f"latency model from {hardware.get('measured', 0)} measured candidates"]
    if hardware.get("predictor_srcc") is not None:
        parts[0] += f" (rank agreement {hardware['predictor_srcc']:.2f})"
    budget = hardware.get("budget_ms")
    parts.append(f"budget {budget:.2f} ms on {hardware.get('budget_device', 'host')}"
                 if budget is not None else "no budget")
    parts += [describe_device(d) for d in (hardware.get("devices") or {}).values()]
    return " · ".join(parts)


def decode_upload(contents: str) -> str:
    """The text of a dcc.Upload data URL; ValueError for anything but small UTF-8 text."""
    _, _, payload = contents.partition(",")
    raw = base64.b64decode(payload, validate=False)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file has {len(raw):,} bytes; at most {MAX_UPLOAD_BYTES:,} are accepted")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text: upload a CSV with columns arch,latency_ms") from None


def _marker(view: SessionView, rendered: Any, session: str) -> dict[str, Any]:
    """What the panel is about to draw; PreventUpdate when it need not draw now.

    Candidate batches redraw at most every MIN_REDRAW_S; the tick draws what such a
    skip left behind once the search goes quiet, and a ``hardware`` event (a new budget,
    a device's latencies) is drawn at once.
    """
    drawn = {k: v for k, v in (rendered or {}).items() if k != "at"}
    if ctx.triggered_id == ids.HARDWARE_TICK:
        marker = {"session": view.session, "seq": view.changed_at(*LIVE_TRIGGERS[ids.LIVE_HARDWARE])}
        if drawn == marker:
            raise PreventUpdate
    else:
        marker = marker_of(view, drawn, ids.LIVE_HARDWARE)
    fresh_hardware = view.changed_at("hardware") > drawn.get("seq", 0)
    if (live_update() and rendered and rendered.get("session") == session and not fresh_hardware
            and time.time() - rendered.get("at", 0) < MIN_REDRAW_S):
        raise PreventUpdate
    return marker


def register_hardware(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.PARETO, "figure"), Output(ids.PROXY_CORR, "figure"),
                  Output(ids.HARDWARE_INFO, "children"), Output(ids.BUDGET_SLIDER, "min"),
                  Output(ids.BUDGET_SLIDER, "max"), Output(ids.BUDGET_DEVICE, "options"),
                  Output(ids.RENDERED_PARETO, "data"),
                  live(ids.LIVE_HARDWARE), Input(ids.HARDWARE_TICK, "n_intervals"),
                  Input(ids.SESSION, "data"), Input(ids.THEME, "data"),
                  Input(ids.PARETO_COST, "value"), Input(ids.BUDGET_DEVICE, "value"),
                  State(ids.RENDERED_PARETO, "data"))
    def render(_events: Any, _tick: Any, session: str | None, theme: str, cost_key: str,
               device: str | None, rendered: Any) -> tuple:
        if not session:
            raise PreventUpdate
        view = watched_view(hub, session)
        marker = _marker(view, rendered, session)
        marker["at"] = time.time()
        with view.lock:
            values = {k: list(v) for k, v in view.map.values.items()}
            archs = list(view.map.archs)
            hardware = dict(view.hardware)
            higher_is_better = view.higher_is_better
        costs, accuracies = values.get(cost_key, []), values.get("accuracy", [])
        front = front_of(costs, accuracies, higher_is_better)
        shown = thin_cloud(len(archs), front)
        position = {i: k for k, i in enumerate(shown)}
        dark = theme == "dark"
        pareto = figures.pareto_front_figure(
            [costs[i] for i in shown], [accuracies[i] for i in shown], [archs[i] for i in shown],
            [position[i] for i in front], cost_key, hardware.get("budget_ms"), dark)
        latencies = [v for v in values.get("latency_ms", []) if finite_number(v)]
        low, high = budget_range(latencies, (hardware.get("devices") or {}).get(device or "host"))
        devices = ["host", *sorted(hardware.get("devices") or {})]
        return (pareto, figures.correlation_figure(score_correlations(values), dark),
                hardware_summary(hardware), low, high, devices, marker)

    @app.callback(Output(ids.BUDGET_STATUS, "children"),
                  Input(ids.APPLY_BUDGET, "n_clicks"), Input(ids.LIFT_BUDGET, "n_clicks"),
                  State(ids.BUDGET_SLIDER, "value"), State(ids.BUDGET_DEVICE, "value"),
                  State(ids.SESSION, "data"), prevent_initial_call=True)
    def budget(_a: Any, _l: Any, value: float | None, device: str, session: str | None) -> str:
        if ctx.triggered_id == ids.LIFT_BUDGET:
            return send_command(hub, session, "set_latency_budget", {"budget_ms": None})
        if value is None:
            return "move the budget slider first"
        return send_command(hub, session, "set_latency_budget",
                            {"budget_ms": float(value), "device": device or "host"})

    @app.callback(Output(ids.BUDGET_STATUS, "children", allow_duplicate=True),
                  Input(ids.DEVICE_UPLOAD, "contents"), State(ids.DEVICE_UPLOAD, "filename"),
                  State(ids.DEVICE_NAME, "value"), State(ids.SESSION, "data"),
                  prevent_initial_call=True)
    def upload(contents: str | None, filename: str | None, device: str | None,
               session: str | None) -> str:
        if not contents:
            raise PreventUpdate
        name = (device or "").strip() or (filename or "device").rsplit(".", 1)[0]
        try:
            text = decode_upload(contents)
        except ValueError as exc:
            return f"not sent: {exc}"
        return send_command(hub, session, "device_latencies", {"device": name, "csv": text})

    @app.callback(Output(ids.PARETO_DOWNLOAD, "data"), Input(ids.PARETO_EXPORT, "n_clicks"),
                  State(ids.PARETO_COST, "value"), State(ids.SESSION, "data"),
                  prevent_initial_call=True)
    def export_front(_n: Any, cost_key: str, session: str | None) -> Any:
        if not session:
            raise PreventUpdate
        view = watched_view(hub, session)
        with view.lock:
            records = list(view.records.values())
            higher_is_better = view.higher_is_better
        costs = [r.get(cost_key) for r in records]
        rows = [records[i] for i in front_of(costs, [r.get("accuracy") for r in records],
                                             higher_is_better)]
        if not rows:
            return no_update
        return dcc.send_string(front_csv(rows, cost_key), f"pareto-{session}-{cost_key}.csv")
