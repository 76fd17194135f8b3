"""ArchLock-TU: predicting how architectures rank on a target task nobody has named.

When the attacker's task is unknown, ArchLock trains one binary predictor over (pair of
architectures, task embedding) on the tasks it knows - "is architecture a more accurate than
b on the task with this embedding?" - and queries it with *simulated* target embeddings:
embeddings sampled at a cosine similarity in a chosen range around the source task's, since
an attacker transfers to tasks that resemble the source. An architecture's predicted target
score is its mean win probability against a reference set, averaged over the simulated
tasks; the objective then locks against that score as it would against a known target.

The predictor is a logistic regression on the pair difference of the encodings and its
outer product with the task embedding, so the preference between two architectures may
turn with the task (scikit-learn; no torch).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression


def simulated_embeddings(source: Sequence[float] | np.ndarray, n: int,
                         similarity: tuple[float, float] = (0.8, 0.95),
                         seed: int = 0) -> np.ndarray:
    """``n`` unit embeddings whose cosine similarity with ``source`` is uniform in
    ``similarity``, each in a random direction away from it (rows of an (n, d) array)."""
    low, high = similarity
    if not -1.0 <= low <= high <= 1.0:
        raise ValueError(f"similarity {similarity}: need -1 <= low <= high <= 1")
    base = np.asarray(source, dtype=np.float64)
    norm = float(np.linalg.norm(base))
    if base.ndim != 1 or base.size < 2 or norm == 0 or not np.isfinite(norm):
        raise ValueError("the source embedding must be a finite, non-zero vector of size >= 2")
    base = base / norm
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.size))
    for k in range(n):
        direction = rng.standard_normal(base.size)
        direction -= direction.dot(base) * base  # orthogonal to the source
        direction /= np.linalg.norm(direction)
        cos = rng.uniform(low, high)
        out[k] = cos * base + np.sqrt(max(0.0, 1.0 - cos * cos)) * direction
    return out


def _features(a: np.ndarray, b: np.ndarray, task: np.ndarray) -> np.ndarray:
    """Pair features: ``a - b`` and its outer product with the task embedding, per row."""
    diff = a - b
    return np.hstack([diff, (diff[:, :, None] * task[:, None, :]).reshape(len(diff), -1)])


class TransferPredictor:
    """Binary "a beats b on this task" predictor trained on known tasks (see module doc)."""

    def __init__(self, pairs_per_task: int = 2000, regularization: float = 10.0,
                 seed: int = 0) -> None:
        if pairs_per_task < 1 or regularization <= 0:
            raise ValueError("pairs_per_task must be >= 1 and regularization > 0")
        self.pairs_per_task = pairs_per_task
        self.seed = seed
        self.model = LogisticRegression(C=regularization, max_iter=2000)
        self.fitted = False

    def fit(self, encodings: np.ndarray, tasks: Sequence[tuple[np.ndarray, np.ndarray]]
            ) -> TransferPredictor:
        """``encodings``: (n_archs, d) codes; ``tasks``: (embedding, accuracies of the n
        architectures) per known task. Ties are skipped; each pair is seen both ways."""
        codes = np.asarray(encodings, dtype=np.float64)
        if codes.ndim != 2 or len(codes) < 2 or not tasks:
            raise ValueError("fit needs >= 2 encoded architectures and >= 1 known task")
        rng = np.random.default_rng(self.seed)
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        for embedding, accuracies in tasks:
            acc = np.asarray(accuracies, dtype=np.float64)
            if acc.shape != (len(codes),):
                raise ValueError(f"a task has {acc.size} accuracies for {len(codes)} architectures")
            i = rng.integers(len(codes), size=self.pairs_per_task)
            j = rng.integers(len(codes), size=self.pairs_per_task)
            keep = acc[i] != acc[j]
            i, j = i[keep], j[keep]
            if not len(i):
                continue
            task = np.broadcast_to(np.asarray(embedding, dtype=np.float64), (len(i), len(embedding)))
            for x, y in ((i, j), (j, i)):
                rows.append(_features(codes[x], codes[y], task))
                labels.append((acc[x] > acc[y]).astype(int))
        if not labels or len(np.unique(np.concatenate(labels))) < 2:
            raise ValueError("the known tasks rank no pair of architectures apart")
        self.model.fit(np.vstack(rows), np.concatenate(labels))
        self.fitted = True
        return self

    def prob_better(self, a: np.ndarray, b: np.ndarray, embedding: np.ndarray) -> np.ndarray:
        """P(row of ``a`` is more accurate than the same row of ``b``) on the task."""
        if not self.fitted:
            raise ValueError("fit the predictor on known tasks first")
        a, b = np.atleast_2d(a), np.atleast_2d(b)
        task = np.broadcast_to(np.asarray(embedding, dtype=np.float64), (len(a), len(embedding)))
        return np.asarray(self.model.predict_proba(_features(a, b, task))[:, 1])

    def score(self, encodings: np.ndarray, embeddings: np.ndarray,
              reference: np.ndarray | None = None) -> np.ndarray:
        """Each architecture's mean win probability against ``reference`` (default: the
        architectures themselves), averaged over the task ``embeddings`` (rows)."""
        codes = np.asarray(encodings, dtype=np.float64)
        ref = codes if reference is None else np.asarray(reference, dtype=np.float64)
        total = np.zeros(len(codes))
        for embedding in np.atleast_2d(embeddings):
            a = np.repeat(codes, len(ref), axis=0)
            b = np.tile(ref, (len(codes), 1))
            total += self.prob_better(a, b, embedding).reshape(len(codes), len(ref)).mean(axis=1)
        return total / len(np.atleast_2d(embeddings))
