"""One line per session that people can tell apart: name, start time, dataset, space, state
and best accuracy. The session picker, the replay list and ``navigator sessions list`` all
word it with :func:`session_label`; :class:`SessionSummary` folds what it needs from a
session's events (a few fields, so the hub can keep one for every session cheaply)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from navigator.events import Event

BUDGET_USED_UP = "search budget used up"
"""How the worker words the pause at the end of a session's planned epochs (navigator/worker.py)."""


def space_label(config: dict[str, Any]) -> str:
    """The search space in a few words: a preset's name, or a custom template's kind and size."""
    template = config.get("template")
    if isinstance(template, str):
        return template
    if isinstance(template, dict):
        kind = template.get("kind", "cell")
        if kind == "chain":
            return f"custom chain ({len(template.get('layers') or [])} layers)"
        return f"custom cell ({template.get('n_nodes', '?')} nodes)"
    return "space ?"


def data_label(config: dict[str, Any]) -> str:
    if config.get("mode") == "tabular":
        return f"table {config.get('table_path') or 'synthetic'}"
    return str(config.get("dataset") or "digits")


def session_label(session: str, config: dict[str, Any], created_ts: float | None, state: str,
                  best: float | None, who: str = "") -> str:
    """``name (id) · started 03 Dec 13:02 · digits · tiny · running · best 0.912``; ``who``
    (a study's participant, say) follows the id; an empty ``session`` leaves the id out."""
    name = str(config.get("name") or "").strip()
    ident = f"{name} ({session})" if name and session else name or session or "(unnamed)"
    parts = [ident + who]
    if created_ts:
        parts.append("started " + time.strftime("%d %b %H:%M", time.localtime(created_ts)))
    parts += [data_label(config), space_label(config), state or "?"]
    parts.append(f"best {best:.3f}" if best is not None else "no result yet")
    return " · ".join(parts)


@dataclass
class SessionSummary:
    """What a session's label needs, folded from its events in seq order."""

    session: str
    last_seq: int = 0
    created_ts: float | None = None
    state: str = ""
    message: str = ""
    owner: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    best: float | None = None

    def apply(self, event: Event) -> None:
        if event.seq and event.seq <= self.last_seq:
            return
        self.last_seq = max(self.last_seq, event.seq)
        if self.created_ts is None:
            self.created_ts = event.ts
        if event.type == "session_state":
            d = event.data
            self.state, self.message = str(d.get("state", "")), str(d.get("message", ""))
            self.owner = d.get("owner") or self.owner
            self.config = d.get("config") or self.config
        elif event.type == "leaderboard":
            scores = [r.get("accuracy") for r in event.data.get("records") or []]
            found = [s for s in scores if isinstance(s, (int, float))]
            if found:
                self.best = max(found + ([self.best] if self.best is not None else []))

    @property
    def budget_paused(self) -> bool:
        """Paused because its planned search ended: it holds a worker slot doing nothing."""
        return self.state == "paused" and BUDGET_USED_UP in self.message

    def label(self) -> str:
        return session_label(self.session, self.config, self.created_ts, self.state, self.best)

    def to_dict(self) -> dict[str, Any]:
        return {"session": self.session, "label": self.label(), "state": self.state,
                "message": self.message, "owner": self.owner, "created_ts": self.created_ts,
                "best": self.best, "budget_paused": self.budget_paused}
