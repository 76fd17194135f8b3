from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supernet.encoders import fitted_encoder
from supernet.projection import FixedMap, build_space_map, open_fixed_map, pca_2d, project
from supernet.space import SearchSpace


def test_pca_of_planar_data_preserves_distances() -> None:
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(30, 2)) * [3.0, 1.0]
    basis, _ = np.linalg.qr(rng.normal(size=(10, 2)))
    coords = pca_2d(plane @ basis.T + 5.0)
    dist = np.linalg.norm(plane[:, None] - plane[None], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(coords[:, None] - coords[None], axis=-1), dist,
                               atol=1e-8)
    assert coords[:, 0].var() > coords[:, 1].var()  # first axis = largest variance
    assert pca_2d(np.ones((1, 5))).shape == (1, 2) and not np.any(pca_2d(np.ones((4, 5))))


def test_project_scales_and_shares_points_of_duplicates() -> None:
    vectors = np.repeat(np.random.default_rng(0).normal(size=(20, 4)), 2, axis=0)
    xy = project(vectors, "pca")
    assert xy.min() == -1.0 and xy.max() == 1.0
    np.testing.assert_array_equal(xy[0::2], xy[1::2])
    with pytest.raises(ValueError, match="unknown map method 'tsne'"):
        project(vectors, "tsne")


def _strings(space: SearchSpace, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return list(dict.fromkeys(space.to_string(space.random_arch(rng)) for _ in range(n)))


def test_whole_space_map_never_moves_a_placed_point(tiny_space: SearchSpace, tmp_path: Path) -> None:
    fixed = open_fixed_map(tiny_space, "onehot", 0, tmp_path, method="pca")
    assert fixed.map.complete and len(fixed.map.indices) == tiny_space.size()
    shown = _strings(tiny_space, 200, 0)
    before = fixed.place(shown)
    fixed.place(_strings(tiny_space, 500, 1))  # 500 more arrive
    assert fixed.place(shown) == before
    rebuilt = open_fixed_map(tiny_space, "onehot", 0, tmp_path, method="pca")  # from the cache
    assert rebuilt.place(shown) == before
    assert len(list(tmp_path.glob("map-onehot-pca*.npz"))) == 1


def test_sampled_map_places_other_archs_by_their_neighbours(tiny_space: SearchSpace) -> None:
    encoder = fitted_encoder("onehot", tiny_space)
    space_map = build_space_map(tiny_space, "onehot", 0, None, method="pca", sample=3000,
                                encoder=encoder)
    assert not space_map.complete and len(space_map.indices) == 3000
    fixed = FixedMap(tiny_space, space_map, encoder)
    mapped = tiny_space.to_string(tiny_space.from_index(int(space_map.indices[5])))
    assert fixed.place([mapped])[mapped] == tuple(space_map.coords[5])  # looked up exactly
    outside = [s for s in _strings(tiny_space, 300, 2)
               if tiny_space.index(tiny_space.from_string(s)) not in set(space_map.indices)][:50]
    first = fixed.place(outside)
    again = FixedMap(tiny_space, space_map, encoder).place(outside)
    assert first == again  # deterministic without refitting
    assert all(-1.0 <= v <= 1.0 for xy in first.values() for v in xy)


def test_density_counts_the_space_and_greys_the_pruned(micro_space: SearchSpace) -> None:
    fixed = open_fixed_map(micro_space, "onehot", 0, None, method="pca")
    grid = fixed.density(bins=8)
    assert np.sum(grid["allowed"]) == 27 and np.sum(grid["excluded"]) == 0
    allowed = [cp.candidates for cp in micro_space]
    allowed[0] = ("skip_connect",)  # locked: two thirds of the space excluded
    grid = fixed.density(bins=8, allowed=allowed)
    assert np.sum(grid["allowed"]) == 9 and np.sum(grid["excluded"]) == 18
    assert np.array(grid["allowed"]).shape == (8, 8)
