"""Socket.IO clients for hostile-input tests: a browser-like poller that parses every packet
as strict JSON (as ``JSON.parse`` does), and a python-socketio client that records answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import requests
import socketio

from navigator.auth import SESSION_COOKIE


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def strict_json(text: str) -> Any:
    """``JSON.parse`` as browsers have it: no NaN, Infinity or -Infinity."""
    return json.loads(text, parse_constant=_reject_constant)


class StrictPoller:
    """A browser-like Engine.IO v4 polling client that parses every packet as strict JSON.

    A packet that a browser's ``JSON.parse`` would refuse lands in ``bad`` (a browser's view
    would break there); events land in ``events``."""

    def __init__(self, url: str, cookie: str | None = None) -> None:
        self.http, self.poller = requests.Session(), requests.Session()  # one per thread
        for http in (self.http, self.poller):
            if cookie:
                http.headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
        self.base = f"{url}/socket.io/?EIO=4&transport=polling"
        opened = self.http.get(self.base, timeout=10)
        assert opened.status_code == 200 and opened.text.startswith("0"), opened.text[:200]
        self.sid = strict_json(opened.text[1:])["sid"]
        self.url = f"{self.base}&sid={self.sid}"
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.bad: list[str] = []
        self.connected = threading.Event()
        self.changed = threading.Condition()
        self._stop = threading.Event()
        self._post("40")
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        assert self.connected.wait(10), "no Socket.IO connect"

    def _post(self, body: str) -> None:
        assert self.http.post(self.url, data=body.encode(), timeout=10).status_code == 200

    def emit(self, event: str, data: Any) -> None:
        self._post("42" + json.dumps([event, data]))

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                reply = self.poller.get(self.url, timeout=30)
            except requests.RequestException:
                return
            if reply.status_code != 200:
                return
            for packet in reply.text.split("\x1e"):
                self._packet(packet)

    def _packet(self, packet: str) -> None:
        if packet == "2":  # ping
            self._post("3")
        elif packet.startswith("40"):
            self.connected.set()
        elif packet.startswith("42"):
            try:
                name, data = strict_json(packet[2:])
            except ValueError:
                with self.changed:
                    self.bad.append(packet[:300])
                    self.changed.notify_all()
                return
            with self.changed:
                if name == "events":
                    self.events.extend(data)
                elif name == "command_error":
                    self.errors.append(data["reason"])
                self.changed.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = 8.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate() or bool(self.bad), timeout), \
                "timed out waiting for the server"
        assert not self.bad, f"packets a browser cannot parse: {self.bad}"

    def seqs(self, session: str) -> list[int]:
        return [e["seq"] for e in self.events if e["session"] == session]

    def close(self) -> None:
        self._stop.set()
        try:
            self._post("1")  # close
        except AssertionError:
            pass


class Sio:
    """A python-socketio client recording events, errors and acknowledged commands."""

    def __init__(self, url: str, transport: str = "polling") -> None:
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("events", self._on(lambda d: self.events.extend(d)))
        self.sio.on("command_error", self._on(lambda d: self.errors.append(d["reason"])))
        self.sio.on("command_sent", self._on(self.sent.append))
        self.sio.connect(url, transports=[transport], wait_timeout=10)

    def _on(self, store: Callable[[Any], Any]) -> Callable[[Any], None]:
        def handler(data: Any) -> None:
            with self.changed:
                store(data)
                self.changed.notify_all()
        return handler

    def wait(self, predicate: Callable[[], bool], timeout: float = 8.0) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), "timed out waiting for the server"

    def answer(self, message: Any, event: str = "command") -> tuple[str, Any]:
        n_sent, n_errors = len(self.sent), len(self.errors)
        self.sio.emit(event, message)
        self.wait(lambda: len(self.sent) > n_sent or len(self.errors) > n_errors)
        if len(self.errors) > n_errors:
            return "error", self.errors[-1]
        return "sent", self.sent[-1]["id"]

    def close(self) -> None:
        self.sio.disconnect()
