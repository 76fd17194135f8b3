"""WSGI entry point for the lab server: ``gunicorn -w 1 --threads 100 navigator.wsgi:app``.

Flask-SocketIO in threading mode needs a single gunicorn worker process (the
Socket.IO state lives in it) with many threads; simple-websocket provides the
websocket transport. Configuration comes from NAVIGATOR_* variables (REDIS_URL
is accepted for the Redis URL, as platforms set it).
"""

from __future__ import annotations

import os

from navigator.bus import make_bus
from navigator.config import ServerConfig, resolve
from navigator.recording import Recorder, RecordingStore
from navigator.server import create_app

config = resolve(ServerConfig, {"redis_url": os.environ.get("REDIS_URL") or None},
                 os.environ.get("NAVIGATOR_CONFIG"))
bus = make_bus(config.redis_url)
recorder = Recorder(bus, RecordingStore(config.recording_path)).start()
dash_app, socketio = create_app(config, bus)
app = dash_app.server
