from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supernet.records import CandidateRecord
from supernet.search import EvolutionarySearch, SearchConfig
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState


def synthetic_accuracy(arch: Arch) -> float:
    return sum(op == "nor_conv_3x3" for op in arch) / len(arch)


def run(space: SearchSpace, search: EvolutionarySearch, generations: int) -> list[CandidateRecord]:
    records = []
    for _ in range(generations):
        batch = [CandidateRecord(arch=space.to_string(a), index=space.index(a),
                                 accuracy=synthetic_accuracy(a), loss=0.0, params=0, flops=0,
                                 parent=p)
                 for a, p in search.propose()]
        search.tell(batch)
        records += batch
    return records


def test_evolution_beats_random_on_equal_budget(nb201_space: SearchSpace) -> None:
    wins = 0
    for seed in range(5):
        best = {}
        for strategy in ("evolution", "random"):
            search = EvolutionarySearch(nb201_space, SteeringState(nb201_space),
                                        SearchConfig(strategy=strategy, population=10, seed=seed))
            best[strategy] = max(r.accuracy for r in run(nb201_space, search, 8))
        wins += best["evolution"] > best["random"]
    assert wins >= 4


def test_no_duplicates_and_parents_are_reported(nb201_space: SearchSpace) -> None:
    search = EvolutionarySearch(nb201_space, SteeringState(nb201_space), SearchConfig(population=15))
    records = run(nb201_space, search, 6)
    assert len({r.arch for r in records}) == len(records)
    assert all(r.parent is None for r in records[:15])
    assert all(r.parent is not None for r in records[15:])


def test_focus_seeds_mutations_around_the_chosen_architectures(nb201_space: SearchSpace) -> None:
    steering = SteeringState(nb201_space)
    focus = nb201_space.from_index(777)
    steering.set_focus([focus])
    search = EvolutionarySearch(nb201_space, steering, SearchConfig(population=10, mutation_prob=0.2))
    proposals = search.propose()
    assert all(parent == nb201_space.to_string(focus) for _, parent in proposals)
    distances = [sum(a != b for a, b in zip(arch, focus)) for arch, _ in proposals]
    assert np.mean(distances) < 3  # random architectures differ in 4.8 of 6 edges on average


def test_set_params_is_validated(nb201_space: SearchSpace) -> None:
    search = EvolutionarySearch(nb201_space, SteeringState(nb201_space), SearchConfig())
    search.set_params(population=7)
    assert len(search.propose()) == 7
    with pytest.raises(ValueError, match="probability"):
        search.set_params(mutation_prob=2.0)
    with pytest.raises(ValueError, match="search.seed"):
        search.set_params(seed="lucky")
    with pytest.raises(ValueError, match="unknown search setting"):
        search.set_params(populaton=3)
    assert search.config.population == 7 and search.config.mutation_prob == 0.2


def test_strategies_come_from_a_registry(nb201_space: SearchSpace,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import supernet.search as search_module

    assert search_module.strategy_names() == ("evolution", "random", "latent")
    with pytest.raises(ValueError, match=r"one of \['evolution', 'random', 'latent'\], got 'annealing'"):
        SearchConfig(strategy="annealing")
    monkeypatch.setattr(search_module, "_STRATEGIES", dict(search_module._STRATEGIES))
    focus = nb201_space.from_index(42)

    @search_module.register_strategy("focus-only")
    def focus_only(search: EvolutionarySearch, pool: list[Arch]) -> list[Arch]:
        return pool

    steering = SteeringState(nb201_space)
    steering.set_focus([focus])
    search = EvolutionarySearch(nb201_space, steering, SearchConfig(strategy="focus-only",
                                                                    population=4))
    assert {parent for _, parent in search.propose()} == {nb201_space.to_string(focus)}
    with pytest.raises(ValueError, match="already registered"):
        search_module.register_strategy("random")(focus_only)


def test_state_round_trip(nb201_space: SearchSpace) -> None:
    a = EvolutionarySearch(nb201_space, SteeringState(nb201_space), SearchConfig(population=5))
    run(nb201_space, a, 2)
    b = EvolutionarySearch(nb201_space, SteeringState(nb201_space), SearchConfig(seed=9))
    b.load_state_dict(a.state_dict())
    assert a.propose() == b.propose()


@settings(max_examples=25, deadline=None)
@given(edits=st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 4)), max_size=12),
       seed=st.integers(0, 1000))
def test_proposals_always_respect_steering(edits: list, seed: int) -> None:
    space = SearchSpace.from_preset("nb201")
    steering = SteeringState(space)
    search = EvolutionarySearch(space, steering, SearchConfig(population=8, seed=seed))
    for generation, (lock, k, j) in enumerate(edits):
        cp = space.choice_points[k]
        try:
            steering.lock(cp.name, cp.candidates[j]) if lock else steering.prune(cp.name, cp.candidates[j])
        except ValueError:
            pass
        records = []
        for arch, _ in search.propose():
            assert steering.contains(arch), f"generation {generation} proposed {arch}"
            records.append(CandidateRecord(arch=space.to_string(arch), index=0,
                                           accuracy=synthetic_accuracy(arch), loss=0, params=0,
                                           flops=0))
        search.tell(records)


def test_a_shrunken_space_gets_distinct_unevaluated_proposals(nb201_space: SearchSpace) -> None:
    steering = SteeringState(nb201_space)
    search = EvolutionarySearch(nb201_space, steering, SearchConfig(population=20, seed=1))
    run(nb201_space, search, 3)  # 60 evaluated, almost all outside the space below
    for cp in nb201_space.choice_points[:4]:
        steering.lock(cp.name, "nor_conv_3x3")
    steering.prune(nb201_space.choice_points[4].name, "none")
    fresh = steering.space_size() - sum(steering.contains(a) for a in search.archive)
    proposals = [arch for arch, _ in search.propose()]
    assert len(proposals) == len(set(proposals)) == min(20, fresh)
    assert not any(arch in search.archive for arch in proposals)


def test_a_constraint_filters_every_proposal(nb201_space: SearchSpace) -> None:
    search = EvolutionarySearch(nb201_space, SteeringState(nb201_space), SearchConfig(population=12))
    search.constraint = lambda arch: sum(op == "nor_conv_3x3" for op in arch) <= 2
    records = run(nb201_space, search, 5)
    assert len(records) >= 40
    assert all(synthetic_accuracy(nb201_space.from_string(r.arch)) <= 2 / 6 for r in records)


def test_a_collapsed_space_is_never_evaluated_twice(micro_space: SearchSpace) -> None:
    """Once every allowed architecture is evaluated, a generation is empty, not a repeat."""
    steering = SteeringState(micro_space)
    steering.lock("1<-0", "skip_connect")
    steering.prune("2<-0", "avg_pool_3x3")  # 1 x 2 x 3 = 6 architectures
    search = EvolutionarySearch(micro_space, steering, SearchConfig(population=4, seed=3))
    seen: list[Arch] = []
    for _ in range(4):
        batch = [a for a, _ in search.propose()]
        seen += batch
        run_batch = [CandidateRecord(arch=micro_space.to_string(a), index=0, accuracy=0.5,
                                     loss=0, params=0, flops=0) for a in batch]
        search.tell(run_batch)
    assert len(seen) == len(set(seen)) == 6
    assert search.fresh() == 0
    assert search.propose() == []


def test_mutations_follow_the_sampling_weights(nb201_space: SearchSpace) -> None:
    """Weighted mutation: a 9:1:1:1:1 weight makes the favoured op most of the re-draws."""
    steering = SteeringState(nb201_space)
    steering.set_weights("3<-0", {"nor_conv_1x1": 9.0})
    search = EvolutionarySearch(nb201_space, steering, SearchConfig(seed=0))
    parent = nb201_space.from_string(nb201_space.to_string(steering.sample(search.rng)))
    j = nb201_space.names().index("3<-0")
    drawn = [search._mutate(parent, 1.0)[j] for _ in range(1300)]
    share = drawn.count("nor_conv_1x1") / len(drawn)
    assert abs(share - 9 / 13) < 0.05
