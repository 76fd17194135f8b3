"""The session's task in the views: the leaderboard's metric column says which metric it is
and which way is better ("relative L2 error (lower is better)" for Darcy flow), from the task
the worker put in the session's ``space`` event (``SessionView.task``). The rows themselves
are ordered by ``frontend.ranking.rank_key`` in the same direction. Above the leaderboard,
``baseline_line`` answers the NAS-Bench-360 question from the session's ``baseline`` event:
does the best found architecture beat the task's fixed baseline trained with the same budget?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.archlock_view import lock_columns, lock_config
from frontend.callbacks import live, watched_view
from frontend.widgets import LEADERBOARD_COLUMNS

if TYPE_CHECKING:
    from dash.dash_table.DataTable import DataTable

    from frontend.hub import Hub

DEFAULT_LABEL = "accuracy"


def metric_label(task: dict[str, Any]) -> str:
    """The metric column's title; a session without a task is scored by accuracy."""
    return str(task.get("label") or DEFAULT_LABEL)


def leaderboard_columns(task: dict[str, Any]) -> list[DataTable.Columns]:
    """The leaderboard's columns with the metric column named after ``task``."""
    columns = [c.copy() for c in LEADERBOARD_COLUMNS]
    for column in columns:
        if column["id"] == "accuracy":
            column["name"] = metric_label(task)
    return columns


def baseline_line(baseline: dict[str, Any]) -> str:
    """"best found relative L2 error 0.0880 beats the baseline 0.0910 (lower is better)";
    empty until the worker has trained both (a ``baseline`` event)."""
    if not baseline:
        return ""
    verdict = "beats" if baseline["beats"] else "does not beat"
    direction = "higher" if baseline["higher_is_better"] else "lower"
    return (f"best found {baseline['label']} {baseline['best_value']:.4f} {verdict} the baseline "
            f"{baseline['value']:.4f} ({direction} is better; both trained {baseline['budget']} "
            f"epoch(s) stand-alone, test split; baseline {baseline['arch']})")


def register_task_view(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.LEADERBOARD, "columns"), live(ids.LIVE_TABLES),
                  Input(ids.SESSION, "data"), State(ids.LEADERBOARD, "columns"))
    def columns(_events: Any, session: str | None, shown: Any) -> list[DataTable.Columns]:
        task: dict[str, Any] = {}
        config: dict[str, Any] = {}
        if session:
            view = watched_view(hub, session)
            with view.lock:
                task, config = view.task, view.config
        # ArchLock sessions: the source's metric and each target's (frontend/archlock_view.py)
        wanted = lock_columns(leaderboard_columns(task), lock_config(config))
        if wanted == shown:
            raise PreventUpdate
        return wanted

    @app.callback(Output(ids.BASELINE_STATUS, "children"), live(ids.LIVE_TABLES),
                  Input(ids.SESSION, "data"), State(ids.BASELINE_STATUS, "children"))
    def baseline_status(_events: Any, session: str | None, shown: Any) -> str:
        baseline: dict[str, Any] = {}
        if session:
            view = watched_view(hub, session)
            with view.lock:
                baseline = dict(view.baseline)
        line = baseline_line(baseline)
        if line == (shown or ""):
            raise PreventUpdate
        return line
