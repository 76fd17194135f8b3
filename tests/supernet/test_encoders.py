from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supernet.encoders import encoder_names, fitted_encoder, get_encoder, space_key
from supernet.encoders.graph import arch_graph, canonical, path_encoding
from supernet.encoders.vgae import GraphVAEEncoder
from supernet.space import SearchSpace

A = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|none~2|"  # 0 -> 1 -> 3
B = "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"  # 0 -> 2 -> 3, the same graph
DEAD = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|none~2|"  # 2 never reaches 3
OTHER = "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"


def test_registry_names_the_families() -> None:
    assert {"learned", "path", "onehot"} <= set(encoder_names())
    with pytest.raises(ValueError, match="unknown encoding 'nope'.*learned"):
        get_encoder("nope")


def test_canonical_sets_dead_edges_to_none(tiny_space: SearchSpace) -> None:
    dead = tiny_space.from_string(DEAD)
    assert canonical(tiny_space, dead) == tiny_space.from_string(A)
    live = tiny_space.from_string(OTHER)
    assert canonical(tiny_space, live) == live
    cut = tiny_space.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert set(canonical(tiny_space, cut)) == {"none"}  # input never reaches output


def test_graph_view_follows_the_data(tiny_space: SearchSpace) -> None:
    adj, labels = arch_graph(tiny_space, tiny_space.from_string(A))
    # nodes: input, one per edge (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2), output
    assert adj.shape == (8, 8) and labels.shape == (8,)
    assert {tuple(e) for e in np.argwhere(adj)} == {(0, 1), (1, 5), (5, 7)}


def test_path_encoding_counts_paths_without_none(nb201_space: SearchSpace) -> None:
    codes = path_encoding(nb201_space, [nb201_space.from_string(s) for s in (A, B, DEAD, OTHER)])
    assert codes.shape == (4, 4 + 16 + 16 + 64)
    assert codes[0].sum() == 1 and codes[1].sum() == 1 and np.array_equal(codes[0], codes[2])
    assert not np.array_equal(codes[0], codes[1])  # path encoding tells the routes apart
    assert codes[3].sum() == 3  # 0->3, 0->2->3 and 0->1->2->3 run; 0->1->3 holds a none


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> GraphVAEEncoder:
    """Trained on a seeded 3,000-cell sample of the 15,625 cells (the rest is held out)."""
    space = SearchSpace.from_preset("tiny")
    encoder = fitted_encoder("learned", space, 0, tmp_path_factory.mktemp("enc"),
                             steps=300, sample=3000)
    assert isinstance(encoder, GraphVAEEncoder)
    return encoder


def test_learned_reconstructs_held_out_cells(learned: GraphVAEEncoder) -> None:
    space = learned.space
    seen = set(learned.training_archs())
    rng = np.random.default_rng(7)
    held = [a for a in (space.random_arch(rng) for _ in range(1500))
            if canonical(space, a) not in seen][:300]
    assert len(held) == 300
    scores = learned.reconstruction(held)
    # floors: ops 0.95 (a constant guess scores ~0.4), adjacency 0.97 (all-zero ~0.88)
    assert scores["ops"] >= 0.95 and scores["adjacency"] >= 0.97, scores


def test_isomorphic_and_dead_edge_cells_embed_together(learned: GraphVAEEncoder) -> None:
    space = learned.space
    a, b, dead, other = learned.encode([space.from_string(s) for s in (A, B, DEAD, OTHER)])
    np.testing.assert_allclose(a, b, atol=1e-5)  # the same graph on nodes 1 or 2
    np.testing.assert_allclose(a, dead, atol=1e-5)  # one network
    assert np.linalg.norm(a - other) > 100 * max(np.linalg.norm(a - b), 1e-6)


def test_learned_is_cached_and_deterministic(tmp_path: Path, micro_space: SearchSpace,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    archs = list(micro_space.all_archs())
    first = fitted_encoder("learned", micro_space, 3, tmp_path / "a", steps=60).encode(archs)
    again = fitted_encoder("learned", micro_space, 3, tmp_path / "b", steps=60).encode(archs)
    other = fitted_encoder("learned", micro_space, 4, tmp_path / "a", steps=60).encode(archs)
    np.testing.assert_array_equal(first, again)  # a seed fixes the fit
    assert not np.allclose(first, other)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == [f"learned-{space_key(micro_space)}-s{s}-steps60.npz" for s in (3, 4)]
    monkeypatch.setattr(GraphVAEEncoder, "fit", lambda self: pytest.fail("fitted again"))
    cached = fitted_encoder("learned", micro_space, 3, tmp_path / "a", steps=60).encode(archs)
    np.testing.assert_array_equal(first, cached)


def test_chain_templates_embed(tmp_path: Path) -> None:
    space = SearchSpace.from_preset("chain-tiny")
    encoder = fitted_encoder("learned", space, 0, tmp_path, steps=150)
    rng = np.random.default_rng(0)
    archs = list(dict.fromkeys(space.random_arch(rng) for _ in range(40)))
    codes = encoder.encode(archs)
    assert codes.shape == (len(archs), 16) and np.isfinite(codes).all()
    assert len(np.unique(codes.round(5), axis=0)) == len(archs)  # distinct chains, distinct codes
    assert isinstance(encoder, GraphVAEEncoder)
    assert encoder.reconstruction(archs)["ops"] >= 0.9
    for name in ("path", "onehot"):
        simple = fitted_encoder(name, space).encode(archs)
        np.testing.assert_array_equal(simple, space.one_hot_many(archs))  # a chain is one path


def test_the_fit_takes_exactly_its_step_budget(micro_space: SearchSpace,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """``steps`` bounds the fit's cost (NAS-Bench-201: 1,500 steps, about 12 s on 2 threads,
    DEVELOPERS.md); counted in optimiser steps, not wall-clock time, so load cannot flake it."""
    import torch

    taken = []
    step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: taken.append(1) or step(self, *a, **k))
    for steps in (7, 23):
        taken.clear()
        fitted_encoder("learned", micro_space, 0, None, steps=steps)
        assert len(taken) == steps
    assert GraphVAEEncoder(micro_space).steps == 1500  # the default a session fits with
