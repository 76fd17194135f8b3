"""What a browser shows of one session, rebuilt from the session's events.

The web process keeps one :class:`SessionView` per watched session and feeds it every
event from the bus in seq order; the UI renders figures from snapshots of it, and a
replay folds recorded events into a fresh one. The view never talks to a worker: the
bus is its only source, which is why a late browser, a second tab and a replay all show
the same thing. It is runtime state (no web code), so the hub and the study service can
hold it without importing the UI.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from navigator.events import Event
from supernet.space import SearchSpace

MAP_FIELDS = ("arch", "accuracy", "loss", "params", "flops", "latency_ms", "generation", "parent")


@dataclass
class MapData:
    """Column arrays of every candidate placed on the map, in arrival order."""

    archs: list[str] = field(default_factory=list)
    x: list[float | None] = field(default_factory=list)
    y: list[float | None] = field(default_factory=list)
    values: dict[str, list[Any]] = field(default_factory=dict)
    version: int = 0  # bumps with every map_update (first coordinates, a refit, the background)
    status: str = ""  # the fixed map's: "building", "ready", "refit" (navigator.events.MapUpdate)
    method: str = ""
    encoding: str = ""
    message: str = ""
    background: dict[str, Any] | None = None  # density grid of the whole space
    # the last refit (template edit, other encoding): {encoding, previous, message, version,
    # placed}; ``version`` is the map version that began it, then the one that placed the points
    refit: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.archs)


class SessionView:
    """One session's state as the UI draws it, folded from its events under ``lock``."""

    def __init__(self, session: str, timeline_size: int = 200) -> None:
        self.session = session
        self.lock = threading.RLock()
        self.last_seq = 0
        self.seq_of: dict[str, int] = {}  # event type -> seq of the last such event folded in
        self.state = "created"
        self.message = ""
        self.owner = ""
        self.config: dict[str, Any] = {}
        self.space: dict[str, Any] | None = None
        self._search_space: SearchSpace | None = None  # built from ``space`` when first needed
        self.progress: list[dict[str, Any]] = []
        self.map = MapData()
        self._index: dict[str, int] = {}
        self.fitness: dict[str, dict[str, dict[str, Any]]] = {}
        self.evidence: dict[str, Any] = {}  # the last ``evidence`` event (model importance)
        self.advice: dict[str, Any] = {}  # the last ``advice`` event (the advisor's proposals)
        self.trust: dict[str, Any] = {}  # the last ``trust`` event (estimators vs anchors)
        self.baseline: dict[str, Any] = {}  # the last ``baseline`` event (best vs baseline)
        self.steering: dict[str, Any] = {"pruned": {}, "locked": {}, "weights": {}, "focus": []}
        self.leaderboard: list[dict[str, Any]] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.evaluations: dict[str, int] = {}  # how often each arch was evaluated (ties)
        self.timeline: deque[dict[str, Any]] = deque(maxlen=timeline_size)
        self.exports: list[dict[str, Any]] = []
        self.hardware: dict[str, Any] = {}
        self.running_since: float | None = None  # ts of the first "running": a study's clock
        self.study: dict[str, Any] = {}  # the session's StudyJoined, if it is in a study
        self.ui_state: dict[str, dict[str, Any]] = {}  # last detail of each ui_action kind
        self.unauthorized_commands = 0  # refused commands of users without the right to steer

    def apply(self, event: Event) -> None:
        """Fold one event in; events at or below ``last_seq`` are ignored (replays are safe)."""
        with self.lock:
            if event.seq and event.seq <= self.last_seq:
                return
            self.last_seq = max(self.last_seq, event.seq)
            self.seq_of[event.type] = event.seq
            handler = getattr(self, f"_on_{event.type}", None)
            if handler is not None:
                handler(event.data, event.ts)

    def _on_session_state(self, d: dict[str, Any], ts: float) -> None:
        self.state, self.message = d["state"], d.get("message", "")
        self.owner = d.get("owner") or self.owner
        self.config = d.get("config") or self.config
        if d["state"] == "running" and self.running_since is None:
            self.running_since = ts
        self.timeline.append({"ts": ts, "kind": "state", "text": f"{d['state']}: {self.message}"})

    @property
    def task(self) -> dict[str, Any]:
        """The session's task from its ``space`` event (metric, label, higher_is_better);
        empty before it, or for a session recorded before tasks existed (accuracy)."""
        return dict((self.space or {}).get("task") or {})

    @property
    def higher_is_better(self) -> bool:
        return bool(self.task.get("higher_is_better", True))

    def _on_space(self, d: dict[str, Any], ts: float) -> None:
        self.space, self._search_space = d, None

    def _on_train_progress(self, d: dict[str, Any], ts: float) -> None:
        self.progress.append(d | {"ts": ts})

    def _on_candidates(self, d: dict[str, Any], ts: float) -> None:
        m = self.map
        for r in d["records"]:
            self.records[r["arch"]] = r
            self.evaluations[r["arch"]] = self.evaluations.get(r["arch"], 0) + 1
            if r["arch"] in self._index:
                continue
            self._index[r["arch"]] = len(m.archs)
            m.archs.append(r["arch"])
            m.x.append(r.get("x"))
            m.y.append(r.get("y"))
            for key in MAP_FIELDS[1:]:
                m.values.setdefault(key, []).append(r.get(key))
            for key, value in (r.get("scores") or {}).items():
                column = m.values.setdefault(key, [None] * (len(m.archs) - 1))
                column.append(value)
            for column in m.values.values():
                column.extend([None] * (len(m.archs) - len(column)))

    def _on_map_update(self, d: dict[str, Any], ts: float) -> None:
        refit = self.map.refit
        if d.get("status") == "refit":  # the old map stays until the new one places the points
            self.map.refit = {"encoding": d.get("encoding") or self.map.encoding,
                              "previous": self.map.encoding, "message": d.get("message", ""),
                              "version": self.map.version + 1, "placed": False}
        elif d.get("status") == "ready" and refit is not None and not refit["placed"]:
            # the new map: every point moves once; what it does not place disappears
            self.map.x = [None] * len(self.map.archs)
            self.map.y = [None] * len(self.map.archs)
            self.map.background = None
            refit.update(placed=True, version=self.map.version + 1)
        for arch, (x, y) in d["coords"].items():
            i = self._index.get(arch)
            if i is not None:
                self.map.x[i], self.map.y[i] = x, y
        if d.get("background") is not None:
            self.map.background = d["background"]
        self.map.status = d.get("status") or self.map.status
        self.map.method = d.get("method") or self.map.method
        self.map.encoding = d.get("encoding") or self.map.encoding
        if d.get("message"):
            self.map.message = d["message"]
            self.timeline.append({"ts": ts, "kind": "state", "text": f"map: {d['message']}"})
        self.map.version += 1

    def _on_fitness(self, d: dict[str, Any], ts: float) -> None:
        self.fitness = d["matrix"]

    def _on_evidence(self, d: dict[str, Any], ts: float) -> None:
        self.evidence = d

    def _on_advice(self, d: dict[str, Any], ts: float) -> None:
        self.advice = d

    def _on_trust(self, d: dict[str, Any], ts: float) -> None:
        self.trust = d

    def _on_baseline(self, d: dict[str, Any], ts: float) -> None:
        self.baseline = d

    def _on_steering(self, d: dict[str, Any], ts: float) -> None:
        self.steering = d

    def _on_leaderboard(self, d: dict[str, Any], ts: float) -> None:
        self.leaderboard = d["records"]

    def _on_hardware(self, d: dict[str, Any], ts: float) -> None:
        self.hardware = d

    def _on_command_ack(self, d: dict[str, Any], ts: float) -> None:
        self.timeline.append({"ts": ts, "kind": "ack", "user": d["user"],
                              "text": f"{d['command']} {_args(d.get('args'))} accepted: {d.get('detail', '')}"})

    def _on_command_rejected(self, d: dict[str, Any], ts: float) -> None:
        if d.get("unauthorized"):  # anyone can name the session: not the owner's story
            self.unauthorized_commands += 1
            return
        self.timeline.append({"ts": ts, "kind": "rejected", "user": d["user"],
                              "text": f"{d['command']} {_args(d.get('args'))} rejected: {d['reason']}"})

    def _on_study(self, d: dict[str, Any], ts: float) -> None:
        self.study = d

    def _on_ui_action(self, d: dict[str, Any], ts: float) -> None:
        # A replay draws the map in the colour the participant had chosen at that time.
        self.ui_state[d["kind"]] = d.get("detail", {})

    def _on_error(self, d: dict[str, Any], ts: float) -> None:
        self.timeline.append({"ts": ts, "kind": "error", "text": d["message"]})

    def _on_exported(self, d: dict[str, Any], ts: float) -> None:
        self.exports.append(d)
        self.timeline.append({"ts": ts, "kind": "ack", "text": f"exported {d['arch']} to {d['files'].get('model', '')}"})

    def current_archs(self) -> list[str]:
        """The map's architectures that the current space still holds, in arrival order.

        After a template edit the map keeps showing what was explored, but whatever is
        counted, combined or sent back to the worker must skip candidates the edit removed
        (the engine drops them from its archive too).
        """
        with self.lock:
            if self.space is None:
                return list(self.map.archs)
            if self._search_space is None:
                self._search_space = SearchSpace.from_dict(self.space["template"])
            return [a for a in self.map.archs if self._search_space.accepts(a)]

    def current_records(self) -> list[dict[str, Any]]:
        """The evaluated candidates of :meth:`current_archs`."""
        with self.lock:
            return [self.records[a] for a in self.current_archs()]

    def changed_at(self, *types: str) -> int:
        """The seq of the newest event of any of ``types``: a cheap version of what a view draws."""
        with self.lock:
            return max((self.seq_of.get(t, 0) for t in types), default=0)

    def snapshot_map(self, start: int = 0) -> dict[str, Any]:
        with self.lock:
            m = self.map
            return {"archs": m.archs[start:], "x": m.x[start:], "y": m.y[start:],
                    "values": {k: v[start:] for k, v in m.values.items()}, "version": m.version,
                    "total": len(m), "status": m.status, "method": m.method,
                    "encoding": m.encoding, "message": m.message, "background": m.background,
                    "refit": dict(m.refit) if m.refit else None}


def _args(args: dict[str, Any] | None) -> str:
    if not args:
        return ""
    text = ", ".join(f"{k}={v}" for k, v in args.items() if k not in ("config", "template"))
    return f"({text[:120]})" if text else ""
