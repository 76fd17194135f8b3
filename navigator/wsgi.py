"""WSGI entry point for the lab server: ``gunicorn -w 1 --threads 100 navigator.wsgi:app``.

Flask-SocketIO in threading mode needs a single gunicorn worker process (the
Socket.IO state lives in it) with many threads; simple-websocket provides the
websocket transport. Configuration comes from NAVIGATOR_* variables (REDIS_URL
is accepted for the Redis URL, as platforms set it).

gunicorn binds wherever ``-b`` says, which this module cannot see, so it is always treated as
reachable from the network: logins are on unless ``NAVIGATOR_AUTH=none`` is set explicitly,
and a login needs a configured secret (a generated one would differ per start).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from navigator.bus import make_bus
from navigator.config import ServerConfig, resolve
from navigator.recording import Recorder, RecordingStore
from navigator.server import create_app


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


config = lab_config(os.environ)
bus = make_bus(config.redis_url)
recorder = Recorder(bus, RecordingStore(config.recording_path)).start()
dash_app, socketio = create_app(config, bus)
app = dash_app.server
