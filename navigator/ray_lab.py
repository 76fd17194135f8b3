"""The lab server on Ray: one Ray actor per search session, placed and restarted by Ray.

Ray's scheduler does what a lab needs of one: it matches a session to a node with the
resources it asks for (a GPU, an accelerator type), keeps it waiting, visibly, while
none is free, and restarts it on another node when its node dies. Redis stays the
event and command bus (:mod:`navigator.bus.redis`); the web process never talks to Ray.

Where a session stands lives in Redis and in Ray's own control store, never in one
process's memory, so that a crash at any point between a start request and the first
event loses nothing:

1. the web pushes ``{"session", "owner", "config"}`` onto ``navigator:requests``;
2. :class:`LabScheduler` copies it into the live registry ``navigator:live`` (session ->
   request) *before* it removes it from the list;
3. for every live session it makes sure the detached, named actor ``session:<id>``
   (namespace ``navigator``) exists: creating it again is a no-op (``get_if_exists``);
4. the actor runs the session; once the session has stopped or failed and its last
   event is in Redis, it leaves the registry, and the scheduler ends the actor.

Each step is idempotent, so a scheduler that starts again (or a second one) carries
on from whatever the last one left. An actor's node dying makes Ray start it again
elsewhere (``max_restarts=-1``); the new process resumes from the session's checkpoint,
which every node sees (:class:`CheckpointStore`).

Data-parallel sessions (several GPUs for one session) keep torchrun on one host:
``navigator worker`` under ``torchrun`` (:mod:`navigator.ddp`), not through Ray.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navigator.bus.redis import CONNECTION_ERRORS, PREFIX, RedisBus
from navigator.events import SessionState
from navigator.worker import SessionWorker, WorkerOptions, run_export_job
from supernet.configs import EngineConfig

if TYPE_CHECKING:
    import ray

    from navigator.config import WorkerConfig

LOG = logging.getLogger(__name__)
NAMESPACE = "navigator"
REQUESTS_KEY = f"{PREFIX}:requests"
LIVE_KEY = f"{PREFIX}:live"
JOIN_HINT = "a host joins with `ray start --address=<head>:<port>`"


def actor_name(session: str) -> str:
    return f"session:{session}"


def session_resources(config: EngineConfig, accelerator_type: str | None = None
                      ) -> dict[str, Any]:
    """What Ray must find on a node before the session may start there."""
    gpus = 1 if config.mode != "tabular" and config.train.device.startswith("cuda") else 0
    options: dict[str, Any] = {"num_cpus": 1, "num_gpus": gpus}
    if accelerator_type and gpus:
        options["accelerator_type"] = accelerator_type
    return options


class CheckpointStore:
    """Where checkpoints live so that any node can resume any session.

    ``location`` is a directory every node mounts (NFS, the same disk on one machine) or
    an fsspec URI (``s3://bucket/navigator``, ``gs://...``), as Ray's own ``storage_path``.
    With a URI the worker trains on a local copy under ``cache_dir`` and uploads it after
    every checkpoint; a restarted actor downloads the last one before it opens the engine.
    """

    def __init__(self, location: str, cache_dir: Path) -> None:
        self.location = location
        self.cache_dir = cache_dir
        self.remote = "://" in location

    def local_dir(self) -> Path:
        return self.cache_dir if self.remote else Path(self.location).expanduser()

    def _uri(self, session: str) -> str:
        return f"{self.location.rstrip('/')}/{session}.pt"

    def fetch(self, session: str) -> None:
        """Bring the session's last checkpoint to the local directory (if it has one)."""
        self.local_dir().mkdir(parents=True, exist_ok=True)
        if not self.remote:
            return
        import fsspec

        fs, path = fsspec.core.url_to_fs(self._uri(session))
        if fs.exists(path):
            with fs.open(path, "rb") as src, (self.cache_dir / f"{session}.pt").open("wb") as dst:
                shutil.copyfileobj(src, dst)

    def push(self, session: str) -> None:
        if not self.remote:
            return
        import fsspec

        fs, path = fsspec.core.url_to_fs(self._uri(session))
        fs.makedirs(fs._parent(path), exist_ok=True)
        with (self.cache_dir / f"{session}.pt").open("rb") as src, fs.open(path + ".tmp",
                                                                          "wb") as dst:
            shutil.copyfileobj(src, dst)
        fs.mv(path + ".tmp", path)


class LabSessionWorker(SessionWorker):
    """A session worker whose checkpoints also go to the lab's checkpoint store."""

    store: CheckpointStore | None = None

    def checkpoint(self) -> None:
        super().checkpoint()
        if self.store is not None:
            self.store.push(self.session)


class SessionRunner:
    """The body of a session's Ray actor: runs the session on a thread from construction,
    so that a restart by Ray (a new process on another node) resumes it by itself."""

    def __init__(self, redis_url: str, request: dict[str, Any], options: WorkerOptions,
                 storage: str) -> None:
        import torch

        if options.torch_threads:
            torch.set_num_threads(options.torch_threads)
        self.session = request["session"]
        self.bus = _connect_bus(redis_url)
        self.store = CheckpointStore(storage, options.checkpoint_dir)
        self.store.fetch(self.session)
        options = replace(options, checkpoint_dir=self.store.local_dir())
        config = EngineConfig.from_dict(request.get("config") or {})
        self.worker = LabSessionWorker(self.bus, self.session, config, options,
                                       owner=request.get("owner", "local"))
        self.worker.store = self.store
        self.worker.worker_id = f"ray-{os.getpid()}"
        self.thread = threading.Thread(target=self._run, name=f"session-{self.session}",
                                       daemon=True)
        self.thread.start()

    def ready(self) -> dict[str, Any]:
        import ray

        return {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

    def _run(self) -> None:
        try:
            self.worker.run()
        except Exception:  # noqa: BLE001 - already published as an error event
            pass
        # Ended (stopped or failed): the last event must be in Redis before the registry
        # entry goes, since the scheduler ends the actor as soon as it has gone.
        while not self.bus.flush(5.0):
            pass
        while True:
            try:
                self.bus.client.hdel(LIVE_KEY, self.session)
                return
            except CONNECTION_ERRORS:
                time.sleep(0.5)


def _connect_bus(url: str) -> RedisBus:
    """The bus, once Redis answers: an actor Ray restarts during a Redis outage waits for it."""
    while True:
        try:
            return RedisBus(url)
        except ValueError:
            time.sleep(1.0)


def _export(redis_url: str, request: dict[str, Any], options: WorkerOptions,
            storage: str) -> None:
    """A stopped session's export, as a Ray task: its own process, wherever a CPU is free."""
    store = CheckpointStore(storage, options.checkpoint_dir)
    store.fetch(request["session"])
    bus = _connect_bus(redis_url)
    try:
        run_export_job(bus, request, replace(options, checkpoint_dir=store.local_dir()))
    finally:
        bus.close()


class LabScheduler:
    """Turns start requests into session actors and says where waiting sessions stand.

    One per lab (``navigator lab``, next to the Ray head). It keeps nothing that matters
    in memory: every :meth:`tick` re-reads the requests and the registry from Redis and
    the actors from Ray.
    """

    def __init__(self, redis_url: str, options: WorkerOptions, storage: str,
                 accelerator_type: str | None = None, poll_s: float = 0.5) -> None:
        import ray

        self.ray = ray
        self.redis_url = redis_url
        self.bus = RedisBus(redis_url)
        self.options = options
        self.storage = storage
        self.accelerator_type = accelerator_type
        self.poll_s = poll_s
        self._ready: dict[str, ray.ObjectRef[Any]] = {}
        self._said: dict[str, str] = {}
        self._stop = threading.Event()

    # -- the steps, each idempotent -------------------------------------------------
    def admit(self) -> list[str]:
        """Move start requests into the live registry (exports go to a Ray task)."""
        admitted = []
        client = self.bus.client
        raws: list[bytes] = client.lrange(REQUESTS_KEY, 0, -1)  # type: ignore[assignment]
        for raw in raws:
            request = json.loads(raw)
            if request.get("kind") == "export":
                self.ray.remote(num_cpus=1)(_export).remote(self.redis_url, request,
                                                             self.options, self.storage)
            else:
                request.setdefault("since", time.time())
                client.hsetnx(LIVE_KEY, request["session"], json.dumps(request))
                admitted.append(request["session"])
            client.lrem(REQUESTS_KEY, 1, raw)  # type: ignore[arg-type]
        return admitted

    def live(self) -> dict[str, dict[str, Any]]:
        entries: dict[bytes, bytes] = self.bus.client.hgetall(LIVE_KEY)  # type: ignore[assignment]
        return {k.decode(): json.loads(v) for k, v in entries.items()}

    def actor(self, session: str) -> Any:
        """The session's actor handle, None if Ray has none (never started, or ended)."""
        try:
            return self.ray.get_actor(actor_name(session), namespace=NAMESPACE)
        except ValueError:
            return None

    def reconcile(self) -> None:
        """Every live session has its actor; every actor of a session that ended goes."""
        live = self.live()
        for session, request in live.items():
            if session in self._ready:
                continue
            try:
                config = EngineConfig.from_dict(request.get("config") or {})
            except (ValueError, TypeError) as exc:
                self.bus.publish(session, SessionState(state="failed", message=(
                    f"invalid search configuration: {exc}"), owner=request.get("owner", "")))
                self.bus.flush()
                self.bus.client.hdel(LIVE_KEY, session)
                continue
            handle: Any = self.ray.remote(SessionRunner).options(
                name=actor_name(session), namespace=NAMESPACE, lifetime="detached",
                get_if_exists=True, max_restarts=-1, max_task_retries=-1,
                **session_resources(config, self.accelerator_type),
            ).remote(self.redis_url, request, self.options, self.storage)
            self._ready[session] = handle.ready.remote()
        for entry in self.ray.util.list_named_actors(all_namespaces=True):
            name = entry["name"] if isinstance(entry, dict) else entry
            if (isinstance(entry, dict) and entry.get("namespace") != NAMESPACE) or \
                    not name.startswith("session:"):
                continue
            session = name.removeprefix("session:")
            if session not in live:
                handle = self.actor(session)
                if handle is not None:
                    self.ray.kill(handle, no_restart=True)
                self._ready.pop(session, None)
                self._said.pop(session, None)

    def waiting(self) -> dict[str, str]:
        """session -> why it has not started yet, for every live session Ray has not placed."""
        live = self.live()
        refs = {s: r for s, r in self._ready.items() if s in live}
        if not refs:
            return {}
        done, _ = self.ray.wait(list(refs.values()), num_returns=len(refs), timeout=0)
        started = {r.hex() for r in done}
        pending = sorted((s for s, r in refs.items() if r.hex() not in started),
                         key=lambda s: live[s].get("since", 0.0))
        if not pending:
            return {}
        total, free = self.ray.cluster_resources(), self.ray.available_resources()
        nodes = len([n for n in self.ray.nodes() if n.get("Alive")])
        out = {}
        for k, session in enumerate(pending, start=1):
            config = EngineConfig.from_dict(live[session].get("config") or {})
            needs = session_resources(config, self.accelerator_type)
            where = f"position {k} of {len(pending)}"
            if needs["num_gpus"] and total.get("GPU", 0) < needs["num_gpus"]:
                out[session] = (f"waiting for a GPU: none of the Ray cluster's {nodes} node(s) "
                                f"has one ({where}); {JOIN_HINT} on a GPU host")
            else:  # placed and starting, or waiting for room: Ray's own view tells no more
                kind = "GPU" if needs["num_gpus"] else "CPU"
                out[session] = (f"waiting for Ray to start it on a node with a free {kind} "
                                f"({where}; {free.get(kind, 0):g} of {total.get(kind, 0):g} "
                                f"{kind}s free)")
        return out

    def report(self) -> None:
        """Publish each waiting session's position, once per change, never after it started."""
        live = self.live()
        for session, message in self.waiting().items():
            if self._said.get(session) == message or self._started(session):
                continue
            self._said[session] = message
            request = live.get(session, {})
            self.bus.publish(session, SessionState(state="queued", message=message,
                                                   owner=request.get("owner", ""),
                                                   config=request.get("config") or {}))

    def _started(self, session: str) -> bool:
        newest = self.bus.last_seq(session)
        for event in reversed(self.bus.history(session, max(newest - 64, 0))):
            if event.type == "session_state":
                return event.data.get("state") != "queued"
        return False

    def tick(self) -> None:
        self.admit()
        self.reconcile()
        self.report()

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except CONNECTION_ERRORS:
                pass  # Redis away: nothing is lost, the next tick carries on
            except Exception:  # noqa: BLE001 - e.g. Ray's control store busy: next tick retries
                LOG.exception("lab scheduler tick failed; retrying")
            self._stop.wait(self.poll_s)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.bus.close()


def cmd_lab(config: WorkerConfig) -> int:
    """``navigator lab``: join the Ray cluster as its driver and schedule sessions until
    stopped (SIGTERM or Ctrl-C). Running sessions are detached actors: they go on while
    the scheduler restarts, and a new one picks up where it left."""
    if not config.redis_url:
        raise ValueError("`navigator lab` needs --redis URL (or NAVIGATOR_REDIS_URL): the bus "
                         "the web process and the sessions share")
    if os.environ.get("NAVIGATOR_SECRET"):
        raise ValueError("NAVIGATOR_SECRET is set in the lab scheduler's environment: neither it "
                         "nor the sessions it starts need it; start it without (`env -u "
                         "NAVIGATOR_SECRET navigator lab ...`)")
    import ray

    deadline = time.monotonic() + 60  # started beside `ray start --head`: give it time
    while True:
        try:
            ray.init(address=config.ray_address, namespace=NAMESPACE, log_to_driver=False)
            break
        except ConnectionError as exc:
            if time.monotonic() > deadline:
                raise ValueError(f"no Ray cluster at {config.ray_address!r}: {exc}; start one "
                                 "with `ray start --head` (README, Lab server)") from None
            time.sleep(2.0)
    storage = config.storage or str(config.checkpoint_dir)
    options = WorkerOptions(checkpoint_dir=config.data_dir / "checkpoint-cache",
                            data_roots=config.user_data_roots)
    scheduler = LabScheduler(config.redis_url, options, storage, config.accelerator_type)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
    print(f"lab scheduler on Ray {config.ray_address} with {len(ray.nodes())} node(s); "
          f"bus {config.redis_url}; checkpoints in {storage}", flush=True)
    try:
        scheduler.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.close()
        ray.shutdown()
    return 0
