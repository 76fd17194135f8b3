"""A 2-D map of explored architectures from their one-hot encodings.

Until ``pca_until`` points exist the map is a PCA projection, refitted on every
addition (cheap, and the first generations need a picture at once). Afterwards a
UMAP model is fitted in the caller's background thread (``refit``) and new points
are placed with its ``transform`` in between refits; a refit is due whenever the
archive has grown by ``refit_growth`` since the last one. umap-learn is imported
only inside ``refit``: its import and first JIT compile take tens of seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

Coords = dict[str, tuple[float, float]]


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """First two principal components (a sign convention keeps them stable between calls)."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    if len(vectors) < 2 or not np.any(centred):
        return np.zeros((len(vectors), 2))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    basis = vt[:2]
    basis *= np.sign(basis[np.arange(len(basis)), np.abs(basis).argmax(axis=1)])[:, None]
    out = centred @ basis.T
    return out if out.shape[1] == 2 else np.pad(out, ((0, 0), (0, 2 - out.shape[1])))


class MapProjector:
    def __init__(self, seed: int = 0, pca_until: int = 50, refit_growth: float = 1.5) -> None:
        self.seed = seed
        self.pca_until = pca_until
        self.refit_growth = refit_growth
        self._lock = threading.Lock()
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._vectors: list[np.ndarray] = []
        self._coords: dict[str, tuple[float, float]] = {}
        self._umap: Any = None
        self._fitted_n = 0
        self._fitting = False

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def method(self) -> str:
        return "umap" if self._umap is not None else "pca"

    def coords(self) -> Coords:
        with self._lock:
            return dict(self._coords)

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> Coords:
        """Place new points; returns every coordinate that changed (all of them in PCA mode)."""
        with self._lock:
            new = [(k, v) for k, v in zip(keys, vectors) if k not in self._index]
            for k, v in new:
                self._index[k] = len(self._keys)
                self._keys.append(k)
                self._vectors.append(np.asarray(v, dtype=np.float32))
            if self._umap is None:
                points = pca_2d(np.stack(self._vectors)) if self._vectors else np.zeros((0, 2))
                self._coords = {k: (float(x), float(y)) for k, (x, y) in zip(self._keys, points)}
                return dict(self._coords)
            if not new:
                return {}
            placed = self._umap.transform(np.stack([v for _, v in new]))
            changed = {k: (float(x), float(y)) for (k, _), (x, y) in zip(new, placed)}
            self._coords.update(changed)
            return changed

    def needs_refit(self) -> bool:
        with self._lock:
            n = len(self._keys)
            return (not self._fitting and n >= self.pca_until
                    and (self._umap is None or n >= self._fitted_n * self.refit_growth))

    def refit(self) -> Coords:
        """Fit UMAP on all points (slow: call from a background thread); returns all coords."""
        with self._lock:
            if self._fitting or not self._keys:
                return {}
            self._fitting = True
            keys, data = list(self._keys), np.stack(self._vectors)
        try:
            import umap

            model = umap.UMAP(n_components=2, n_neighbors=max(2, min(15, len(keys) - 1)),
                              min_dist=0.1, random_state=self.seed, n_jobs=1)
            embedding = model.fit_transform(data)
            with self._lock:
                coords = {k: (float(x), float(y)) for k, (x, y) in zip(keys, embedding)}
                late = self._keys[len(keys):]
                if late:
                    placed = model.transform(np.stack(self._vectors[len(keys):]))
                    coords.update({k: (float(x), float(y)) for k, (x, y) in zip(late, placed)})
                self._umap, self._fitted_n = model, len(keys)
                self._coords = dict(coords)
                return coords
        finally:
            with self._lock:
                self._fitting = False
