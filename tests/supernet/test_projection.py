from __future__ import annotations

import threading

import numpy as np
import pytest

from supernet.projection import MapProjector, pca_2d
from supernet.space import SearchSpace


def _points(space: SearchSpace, n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    archs = [space.from_index(int(i))
             for i in np.random.default_rng(seed).choice(space.size(), n, replace=False)]
    return [space.to_string(a) for a in archs], space.one_hot_many(archs)


def test_pca_of_planar_data_preserves_distances() -> None:
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(30, 2)) * [3.0, 1.0]
    basis, _ = np.linalg.qr(rng.normal(size=(10, 2)))
    coords = pca_2d(plane @ basis.T + 5.0)
    dist = np.linalg.norm(plane[:, None] - plane[None], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(coords[:, None] - coords[None], axis=-1), dist,
                               atol=1e-8)
    assert coords[:, 0].var() > coords[:, 1].var()  # first axis = largest variance


def test_pca_handles_degenerate_inputs() -> None:
    assert pca_2d(np.ones((1, 5))).shape == (1, 2)
    assert not np.any(pca_2d(np.ones((4, 5))))


def test_add_places_points_at_once_with_pca(tiny_space: SearchSpace) -> None:
    proj = MapProjector(seed=0, pca_until=50)
    keys, vectors = _points(tiny_space, 20)
    coords = proj.add(keys[:10], vectors[:10])
    assert set(coords) == set(keys[:10]) and proj.method == "pca"
    coords = proj.add(keys[10:], vectors[10:])
    assert set(coords) == set(keys) and len(proj) == 20
    assert all(np.isfinite(xy).all() and len(xy) == 2 for xy in coords.values())
    np.testing.assert_allclose(np.array([coords[k] for k in keys]), pca_2d(vectors), atol=1e-5)
    proj.add(keys[:3], vectors[:3])  # known keys are not added twice
    assert len(proj) == 20 and proj.coords() == coords


def test_needs_refit_once_enough_points(tiny_space: SearchSpace) -> None:
    proj = MapProjector(pca_until=30)
    keys, vectors = _points(tiny_space, 30)
    proj.add(keys[:29], vectors[:29])
    assert not proj.needs_refit()
    proj.add(keys[29:], vectors[29:])
    assert proj.needs_refit()
    assert MapProjector().refit() == {}  # nothing to fit yet


def test_concurrent_adds_lose_no_point(tiny_space: SearchSpace) -> None:
    proj = MapProjector(pca_until=1000)
    keys, vectors = _points(tiny_space, 80)
    threads = [threading.Thread(target=proj.add, args=(keys[i::4], vectors[i::4]))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(proj) == 80 and set(proj.coords()) == set(keys)


@pytest.mark.slow
def test_umap_refit_in_background_then_transform(tiny_space: SearchSpace) -> None:
    proj = MapProjector(seed=0, pca_until=50)
    keys, vectors = _points(tiny_space, 180)
    proj.add(keys[:150], vectors[:150])
    assert proj.needs_refit()
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(proj.refit()))
    worker.start()
    late = proj.add(keys[150:160], vectors[150:160])  # while fitting: still placed (PCA)
    worker.join()
    assert set(late) >= set(keys[150:160])
    assert proj.method == "umap" and set(result) == set(keys[:160])
    assert all(np.isfinite(xy).all() for xy in result.values())
    assert not proj.needs_refit()
    new = proj.add(keys[160:], vectors[160:])
    assert set(new) == set(keys[160:])  # only new points move after a fit
    assert set(proj.coords()) == set(keys)
    # a copy of a fitted point lands nearer to it than to three in four of the other points
    # (a random placement manages one in two; UMAP's transform optimises the new point only
    # approximately, and in the tiny space many points differ from it in a single op)
    twin = np.array(proj.add(["copy"], vectors[:1])["copy"])
    fitted = np.array([result[k] for k in keys[:160]])
    distances = np.linalg.norm(fitted - twin, axis=1)
    assert (distances[1:] > distances[0]).mean() >= 0.75
