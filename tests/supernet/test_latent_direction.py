"""The latent strategy on a lower-is-better task (Darcy flow's relative L2 error): its parents,
and so the networks it breeds from, are the lowest errors, as every ranking's ``rank_value``."""

from __future__ import annotations

from supernet.configs import EngineConfig
from supernet.encoders import get_encoder
from supernet.engine import SearchEngine
from supernet.latent_search import use_encoder

DARCY = {"template": "tiny", "dataset": "darcy:48", "seed": 0,
         "train": {"epochs": 1, "batch_size": 16, "device": "cpu"},
         "search": {"population": 6, "parents": 2, "strategy": "latent"},
         "eval": {"bn_batches": 1, "bn_batch_size": 16, "val_limit": 16},
         "measure_latency": False}


def test_latent_children_descend_from_the_lowest_errors() -> None:
    engine = SearchEngine(EngineConfig.from_dict(DARCY))
    assert not engine.higher_is_better
    use_encoder(engine.search, get_encoder("onehot")(engine.space, 0))
    first = engine.search_generation()
    errors = sorted({r.arch: r.accuracy for r in first}.items(), key=lambda kv: kv[1])
    assert errors[0][1] < errors[-1][1]  # distinct errors, so the direction matters
    best = {arch for arch, _ in errors[:2]}
    assert {engine.space.to_string(a) for a in engine.search._parents()} == best
    second = engine.search_generation()
    parents = {r.parent for r in second if r.parent is not None}
    assert parents and parents <= best
    assert engine.leaderboard(1)[0].accuracy == min(r.accuracy for r in engine.archive)
