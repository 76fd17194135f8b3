from __future__ import annotations

import itertools

import numpy as np

from supernet.advisor import AdvisorConfig, advise, exclusion
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState


def test_exclusion_counts_the_top_ten_an_edit_cuts_away(nb201_space: SearchSpace) -> None:
    rng = np.random.default_rng(0)
    archs = [SteeringState(nb201_space).sample(rng) for _ in range(30)]
    ranked = [(arch, 1.0 - k / 100) for k, arch in enumerate(archs)]  # best first
    steering = SteeringState(nb201_space)
    steering.prune("3<-0", archs[0][nb201_space.names().index("3<-0")])
    cut = exclusion(steering, ranked)
    expected = sum(not steering.contains(a) for a in archs[:10])
    assert cut.excluded_top == expected >= 1 and cut.top == 10
    assert cut.best_excluded
    assert cut.best_inside == max(acc for a, acc in ranked if steering.contains(a))
    assert cut.best_outside == ranked[0][1]
    untouched = exclusion(SteeringState(nb201_space), ranked)
    assert untouched.excluded_top == 0 and not untouched.best_excluded
    assert untouched.best_outside is None


def _archive(space: SearchSpace, score, n: int, seed: int = 0) -> dict[Arch, float]:
    rng = np.random.default_rng(seed)
    steering = SteeringState(space)
    archive: dict[Arch, float] = {}
    while len(archive) < n:
        arch = steering.sample(rng)
        archive[arch] = score(arch) + 0.001 * rng.random()
    return archive


def test_a_bad_op_is_pruned_a_good_rare_one_is_not(nb201_space: SearchSpace) -> None:
    """'none' on 3<-0 ruins a cell; 'skip_connect' on 1<-0 has a poor mean but is what the
    best cells use: the advisor prunes the first and never the second."""
    j0, j1 = nb201_space.names().index("3<-0"), nb201_space.names().index("1<-0")

    def score(arch: Arch) -> float:
        if arch[j0] == "none":
            return 0.1
        return 0.5 + 0.3 * (arch[j1] == "skip_connect") * (arch.count("nor_conv_3x3") >= 2) \
            - 0.1 * (arch[j1] == "skip_connect")

    archive = _archive(nb201_space, score, 120)
    advice = advise(nb201_space, SteeringState(nb201_space), archive, population=20,
                    config=AdvisorConfig(weights=False))
    prunes = {(a.args["choice_point"], a.args["op"]) for a in advice if a.command == "prune_op"}
    assert ("3<-0", "none") in prunes
    assert not any(cp == "1<-0" and op == "skip_connect" for cp, op in prunes)
    for a in advice:
        if a.command in ("prune_op", "lock_edge"):
            assert not a.evidence["best_excluded"] and a.evidence["excluded_top"] <= 1
            assert 0.95 <= a.confidence <= 1.0 and a.reason


def test_no_advice_before_the_warmup(nb201_space: SearchSpace) -> None:
    archive = _archive(nb201_space, lambda a: 0.5, 10)
    assert advise(nb201_space, SteeringState(nb201_space), archive, population=20) == []


def test_an_exhausted_space_is_widened_by_the_weakest_edit(micro_space: SearchSpace) -> None:
    steering = SteeringState(micro_space)
    steering.prune("1<-0", "avg_pool_3x3")
    steering.prune("2<-0", "skip_connect")
    archive = {tuple(a): 0.5 for a in itertools.product(*(steering.allowed(cp.name)
                                                          for cp in micro_space))}
    archive[("avg_pool_3x3", "nor_conv_3x3", "skip_connect")] = 0.9  # evaluated before a prune
    advice = advise(micro_space, steering, archive, population=4)
    assert [(a.command, a.args) for a in advice] == [
        ("restore_op", {"choice_point": "1<-0", "op": "avg_pool_3x3"})]
    assert advice[0].evidence["fresh"] == 0


def test_advice_ids_are_stable_for_the_same_command(nb201_space: SearchSpace) -> None:
    archive = _archive(nb201_space, lambda a: 0.9 - 0.5 * (a[0] == "none"), 80, seed=2)
    first = advise(nb201_space, SteeringState(nb201_space), archive, 20)
    second = advise(nb201_space, SteeringState(nb201_space), archive, 20)
    assert [a.id for a in first] == [a.id for a in second] and first
