"""The composition root: the one place where the runtime and the UI are put together.

:func:`create_app` builds the Dash app (``frontend/``) on the Socket.IO server and live hub
of ``navigator/server.py``, and wires the study service in; ``navigator serve``
(``navigator/cli.py``) and the lab server use it. Nothing else in ``navigator/`` imports
the UI.

The lab server runs under gunicorn through the app factory :func:`lab_app`:
``gunicorn -w 1 --threads 100 'navigator.wsgi:lab_app()'``. Flask-SocketIO in threading
mode needs a single gunicorn worker process (the Socket.IO state lives in it) with many
threads; simple-websocket provides the websocket transport. Configuration comes from
NAVIGATOR_* variables (REDIS_URL is accepted for the Redis URL, as platforms set it), read
when gunicorn calls the factory, never at import.

gunicorn binds wherever ``-b`` says, which this module cannot see, so it is always treated as
reachable from the network: logins are on unless ``NAVIGATOR_AUTH=none`` is set explicitly,
and a login needs a configured secret (a generated one would differ per start).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import dash
from flask import Flask
from flask_socketio import SocketIO

from frontend.block_view import register_block_view
from frontend.callbacks import register_callbacks
from frontend.hardware_view import register_hardware
from frontend.layout import build_layout
from frontend.lego_view import register_lego_view
from frontend.paths import assets_dir
from frontend.selection_view import register_selections
from frontend.study_view import register_study
from navigator.auth import UserStore
from navigator.bus import EventBus, make_bus
from navigator.config import ServerConfig, resolve
from navigator.recording import Recorder, RecordingStore
from navigator.server import create_server
from navigator.study import StudyService, register_study_socket


def create_app(config: ServerConfig, bus: EventBus,
               users: UserStore | None = None) -> tuple[dash.Dash, SocketIO]:
    """The Dash app and its Socket.IO server; with ``config.auth == "password"`` every route
    and socket needs a login (users from ``users`` or the config's users file). The study
    service (``extensions["navigator_study"]``) keeps its studies in the recording file."""
    app = dash.Dash("navigator", assets_folder=str(assets_dir()), title="NAS Navigator",
                    suppress_callback_exceptions=True,
                    update_title=None)  # type: ignore[arg-type]  # None: no "Updating..." title
    app.layout = build_layout()
    socketio, hub = create_server(app.server, config, bus, users)
    register_callbacks(app, hub)
    register_hardware(app, hub)
    register_block_view(app, hub)
    register_selections(app, hub)
    register_lego_view(app, hub)
    # study mode, UI actions and replay (navigator/study/, frontend/study_view.py)
    service = StudyService(hub, RecordingStore(config.recording_path)).start()
    app.server.extensions["navigator_study"] = service
    register_study_socket(socketio, service)
    register_study(app, hub, service)
    return app, socketio


def lab_config(env: Mapping[str, str]) -> ServerConfig:
    """The server configuration from ``env``; ValueError when logins lack a secret."""
    config = resolve(ServerConfig, {"redis_url": env.get("REDIS_URL") or None,
                                    "auth": env.get("NAVIGATOR_AUTH") or "password"},
                     env.get("NAVIGATOR_CONFIG"), env)
    if config.login_required and config.secret_generated:
        raise ValueError("the lab server (navigator.wsgi) needs a session secret to sign logins: "
                         "set NAVIGATOR_SECRET (e.g. $(openssl rand -hex 16)) or 'secret' in the "
                         "[server] section of NAVIGATOR_CONFIG; NAVIGATOR_AUTH=none serves without "
                         "logins (only on a network you trust)")
    return config


def lab_app(env: Mapping[str, str] | None = None) -> Flask:
    """gunicorn's app factory for the lab server: the web process recording every session.

    The recorder runs for the life of the process (gunicorn's worker), as the app does."""
    config = lab_config(os.environ if env is None else env)
    bus = make_bus(config.redis_url)
    recorder = Recorder(bus, RecordingStore(config.recording_path)).start()
    dash_app, _ = create_app(config, bus)
    dash_app.server.extensions["navigator_recorder"] = recorder
    return dash_app.server
