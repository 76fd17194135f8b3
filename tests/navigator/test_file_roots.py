"""Issue 17, finding 1: a lab worker opens only files under the data roots an admin configured,
and what a refused or unreadable file holds never reaches the session's events."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from navigator.bus import MemoryBus
from navigator.config import ServerConfig, WorkerConfig, resolve
from navigator.worker import SessionWorker, WorkerOptions
from supernet.configs import EngineConfig

SECRET = "NAVIGATOR_SECRET=hunter2-do-not-leak"


def test_lab_worker_reads_only_under_its_data_roots_by_default(tmp_path: Path) -> None:
    config = resolve(WorkerConfig, {"redis_url": "redis://127.0.0.1:6379/15",
                                    "data_dir": str(tmp_path)}, env={})
    assert config.user_data_roots == (tmp_path / "datasets",)


def test_file_roots_come_from_the_environment_separated_like_path(tmp_path: Path) -> None:
    roots = f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}"
    config = resolve(WorkerConfig, {}, env={"NAVIGATOR_FILE_ROOTS": roots})
    assert config.user_data_roots == (tmp_path / "a", tmp_path / "b")


def test_embedded_default_is_unrestricted_but_a_login_server_is_not(tmp_path: Path) -> None:
    local = resolve(ServerConfig, {"data_dir": str(tmp_path)}, env={})
    assert local.auth == "none" and local.user_data_roots is None
    shared = resolve(ServerConfig, {"data_dir": str(tmp_path), "host": "0.0.0.0",
                                    "secret": "s" * 40}, env={})
    assert shared.login_required and shared.user_data_roots == (tmp_path / "datasets",)


def test_a_table_outside_the_roots_fails_the_session_without_echoing_it(tmp_path: Path) -> None:
    outside = tmp_path / "environ"
    outside.write_text(SECRET + "\narch,acc\n")
    root = tmp_path / "datasets"
    root.mkdir()
    bus = MemoryBus()
    sub = bus.subscribe("s-roots")
    config = EngineConfig.from_dict({"template": "nb201", "mode": "tabular",
                                     "table_path": str(outside), "measure_latency": False})
    worker = SessionWorker(bus, "s-roots", config,
                           WorkerOptions(checkpoint_dir=tmp_path / "ck", umap=False,
                                         data_roots=(root,)), owner="ana")
    failures: list[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except ValueError as exc:  # the worker re-raises for its host, after publishing
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and failures
    events = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (event := sub.get(timeout=0.2)) is not None:
        events.append(event)
    states = [e.data["state"] for e in events if e.type == "session_state"]
    assert states[-1] == "failed"
    text = repr([e.data for e in events])
    assert "hunter2" not in text and "NAVIGATOR_SECRET" not in text
    assert "outside" in text or "data root" in text
