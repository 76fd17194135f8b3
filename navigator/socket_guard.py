"""What one hostile client may cost the web process, and JSON that every browser can parse.

A socket is cheap to open and a message cheap to send, so each resource a message can
make the server hold is bounded here, with a reason the sender can read:

* :class:`BrowserPacket`: Socket.IO packets encoded as strict JSON. Python writes ``NaN``
  and ``Infinity`` (a diverged loss, a forged timestamp) as bare words that ``JSON.parse``
  refuses, which kills every live view that receives one; here they become ``null``.
* :func:`limit_messages`: a message above :data:`MAX_MESSAGE_CHARS` is answered with a
  ``command_error`` naming the limit instead of closing the socket without a word.
* :class:`Gate` (WSGI): HTTP requests beyond :data:`HARD_MESSAGE_BYTES` get a 413 with the
  reason, and a loopback-only server answers only to loopback ``Host`` names, so a web
  page whose name was rebound to 127.0.0.1 (DNS rebinding) cannot drive it.
* :class:`RejectionLimiter` and :func:`bounded_args`: a refused command is recorded as a
  short digest, a few a minute per user, so nobody can fill another user's recording.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from socketio import Server, packet

from navigator.commands import MAX_CSV_CHARS

MAX_MESSAGE_CHARS = 4 * MAX_CSV_CHARS
"""Longest Socket.IO message the handlers read. JSON escaping can triple text (a quote or a
newline takes two characters, an accented letter ``\\u00e9`` six for two UTF-8 bytes), so a
CSV at the documented limit always fits."""
HARD_MESSAGE_BYTES = 4 * MAX_MESSAGE_CHARS
"""Engine.IO's buffer: an HTTP body or websocket frame above it is refused before it is read."""
MAX_JOINS_PER_SOCKET = 64
"""Sessions one socket may follow (a tab follows one at a time; a script a few)."""
MAX_RECORDED_ARGS = 512
"""Characters of a refused command's JSON arguments recorded as they are; longer ones are
recorded as a digest."""
MAX_REASON_CHARS = 300
"""A refusal's reason can quote the sender's input: its recorded length is bounded."""
MAX_ID_CHARS = 64


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON ``null``)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class BrowserJSON:
    """The ``json`` module of :class:`BrowserPacket`: ``dumps`` never writes NaN or Infinity."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        kwargs["allow_nan"] = False
        try:
            return json.dumps(obj, **kwargs)
        except ValueError:  # a non-finite float somewhere: walk the message only then
            return json.dumps(finite(obj), **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        # NaN in a client's message is read, then refused by the validation of its field
        # with a reason (``parse_command``), rather than dropped as an undecodable packet.
        return json.loads(text, **kwargs)


class BrowserPacket(packet.Packet):
    """Socket.IO packets in strict JSON (a subclass, so clients in the process are untouched)."""

    json = BrowserJSON


def encodable(item: dict[str, Any]) -> dict[str, Any]:
    """An event dict as a browser can read it: unchanged, or, when it cannot be encoded at
    all (an integer of thousands of digits), an ``error`` event with the same seq, so the
    stream a browser folds stays gap-free and says what was lost."""
    try:
        BrowserJSON.dumps(item)
        return item
    except (TypeError, ValueError, OverflowError) as exc:
        return {**{k: item.get(k) for k in ("schema", "session", "seq", "ts")}, "type": "error",
                "data": {"message": f"event {item.get('seq')} ({item.get('type')}) could not "
                                    "be sent to browsers; it is in the recording",
                         "detail": str(exc)[:MAX_REASON_CHARS]}}


def harden(socketio: Any) -> None:
    """Strict JSON packets and the message limit on a Flask-SocketIO server just created."""
    server = socketio.server
    server.packet_class = BrowserPacket
    server.eio.max_http_buffer_size = HARD_MESSAGE_BYTES
    limit_messages(server, MAX_MESSAGE_CHARS)


def too_large(size: int, limit: int, unit: str) -> str:
    return (f"message too large: {size:,} {unit}; the limit is {limit:,} {unit} "
            f"(a device_latencies CSV may hold up to {MAX_CSV_CHARS:,} characters)")


def limit_messages(server: Server, limit: int) -> None:
    """Answer a Socket.IO message longer than ``limit`` with ``command_error`` and drop it;
    the socket stays open (Engine.IO alone would close it without a reason)."""
    handle = server.eio.handlers["message"]

    def on_message(eio_sid: str, data: Any) -> Any:
        if data is not None and len(data) > limit:
            sid = server.manager.sid_from_eio_sid(eio_sid, "/")
            if sid is not None:
                server.emit("command_error", {"reason": too_large(len(data), limit, "characters")},
                            to=sid)
            return None
        return handle(eio_sid, data)

    server.eio.on("message", on_message)


def is_loopback_name(host: str) -> bool:
    return host in ("localhost", "::1") or (host.startswith("127.") and
                                            all(p.isdigit() for p in host.split(".")))


def loopback_host(header: str, port: str) -> bool:
    """Whether a ``Host`` header names this machine's loopback at ``port``: ``127.0.0.1:8050``,
    ``localhost:8050``, ``[::1]:8050`` (no port only for port 80)."""
    if header.startswith("["):  # an IPv6 literal, "[::1]:8050"
        name, _, rest = header[1:].partition("]")
        if rest and not rest.startswith(":"):
            return False
        given = rest[1:]
    elif header.count(":") > 1:
        return False
    else:
        name, _, given = header.partition(":")
    return is_loopback_name(name.lower()) and (given or "80") == port


class Gate:
    """WSGI middleware in front of everything (pages, Dash, the Socket.IO handshake and
    polling): refuses foreign ``Host`` names on a loopback-only server, and HTTP bodies
    beyond :data:`HARD_MESSAGE_BYTES`, each with a plain-text reason."""

    def __init__(self, app: Callable[..., Iterable[bytes]], loopback_only: bool) -> None:
        self.app = app
        self.loopback_only = loopback_only

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        host, port = environ.get("HTTP_HOST", ""), str(environ.get("SERVER_PORT", ""))
        if self.loopback_only and not loopback_host(host, port):
            return _refuse(start_response, "403 Forbidden", (
                f"blocked host {host!r}: this server listens on loopback and answers only to "
                f"127.0.0.1, localhost or [::1] on port {port}, so that pages of other sites "
                f"cannot reach it (DNS rebinding); open http://127.0.0.1:{port}/"))
        length = environ.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > HARD_MESSAGE_BYTES:
            return _refuse(start_response, "413 Request Entity Too Large",
                           too_large(int(length), HARD_MESSAGE_BYTES, "bytes"))
        return self.app(environ, start_response)


def _refuse(start_response: Callable[..., Any], status: str, reason: str) -> list[bytes]:
    body = reason.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


def bounded_args(args: dict[str, Any]) -> dict[str, Any]:
    """A refused command's arguments as recorded: as sent when short, else a digest."""
    text = json.dumps(args, sort_keys=True, default=str)
    if len(text) <= MAX_RECORDED_ARGS:
        return args
    data = text.encode()
    return {"digest": f"sha256:{hashlib.sha256(data).hexdigest()[:16]}", "bytes": len(data)}


def bounded(text: str, limit: int = MAX_REASON_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


class RejectionLimiter:
    """How many refused commands of one user reach session streams: a burst of ``burst``,
    then one every ``refill_s`` seconds; :meth:`admit` says whether to record this one and
    how many were left out since the last one recorded."""

    def __init__(self, burst: int = 10, refill_s: float = 6.0) -> None:
        self.burst = burst
        self.refill_s = refill_s
        self._buckets: dict[str, tuple[float, float, int]] = {}  # user -> tokens, time, left out
        self._lock = threading.Lock()

    def admit(self, user: str) -> tuple[bool, int]:
        now = time.monotonic()
        with self._lock:
            tokens, then, left_out = self._buckets.get(user, (float(self.burst), now, 0))
            tokens = min(float(self.burst), tokens + (now - then) / self.refill_s)
            if tokens < 1.0:
                self._buckets[user] = (tokens, now, left_out + 1)
                return False, left_out + 1
            self._buckets[user] = (tokens - 1.0, now, 0)
            return True, left_out
