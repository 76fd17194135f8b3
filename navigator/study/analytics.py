"""A study's numbers as pure functions of a session's recorded events, so they can be checked
on hand-made event lists and recomputed from any recording later.

Times: ``t_since_start`` is measured from the session's first ``running`` state (the time a
session waits in the queue for a worker is not the participant's), or from its first event
when it never ran.
"""

from __future__ import annotations

import math
from typing import Any

from navigator.commands import STEERING_COMMANDS
from navigator.events import Event
from navigator.study.model import TIME_LIMIT_MESSAGE, TIMER_USER

BEST_AT_S = (60, 300, 600)  # outcome columns best_at_60s, best_at_300s, best_at_600s
TOP_FRACTION = 0.01


def session_start(events: list[Event]) -> float | None:
    """t = 0 of a session: its first ``running`` state, else its first event (None: no events)."""
    for e in events:
        if e.type == "session_state" and e.data.get("state") == "running":
            return e.ts
    return events[0].ts if events else None


def first_candidates(events: list[Event]) -> list[tuple[float, dict[str, Any]]]:
    """(ts, record) of each distinct architecture when it was first evaluated, in order."""
    seen: set[str] = set()
    out = []
    for e in events:
        if e.type == "candidates":
            for r in e.data.get("records", []):
                if r.get("arch") not in seen:
                    seen.add(r.get("arch"))
                    out.append((e.ts, r))
    return out


def action_rows(events: list[Event]) -> list[dict[str, Any]]:
    """One row per action: commands (as acked or rejected) and UI-only actions, in order."""
    t0 = session_start(events) or 0.0
    rows = []
    for e in events:
        d = e.data
        if e.type in ("command_ack", "command_rejected"):
            row = {"source": "command", "kind": d["command"], "user": d.get("user", ""),
                   "outcome": "ack" if e.type == "command_ack" else "rejected",
                   "detail": d.get("args", {}), "reason": d.get("reason", ""),
                   "sent_ts": d.get("sent_ts") or e.ts}
        elif e.type == "ui_action":
            row = {"source": "ui", "kind": d["kind"], "user": d.get("user", ""), "outcome": "ui",
                   "detail": d.get("detail", {}), "reason": "", "sent_ts": e.ts}
        else:
            continue
        rows.append({"seq": e.seq, "ts": e.ts, "t_since_start": round(e.ts - t0, 3)} | row)
    return rows


def best_over_time(events: list[Event]) -> list[dict[str, Any]]:
    """The best accuracy so far each time it improves: (t_since_start, best, n_candidates)."""
    t0 = session_start(events) or 0.0
    rows: list[dict[str, Any]] = []
    best = -math.inf
    for n, (ts, r) in enumerate(first_candidates(events), 1):
        acc = r.get("accuracy")
        if acc is not None and acc > best:
            best = acc
            rows.append({"t_since_start": round(ts - t0, 3), "best_accuracy": acc,
                         "n_candidates": n})
    return rows


def time_to_top(events: list[Event], fraction: float = TOP_FRACTION) -> float | None:
    """Seconds from the start to the first candidate in the top ``fraction`` of all the
    candidates this session evaluated (by accuracy; at least the single best one)."""
    cands = [(ts, r["accuracy"]) for ts, r in first_candidates(events)
             if r.get("accuracy") is not None]
    if not cands:
        return None
    k = max(1, math.ceil(fraction * len(cands)))
    threshold = sorted((a for _, a in cands), reverse=True)[k - 1]
    t0 = session_start(events) or 0.0
    return round(next(ts for ts, a in cands if a >= threshold) - t0, 3)


def time_to_table_top(events: list[Event], fraction: float = TOP_FRACTION) -> float | None:
    """Tabular mode: seconds to the first candidate in the top ``fraction`` of the whole
    benchmark table (``scores.table_percentile >= 100 (1 - fraction)``); None otherwise."""
    t0 = session_start(events) or 0.0
    for ts, r in first_candidates(events):
        pct = (r.get("scores") or {}).get("table_percentile")
        if pct is not None and pct >= 100.0 * (1 - fraction):
            return round(ts - t0, 3)
    return None


def session_outcomes(events: list[Event]) -> dict[str, Any]:
    """One session's outcome row (see README, "Study exports", for every column)."""
    t0 = session_start(events)
    duration = round(events[-1].ts - t0, 3) if events and t0 is not None else 0.0
    cands = first_candidates(events)
    accs = [r["accuracy"] for _, r in cands if r.get("accuracy") is not None]
    acked = [e.data for e in events if e.type == "command_ack"
             and e.data.get("user") != TIMER_USER]
    edits = [d["command"] for d in acked if d["command"] in STEERING_COMMANDS]
    row: dict[str, Any] = {
        "duration_s": duration, "n_candidates": len(cands),
        "best_accuracy": max(accs) if accs else None,
    }
    for limit in BEST_AT_S:
        inside = [r["accuracy"] for ts, r in cands
                  if r.get("accuracy") is not None and ts - (t0 or 0.0) <= limit]
        row[f"best_at_{limit}s"] = (max(inside) if inside else None) if duration >= limit else None
    row |= {
        "time_to_top1pct_s": time_to_top(events),
        "time_to_table_top1pct_s": time_to_table_top(events),
        "n_edits": len(edits),
        "n_prunes": sum(c in ("prune_op", "restore_op") for c in edits),
        "n_locks": sum(c in ("lock_edge", "unlock_edge") for c in edits),
        "n_weights": sum(c == "set_sampling_weights" for c in edits),
        "n_focus": sum(c == "focus" for c in edits),
        "n_commands": len(acked),
        "n_rejected": sum(e.type == "command_rejected" for e in events),
        "n_ui_actions": sum(e.type == "ui_action" for e in events),
        "hit_time_limit": any(e.type == "session_state" and
                              e.data.get("message", "").startswith(TIME_LIMIT_MESSAGE)
                              for e in events),
    }
    return row
