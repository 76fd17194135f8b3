"""The embedded server after a crash: a session killed with ``navigator serve`` (kill -9) is
back after the restart, paused at its checkpoint, and ``resume`` carries it on."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import socketio

from tests.support.waiting import free_port, until

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"template": "tiny", "dataset": "digits", "data_limit": 200, "seed": 0,
          "train": {"epochs": 200, "batch_size": 32, "device": "cpu"},
          "search": {"population": 4, "parents": 2},
          "eval": {"bn_batches": 1, "bn_batch_size": 32, "val_limit": 64},
          "measure_latency": False}




def serve(port: int, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "navigator", "serve", "--port", str(port),
                             "--data-dir", str(data_dir)], cwd=ROOT, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)

    def up() -> bool:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    until(up, 90, "navigator serve")
    return proc


class Client:
    def __init__(self, port: int) -> None:
        self.events: list[dict[str, Any]] = []
        self.started: list[str] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client()
        self.sio.on("events", self._events)
        self.sio.on("session_started", lambda data: self.started.append(data["session"]))
        self.sio.connect(f"http://127.0.0.1:{port}", transports=["polling"])

    def _events(self, batch: list[dict[str, Any]]) -> None:
        with self.lock:
            self.events.extend(batch)

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["type"] == kind]


def test_a_session_killed_with_the_server_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    proc = serve(port, tmp_path / "data", log)
    try:
        before = Client(port)
        before.sio.emit("start", {"config": CONFIG})
        session = until(lambda: before.started and before.started[0], 30, "the session")
        before.sio.emit("join", {"session": session, "after_seq": 0})
        until(lambda: [e for e in before.of("checkpoint") if e["data"]["epoch"] >= 2], 120,
              "two checkpoints")
        before.sio.disconnect()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

        proc = serve(port, tmp_path / "data", log)
        after = Client(port)
        after.sio.emit("join", {"session": session, "after_seq": 0})
        reopened = until(lambda: next((e for e in after.of("session_state")
                                       if "resumed from checkpoint" in e["data"]["message"]),
                                      None), 120, "the session reopened from its checkpoint")
        assert reopened["data"]["state"] == "paused"
        epoch = int(reopened["data"]["message"].split("epoch ")[1].split(";")[0].split()[0])
        assert epoch >= 2  # the last checkpoint written before the kill (it trained on meanwhile)
        after.sio.emit("command", {"type": "resume", "session": session, "id": "go-on"})
        until(lambda: any(e["data"]["command_id"] == "go-on" for e in after.of("command_ack")),
              60, "resume to be acknowledged")
        later = until(lambda: [e for e in after.of("checkpoint") if e["seq"] > reopened["seq"]],
                      120, "a checkpoint after the resume")
        assert later[0]["data"]["epoch"] > epoch  # it trained on from there
        seqs = [e["seq"] for e in after.events]
        assert seqs == list(range(1, len(seqs) + 1))  # one recording, restored without a gap
        after.sio.disconnect()
    finally:
        proc.terminate()
        proc.wait(10)
