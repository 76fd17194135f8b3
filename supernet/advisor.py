"""The steering advisor: proposed prunes, locks, focus sets and restores, each with its evidence.

Pruning the op with the lowest *mean* accuracy kills the optimum (an op that is poor on
average can be the one the best cell needs), so the advisor never argues from means. It
argues from the *incumbent region*, the ``top_k`` best architectures evaluated inside the
current space:

- **prune** (choice point ``c``, op ``o``): no architecture of the top ``k`` uses ``o`` at
  ``c``, although ``n_o`` evaluated ones did. If ``o`` were as good as its rivals, each of
  those would land in the top ``k`` as often as any other, so the chance that none did is
  hypergeometric: ``C(n - n_o, k) / C(n, k)``. The confidence is one minus that chance.
- **lock** (``c`` to ``o``): (almost) all of the very best (``lock_k``, five) use ``o``,
  which is unlikely if ``o`` were only as frequent there as it is among all evaluated ones
  (hypergeometric tail). Under evolution the archive is full of relatives of the best
  cell, so agreement by descent is not mistaken for evidence.
- **sampling weights**: each op weighted by its estimated chance to reach the top ``k``
  (soft steering: it excludes nothing, so it starts after the first generation).
- **focus**: the top architectures and the unevaluated ones a ridge model of the one-hot
  code predicts best, so that evolution breeds around them.
- **restore** / **unlock**: when the allowed space holds fewer unevaluated architectures
  than one generation needs, the edit with the weakest evidence is undone, so a search
  never stalls on a space it has used up.

Every prune or lock is checked with :func:`exclusion` before it is proposed: it never
excludes the best architecture so far, and excludes at most ``max_excluded`` of the top ten.
Pure numpy and scipy (no torch): the worker runs it after each generation, the benchmark
``benchmarks.steering`` measures it, and the web process can explain it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy import stats

from supernet.evidence import predicted_best
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState

ADVICE_KINDS = ("prune_op", "lock_edge", "set_sampling_weights", "focus", "restore_op",
                "unlock_edge")
"""Every advice is one ordinary steering command of these types."""


@dataclass
class Advice:
    """One proposed steering command, why, and how sure the advisor is (0..1)."""

    id: str
    command: str
    args: dict[str, Any]
    confidence: float
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AdvisorConfig:
    """How much evidence the advisor asks for (defaults measured by ``benchmarks.steering``)."""

    top_k: int = 10
    warmup: int = 30  # evaluated architectures inside the space before a prune or lock
    soft_warmup: int = 20  # before sampling weights (they exclude nothing, so they come first)
    min_confidence: float = 0.95
    lock_agreement: float = 0.9
    lock_k: int = 10  # a lock is judged on the very best: the top ten must (almost) all agree
    lock_confidence: float = 0.99
    max_excluded: int = 1  # of the top ten, by any one edit
    focus_size: int = 5
    model_focus: int = 10  # unevaluated architectures a model predicts best, added to the focus
    model_pairs: bool = True  # the model sees choice-point pairs too
    weights: bool = True  # propose sampling weights (soft steering that never excludes)
    max_weight: float = 4.0  # relative weights stay in [1 / max_weight, max_weight]


@dataclass
class Exclusion:
    """What an edit would cut away of the best architectures evaluated so far."""

    excluded_top: int
    top: int
    best_excluded: bool
    best_inside: float | None
    best_outside: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def exclusion(steering: SteeringState, ranked: Sequence[tuple[Arch, float]],
              top: int = 10) -> Exclusion:
    """How many of the ``top`` best of ``ranked`` (best first) ``steering`` excludes, whether
    the best is among them, and the best accuracy evaluated inside and outside it."""
    contains = steering.membership()
    inside = [acc for arch, acc in ranked if contains(arch)]
    outside = [acc for arch, acc in ranked if not contains(arch)]
    head = ranked[:top]
    excluded = sum(not contains(arch) for arch, _ in head)
    return Exclusion(excluded_top=excluded, top=len(head),
                     best_excluded=bool(head) and not contains(head[0][0]),
                     best_inside=max(inside, default=None), best_outside=max(outside, default=None))


def advise(space: SearchSpace, steering: SteeringState, archive: Mapping[Arch, float],
           population: int, config: AdvisorConfig | None = None) -> list[Advice]:
    """The advice on ``steering`` given every evaluated architecture (``archive``), strongest
    first; at most one prune or lock per choice point, so advice never contradicts itself."""
    config = config or AdvisorConfig()
    ranked = sorted(archive.items(), key=lambda item: item[1], reverse=True)
    contains = steering.membership()
    inside = [(arch, acc) for arch, acc in ranked if contains(arch)]
    fresh = steering.space_size() - len(inside)
    if fresh < population:
        return _widen(steering, ranked, fresh, population)
    if len(inside) < min(config.warmup, config.soft_warmup):
        return []
    hard = len(inside) >= config.warmup
    k = min(config.top_k, len(inside) // 3)
    head = inside[:k]
    out: list[Advice] = []
    for j, cp in enumerate(space):
        allowed = steering.allowed(cp.name)
        if len(allowed) < 2:
            continue
        counts = {op: 0 for op in allowed}
        best = {op: float("-inf") for op in allowed}
        for arch, acc in inside:
            counts[arch[j]] += 1
            best[arch[j]] = max(best[arch[j]], acc)
        in_head = {op: sum(arch[j] == op for arch, _ in head) for op in allowed}
        lock_k = min(config.lock_k, k)
        in_lock = {op: sum(arch[j] == op for arch, _ in inside[:lock_k]) for op in allowed}
        advice = hard and (_lock(cp.name, j, allowed, counts, in_lock, len(inside), lock_k,
                                 steering, ranked, config)
                           or _prune(cp.name, allowed, counts, best, in_head, len(inside), k,
                                     head, steering, ranked, config)) or None
        if advice is None and config.weights:
            advice = _weights(cp.name, allowed, counts, in_head, len(inside), k, steering, config)
        if advice is not None:
            out.append(advice)
    out.sort(key=lambda a: a.confidence, reverse=True)
    if hard or config.model_focus:
        out += _focus(space, steering, archive, inside, config)
    return out


def _focus(space: SearchSpace, steering: SteeringState, archive: Mapping[Arch, float],
           inside: list[tuple[Arch, float]], config: AdvisorConfig) -> list[Advice]:
    """Breed around the best so far and the unevaluated architectures a model predicts best."""
    best = inside[:config.focus_size]
    guesses = predicted_best(space, steering, archive, config.model_focus,
                             pairs=config.model_pairs)
    focus = [space.to_string(arch) for arch, _ in best + guesses]
    if not focus or focus == [space.to_string(a) for a in steering.focus]:
        return []
    guess = f" and the {len(guesses)} unevaluated ones a ridge model of the one-hot code " \
        f"predicts best (up to {guesses[0][1]:.4f})" if guesses else ""
    return [_advice("focus", {"archs": focus}, 0.5,
                    f"breed around the {len(best)} best architectures so far (best "
                    f"{inside[0][1]:.4f}){guess}",
                    {"best": inside[0][1], "evaluated": len(inside),
                     "predicted": [p for _, p in guesses]})]


def _prune(cp: str, allowed: tuple[str, ...], counts: dict[str, int], best: dict[str, float],
           in_head: dict[str, int], n: int, k: int, head: list[tuple[Arch, float]],
           steering: SteeringState, ranked: Sequence[tuple[Arch, float]],
           config: AdvisorConfig) -> Advice | None:
    """The op of ``cp`` that most clearly never reaches the incumbent region, if any."""
    threshold = head[-1][1]
    scored = []
    for op in allowed:
        if in_head[op] or counts[op] == 0:
            continue
        # P(none of the op's n_o evaluations among the top k | the op is as good as any other)
        chance = float(stats.hypergeom.pmf(0, n, counts[op], k))
        scored.append((1.0 - chance, op))
    if not scored:
        return None
    confidence, op = max(scored)
    if confidence < config.min_confidence:
        return None
    trial = steering.copy()
    try:
        trial.prune(cp, op)
    except ValueError:
        return None
    cut = exclusion(trial, ranked)
    if cut.best_excluded or cut.excluded_top > config.max_excluded:
        return None
    return _advice("prune_op", {"choice_point": cp, "op": op}, confidence,
                   f"none of the top {k} uses {op} on {cp}, although {counts[op]} of {n} "
                   f"evaluated architectures did (best {best[op]:.4f} < top-{k} threshold "
                   f"{threshold:.4f})",
                   {"count": counts[op], "evaluated": n, "top_k": k, "best": best[op],
                    "threshold": threshold} | cut.to_dict())


def _lock(cp: str, j: int, allowed: tuple[str, ...], counts: dict[str, int],
          in_head: dict[str, int], n: int, k: int, steering: SteeringState,
          ranked: Sequence[tuple[Arch, float]], config: AdvisorConfig) -> Advice | None:
    """Lock ``cp`` when the top ``k`` agree on one op far more than its frequency explains."""
    op = max(allowed, key=lambda o: in_head[o])
    agree = in_head[op]
    if agree < config.lock_agreement * k:
        return None
    # P(at least `agree` of the top k use op | the top k drawn like any k evaluated ones)
    confidence = 1.0 - float(stats.hypergeom.sf(agree - 1, n, counts[op], k))
    if confidence < config.lock_confidence:
        return None
    trial = steering.copy()
    trial.lock(cp, op)
    cut = exclusion(trial, ranked)
    if cut.best_excluded or cut.excluded_top > config.max_excluded:
        return None
    share = counts[op] / n
    return _advice("lock_edge", {"choice_point": cp, "op": op}, confidence,
                   f"{agree} of the top {k} use {op} on {cp}, although only {share:.0%} of "
                   f"{n} evaluated architectures do",
                   {"agree": agree, "top_k": k, "count": counts[op], "evaluated": n}
                   | cut.to_dict())


def _weights(cp: str, allowed: tuple[str, ...], counts: dict[str, int], in_head: dict[str, int],
             n: int, k: int, steering: SteeringState, config: AdvisorConfig) -> Advice | None:
    """Sampling weights by each op's estimated chance to reach the top ``k``, relative to the
    base rate ``k / n``: ``(h + 1) / (n_o + n / k)`` (one prior success at the base rate, so
    an op with little evidence stays near weight 1). Proposed only when they differ from the
    current ones by more than half."""
    rate = k / n
    weights = {}
    for op in allowed:
        chance = (in_head[op] + 1) / (counts[op] + 1 / rate)
        weights[op] = round(min(config.max_weight, max(1 / config.max_weight, chance / rate)), 2)
    change = max(abs(math.log(weights[op] / max(steering.weight(cp, op), 1e-9))) for op in allowed)
    if change < math.log(1.5):
        return None
    top = max(allowed, key=lambda op: weights[op])
    return _advice("set_sampling_weights", {"choice_point": cp, "weights": weights},
                   min(0.9, 1.0 - 1.0 / (1 + n / 20)),
                   f"sample {cp} by how often each op reached the top {k}: {top} "
                   f"{in_head[top]} of {counts[top]} evaluated",
                   {"top_k": k, "evaluated": n,
                    "per_op": {op: {"in_top": in_head[op], "count": counts[op]} for op in allowed}})


def _widen(steering: SteeringState, ranked: Sequence[tuple[Arch, float]], fresh: int,
           population: int) -> list[Advice]:
    """The space has (almost) nothing left to evaluate: undo the edit that costs least to undo,
    the pruned op whose evaluated best is highest, or else the newest lock."""
    space = steering.space
    best: dict[tuple[str, str], float] = {}
    for arch, acc in ranked:
        for point, op in zip(space, arch):
            key = (point.name, op)
            if steering.is_pruned(point.name, op) and key not in best:
                best[key] = acc
    why = (f"only {fresh} allowed architectures are still unevaluated, fewer than one "
           f"generation ({population})")
    if any(steering.pruned.values()):
        pruned = [(cp, op) for cp, ops in steering.pruned.items() for op in sorted(ops)]
        name, op = max(pruned, key=lambda key: best.get(key, float("-inf")))
        shown = best.get((name, op))
        return [_advice("restore_op", {"choice_point": name, "op": op}, 1.0,
                        f"{why}: restore {op} on {name}"
                        + ("" if shown is None else f" (its best so far {shown:.4f})"),
                        {"fresh": fresh, "population": population, "best": shown})]
    if steering.locked:
        name = list(steering.locked)[-1]
        return [_advice("unlock_edge", {"choice_point": name}, 1.0, f"{why}: unlock {name}",
                        {"fresh": fresh, "population": population})]
    return []


def _advice(command: str, args: dict[str, Any], confidence: float, reason: str,
            evidence: dict[str, Any]) -> Advice:
    """An advice whose id names its command, so the same advice keeps its id over generations."""
    digest = hashlib.sha1(json.dumps([command, args], sort_keys=True).encode()).hexdigest()[:12]
    return Advice(id=f"{command}-{digest}", command=command, args=args,
                  confidence=round(confidence, 4), reason=reason, evidence=evidence)
