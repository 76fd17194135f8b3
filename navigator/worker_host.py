"""The worker host: takes session requests from the bus and runs a worker for each.

Threads in the embedded default, or rank 0 of the data-parallel ``navigator worker`` under
torchrun (the lab server's sessions run on Ray instead: :mod:`navigator.ray_lab`). Each
running session is covered by a lease (``navigator/bus/lease.py``): a host
claims it before starting the worker, a heartbeat renews it, and hosts look for live
sessions whose lease expired (their worker died) and take them over from the checkpoint.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from navigator.bus import EventBus, MemoryBus
from navigator.bus.lease import SessionLease, new_worker_id
from navigator.events import Error, SessionState
from navigator.worker import SessionWorker, WorkerOptions, run_export_job
from supernet.configs import EngineConfig, TrainConfig

if TYPE_CHECKING:
    from navigator.ddp import RankLink
    from navigator.recording import RecordingStore

INTERRUPTED = ("created", "queued", "running", "paused", "finetuning")

class WorkerHost:
    """Takes session requests from the bus and runs each in its own thread.

    Every round the host looks for live sessions whose lease expired, taking them
    over while it has a free slot; while all its slots are busy it tells waiting
    sessions their queue position. The checkpoint
    directory must be shared by all hosts that may take each other's sessions over
    (the same machine, or a network file system).
    """

    def __init__(self, bus: EventBus, options: WorkerOptions, max_sessions: int = 1,
                 worker_id: str | None = None, lease_ttl_s: float = 10.0) -> None:
        if options.torch_threads:
            # CPU training shares the process with the web server, the bus and UMAP threads;
            # OpenMP workers spin-waiting against them made a tiny epoch 20x slower (0.27 s
            # with one thread vs 6.1 s with two, measured with one busy Python thread).
            torch.set_num_threads(options.torch_threads)
        if lease_ttl_s <= 0:
            raise ValueError(f"lease_ttl_s must be positive, got {lease_ttl_s!r}")
        self.bus = bus
        self.options = options
        self.max_sessions = max_sessions
        self.worker_id = worker_id or new_worker_id()
        self.lease_ttl_s = lease_ttl_s
        self.coordinator = bus.coordinator()
        self.link: RankLink | None = None  # under torchrun: given to its one session (ddp.py)
        self.workers: dict[str, tuple[SessionWorker, threading.Thread]] = {}
        self.export_jobs: list[threading.Thread] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._said: dict[str, str] = {}  # the queue position last published per session

    def busy(self) -> int:
        return sum(1 for _, t in self.workers.values() if t.is_alive())

    def start_session(self, request: dict[str, Any], took_over_from: str | None = None
                      ) -> SessionWorker | None:
        """Claim ``{"session", "owner", "config"}`` and run it on a thread; bad configs are reported.

        Returns None when another worker holds the session's lease (nothing to do).
        """
        session = request["session"]
        try:
            config = EngineConfig.from_dict(request.get("config") or {})
            if self.options.device:
                config.train = TrainConfig.from_dict(config.train.to_dict() | {"device": self.options.device})
        except (ValueError, TypeError) as exc:
            self.coordinator.unregister(session)
            self.bus.publish(session, Error(message=f"invalid search configuration: {exc}"))
            self.bus.publish(session, SessionState(state="failed", message=str(exc)))
            raise ValueError(str(exc)) from None
        entry = {"session": session, "owner": request.get("owner", "local"),
                 "config": request.get("config") or {}, "worker": self.worker_id,
                 "since": time.time()}
        if not self._claim(session, entry, takeover=took_over_from is not None):
            return None
        worker = SessionWorker(self.bus, session, config, self.options,
                               owner=request.get("owner", "local"))
        worker.worker_id = self.worker_id
        worker.took_over_from = took_over_from
        worker.link = self.link

        def lost() -> None:
            worker.stopped = True

        worker.lease = SessionLease(self.coordinator, session, self.worker_id, self.lease_ttl_s,
                                    on_lost=lost).start()
        worker.on_finish = lambda outcome: self._finished(worker, outcome)
        thread = threading.Thread(target=self._run_worker, args=(worker,),
                                  name=f"session-{session}", daemon=True)
        self.workers[session] = (worker, thread)
        thread.start()
        return worker

    def start_export(self, request: dict[str, Any]) -> threading.Thread:
        """Run the export of a stopped session (:func:`~navigator.worker.run_export_job`) on a
        short-lived thread; it claims no lease and takes no session slot."""
        thread = threading.Thread(target=run_export_job, args=(self.bus, request, self.options),
                                  name=f"export-{request['session']}", daemon=True)
        self.export_jobs = [t for t in self.export_jobs if t.is_alive()] + [thread]
        thread.start()
        return thread

    def _claim(self, session: str, entry: dict[str, Any], takeover: bool) -> bool:
        return self.coordinator.claim(session, self.worker_id, self.lease_ttl_s, entry,
                                      takeover=takeover)

    def _finished(self, worker: SessionWorker, outcome: str) -> None:
        """Before the final state is published: a stopped or failed session leaves the registry
        (nobody resumes it); a handed-over one stays there for another host to take."""
        if outcome != "handover":
            self.coordinator.unregister(worker.session)
        if worker.lease is not None:
            worker.lease.release()

    @staticmethod
    def _run_worker(worker: SessionWorker) -> None:
        try:
            worker.run()
        except Exception:  # noqa: BLE001 - already published as an error event
            pass
        finally:
            if worker.lease is not None:
                worker.lease.release()

    def _report_queue(self) -> None:
        """While every slot is taken, tell each waiting session where it stands (once per
        change): without it a start whose turn has not come looks exactly like a slow start."""
        try:
            queued = self.coordinator.queued()
        except Exception:  # noqa: BLE001 - bus unreachable: the next round tells
            return
        for k, request in enumerate(queued, start=1):
            message = (f"position {k} of {len(queued)}, all workers busy ({self.busy()} of "
                       f"{self.max_sessions} session slots in use)")
            if self._said.get(request["session"]) != message:
                self._said[request["session"]] = message
                self.bus.publish(request["session"], SessionState(
                    state="queued", message=message, owner=request.get("owner", ""),
                    config=request.get("config") or {}))

    def take_over_orphans(self) -> None:
        """Resume live sessions whose lease expired (their worker died) while a slot is free.

        Called before every new request is taken: a session someone is already steering
        goes before one that has not started yet.
        """
        sessions = {s for s, (_, t) in self.workers.items() if t.is_alive()}
        for session, entry in self.coordinator.live().items():
            if self.busy() >= self.max_sessions:
                break
            if session in sessions or self.coordinator.holder(session) is not None:
                continue
            previous = entry.get("worker") or "unknown"
            try:
                self.start_session(entry, took_over_from=previous)
            except ValueError:
                continue

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                if self.busy() < self.max_sessions:
                    self.take_over_orphans()
            except Exception:  # noqa: BLE001 - bus unreachable: the next round retries
                pass
            if self.busy() >= self.max_sessions:
                self._report_queue()
                self._stop.wait(0.2)
                continue
            request = self.bus.next_session_request(timeout=0.5)
            if request is None:
                continue
            if request.get("kind") == "export":
                self.start_export(request)
                continue
            try:
                self.start_session(request)
            except ValueError:
                continue

    def start(self) -> WorkerHost:
        self._thread = threading.Thread(target=self.run_forever, name="worker-host", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every session; with a shared bus they are handed over to the other hosts."""
        self._stop.set()
        for worker, _ in self.workers.values():
            worker.handover = self.coordinator.shared
            worker.stopped = True
        for _, thread in self.workers.values():
            thread.join(timeout)
        for thread in self.export_jobs:
            thread.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)



def resume_interrupted(bus: MemoryBus, store: RecordingStore, checkpoint_dir: Path) -> list[str]:
    """After the embedded server died (kill -9, a power cut): put every recorded session back
    on the in-process bus, and have the embedded workers reopen those that had neither
    stopped nor failed: from their checkpoint, paused, so that ``resume`` carries on where
    the checkpoint left off; one that never reached a checkpoint starts again from the
    beginning. Returns the sessions requested again."""
    requested = []
    for info in store.sessions():
        bus.restore(store.events(info.id))
        if info.state not in INTERRUPTED:
            continue
        owner, config = info.owner or "local", info.config or {}
        if (checkpoint_dir / f"{info.id}.pt").exists():
            state = SessionState(state="paused", owner=owner, config=config, message=(
                "the server stopped while this session ran: resume it to continue from its "
                "last checkpoint"))
        else:
            state = SessionState(state="queued", owner=owner, config=config, message=(
                "the server stopped before this session's first checkpoint: starting it "
                "again from the beginning"))
        bus.publish(info.id, state)
        bus.request_session({"session": info.id, "owner": owner, "config": config})
        requested.append(info.id)
    return requested
