from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from supernet.encoders import fitted_encoder, space_key
from supernet.encoders.vgae import GraphVAEEncoder
from supernet.latent_search import latent_index, use_encoder
from supernet.records import CandidateRecord
from supernet.search import EvolutionarySearch, SearchConfig, strategy_names
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.tabular.engine import TabularEngine
from supernet.tabular.synthetic import synthetic_table
from tests.supernet.tabular.cases import config


def accuracy(arch: Arch) -> float:
    return sum(op == "nor_conv_3x3" for op in arch) / len(arch) + 0.01 * (arch[-1] == "skip_connect")


def tell(space: SearchSpace, search: EvolutionarySearch, proposals: list[tuple[Arch, str | None]]) -> None:
    search.tell([CandidateRecord(arch=space.to_string(a), index=space.index(a), accuracy=accuracy(a),
                                 loss=0.0, params=0, flops=0, parent=p) for a, p in proposals])


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> GraphVAEEncoder:
    """A quick fit (300 steps on 3,000 cells) of the NAS-Bench-201 space."""
    space = SearchSpace.from_preset("nb201")
    fitted = fitted_encoder("learned", space, 0, tmp_path_factory.mktemp("enc"), steps=300, sample=3000)
    assert isinstance(fitted, GraphVAEEncoder)
    return fitted


def latent_search(encoder: GraphVAEEncoder, steering: SteeringState, seed: int = 0,
                  population: int = 20) -> EvolutionarySearch:
    search = EvolutionarySearch(encoder.space, steering,
                                SearchConfig(strategy="latent", population=population, seed=seed))
    use_encoder(search, encoder)
    return search


def test_latent_is_a_registered_strategy() -> None:
    assert "latent" in strategy_names()
    assert SearchConfig(strategy="latent").strategy == "latent"


def test_children_are_allowed_and_never_evaluated_before(encoder: GraphVAEEncoder) -> None:
    space = encoder.space
    steering = SteeringState(space)
    steering.prune("1<-0", "nor_conv_1x1")
    steering.lock("3<-2", "nor_conv_3x3")
    search = latent_search(encoder, steering)
    seen: set[Arch] = set()
    bred = 0
    for generation in range(6):
        if generation == 3:  # a steering change mid-search applies to the next generation
            steering.prune("2<-0", "avg_pool_3x3")
        proposals = search.propose()
        assert len(proposals) == 20
        for arch, parent in proposals:
            assert steering.contains(arch), arch
            assert arch not in seen and arch not in search.archive
            seen.add(arch)
            bred += parent is not None
        tell(space, search, proposals)
    assert bred >= 80  # after the first generation nearly every child has a parent


def test_children_lie_closer_to_their_parents_than_random_allowed_cells(
        encoder: GraphVAEEncoder) -> None:
    space = encoder.space
    steering = SteeringState(space)
    steering.prune("2<-1", "none")
    search = latent_search(encoder, steering, seed=3)
    tell(space, search, search.propose())
    tell(space, search, search.propose())
    pairs = [(a, space.from_string(p)) for a, p in search.propose() if p is not None]
    assert len(pairs) >= 15
    index = latent_index(search)
    child = index.embed([a for a, _ in pairs])
    parent = index.embed([p for _, p in pairs])
    rng = np.random.default_rng(0)
    random = index.embed([steering.sample(rng) for _ in pairs])
    near = np.median(np.linalg.norm(child - parent, axis=1))
    far = np.median(np.linalg.norm(random - parent, axis=1))
    assert near < 0.5 * far, (near, far)


def test_a_tabular_run_with_the_latent_strategy_completes(encoder: GraphVAEEncoder) -> None:
    space = encoder.space
    table = synthetic_table(space, seed=0, datasets=("cifar10",))
    latent = SearchConfig(strategy="latent", population=10, seed=1)
    engine = TabularEngine(replace(config(seed=1), search=latent), table=table)
    use_encoder(engine.search, encoder)
    for _ in range(5):
        engine.search_generation()
    archs = [r.arch for r in engine.archive]
    assert len(archs) == len(set(archs)) == 50
    assert engine.leaderboard(1)[0].accuracy >= np.percentile(
        [table.lookup(a) for a in space.all_archs()], 90)


def test_the_strategy_fits_its_encoder_once_and_caches_it(
        tmp_path: Path, micro_space: SearchSpace, monkeypatch: pytest.MonkeyPatch) -> None:
    def search() -> EvolutionarySearch:
        s = EvolutionarySearch(micro_space, SteeringState(micro_space),
                               SearchConfig(strategy="latent", population=4, seed=2))
        s.encoder_cache = tmp_path
        return s

    first = search()
    tell(micro_space, first, first.propose())
    children = first.propose()
    assert all(p is not None for _, p in children)
    assert [p.name for p in tmp_path.iterdir()] == [f"learned-{space_key(micro_space)}-s2.npz"]
    monkeypatch.setattr(GraphVAEEncoder, "fit", lambda self: pytest.fail("fitted again"))
    again = search()
    tell(micro_space, again, again.propose())
    assert again.propose() == children  # loaded from the cache: the same seeded search


def test_a_space_too_large_to_embed_whole_is_searched_by_sampling(tmp_path: Path) -> None:
    space = SearchSpace.from_preset("navigator-chain")  # 839,808 chains
    encoder = fitted_encoder("learned", space, 0, tmp_path, steps=40, sample=500)
    steering = SteeringState(space)
    steering.lock(space.choice_points[0].name, space.choice_points[0].candidates[1])
    search = EvolutionarySearch(space, steering, SearchConfig(strategy="latent", population=8))
    use_encoder(search, encoder)
    assert latent_index(search).codes is None  # sampled, not enumerated
    seen: set[Arch] = set()
    for _ in range(3):
        proposals = search.propose()
        assert len(proposals) == 8
        for arch, _ in proposals:
            assert steering.contains(arch) and arch not in seen
            seen.add(arch)
        tell(space, search, proposals)
    assert all(p is not None for _, p in proposals)
