"""The Download button: the session's latest export as one zip.

The folder zipped is the one in the session's own ``exported`` event, read from the hub's
view of the session, never a path the browser sends; and the view is only there for a user
who may watch the session (``watched_view``), so nobody downloads another team's model.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State, dcc, no_update
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.callbacks import live, watched_view
from supernet.export_files import export_zip

if TYPE_CHECKING:
    from frontend.hub import Hub


def latest_export(hub: Hub, session: str | None) -> dict[str, Any] | None:
    """The session's last ``exported`` event that names a folder, or None (no export yet)."""
    if not session:
        return None
    view = watched_view(hub, session)
    with view.lock:
        exports = [e for e in view.exports if e.get("folder")]
    return exports[-1] if exports else None


def zip_name(session: str, exported: dict[str, Any]) -> str:
    """A file name that says which session and version it is, safe on every file system."""
    name = f"navigator-{session}-v{exported.get('version') or 0}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".zip"


def register_download(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.DOWNLOAD, "disabled"),
                  live(ids.LIVE_TABLES), Input(ids.SESSION, "data"))
    def enable(_events: Any, session: str | None) -> bool:
        return latest_export(hub, session) is None

    @app.callback(Output(ids.DOWNLOAD_FILE, "data"),
                  Output(ids.EXPORT_STATUS, "children", allow_duplicate=True),
                  Input(ids.DOWNLOAD, "n_clicks"), State(ids.SESSION, "data"),
                  prevent_initial_call=True)
    def download(_n: Any, session: str | None) -> tuple:
        exported = latest_export(hub, session)
        if exported is None or session is None:
            raise PreventUpdate
        try:
            payload = export_zip(exported["folder"])
        except ValueError as e:  # e.g. the worker wrote it on a disk this web process lacks
            return no_update, f"download failed: {e}"
        return dcc.send_bytes(payload, zip_name(session, exported)), no_update
