"""The ``ui_action`` Socket.IO message: how a browser's UI-only actions reach the recording."""

from __future__ import annotations

from typing import Any

from navigator.study.service import StudyService


def register_study_socket(socketio: Any, service: StudyService) -> None:
    """``ui_action`` socket messages: {session, kind, detail}; errors go back as command_error."""
    from flask_socketio import emit  # here: the CLI imports this package without Flask

    @socketio.on("ui_action")
    def on_ui_action(*args: Any) -> None:
        try:
            if len(args) != 1 or not isinstance(args[0], dict):
                raise ValueError("'ui_action' takes exactly one JSON object {session, kind, detail}")
            message = args[0]
            service.record_ui_action(message.get("session"),
                                     {k: v for k, v in message.items() if k != "session"})
        except ValueError as exc:
            emit("command_error", {"reason": str(exc)})
