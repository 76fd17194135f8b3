"""Synthetic event streams for developing and testing the UI without training anything.

:class:`SyntheticSession` publishes the same event types a real worker does
(``space``, ``steering``, ``session_state``, ``train_progress``, ``candidates``
with map coordinates, ``fitness``, ``leaderboard``, acks) to any
:class:`~navigator.bus.EventBus`. Accuracies are a fixed function of the ops, so
the fitness heatmap and the map colours show structure. :class:`LiveServer` runs the
real app on a free port. Used by the UI and server tests and ``benchmarks/ui_latency.py``;
``python -m tests.support.synthetic`` serves the UI fed by a synthetic session.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from navigator.bus import EventBus
from navigator.events import (
    Candidates,
    CommandAck,
    CommandRejected,
    Fitness,
    Hardware,
    Leaderboard,
    SessionState,
    Space,
    Steering,
    TrainProgressEvent,
)
from supernet.space import SearchSpace
from supernet.steering import SteeringState

OP_QUALITY = {"none": -0.25, "skip_connect": 0.0, "nor_conv_1x1": 0.08, "nor_conv_3x3": 0.15,
              "avg_pool_3x3": -0.05, "nor_conv_5x5": 0.12, "max_pool_3x3": -0.04,
              "sep_conv_3x3": 0.13, "dil_conv_3x3": 0.1}


class SyntheticSession:
    """A fake search session on ``bus``: call the ``publish_*`` methods in any order."""

    def __init__(self, bus: EventBus, session: str = "synthetic", preset: str = "tiny",
                 seed: int = 0, space: SearchSpace | None = None) -> None:
        self.bus = bus
        self.session = session
        self.space = space or SearchSpace.from_preset(preset)
        self.steering = SteeringState(self.space)
        self.rng = np.random.default_rng(seed)
        self.generation = 0
        self.records: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._index = 0
        # A fixed random projection of the one-hot code: similar archs land close together.
        self._proj = np.random.default_rng(12345).normal(size=(self.space.one_hot_dim, 2))
        self._fit: dict[str, dict[str, list[float]]] = {}  # cp -> op -> [sum, count, best]

    # -- records ---------------------------------------------------------------
    def record(self, arch: tuple[str, ...], generation: int | None = None) -> dict[str, Any]:
        """A candidate record (CandidateRecord.to_dict shape plus map ``x``/``y``)."""
        quality = sum(OP_QUALITY.get(op, 0.0) for op in arch) / len(arch)
        accuracy = float(np.clip(0.55 + quality + self.rng.normal(0, 0.03), 0.0, 1.0))
        x, y = (self.space.one_hot(arch) @ self._proj + self.rng.normal(0, 0.15, 2)).tolist()
        for cp, op in zip(self.space, arch):
            cell = self._fit.setdefault(cp.name, {}).setdefault(op, [0.0, 0, 0.0])
            cell[0], cell[1], cell[2] = cell[0] + accuracy, cell[1] + 1, max(cell[2], accuracy)
        params = int(5000 + 3000 * sum(op.startswith(("nor_conv", "sep", "dil")) for op in arch))
        self._index += 1
        return {"arch": self.space.to_string(arch), "index": self._index, "accuracy": accuracy,
                "loss": float(1.5 * (1 - accuracy)), "params": params, "flops": params * 60,
                "latency_ms": float(0.2 + params / 20000), "generation": self.generation
                if generation is None else generation, "parent": None,
                "scores": {"robustness": float(accuracy * 0.9),
                           "synflow": float(np.log(params) + self.rng.normal(0, 0.1)),
                           "naswot": float(accuracy + self.rng.normal(0, 0.05))},
                "x": float(x), "y": float(y)}

    def new_archs(self, n: int, unique: bool = True) -> list[tuple[str, ...]]:
        """``n`` architectures allowed by the current steering (unseen ones while they last)."""
        out: list[tuple[str, ...]] = []
        tries = 0
        while len(out) < n:
            arch = self.steering.sample(self.rng)
            text = self.space.to_string(arch)
            tries += 1
            if unique and text in self._seen and tries < 50 * n:
                continue
            self._seen.add(text)
            out.append(arch)
        return out

    # -- publishing -------------------------------------------------------------
    def publish_start(self) -> None:
        space = self.space
        self.bus.publish(self.session, SessionState(state="queued", message="synthetic"))
        self.bus.publish(self.session, Space(template=space.to_dict(),
                                             choice_points=[cp.to_dict() for cp in space],
                                             size=space.size()))
        self.publish_steering()
        self.bus.publish(self.session, SessionState(state="running", message="synthetic stream"))

    def publish_steering(self) -> None:
        self.bus.publish(self.session, Steering(**self.steering.to_dict()))

    def publish_progress(self, epoch: int, step: int, epochs: int = 3, steps: int = 10) -> None:
        loss = 2.3 * np.exp(-(epoch * steps + step) / (epochs * steps))
        self.bus.publish(self.session, TrainProgressEvent(
            epoch=epoch, epochs=epochs, step=step, steps_per_epoch=steps, loss=float(loss),
            accuracy=float(1 - loss / 2.5), samples_per_s=1500.0,
            eta_s=float((epochs * steps - epoch * steps - step) * 0.2)))

    def publish_candidates(self, n: int, unique: bool = True, fitness: bool = True) -> list[dict]:
        """One generation of ``n`` candidates (plus fitness and leaderboard unless told not to)."""
        self.generation += 1
        records = [self.record(a) for a in self.new_archs(n, unique)]
        self.records.extend(records)
        self.bus.publish(self.session, Candidates(generation=self.generation, records=records))
        if fitness:
            self.publish_fitness()
        return records

    def fitness_matrix(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {cp: {op: {"mean": total / n, "ci_low": total / n - 0.02, "ci_high": total / n + 0.02,
                          "count": int(n), "best": best}
                     for op, (total, n, best) in ops.items()}
                for cp, ops in self._fit.items()}

    def publish_hardware(self, budget_ms: float | None = None) -> None:
        self.bus.publish(self.session, Hardware(budget_ms=budget_ms, measured=len(self.records),
                                                predictor_srcc=0.9))

    def publish_fitness(self) -> None:
        self.bus.publish(self.session, Fitness(matrix=self.fitness_matrix()))
        import heapq

        top = heapq.nlargest(20, self.records, key=lambda r: r["accuracy"])
        self.bus.publish(self.session, Leaderboard(records=top))

    def ack(self, command: Any) -> None:
        """Answer a command the way a worker would (steering edits are applied to our state)."""
        from navigator.commands import STEERING_COMMANDS, apply_steering

        try:
            if command.type in STEERING_COMMANDS:
                apply_steering(command, self.steering.copy())
                apply_steering(command, self.steering)
        except ValueError as exc:
            self.bus.publish(self.session, CommandRejected(
                command_id=command.id, command=command.type, user=command.user, reason=str(exc),
                args=command.args, sent_ts=command.ts, received_ts=command.received_ts))
            return
        self.bus.publish(self.session, CommandAck(
            command_id=command.id, command=command.type, user=command.user, args=command.args,
            sent_ts=command.ts, received_ts=command.received_ts, detail="synthetic"))
        if command.type in STEERING_COMMANDS:
            self.publish_steering()
        elif command.type == "set_latency_budget":
            self.publish_hardware(command.args["budget_ms"])
        elif command.type in ("pause", "resume"):
            state = "paused" if command.type == "pause" else "running"
            self.bus.publish(self.session, SessionState(state=state, message=f"{command.type}d"))

    def serve_commands(self, timeout: float = 0.0) -> list[Any]:
        """Acknowledge every queued command (waiting up to ``timeout`` for the first)."""
        handled = []
        command = self.bus.next_command(self.session, timeout)
        while command is not None:
            self.ack(command)
            handled.append(command)
            command = self.bus.next_command(self.session)
        return handled


def run_demo(bus: EventBus, session: str = "synthetic", generations: int = 30, n: int = 40,
             interval_s: float = 0.5) -> None:
    """A paced synthetic session (for manual UI work): progress, candidates, commands."""
    s = SyntheticSession(bus, session)
    s.publish_start()
    for g in range(generations):
        for step in range(10):
            s.publish_progress(g % 3, step + 1)
            s.serve_commands()
            time.sleep(interval_s / 10)
        s.publish_candidates(n)


class SyntheticWorker:
    """Answers the bus like a worker host, with :class:`SyntheticSession` instead of training.

    Session requests (the UI's 'Start search') get a session that publishes its start
    events; commands are acknowledged (steering edits applied) and kept in ``commands``.
    """

    def __init__(self, bus: EventBus, candidates_on_start: int = 0) -> None:
        import threading

        self.bus = bus
        self.candidates_on_start = candidates_on_start
        self.sessions: dict[str, SyntheticSession] = {}
        self.commands: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="synthetic-worker", daemon=True)

    def add(self, session: str, **kwargs: Any) -> SyntheticSession:
        s = SyntheticSession(self.bus, session, **kwargs)
        s.publish_start()
        if self.candidates_on_start:
            s.publish_candidates(self.candidates_on_start)
        self.sessions[session] = s
        return s

    def _run(self) -> None:
        while not self._stop.is_set():
            request = self.bus.next_session_request(timeout=0.05)
            if request is not None:
                self.add(request["session"])
            for s in list(self.sessions.values()):
                self.commands.extend(s.serve_commands())

    def start(self) -> SyntheticWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


class LiveServer:
    """The real app (``create_app``) on a free port in background threads, stoppable.

    ``workers=True`` also runs an embedded :class:`~navigator.worker_host.WorkerHost`, as
    ``navigator serve`` does; otherwise session requests stay queued on the bus for
    the caller (a :class:`SyntheticSession`, say) to answer. ``record=True`` records
    every session into ``<data_dir>/recordings.sqlite`` (study mode and replay need it).
    """

    def __init__(self, bus: EventBus | None = None, host: str = "127.0.0.1", port: int = 0,
                 workers: bool = False, data_dir: Any = None, record: bool = False) -> None:
        import tempfile
        from pathlib import Path

        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        from navigator.bus import MemoryBus
        from navigator.config import ServerConfig
        from navigator.wsgi import create_app

        # Without a data_dir, a scratch folder holds the study store (and any checkpoints).
        self._scratch = (tempfile.TemporaryDirectory(prefix="navigator-live-",
                                                     ignore_cleanup_errors=True)
                         if data_dir is None else None)
        data = Path(data_dir if self._scratch is None else self._scratch.name)
        self.bus = bus or MemoryBus()
        self.worker_host = None
        if workers:
            from navigator.worker import WorkerOptions
            from navigator.worker_host import WorkerHost

            # a quick one-hot PCA map: no encoder training or UMAP competing with the tests
            options = WorkerOptions(checkpoint_dir=data / "checkpoints", umap=False)
            self.worker_host = WorkerHost(self.bus, options).start()
        config = ServerConfig(host=host, port=port, secret="synthetic-test-secret", auth="none",
                              data_dir=data, embedded_workers=0)
        self.recorder = None
        if record:
            from navigator.recording import Recorder, RecordingStore

            self.recorder = Recorder(self.bus, RecordingStore(config.recording_path),
                                     poll_s=0.05).start()
        self.app, self.socketio = create_app(config, self.bus)
        self.hub = self.app.server.extensions["navigator_hub"]
        self._server = make_server(host, port, self.app.server, threaded=True,
                                   request_handler=QuietHandler)
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        import threading

        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server",
                                        daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self.hub.close()
        self.app.server.extensions["navigator_study"].close()
        if self.recorder is not None:
            self.recorder.stop()
        if self.worker_host is not None:
            self.worker_host.stop()
        self.bus.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.support.synthetic --port 8050``: the UI fed by a synthetic session."""
    import argparse
    import threading

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--generations", type=int, default=60)
    args = parser.parse_args(argv)
    server = LiveServer(port=args.port).start()
    threading.Thread(target=run_demo, args=(server.bus,), kwargs={"generations": args.generations},
                     daemon=True).start()
    print(f"synthetic UI on {server.url}/ (pick session 'synthetic')", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
