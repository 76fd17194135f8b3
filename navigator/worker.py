"""Workers: run search sessions and obey the analyst's commands between steps.

A :class:`SessionWorker` owns one session's engine (:class:`~supernet.engines.Engine`).
Its loop is: apply pending commands -> train a chunk of steps -> at each epoch end
evaluate a generation, publish candidates, fitness, leaderboard and steering, and
checkpoint. Commands therefore take effect at the next step boundary, and a
rejected command leaves everything as it was (it is tried on a copy first).

Workers are started by a :class:`~navigator.worker_host.WorkerHost`. A worker started
for a session that has a checkpoint resumes from it; a worker whose lease was taken
stops without checkpointing.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navigator.advisor import EvidencePublisher, SessionAdvisor, exhausted, weights_note
from navigator.baseline import BaselinePublisher
from navigator.bus import EventBus
from navigator.bus.lease import SessionLease
from navigator.commands import STEERING_COMMANDS, Command, apply_steering, parse_command
from navigator.events import (
    Candidates,
    CommandAck,
    CommandRejected,
    Error,
    Exported,
    Fitness,
    Hardware,
    Leaderboard,
    SessionState,
    Space,
    Steering,
    TrainProgressEvent,
)
from navigator.live_map import LiveMap
from navigator.trust import TrustPublisher
from supernet.configs import EngineConfig
from supernet.data import Dataset
from supernet.encoders import DEFAULT_ENCODING, get_encoder
from supernet.engines import Engine, open_engine
from supernet.export import export_model, write_standalone
from supernet.export_files import next_version
from supernet.fewshot import inherited_net
from supernet.hardware import load_latency_csv
from supernet.latency_budget import HOST
from supernet.train import TrainProgress

if TYPE_CHECKING:
    from navigator.ddp import RankLink


@dataclass
class WorkerOptions:
    """How a worker paces a session (defaults suit the digits demo on a CPU)."""

    checkpoint_dir: Path
    chunk_steps: int = 8
    extra_generations: int = 20
    progress_interval_s: float = 0.2
    leaderboard_size: int = 20
    umap: bool = True  # False: a quick one-hot PCA map built at once (tests, demos)
    map_encoding: str = DEFAULT_ENCODING  # the map's default (supernet.encoders)
    map_cache_dir: Path | None = None  # fitted encoders and maps; default <data dir>/maps
    exports_dir: Path | None = None
    torch_threads: int | None = 1
    device: str | None = None  # overrides the device a session asks for (a worker owns its GPU)
    data_roots: tuple[Path, ...] | None = None  # where user-named files may be read; None: anywhere


class SessionWorker:
    def __init__(self, bus: EventBus, session: str, config: EngineConfig, options: WorkerOptions,
                 owner: str = "local") -> None:
        self.bus = bus
        self.lease: SessionLease | None = None  # set by a WorkerHost; None runs unguarded
        self.worker_id = ""  # the host's id, named in takeover messages
        self.took_over_from: str | None = None  # the worker that stopped answering, if any
        self.handover = False  # stopping so that another worker resumes (host shutdown)
        self.on_finish: Callable[[str], None] | None = None  # "stopped" | "failed" | "handover"
        self.session = session
        self.config = config
        self.options = options
        self.owner = owner
        self.paused = False
        self.stopped = False
        self.state = "created"
        self.extra_left = options.extra_generations
        self._last_progress = 0.0
        self.checkpoint_path = options.checkpoint_dir / f"{session}.pt"
        self.live_map: LiveMap | None = None  # the fixed map of the space (navigator/live_map.py)
        self.map_encoding = options.map_encoding if options.umap else "onehot"
        self.engine: Engine | None = None
        self.link: RankLink | None = None  # under torchrun: ranks > 0 train along (ddp.py)
        self.advisor = SessionAdvisor(bus, session, self.handle)
        self.evidence = EvidencePublisher(bus, session)
        self.trust = TrustPublisher(bus, session, self.options.data_roots)
        self.baseline = BaselinePublisher(bus, session)

    # -- lifecycle -------------------------------------------------------------
    def _open_engine(self) -> Engine:
        resuming = self.checkpoint_path.exists()
        engine = open_engine(self.config, self._on_progress, self.checkpoint_path,
                             data_roots=self.options.data_roots)
        if self.link is not None:
            self.link.open(self.session, engine, self.checkpoint_path if resuming else None)
        if resuming:
            self.engine = engine
            message = f"resumed from checkpoint at epoch {engine.trainer.epoch}{self._ranks}"
            if self.took_over_from:
                message += (f" on worker {self.worker_id} after worker {self.took_over_from} "
                            "stopped answering")
            self.paused = self._was_paused()
            if self.paused:
                self._set_state("paused", f"{message}; still paused, as the analyst left it")
            else:
                self._set_state("running", message)
            if engine.archive:
                self._place(engine.archive_as_dicts())
        elif self.took_over_from:
            self.engine = engine
            self._set_state("running", f"restarted on worker {self.worker_id} from the beginning "
                                       f"(no checkpoint yet) after worker {self.took_over_from} "
                                       "stopped answering")
        return engine

    def _was_paused(self) -> bool:
        """Whether the session was paused when its last worker let go of it: the bus holds
        every state it published (a handover's "queued" says nothing about the search)."""
        for event in reversed(self.bus.history(self.session)):
            if event.type == "session_state" and event.data.get("state") != "queued":
                return event.data.get("state") == "paused"
        return False

    @property
    def lost(self) -> bool:
        """Another worker took this session over: publish and write nothing more."""
        return self.lease is not None and self.lease.lost

    def _finish(self, outcome: str) -> None:
        if self.on_finish is not None:
            self.on_finish(outcome)

    @property
    def tabular(self) -> bool:
        return self.config.mode == "tabular"

    @property
    def _ranks(self) -> str:
        """How many processes train this session, for its state message."""
        return "" if self.link is None or self.tabular else f"; {self.link.describe()}"

    def run(self) -> None:
        """Run the session until it is stopped; failures are published, never swallowed."""
        try:
            self._run()
        finally:
            if self.link is not None:  # the other ranks drop the session's engine
                self.link.close(self.session)

    def _task(self) -> dict[str, Any]:
        """The task the views label and rank by (a benchmark table's data has none: {})."""
        assert self.engine is not None
        task = getattr(self.engine.data, "task", None)
        return {} if task is None else task.describe()

    def _run(self) -> None:
        try:
            self.engine = self._open_engine()
            space = self.engine.space
            self.bus.publish(self.session, Space(template=space.to_dict(),
                                                 choice_points=[cp.to_dict() for cp in space],
                                                 size=space.size(), task=self._task()))
            self._publish_steering()
            self._map().start()
            if self.state not in ("running", "paused"):
                self._set_state("running", f"looking accuracies up in {self.config.table_path}"
                                if self.tabular else f"training on {self.engine.data.name} "
                                                     f"({self.engine.device.type}){self._ranks}")
            while not self.stopped:
                self._loop_once()
            if self.lost:
                return
            self.checkpoint()
            if self.handover:
                self._finish("handover")
                self._set_state("queued", f"worker {self.worker_id} shut down; waiting for "
                                          "another worker to resume from the checkpoint at epoch "
                                          f"{self.engine.trainer.epoch}")
                return
            self._finish("stopped")
            self._set_state("stopped", "stopped by the analyst")
            self._answer_after_stop()
        except Exception as exc:  # noqa: BLE001 - report, then let the host decide
            if self.lost:
                return
            self._finish("failed")
            self.bus.publish(self.session, Error(message=f"worker failed: {exc}",
                                                 detail=traceback.format_exc()))
            self._set_state("failed", str(exc))
            raise

    def _loop_once(self) -> None:
        engine = self.engine
        assert engine is not None
        idle = self.paused or (engine.trainer.done and self.extra_left <= 0)
        self._map().poll()
        self._apply_commands(wait=0.25 if idle else 0.0)
        if self.stopped or self.paused:
            return
        if not engine.trainer.done:
            epoch = engine.trainer.epoch
            if self.link is not None:
                self.link.train_steps(engine, self.options.chunk_steps)
            else:
                engine.train_steps(self.options.chunk_steps)
            if engine.trainer.epoch > epoch:
                self._generation()
                self.checkpoint()
            if engine.trainer.done:
                self._set_state("running", "training finished; sampling more candidates")
        elif self.extra_left > 0:
            self.extra_left -= 1
            self._generation()
            if self.extra_left == 0:
                self.checkpoint()
                self.baseline.after_budget(engine, self.config)  # best found vs the baseline
                self._set_state("paused", "search budget used up: fine-tune or stop")
                self.paused = True

    def _set_state(self, state: str, message: str = "") -> None:
        if self.lost:
            return
        self.state = state
        self.bus.publish(self.session, SessionState(state=state, message=message, owner=self.owner,
                                                    config=self.config.to_dict()))

    def checkpoint(self) -> None:
        assert self.engine is not None
        if self.lost:  # the new owner's checkpoint is the one that counts
            return
        self.engine.save(self.checkpoint_path)
        from navigator.events import Checkpoint

        self.bus.publish(self.session, Checkpoint(path=str(self.checkpoint_path),
                                                  epoch=self.engine.trainer.epoch))

    # -- publishing ------------------------------------------------------------
    def _on_progress(self, progress: TrainProgress) -> None:
        now = time.monotonic()
        last_step = progress.step == progress.steps_per_epoch
        if last_step or now - self._last_progress >= self.options.progress_interval_s:
            self._last_progress = now
            self.bus.publish(self.session, TrainProgressEvent(**progress.to_dict()))

    def _map(self) -> LiveMap:
        """The session's fixed map (started by ``_run``, rebuilt by a template edit)."""
        if self.live_map is None:
            engine = self.engine
            assert engine is not None
            cache = self.options.map_cache_dir or self.options.checkpoint_dir.parent / "maps"
            engine.search.encoder_cache = cache  # the latent strategy shares the map's fit
            self.live_map = LiveMap(
                self.bus, self.session, engine.space, self.config.seed, self.map_encoding,
                cache, quick=not self.options.umap, steering=lambda: engine.steering)
        return self.live_map

    def _place(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Give records their fixed map coordinates (None until the map is ready)."""
        return self._map().place(records)

    def _remap(self, status: str, message: str) -> None:
        """A new map (template edit, other encoding): every explored point moves once."""
        assert self.engine is not None
        self.live_map = None
        self._place(self.engine.archive_as_dicts())
        self._map().start(status, message)

    def _generation(self) -> None:
        assert self.engine is not None
        records = self.engine.search_generation()
        if self.lost:  # taken over while evaluating: the new owner publishes from now on
            return
        dicts = self._place([r.to_dict() for r in records])
        generation = records[0].generation if records else self.engine.search.generation
        self.bus.publish(self.session, Candidates(generation=generation, records=dicts))
        self.bus.publish(self.session, Fitness(matrix=self.engine.fitness.to_dict()))
        self.bus.publish(self.session, Leaderboard(records=[
            r.to_dict() for r in self.engine.leaderboard(self.options.leaderboard_size)]))
        self._publish_hardware()
        self.evidence.after_generation(self.engine)
        self.advisor.after_generation(self.engine)
        self.trust.after_generation(self.engine)
        stalled = exhausted(self.engine)
        if stalled and not self.paused:
            self.paused = True
            self._set_state("paused", stalled)

    def _publish_ranking(self) -> None:
        """The views a "rank by" change reorders."""
        assert self.engine is not None
        self.bus.publish(self.session, Fitness(matrix=self.engine.fitness.to_dict()))
        self.bus.publish(self.session, Leaderboard(records=[
            r.to_dict() for r in self.engine.leaderboard(self.options.leaderboard_size)]))

    def _publish_hardware(self) -> None:
        assert self.engine is not None
        self.bus.publish(self.session, Hardware(**self.engine.latency.summary()))

    def _publish_steering(self) -> None:
        assert self.engine is not None
        self.bus.publish(self.session, Steering(**self.engine.steering.to_dict()))
        if self.live_map is not None:
            self.live_map.steering_changed()

    # -- commands --------------------------------------------------------------
    def _apply_commands(self, wait: float) -> None:
        command = self.bus.next_command(self.session, timeout=wait)
        while command is not None:
            self.handle(command)
            command = self.bus.next_command(self.session)

    def _answer_after_stop(self) -> None:
        """Commands that arrived while the session was stopping: exports are still carried
        out (the engine is open), anything else is rejected, so that none waits forever."""
        command = self.bus.next_command(self.session)
        while command is not None and not self.lost:
            if command.type == "export":
                try:
                    self.handle(command)
                except Exception as exc:  # noqa: BLE001 - the session stopped cleanly all the same
                    self.reject(command, f"export failed: {exc}")
            else:
                self.reject(command, f"session {self.session} has stopped; {command.type} "
                                     "cannot be carried out (export still works)")
            command = self.bus.next_command(self.session)

    def reject(self, command: Command, reason: str) -> None:
        self.bus.publish(self.session, CommandRejected(
            command_id=command.id, command=command.type, user=command.user, reason=reason,
            args=command.args, sent_ts=command.ts, received_ts=command.received_ts))

    def handle(self, command: Command) -> None:
        """Apply one command, or reject it with a reason; never raises for user mistakes."""
        try:
            detail = self._apply(command)
        except ValueError as exc:
            self.reject(command, str(exc))
            return
        self.bus.publish(self.session, CommandAck(
            command_id=command.id, command=command.type, user=command.user, detail=detail,
            args=command.args, sent_ts=command.ts, received_ts=command.received_ts))
        if command.type in STEERING_COMMANDS:
            self._publish_steering()

    def _apply(self, command: Command) -> str:
        engine = self.engine
        assert engine is not None
        kind, args = command.type, command.args
        if kind in STEERING_COMMANDS:
            trial = engine.steering.copy()
            apply_steering(command, trial)
            apply_steering(command, engine.steering)
            return f"{engine.steering.space_size():,} architectures remain" + weights_note(
                kind, self.config)
        if kind == "pause":
            self.paused = True
            self._set_state("paused", f"paused by {command.user}")
            return "paused after the current step"
        if kind == "resume":
            if engine.trainer.done and self.extra_left <= 0:
                self.extra_left = self.options.extra_generations
            self.paused = False
            self._set_state("running", f"resumed by {command.user}")
            return "resumed"
        if kind == "stop":
            self.stopped = True
            return "stopping after a final checkpoint"
        if kind == "finetune" and self.tabular:
            raise ValueError("tabular mode has no supernet to fine-tune: resume to search more")
        if kind == "finetune":
            engine.extend_training(args["epochs"])
            self.extra_left = max(self.extra_left, 1)
            self.paused = False
            self._set_state("finetuning", f"fine-tuning the remaining space for {args['epochs']} epochs")
            return f"{args['epochs']} more epochs planned"
        if kind == "set_advisor":
            return self.advisor.set_auto_apply(args["auto_apply"])
        if kind == "rank_by":
            detail = self.trust.rank_by(engine, args["estimator"])
            self._publish_ranking()
            return detail
        if kind == "set_search_params":
            engine.search.set_params(**args)
            return ", ".join(f"{k}={v}" for k, v in args.items())
        if kind == "export":
            return self._export(args)
        if kind == "set_latency_budget":
            detail = engine.latency.set_budget(args["budget_ms"], engine.steering,
                                               args.get("device", HOST))
            self._publish_hardware()
            return detail
        if kind == "device_latencies":
            return self._device_latencies(args["device"], args["csv"])
        if kind == "edit_template":
            return self._edit_template(args["template"])
        if kind == "set_map_encoding":
            get_encoder(args["encoding"])  # an unknown name is refused with the known ones
            self.map_encoding = args["encoding"]
            self._remap("refit", f"re-mapping the space with the {args['encoding']} encoding; "
                                 "every point moves once")
            return f"map encoding {args['encoding']}"
        if kind == "start":
            raise ValueError("this session is already running; start a new session instead")
        raise ValueError(f"command {kind!r} is not supported by this worker")

    def _edit_template(self, template: dict[str, Any]) -> str:
        """Re-enter the search on an edited template; the old engine stays if the edit is bad."""
        engine = self.engine
        assert engine is not None
        if self.tabular:
            raise ValueError("a tabular session's space is fixed by its table; start a new session")
        if not self.paused:
            raise ValueError("pause the session before editing its template, then resume it")
        new, detail = engine.retemplated(template)
        if self.link is not None:
            self.link.retemplate(new, template)
        self.engine, self.config = new, new.config
        space = new.space
        self.bus.publish(self.session, Space(template=space.to_dict(),
                                             choice_points=[cp.to_dict() for cp in space],
                                             size=space.size(), task=self._task()))
        self._publish_steering()
        self._remap("refit", "template edited: mapping the new space; every point moves once")
        self.bus.publish(self.session, Fitness(matrix=new.fitness.to_dict()))
        self.bus.publish(self.session, Leaderboard(records=[
            r.to_dict() for r in new.leaderboard(self.options.leaderboard_size)]))
        self.checkpoint()
        self._set_state("paused", f"template edited: {detail}; resume to search it")
        return detail

    def _device_latencies(self, device: str, csv_text: str) -> str:
        """Rank the uploaded latencies of another device against this one; adapt if needed."""
        engine = self.engine
        assert engine is not None
        # bytes, never a str: a str naming a file would be read from the server's disk
        archs, latencies = load_latency_csv(csv_text.encode("utf-8"), engine.space)
        report = engine.latency.add_device(device, archs, list(latencies), engine.host_latency)
        self._publish_hardware()
        return report.describe()

    def _export(self, args: dict[str, Any]) -> str:
        """Write a new export version: supernet weights, or trained ``train_epochs`` stand-alone,
        its BatchNorm statistics recalibrated and its metrics measured from the written files."""
        engine = self.engine
        assert engine is not None
        arch = engine.space.from_string(args["arch"])
        base = (self.options.exports_dir or self.options.checkpoint_dir.parent / "exports")
        out = next_version(base / self.session / engine.space.arch_hash(arch))
        data = engine.data
        epochs = args.get("train_epochs", 0)
        if epochs and self.tabular:
            raise ValueError("tabular mode has no training data: export without train_epochs")
        locking = engine.archlock  # ArchLock: the source and target accuracies go along
        extra = {} if locking is None else {"archlock": locking.export_entry(engine.archive,
                                                                           args["arch"])}
        if isinstance(data, Dataset):
            net = engine.supernet and inherited_net(engine.supernet, arch)  # few-shot: its child
            files, metrics = export_model(out, engine.space, arch, data, supernet=net,
                                          train_epochs=epochs, device=str(engine.device),
                                          extra=extra)
            metric = data.task.metric
            detail = f"test {metric} {metrics[f'test_{metric}']:.4f}"
        else:  # a table has no images to calibrate or measure on: fresh weights, no metrics
            files = write_standalone(out, engine.space, arch, data.in_channels,
                                     data.num_classes, data.image_size, extra=extra)
            metrics, detail = {}, "fresh weights (a table has no images to measure on)"
        metrics |= extra
        self.bus.publish(self.session, Exported(
            arch=args["arch"], files={k: str(v) for k, v in files.items()}, metrics=metrics,
            folder=str(out), version=int(out.name[1:])))
        return f"exported to {out}: {detail}"


def run_export_job(bus: EventBus, request: dict[str, Any], options: WorkerOptions) -> None:
    """Carry out the export command of a stopped (or failed) session from its checkpoint.

    The hub sends ``{"kind": "export", "session", "owner", "config", "command", "state",
    "message"}`` once the session's worker has exited; the job opens the engine from
    ``<checkpoint_dir>/<session>.pt``, answers with ``exported`` + ``command_ack`` or
    ``command_rejected``, and leaves the session in the state it ended in.
    """
    session = request["session"]
    command = parse_command(request["command"])
    try:
        config = EngineConfig.from_dict(request.get("config") or {})
    except (ValueError, TypeError):
        config = EngineConfig()
    worker = SessionWorker(bus, session, config, options, owner=request.get("owner", "local"))
    state = request.get("state", "stopped")
    try:
        if not worker.checkpoint_path.exists():
            worker.reject(command, f"session {session} {state} before its first checkpoint: "
                                   "there are no weights to export")
            return
        try:
            worker.engine = open_engine(config, None, worker.checkpoint_path,
                                        data_roots=options.data_roots)
            worker.config = worker.engine.config
        except Exception as exc:  # noqa: BLE001 - whatever it is, the analyst gets the reason
            worker.reject(command, f"cannot open the checkpoint of session {session}: {exc}")
            return
        try:
            worker.handle(command)
        except Exception as exc:  # noqa: BLE001 - e.g. a full disk: say so, never go silent
            worker.reject(command, f"export failed: {exc}")
    finally:
        _restore_final_state(bus, session, request)


def _restore_final_state(bus: EventBus, session: str, request: dict[str, Any]) -> None:
    """A job that waited for a worker may have been labelled "queued" by the queue monitor;
    the session is still as it ended."""
    for event in reversed(bus.history(session)):
        if event.type == "session_state":
            if event.data.get("state") == "queued":
                bus.publish(session, SessionState(
                    state=request.get("state", "stopped"), message=request.get("message", ""),
                    owner=request.get("owner", ""), config=request.get("config") or {}))
            return
