"""The composition root: the one place where the runtime and the UI are put together.

:func:`create_app` builds the Dash app (``frontend/``) on the Socket.IO server and live hub
of ``navigator/server.py``, and wires the study service in; ``navigator serve``
(``navigator/cli.py``) and the lab server use it. Nothing else in ``navigator/`` imports
the UI.

The lab server runs under gunicorn's gevent worker through the app factory :func:`lab_app`
(:data:`GUNICORN_COMMAND`, as the Procfile has it). One worker process: the Socket.IO state
lives in it. Each open socket is a greenlet, not one of a fixed pool of threads (with
``--threads 100``, 100 open tabs took the web down: the 101st and every ``/login`` waited);
``--worker-connections`` bounds the sockets and requests served at once (gunicorn's default
1000 would queue the 1001st the same way). simple-websocket provides the websocket transport.
gunicorn monkey-patches that process, which is safe because the web process runs no torch:
nothing it imports loads torch (the configs it validates are :mod:`supernet.configs`).
``navigator serve`` keeps threading mode, unpatched, for the torch workers it embeds.
Configuration comes from NAVIGATOR_* variables (REDIS_URL is accepted for the Redis URL, as
platforms set it), read when gunicorn calls the factory, never at import.

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

from frontend.advisor_view import register_advisor
from frontend.archive_view import register_archive
from frontend.archlock_view import register_archlock
from frontend.block_view import register_block_view
from frontend.callbacks import register_callbacks
from frontend.download import register_download
from frontend.feedback_view import register_feedback
from frontend.hardware_view import register_hardware
from frontend.layout import build_layout
from frontend.lego_view import register_lego_view
from frontend.paths import assets_dir
from frontend.selection_view import register_selections
from frontend.session_picker import register_session_picker
from frontend.session_reset import register_session_reset
from frontend.study_view import register_study
from frontend.task_view import register_task_view
from frontend.trust_view import register_trust
from frontend.workspace import register_workspace
from navigator.auth import UserStore
from navigator.bus import EventBus, make_bus
from navigator.config import ServerConfig, resolve
from navigator.recording import Recorder, RecordingStore
from navigator.server import AsyncMode, create_server
from navigator.study import StudyService, register_study_socket


def create_app(config: ServerConfig, bus: EventBus, users: UserStore | None = None, *,
               async_mode: AsyncMode = "threading") -> tuple[dash.Dash, SocketIO]:
    """The Dash app and its Socket.IO server; with ``config.auth == "password"`` every route
    and socket needs a login (users from ``users`` or the config's users file). The study
    service (``extensions["navigator_study"]``) keeps its studies in the recording file.
    ``async_mode="gevent"`` only in a process gevent has monkey-patched (:func:`lab_app`)."""
    app = dash.Dash("navigator", assets_folder=str(assets_dir()), title="NAS Navigator",
                    suppress_callback_exceptions=True,
                    update_title=None)  # type: ignore[arg-type]  # None: no "Updating..." title
    app.layout = build_layout()
    socketio, hub = create_server(app.server, config, bus, users, async_mode=async_mode)
    register_callbacks(app, hub)
    register_trust(app, hub)  # how far to trust the ranking; "rank by" (issue 19)
    register_task_view(app, hub)  # the metric's name and direction (issue 15)
    register_archlock(app, hub)  # ArchLock's scatter (issue 15)
    register_download(app, hub)
    register_feedback(app, hub)  # answers next to the controls, Stop's confirmation
    register_archive(app, hub)
    register_session_picker(app, hub)
    register_workspace(app, hub)
    register_session_reset(app)
    register_hardware(app, hub)
    register_block_view(app, hub)
    register_selections(app, hub)
    register_lego_view(app, hub)
    # study mode, UI actions and replay (navigator/study/, frontend/study_view.py)
    service = StudyService(hub, RecordingStore(config.recording_path)).start()
    app.server.extensions["navigator_study"] = service
    register_study_socket(socketio, service)
    register_study(app, hub, service)
    register_advisor(app, hub, service)  # proposals, auto-apply, evidence (issue 13)
    return app, socketio


def lab_config(env: Mapping[str, str]) -> ServerConfig:
    """The server configuration from ``env``; ValueError when logins lack a secret."""
    config = resolve(ServerConfig, {"redis_url": env.get("REDIS_URL") or None,
                                    "auth": env.get("NAVIGATOR_AUTH") or "password",
                                    "embedded_workers": 0},  # workers are their own processes
                     env.get("NAVIGATOR_CONFIG"), env)
    if config.login_required and config.secret_generated:
        raise ValueError("the lab server (navigator.wsgi) needs a session secret to sign logins: "
                         "set NAVIGATOR_SECRET (e.g. $(openssl rand -hex 16)) or 'secret' in the "
                         "[server] section of NAVIGATOR_CONFIG; NAVIGATOR_AUTH=none serves without "
                         "logins (only on a network you trust)")
    return config


GUNICORN_COMMAND = ("gunicorn -k gevent -w 1 --worker-connections 4000 -b 0.0.0.0:8050 "
                    "'navigator.wsgi:lab_app()'")
"""How the lab web is served (README, Procfile); ``navigator serve`` points to it."""


def require_gevent() -> None:
    """RuntimeError unless gevent has patched this process, as gunicorn's gevent worker does:
    gevent sockets in threads of an unpatched process would hang every connection."""
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        raise RuntimeError("navigator.wsgi:lab_app() serves its sockets with gevent: run it "
                           f"under gunicorn's gevent worker, one process: {GUNICORN_COMMAND} "
                           "(a thread per socket, as --threads gives, lets about 100 open "
                           "tabs take the web down)")


def lab_app(env: Mapping[str, str] | None = None) -> Flask:
    """gunicorn's app factory for the lab server: the web process recording every session.

    The recorder runs for the life of the process (gunicorn's worker), as the app does."""
    config = lab_config(os.environ if env is None else env)
    require_gevent()
    bus = make_bus(config.redis_url)
    recorder = Recorder(bus, RecordingStore(config.recording_path)).start()
    dash_app, _ = create_app(config, bus, async_mode="gevent")
    dash_app.server.extensions["navigator_recorder"] = recorder
    return dash_app.server
