"""A fixed 2-D map of the whole search space, built once per space and never refitted.

The map projects the embedding (``supernet.encoders``) of every architecture of a small
space (NAS-Bench-201: all 15,625) or of a fixed seeded sample of a large one, once, with
PCA (the learned embedding) or UMAP on many neighbours (the fixed codes; see
``PREFERRED_METHOD``) (``build_space_map``: slow, call it from a background thread;
umap-learn is imported there and nowhere else). Any architecture is then placed without
refitting (``FixedMap.place``): one of the mapped ones is looked up, any other is embedded
and put at the distance-weighted mean of its ``k`` nearest mapped neighbours in embedding
space (a kNN-interpolation regressor fitted to the layout). Placements are remembered, so
a shown point never moves; the unexplored space is drawn from ``FixedMap.density``.
Coordinates are scaled into [-1, 1] on both axes. Built maps are cached on disk by the
space's hash, encoding, method and seed (the caller passes the folder).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supernet.encoders import Encoder, fitted_encoder, space_key
from supernet.space import Arch, SearchSpace

METHODS = ("umap", "pca")
PREFERRED_METHOD = {"learned": "pca"}
"""The projection that keeps neighbourhoods best per encoding (``benchmarks.map_quality``,
NAS-Bench-201 kNN R^2 CIFAR-10 / CIFAR-100: learned + PCA 0.97 / 0.93 vs + UMAP 0.91 / 0.87;
path + UMAP 0.89 / 0.79 vs + PCA 0.55 / 0.42; one-hot + UMAP 0.87 / 0.74 vs + PCA 0.19 / 0.23):
the learned latent is smooth enough for a linear map, the binary codes need UMAP."""


def preferred_method(encoding: str) -> str:
    return PREFERRED_METHOD.get(encoding, "umap")
Coords = dict[str, tuple[float, float]]


@dataclass
class SpaceMap:
    """The layout of the mapped architectures (space indices) and their embeddings."""

    encoding: str
    method: str
    indices: np.ndarray  # int64 [n]: which architectures (all of a small space, in order)
    embeddings: np.ndarray  # float32 [n, d]
    coords: np.ndarray  # float64 [n, 2], in [-1, 1]

    @property
    def complete(self) -> bool:
        return bool(len(self.indices)) and bool(np.array_equal(self.indices, np.arange(len(self.indices))))


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """First two principal components (a sign convention makes them deterministic)."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    if len(vectors) < 2 or not np.any(centred):
        return np.zeros((len(vectors), 2))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    basis = vt[:2]
    basis *= np.sign(basis[np.arange(len(basis)), np.abs(basis).argmax(axis=1)])[:, None]
    out = centred @ basis.T
    return out if out.shape[1] == 2 else np.pad(out, ((0, 0), (0, 2 - out.shape[1])))


def _scaled(points: np.ndarray) -> np.ndarray:
    lo, hi = points.min(axis=0), points.max(axis=0)
    return 2.0 * (points - lo) / np.where(hi > lo, hi - lo, 1.0) - 1.0


def project(vectors: np.ndarray, method: str = "umap", seed: int = 0,
            n_neighbors: int = 50) -> np.ndarray:
    """2-D layout of ``vectors``. Duplicate vectors (one canonical network) are laid out
    once and share their point; UMAP runs single-threaded so that a seed fixes it."""
    if method not in METHODS:
        raise ValueError(f"unknown map method {method!r}; choose one of {list(METHODS)}")
    if method == "pca":
        return _scaled(pca_2d(np.asarray(vectors, dtype=np.float64)))
    unique, inverse = np.unique(np.round(vectors, 5), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(unique) <= max(n_neighbors, 3) + 1:
        layout = pca_2d(unique)
    else:
        import umap  # 15 s import + JIT: only ever here, off the request path

        model = umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=0.1,
                          random_state=seed, n_jobs=1, init="spectral")
        layout = model.fit_transform(unique)
    return _scaled(np.asarray(layout, dtype=np.float64))[inverse]


def _sample(space: SearchSpace, size: int, seed: int) -> np.ndarray:
    total = space.size()
    if total <= size:
        return np.arange(total, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if total < 2**62:
        return np.sort(rng.choice(total, size=size, replace=False)).astype(np.int64)
    raise ValueError(f"a space of {total:.3g} architectures is too large to map")


def build_space_map(space: SearchSpace, encoding: str = "learned", seed: int = 0,
                    cache_dir: Path | None = None, method: str = "", sample: int = 20_000,
                    n_neighbors: int = 50, encoder: Encoder | None = None) -> SpaceMap:
    """Embed and project the space (or its seeded sample) once; cached under ``cache_dir``.
    ``method`` "" is the encoding's :data:`PREFERRED_METHOD`."""
    method = method or preferred_method(encoding)
    path = None if cache_dir is None else (
        cache_dir / f"map-{encoding}-{method}{n_neighbors}-{space_key(space)}-s{seed}-n{sample}.npz")
    if path is not None and path.exists():
        with np.load(path, allow_pickle=False) as data:
            return SpaceMap(encoding, method, data["indices"], data["embeddings"], data["coords"])
    encoder = encoder or fitted_encoder(encoding, space, seed, cache_dir)
    indices = _sample(space, sample, seed)
    embeddings = encoder.encode([space.from_index(int(i)) for i in indices])
    coords = project(embeddings, method, seed, n_neighbors)
    result = SpaceMap(encoding, method, indices, embeddings, coords)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{threading.get_ident()}.tmp.npz")
        np.savez(partial, indices=indices, embeddings=embeddings, coords=coords)
        partial.replace(path)
    return result


class FixedMap:
    """Places architectures on a built :class:`SpaceMap`; a placed point never moves."""

    def __init__(self, space: SearchSpace, space_map: SpaceMap, encoder: Encoder,
                 k: int = 10) -> None:
        self.space, self.map, self.encoder = space, space_map, encoder
        self.k = min(k, len(space_map.indices))
        self._row = {} if space_map.complete else {int(i): r for r, i in enumerate(space_map.indices)}
        self._placed: Coords = {}
        self._lock = threading.Lock()
        self._norms: np.ndarray | None = None

    def _lookup(self, arch: Arch) -> int | None:
        index = self.space.index(arch)
        return index if self.map.complete else self._row.get(index)

    def _interpolate(self, archs: list[Arch]) -> np.ndarray:
        """Distance-weighted mean position of the ``k`` nearest mapped embeddings (brute
        force: a batch of candidates against 20,000 points takes a few milliseconds)."""
        base = self.map.embeddings.astype(np.float64)
        if self._norms is None:
            self._norms = np.sum(base ** 2, axis=1)
        query = self.encoder.encode(archs).astype(np.float64)
        d2 = np.maximum(np.sum(query ** 2, axis=1)[:, None] - 2 * query @ base.T + self._norms, 0.0)
        rows = np.argpartition(d2, self.k - 1, axis=1)[:, : self.k]
        weights = 1.0 / np.maximum(np.sqrt(np.take_along_axis(d2, rows, axis=1)), 1e-9)
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("nk,nkd->nd", weights, self.map.coords[rows])

    def place(self, strings: Sequence[str]) -> Coords:
        """Coordinates of architecture strings of this space (the same ones every time)."""
        with self._lock:
            todo = [s for s in dict.fromkeys(strings) if s not in self._placed]
            archs = [self.space.from_string(s) for s in todo]
            rows = [self._lookup(a) for a in archs]
            missing = [k for k, r in enumerate(rows) if r is None]
            guessed = self._interpolate([archs[k] for k in missing]) if missing else np.zeros((0, 2))
            for s, r in zip(todo, rows):
                if r is not None:
                    x, y = self.map.coords[r]
                    self._placed[s] = (float(x), float(y))
            for k, (x, y) in zip(missing, guessed):
                self._placed[todo[k]] = (float(x), float(y))
            return {s: self._placed[s] for s in strings}

    def density(self, bins: int = 48, allowed: Sequence[Collection[str]] | None = None
                ) -> dict[str, Any]:
        """Counts of mapped architectures per cell of a ``bins`` x ``bins`` grid over
        [-1, 1]^2 (``z[row=y][col=x]``): ``allowed`` gives each choice point's ops still
        allowed, and the architectures outside them (the pruned or lock-excluded region)
        are counted apart, so the browser can grey them."""
        xy = self.map.coords
        edges = np.linspace(-1.0, 1.0, bins + 1)
        mask = np.ones(len(xy), dtype=bool)
        if allowed is not None:
            rest = self.map.indices.copy()
            for cp, ops in reversed(list(zip(self.space.choice_points, allowed))):
                rest, digit = np.divmod(rest, len(cp.candidates))
                mask &= np.isin(digit, [cp.candidates.index(op) for op in ops])

        def grid(points: np.ndarray) -> list[list[int]]:
            counts, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=[edges, edges])
            return counts.astype(int).tolist()

        return {"bins": bins, "extent": [-1.0, 1.0], "allowed": grid(xy[mask]),
                "excluded": grid(xy[~mask]), "mapped": int(len(xy)),
                "space_size": self.space.size(), "encoding": self.map.encoding,
                "method": self.map.method}


def open_fixed_map(space: SearchSpace, encoding: str = "learned", seed: int = 0,
                   cache_dir: Path | None = None, **options: Any) -> FixedMap:
    """Fit (or load) the encoder, build (or load) the map: the slow part, in one call."""
    encoder = fitted_encoder(encoding, space, seed, cache_dir)
    space_map = build_space_map(space, encoding, seed, cache_dir, encoder=encoder, **options)
    return FixedMap(space, space_map, encoder)
