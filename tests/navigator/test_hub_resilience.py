"""Redis going away: a hub's relay outlives a Redis restart, misses no event, and ends
quietly when the hub closes (no thread dies with a traceback)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from navigator.bus import make_bus
from navigator.events import SessionState
from navigator.hub import LiveHub
from tests.support.waiting import free_port


def _redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """A private Redis that keeps its data across a restart (append-only file)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is needed for this test (scripts/test.sh installs it)")
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "yes", "--appendfsync", "always",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("the private Redis did not start")


def _seqs(emitted: list[list[dict]]) -> set[int]:
    return {e["seq"] for batch in emitted for e in batch}


@pytest.mark.redis
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_relay_outlives_a_redis_restart_and_misses_no_event(tmp_path: Path) -> None:
    port = free_port()
    server = _redis(port, tmp_path)
    bus = make_bus(f"redis://127.0.0.1:{port}/0")
    publisher = make_bus(f"redis://127.0.0.1:{port}/0")
    emitted: list[list[dict]] = []
    hub = LiveHub(bus, SimpleNamespace(emit=lambda _name, batch, to: emitted.append(batch)),
                  batch_interval_s=0.05, coalesce_s=0.01)  # type: ignore[arg-type]
    try:
        publisher.publish("s-restart", SessionState(state="running", message="before"))
        assert publisher.flush()  # publishing is asynchronous: in Redis before the hub looks
        hub.view("s-restart")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not emitted:
            time.sleep(0.05)
        assert _seqs(emitted) == {1}
        server.terminate()  # Redis goes away for longer than the client's own retries
        server.wait(10)
        time.sleep(3.0)
        server = _redis(port, tmp_path)
        for i in range(3):
            publisher.publish("s-restart", SessionState(state="running", message=f"after {i}"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _seqs(emitted) != {1, 2, 3, 4}:
            time.sleep(0.05)
        assert _seqs(emitted) == {1, 2, 3, 4}
        assert any(t.name == "hub-s-restart" for t in threading.enumerate())
    finally:
        hub.close()
        bus.close()
        publisher.close()
        server.terminate()
        server.wait(10)
