"""ArchLock-TU's predictor on synthetic tasks: accuracy bilinear in code and task embedding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from supernet.archlock.predictor import TransferPredictor, simulated_embeddings

DIM, CODE, ARCHS = 6, 12, 150


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@pytest.fixture(scope="module")
def world() -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(3)
    codes = (rng.random((ARCHS, CODE)) < 0.5).astype(float)
    weights = rng.standard_normal((CODE, DIM))
    return codes, weights, rng


def _accuracy(codes: np.ndarray, weights: np.ndarray, task: np.ndarray) -> np.ndarray:
    return codes @ weights @ task


def test_simulated_embeddings_lie_in_the_similarity_range() -> None:
    source = np.array([3.0, 0.0, 4.0, 1.0])
    tasks = simulated_embeddings(source, 50, (0.7, 0.9), seed=1)
    cos = tasks @ _unit(source)
    assert np.allclose(np.linalg.norm(tasks, axis=1), 1.0)
    assert cos.min() >= 0.7 - 1e-9 and cos.max() <= 0.9 + 1e-9 and np.ptp(cos) > 0.1
    assert not np.allclose(tasks[0], tasks[1])  # not one direction
    with pytest.raises(ValueError, match="similarity"):
        simulated_embeddings(source, 3, (0.9, 0.7))
    with pytest.raises(ValueError, match="non-zero"):
        simulated_embeddings(np.zeros(4), 3)


def test_the_predictor_ranks_an_unseen_nearby_task(world: tuple[np.ndarray, np.ndarray,
                                                                 np.random.Generator]) -> None:
    codes, weights, rng = world
    known = [_unit(rng.standard_normal(DIM)) for _ in range(10)]
    predictor = TransferPredictor(pairs_per_task=1500, seed=0).fit(
        codes, [(e, _accuracy(codes, weights, e)) for e in known])
    source = _unit(rng.standard_normal(DIM))
    target = simulated_embeddings(source, 1, (0.85, 0.9), seed=7)[0]  # the attacker's task
    truth = _accuracy(codes, weights, target)
    # queried at the target's own embedding (never trained on) it ranks nearly as the truth
    exact = predictor.score(codes, target[None], reference=codes[:40])
    assert kendalltau(exact, truth).statistic > 0.75
    # the attacker's task unknown: simulated tasks around the source do about as well as
    # the true accuracies averaged over those same simulated tasks (the best they allow)
    simulated = simulated_embeddings(source, 8, (0.8, 0.95), seed=2)
    score = predictor.score(codes, simulated, reference=codes[:40])
    ceiling = kendalltau(np.mean([_accuracy(codes, weights, e) for e in simulated], axis=0),
                         truth).statistic
    assert kendalltau(score, truth).statistic > max(0.4, ceiling - 0.1)
    # on a task pointing the other way the same predictor ranks the opposite way round
    away = predictor.score(codes, simulated_embeddings(-source, 8, (0.8, 0.95), seed=2),
                           reference=codes[:40])
    assert kendalltau(away, truth).statistic < -0.4


def test_the_predictor_needs_known_tasks_before_it_answers() -> None:
    predictor = TransferPredictor()
    with pytest.raises(ValueError, match="fit"):
        predictor.score(np.eye(3), np.ones((1, 2)))
    with pytest.raises(ValueError, match="apart"):
        predictor.fit(np.eye(3), [(np.ones(2), np.ones(3))])
