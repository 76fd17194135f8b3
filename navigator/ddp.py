"""A data-parallel web worker: ``torchrun --nproc_per_node N -m navigator worker --redis URL``.

Why: one search whose supernet steps are too slow for one GPU trains on N GPUs with
:mod:`supernet.distributed` while the analyst steers it from the web app as usual.

Who does what:

- **Rank 0** is the ordinary worker: a :class:`~navigator.worker_host.WorkerHost` (one session
  at a time, since every rank trains it) that alone talks to the bus, obeys commands,
  evaluates, publishes and checkpoints. Its :class:`~navigator.worker.SessionWorker` holds a
  :class:`RankLink` that tells the other ranks what to do.
- **Ranks > 0** run :func:`follow`: they never touch Redis and mirror only the training.
  Each control message comes from rank 0 with ``broadcast_object_list``: ``open`` (build the
  same engine: the session's config, and the checkpoint when resuming), ``train`` (rank 0's
  trainer progress, then the same number of steps), ``retemplate`` (the same template
  edit), ``close``, ``noop`` (heartbeat) and ``shutdown``.

Why these messages carry what they carry:

- Collectives must be issued in the same order on every rank. Rank 0 issues them from two
  threads (the session thread; the heartbeat), so every message *and* the collectives it
  starts (the training steps, the weight broadcast of ``open``) run under one lock.
- Fine-tuning, resuming and template edits change the trainer's epochs and learning-rate
  schedule on rank 0 only; every ``train`` message carries rank 0's counters and schedule,
  so each step uses the same learning rate and all ranks stop at the same step.
  (Batches and paths need no mirroring: :class:`~supernet.distributed.DistributedTrainer`
  broadcasts rank 0's every step, so steering only has to live on rank 0.)
- A follower waits inside a collective for its next message. While rank 0 works alone
  (evaluation, export, a paused session, no session at all) it would hit the process-group
  timeout, so rank 0 sends ``noop`` whenever nothing was sent for ``heartbeat_s``.
- After ``open`` and ``retemplate`` every rank reports (``all_gather_object``) what it built:
  an error, or a fingerprint (space size, parameter count, steps per epoch, device check).
  All ranks see the same reports and so agree to go on (then the engine is distributed:
  rank 0's weights are broadcast) or to drop the engine; rank 0 then fails the session with
  the follower's reason, and the group stays usable for the next session.
- The checkpoint a follower resumes from is the file rank 0 just loaded, so the checkpoint
  directory must be reachable by every rank under the same path (one host, or a shared
  file system). Only the trainer state (weights, optimizer, steering) is read from it.

Failures: when a rank dies, the other side's next collective raises (gloo: at once; NCCL:
at the latest after the process-group timeout), and torchrun stops the remaining ranks.
Rank 0 fails the session with an error event naming the cause (``data-parallel training
failed ...``) and exits with status 1; a failure inside a lockstep section leaves the ranks
out of step, so nothing more is sent. Run torchrun with ``--max-restarts`` to restart the
group: the new rank 0 takes the session over from its last checkpoint like any worker.
Rank 0's own evaluation re-estimates BatchNorm running statistics in place, so those
buffers differ between ranks; they do not enter training (batch statistics do) and rank
0's are broadcast again on every ``open`` and ``retemplate``.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from supernet.configs import EngineConfig
from supernet.distributed import DistributedContext, distribute_engine
from supernet.engine import SearchEngine
from supernet.train import read_checkpoint

if TYPE_CHECKING:
    from navigator.config import WorkerConfig

HEARTBEAT_S = 10.0  # well below any process-group timeout (default 30 min)


class RankLinkError(RuntimeError):
    """The ranks could not stay in lockstep. Deliberately not a ValueError: the worker turns
    ValueErrors into rejected commands, and this must fail the session instead."""


def _object_device(context: DistributedContext) -> torch.device | None:
    """NCCL sends pickled objects through this rank's GPU; gloo through the CPU."""
    return context.device if context.device.type == "cuda" else None


def _progress(engine: SearchEngine) -> dict[str, Any]:
    t = engine.trainer
    return {"epoch": t.epoch, "epochs": t.epochs, "step_in_epoch": t.step_in_epoch,
            "global_step": t.global_step, "schedule": dict(t.schedule)}


def _set_progress(engine: SearchEngine, progress: dict[str, Any]) -> None:
    t = engine.trainer
    t.epoch, t.epochs = progress["epoch"], progress["epochs"]
    t.step_in_epoch, t.global_step = progress["step_in_epoch"], progress["global_step"]
    t.schedule = dict(progress["schedule"])


def _report(engine: SearchEngine | None, context: DistributedContext,
            error: str | None = None) -> dict[str, Any]:
    """What this rank built, for the others to compare: an error, or a fingerprint."""
    if error is not None or engine is None:
        return {"error": error or "no engine"}
    if engine.trainer.device != context.device:
        return {"error": f"the engine trains on {engine.trainer.device}, this rank owns "
                         f"{context.device} (a checkpoint written on another device?)"}
    return {"space": engine.space.size(), "steps_per_epoch": engine.trainer.steps_per_epoch,
            "parameters": sum(p.numel() for p in engine.supernet.parameters())}


def _agree(context: DistributedContext, engine: SearchEngine | None, error: str | None = None
           ) -> str | None:
    """Gather every rank's report; None when all built the same engine, else the reason.

    Every rank gets the same reports, so every rank takes the same decision.
    """
    reports: list[Any] = [None] * context.world_size
    dist.all_gather_object(reports, _report(engine, context, error))
    problems = [f"rank {r}: {rep['error']}" for r, rep in enumerate(reports) if "error" in rep]
    if problems:
        return "; ".join(problems)
    differ = [f"rank {r} built {rep}" for r, rep in enumerate(reports) if rep != reports[0]]
    if differ:
        return (f"rank 0 built {reports[0]} but {'; '.join(differ)}: every rank must load the "
                "same dataset and template")
    return None


class RankLink:
    """Rank 0's end: keeps ranks > 0 in lockstep with the session rank 0 trains.

    The :class:`~navigator.worker.SessionWorker` calls :meth:`open` after opening or
    resuming its engine, :meth:`train_steps` instead of ``engine.train_steps``,
    :meth:`retemplate` after a template edit and :meth:`close` when the session ends;
    a heartbeat thread sends ``noop`` in between. Only one session at a time.
    """

    def __init__(self, context: DistributedContext, heartbeat_s: float = HEARTBEAT_S) -> None:
        if not (context.distributed and context.is_main):
            raise ValueError("a RankLink is rank 0's end of a data-parallel group")
        self.context = context
        self.heartbeat_s = heartbeat_s
        self.broken: str | None = None  # why the ranks are out of step; nothing more is sent
        self.failed = threading.Event()  # set with ``broken``: the worker process must exit
        self.session: str | None = None  # the session the followers mirror
        self._engine: SearchEngine | None = None
        self._lock = threading.Lock()
        self._last_sent = time.monotonic()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return f"data-parallel on {self.context.world_size} ranks ({self.context.backend})"

    # -- sending ---------------------------------------------------------------
    def start(self) -> RankLink:
        self._thread = threading.Thread(target=self._beat, name="rank-link-heartbeat",
                                        daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._closing.wait(min(1.0, self.heartbeat_s / 4)):
            if self.broken is not None:
                return
            if time.monotonic() - self._last_sent < self.heartbeat_s:
                continue
            try:
                with self._lock:
                    if time.monotonic() - self._last_sent >= self.heartbeat_s:
                        self._send({"kind": "noop"})
            except RankLinkError:
                return

    def _fail(self, doing: str, exc: BaseException) -> RankLinkError:
        self.broken = (f"data-parallel training failed while {doing}: {exc}; the "
                       f"{self.context.world_size} ranks are out of step, so this worker exits "
                       "(torchrun stops the other ranks)")
        self.failed.set()
        return RankLinkError(self.broken)

    def _send(self, message: dict[str, Any]) -> None:
        """Broadcast one control message (the lock is held)."""
        if self.broken is not None:
            raise RankLinkError(self.broken)
        try:
            dist.broadcast_object_list([message], src=0, device=_object_device(self.context))
        except Exception as exc:  # noqa: BLE001 - a dead rank: any backend error
            raise self._fail(f"sending {message['kind']!r} to the other ranks", exc) from exc
        self._last_sent = time.monotonic()

    @contextmanager
    def _lockstep(self, doing: str) -> Iterator[None]:
        """Collectives the followers take part in: any failure leaves them out of step."""
        try:
            yield
        except RankLinkError:
            raise
        except Exception as exc:  # noqa: BLE001 - a dead rank or a rank-0 error mid-step
            raise self._fail(doing, exc) from exc

    def _establish(self, engine: SearchEngine, doing: str) -> None:
        """All ranks compare what they built; then rank 0's weights go to every rank."""
        with self._lockstep(doing):
            problem = _agree(self.context, engine)
        if problem is not None:  # every rank dropped its engine; the group is still fine
            self.session, self._engine = None, None
            raise RankLinkError(f"the other ranks could not follow ({doing}): {problem}")
        with self._lockstep(doing):
            distribute_engine(engine, self.context)
        self._engine = engine

    # -- what the session worker calls -----------------------------------------
    def open(self, session: str, engine: Any, checkpoint: Path | None) -> None:
        """The followers build the same engine (resumed from ``checkpoint`` when given)."""
        if not isinstance(engine, SearchEngine):
            return  # tabular mode: lookups, no supernet to train
        with self._lock:
            self._send({"kind": "open", "session": session, "config": engine.config.to_dict(),
                        "checkpoint": None if checkpoint is None else str(checkpoint.resolve())})
            self.session = session
            self._establish(engine, f"opening session {session}")

    def train_steps(self, engine: Any, steps: int) -> list[float]:
        """``engine.train_steps(steps)`` on every rank, with rank 0's epochs and schedule."""
        if not isinstance(engine, SearchEngine):
            return engine.train_steps(steps)
        with self._lock:
            if engine is not self._engine:
                raise RankLinkError("this engine was not opened on the other ranks")
            self._send({"kind": "train", "steps": steps, "progress": _progress(engine)})
            with self._lockstep("training"):
                return engine.train_steps(steps)

    def retemplate(self, engine: Any, template: dict[str, Any]) -> None:
        """``engine`` is rank 0's engine on the edited ``template``; the followers rebuild theirs."""
        if not isinstance(engine, SearchEngine):
            return
        with self._lock:
            self._send({"kind": "retemplate", "template": template})
            self._establish(engine, "editing the template")

    def close(self, session: str) -> None:
        """The session ended (any way): the followers drop its engine. Never raises."""
        if self.broken is not None:
            return
        with self._lock:
            if self.session != session:
                return
            self.session, self._engine = None, None
            try:
                self._send({"kind": "close", "session": session})
            except RankLinkError:
                pass  # recorded in ``broken``; the worker process exits

    def shutdown(self) -> None:
        """Stop the heartbeat and let the followers exit (after every session closed)."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(5.0)
        if self.broken is None:
            with self._lock:
                try:
                    self._send({"kind": "shutdown"})
                except RankLinkError:
                    pass


class Follower:
    """A rank > 0: mirrors the training of rank 0's session until told to shut down."""

    def __init__(self, context: DistributedContext,
                 data_roots: tuple[Path, ...] | None = None) -> None:
        if not context.distributed or context.is_main:
            raise ValueError("a Follower is a rank > 0 of a data-parallel group")
        self.context = context
        self.data_roots = data_roots  # the same files rank 0 may read, no others
        self.session: str | None = None
        self.engine: SearchEngine | None = None
        self.steps_trained = 0
        self.received: dict[str, int] = {}  # messages by kind (tests, logs)
        self.on_close: Callable[[str, SearchEngine], None] | None = None

    def _receive(self) -> dict[str, Any]:
        box: list[Any] = [None]
        dist.broadcast_object_list(box, src=0, device=_object_device(self.context))
        message = box[0]
        self.received[message["kind"]] = self.received.get(message["kind"], 0) + 1
        return message

    def _build(self, config: dict[str, Any], checkpoint: str | None) -> SearchEngine:
        """The session's engine on this rank's device; only the trainer state is resumed
        (search, archive and latency model live on rank 0)."""
        engine_config = replace(EngineConfig.from_dict(config), prescreen_n=0)
        engine_config.train = replace(engine_config.train, device=str(self.context.device))
        engine = SearchEngine(engine_config, data_roots=self.data_roots)
        if checkpoint is not None:
            if not Path(checkpoint).exists():
                raise FileNotFoundError(f"checkpoint {checkpoint} not found on this rank: the "
                                        "checkpoint directory must be shared by all ranks")
            state = read_checkpoint(checkpoint, "session")
            engine.trainer.load_state_dict(state["trainer"])
        return engine

    def _adopt(self, build: Callable[..., SearchEngine], *args: Any) -> None:
        """Build an engine, agree with the other ranks, then take rank 0's weights."""
        engine, error = None, None
        try:
            engine = build(*args)
        except Exception as exc:  # noqa: BLE001 - reported to rank 0, which fails the session
            error = f"{type(exc).__name__}: {exc}"
        if _agree(self.context, engine, error) is not None:
            self.engine = None
            return
        assert engine is not None
        distribute_engine(engine, self.context)
        self.engine = engine

    def _drop(self) -> None:
        if self.engine is not None and self.on_close is not None and self.session is not None:
            self.on_close(self.session, self.engine)
        self.session, self.engine = None, None

    def run(self) -> None:
        """Obey rank 0 until ``shutdown``; a lost rank 0 raises from the collective."""
        while True:
            message = self._receive()
            kind = message["kind"]
            if kind == "noop":
                continue
            if kind == "shutdown":
                self._drop()
                return
            if kind == "open":
                self._drop()
                self.session = message["session"]
                self._adopt(self._build, message["config"], message["checkpoint"])
            elif kind == "train":
                if self.engine is None:
                    raise RuntimeError(f"told to train session {self.session} without an engine")
                _set_progress(self.engine, message["progress"])
                self.steps_trained += len(self.engine.train_steps(message["steps"]))
            elif kind == "retemplate":
                self._adopt(self._retemplated, self.engine, message["template"])
            elif kind == "close":
                if message["session"] == self.session:
                    self._drop()
            else:
                raise RuntimeError(f"unknown control message {kind!r} from rank 0")

    @staticmethod
    def _retemplated(engine: SearchEngine | None, template: dict[str, Any]) -> SearchEngine:
        if engine is None:
            raise RuntimeError("no session to edit on this rank")
        return engine.retemplated(template)[0]


def follow(context: DistributedContext, data_roots: tuple[Path, ...] | None = None) -> int:
    """A rank > 0 of ``navigator worker`` under torchrun: mirror rank 0 until it shuts down."""
    Follower(context, data_roots).run()
    return 0


def _serve(config: WorkerConfig, context: DistributedContext, heartbeat_s: float) -> int:
    """Rank 0: the ordinary worker host, one session at a time, with a RankLink."""
    from navigator.bus import make_bus
    from navigator.worker import WorkerOptions
    from navigator.worker_host import WorkerHost

    assert config.redis_url
    bus = make_bus(config.redis_url)
    options = WorkerOptions(checkpoint_dir=config.checkpoint_dir, torch_threads=None,
                            device=str(context.device), data_roots=config.user_data_roots)
    host = WorkerHost(bus, options, max_sessions=1, lease_ttl_s=config.lease_ttl_s)
    link = RankLink(context, heartbeat_s).start()
    host.link = link
    note = "" if config.max_sessions == 1 else (f" (max_sessions {config.max_sessions} "
                                                "ignored: all ranks train the one session)")
    print(f"worker {host.worker_id} waiting for sessions on {config.redis_url}; "
          f"{link.describe()}, one session at a time{note}", flush=True)

    def interrupt(_signum: int, _frame: Any) -> None:  # torchrun stops its ranks with SIGTERM
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    host.start()
    interrupted = False
    try:
        while not link.failed.wait(1.0):
            pass
        # Said at once: torchrun SIGTERMs this rank as soon as it sees the dead one, which can
        # be while the host below is still winding down.
        print(f"navigator worker: error: {link.broken}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        host.stop()  # hands the session over after a final checkpoint (Ctrl-C, SIGTERM)
        bus.close()
    if link.broken is not None and not interrupted:
        return 1
    link.shutdown()
    return 0


def run_worker_ranks(config: WorkerConfig, heartbeat_s: float = HEARTBEAT_S) -> int:
    """``navigator worker`` under torchrun with WORLD_SIZE > 1: rank 0 serves, the rest follow."""
    try:
        context = DistributedContext.from_env(config.device)
    except RuntimeError as exc:
        raise ValueError(f"cannot join the data-parallel group: {exc}") from None
    clean = False
    try:
        if context.is_main:
            status = _serve(config, context, heartbeat_s)
        else:
            # Ctrl-C and torchrun's SIGTERM reach every rank at once: a follower that died
            # there would fail the chunk rank 0 is training instead of letting it hand the
            # session over; rank 0's ``shutdown`` ends it (torchrun SIGKILLs after a grace).
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                status = follow(context, config.user_data_roots)
            except Exception as exc:  # noqa: BLE001 - rank 0 is gone or out of step
                traceback.print_exc()
                print(f"navigator worker rank {context.rank}: error: rank 0 is gone or out of step: "
                      f"{exc}", file=sys.stderr, flush=True)
                return 1
        clean = status == 0
        return status
    finally:
        if clean:  # after a failure a collective may still be pending: just exit
            context.close()
