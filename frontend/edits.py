"""Steering edits proposed by clicks on the fitness heatmap and the block view.

A click proposes one command (prune / restore, lock / unlock) with a preview line saying
what it would leave of the space; the analyst confirms it (``callbacks.register_confirm``).
Pure functions of the session view's steering and space dicts, so they are tested alone.
"""

from __future__ import annotations

from typing import Any

from navigator.commands import Command, apply_steering
from supernet.advisor import exclusion
from supernet.evidence import best_estimate
from supernet.space import SearchSpace
from supernet.steering import SteeringState


def edit_args(kind: str, cp: str, op: str) -> dict[str, str]:
    """The arguments of steering command ``kind`` on block (cp, op): unlock names no op."""
    return {"choice_point": cp} | ({} if kind == "unlock_edge" else {"op": op})


def preview_edit(steering: dict[str, Any], space: dict[str, Any], kind: str, cp: str,
                 op: str) -> tuple[str, int]:
    """Apply an edit to a copy of the steering state: (error or '', resulting space size).

    The worker's own rule (``apply_steering``) decides, so a preview can never promise an
    edit the worker would refuse."""
    state = SteeringState.from_dict(steering, SearchSpace.from_dict(space["template"]))
    try:
        apply_steering(Command(type=kind, session="preview", args=edit_args(kind, cp, op)), state)
    except ValueError as exc:
        return str(exc), state.space_size()
    return "", state.space_size()


def safety(steering: dict[str, Any], space: dict[str, Any], kind: str, args: dict[str, Any],
           records: list[dict[str, Any]], evidence: dict[str, Any] | None = None) -> str:
    """What an edit would cost, said before it is confirmed: how many of the current top 10
    and whether the best so far it excludes, the best evaluated inside vs outside what
    remains, and the model's best reachable estimate inside vs outside (``evidence``)."""
    sp = SearchSpace.from_dict(space["template"])
    before = SteeringState.from_dict(steering, sp)
    after = before.copy()
    try:
        apply_steering(Command(type=kind, session="preview", args=args), after)
    except ValueError as exc:
        return f"not possible: {exc}"
    ranked = sorted(((sp.from_string(r["arch"]), r["accuracy"]) for r in records
                     if r.get("accuracy") is not None), key=lambda item: item[1], reverse=True)
    cut = exclusion(after, ranked)
    parts = [f"excludes {cut.excluded_top} of the top {cut.top}"
             + (" INCLUDING THE BEST SO FAR" if cut.best_excluded else "")]
    n_in = sum(after.contains(a) for a, _ in ranked)
    parts.append(f"best evaluated inside {_acc(cut.best_inside)} (n={n_in}) vs outside "
                 f"{_acc(cut.best_outside)} (n={len(ranked) - n_in})")
    inside, outside = best_estimate(evidence or {}, before, after)
    if inside is not None or outside is not None:
        parts.append(f"model's best reachable inside {_acc(inside)} vs outside {_acc(outside)} "
                     f"({(evidence or {}).get('refits', 0)} fits on "
                     f"n={(evidence or {}).get('count', 0)})")
    return " · ".join(parts)


def _acc(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def prune_outside(steering: dict[str, Any], space: dict[str, Any], archs: list[str]
                  ) -> list[tuple[str, str]]:
    """The (choice point, op) prunes that keep only ops used by ``archs``, skipping illegal ones."""
    sp = SearchSpace.from_dict(space["template"])
    state = SteeringState.from_dict(steering, sp)
    used: list[set[str]] = [set() for _ in sp.choice_points]
    for text in archs:
        for k, op in enumerate(sp.from_string(text)):
            used[k].add(op)
    edits = []
    for k, cp in enumerate(sp.choice_points):
        for op in state.allowed(cp.name):
            if op not in used[k]:
                try:
                    state.prune(cp.name, op)
                except ValueError:
                    continue
                edits.append((cp.name, op))
    return edits


def position_of(choice_points: list[str], cp: str) -> str:
    """Where a choice point sits in the template, for the status lines: 'choice point k of N'."""
    if cp not in choice_points:
        return "not in the template"
    return f"choice point {choice_points.index(cp) + 1} of {len(choice_points)}"


def block_edit(steering: dict[str, Any], space: dict[str, Any], mode: str, cp: str,
               op: str, records: list[dict[str, Any]] | None = None,
               evidence: dict[str, Any] | None = None) -> tuple[dict[str, Any] | None, str]:
    """The command a click on block (cp, op) proposes, and its preview line.

    In prune mode a pruned block is restored and any other
    pruned; in lock mode the locked op is unlocked and any other op locked. (None, reason)
    when the edit is illegal (the last op of a choice point, say). With the session's
    ``records`` (and ``evidence``) the line says what the edit costs (:func:`safety`).
    """
    if mode == "lock":
        kind = "unlock_edge" if steering.get("locked", {}).get(cp) == op else "lock_edge"
    else:
        kind = "restore_op" if op in steering.get("pruned", {}).get(cp, []) else "prune_op"
    where = position_of([c["name"] for c in space.get("choice_points", [])], cp)
    error, size = preview_edit(steering, space, kind, cp, op)
    if error:
        return None, f"{kind} {op} on {cp} ({where}): not possible: {error}"
    cost = f" · {safety(steering, space, kind, edit_args(kind, cp, op), records, evidence)}" \
        if records else ""
    return ({"type": kind, "args": edit_args(kind, cp, op)},
            f"{kind} {op} on {cp} ({where}) → {size:,} architectures remain{cost}. Confirm?")
