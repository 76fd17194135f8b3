"""A session switch (or start) resets every view's local state.

What the browser holds for one session (a proposed prune or lock awaiting confirmation,
the cells chosen for the Candidates panel, the leaderboard selection, the answer lines of
the controls) means nothing in another session, and a pending edit confirmed there would be
sent to the wrong search. The views drawn from the hub's session view redraw themselves on
the session change; these are the components nothing else resets.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output

from frontend import ids

# (component, property, value on a new session)
SESSION_LOCAL: tuple[tuple[str, str, Any], ...] = (
    (ids.PENDING, "data", None),
    (ids.EDIT_PREVIEW, "children", ""),
    (ids.BLOCK_PENDING, "data", None),
    (ids.BLOCK_PREVIEW, "children", ""),
    (ids.CANDIDATE_A, "data", None),
    (ids.CANDIDATE_B, "data", None),
    (ids.LEADERBOARD, "selected_rows", []),
    (ids.MAP, "clickData", None),
    (ids.HEATMAP, "clickData", None),
    (ids.SELECTION_INFO, "children", ""),
    (ids.SHARE_STATUS, "children", ""),
    (ids.BUDGET_STATUS, "children", ""),
    (ids.SENT_COMMANDS, "data", None),  # verdicts awaited (frontend/feedback_view.py)
    (ids.CONTROL_FEEDBACK, "children", ""),
    (ids.TUNE_FEEDBACK, "children", ""),
    (ids.EXPORT_FEEDBACK, "children", ""),
    (ids.TOAST, "children", ""),
)


def session_reset() -> tuple[Any, ...]:
    """The values of :data:`SESSION_LOCAL`, fresh lists each time (Dash may keep them)."""
    return tuple(list(value) if isinstance(value, list) else value
                 for _cid, _prop, value in SESSION_LOCAL)


def register_session_reset(app: Dash) -> None:
    @app.callback(*[Output(cid, prop, allow_duplicate=True) for cid, prop, _ in SESSION_LOCAL],
                  Input(ids.SESSION, "data"), prevent_initial_call=True)
    def reset(_session: str | None) -> tuple[Any, ...]:
        return session_reset()
