"""``latent``: evolution whose mutations happen in the learned embedding (arch2vec's
"search in latent space", Yan et al. 2020).

The breeding pool is evolution's (the focus set, then the best allowed parents). A child is
the parent's embedding (the ``learned`` encoder, ``supernet.encoders``) moved by Gaussian
noise of ``STEP`` times the embedding's spread per dimension, then mapped back to the
nearest architecture of the space that the steering allows (pruned ops, locks), that
passes the search's constraint and whose network was neither evaluated nor proposed in
this generation (isomorphic and dead-edge twins share one embedding, so they count as the
same network). Decoding a latent vector into a cell is ambiguous (arch2vec decodes, then
repairs); the nearest allowed candidate is always valid, so the steering holds by
construction. Candidates are every architecture when the space has at most
``supernet.search.ENUMERATE_LIMIT`` (embedded once), else ``SAMPLE`` fresh draws of the
steering state per child.

The encoder is fitted on the first latent generation, on the engine's thread (the worker's
loop, never a web request), and cached under ``search.encoder_cache``: the worker points it
at the map's cache, so the map and the strategy share one fit of the same seed.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from supernet.encoders import Encoder, fitted_encoder
from supernet.search import ENUMERATE_LIMIT, EvolutionarySearch, get_strategy, register_strategy
from supernet.space import Arch, SearchSpace

STEP = 0.5
"""Noise per latent dimension, in units of that dimension's spread over the space."""
SAMPLE = 512
"""Candidates drawn per child in a space too large to embed whole."""

_INDEXES: weakref.WeakKeyDictionary[EvolutionarySearch, LatentIndex] = weakref.WeakKeyDictionary()


def _key(vector: np.ndarray) -> bytes:
    """One network, one key: twins embed to the same vector up to float noise."""
    return np.round(vector, 4).astype(np.float32).tobytes()


@dataclass
class LatentIndex:
    """The embedding of one space: all of it when small (with each architecture's network
    group: twins share one), else only a seeded estimate of its spread."""

    space: SearchSpace
    encoder: Encoder
    spread: np.ndarray  # [d] standard deviation per dimension
    codes: np.ndarray | None = None  # [size, d] every architecture, in index order
    digits: np.ndarray | None = None  # [size, choice points] candidate index of each op
    groups: np.ndarray | None = None  # [size] network group of each architecture
    memo: dict[Arch, bytes] = field(default_factory=dict)  # network key (large spaces)
    group_memo: dict[Arch, int] = field(default_factory=dict)  # network group (small spaces)

    @classmethod
    def build(cls, space: SearchSpace, encoder: Encoder, seed: int) -> LatentIndex:
        if space.size() <= ENUMERATE_LIMIT:
            codes = encoder.encode(list(space.all_archs())).astype(np.float64)
            rest = np.arange(space.size())
            digits = np.zeros((space.size(), len(space)), dtype=np.int64)
            for k in reversed(range(len(space))):
                rest, digits[:, k] = np.divmod(rest, len(space.choice_points[k].candidates))
            _, groups = np.unique(np.round(codes, 4), axis=0, return_inverse=True)
            return cls(space, encoder, codes.std(axis=0), codes, digits, groups.reshape(-1))
        rng = np.random.default_rng(seed)
        sample = encoder.encode([space.random_arch(rng) for _ in range(4096)]).astype(np.float64)
        return cls(space, encoder, sample.std(axis=0))

    def embed(self, archs: list[Arch]) -> np.ndarray:
        if self.codes is not None:
            return self.codes[[self.space.index(a) for a in archs]]
        return self.encoder.encode(archs).astype(np.float64)

    def group_ids(self, archs: list[Arch]) -> np.ndarray:
        assert self.groups is not None
        for a in archs:
            if a not in self.group_memo:
                self.group_memo[a] = int(self.groups[self.space.index(a)])
        return np.fromiter((self.group_memo[a] for a in archs), dtype=np.int64, count=len(archs))

    def keys(self, archs: list[Arch]) -> set[bytes]:
        todo = [a for a in archs if a not in self.memo]
        if todo:
            self.memo.update(zip(todo, (_key(v) for v in self.embed(todo))))
        return {self.memo[a] for a in archs}


def latent_index(search: EvolutionarySearch) -> LatentIndex:
    """The search's index, fitted (or loaded from ``search.encoder_cache``) on first use."""
    index = _INDEXES.get(search)
    if index is None or index.space is not search.space:
        encoder = fitted_encoder("learned", search.space, search.config.seed, search.encoder_cache)
        index = _INDEXES[search] = LatentIndex.build(search.space, encoder, search.config.seed)
    return index


def use_encoder(search: EvolutionarySearch, encoder: Encoder) -> None:
    """Search in the latent space of an already fitted encoder of ``search.space``."""
    _INDEXES[search] = LatentIndex.build(search.space, encoder, search.config.seed)


def _first_allowed(search: EvolutionarySearch, archs: Iterable[Arch], parent: Arch) -> Arch:
    """The first of ``archs`` (nearest first) that the search's constraint admits."""
    for arch in archs:
        if search.constraint is None or search.constraint(arch):
            return arch
    return parent


def latent_child(search: EvolutionarySearch, parent: Arch, proposed: set[Arch]) -> Arch:
    """The nearest new allowed network to the parent's embedding moved by noise."""
    index = latent_index(search)
    noise = search.rng.normal(size=index.spread.shape) * STEP * index.spread
    target = index.embed([parent])[0] + noise
    taken = list(itertools.chain(search.archive, proposed, [parent]))
    steering, space = search.steering, search.space
    if index.codes is None or index.digits is None or index.groups is None:
        drawn = list(dict.fromkeys(steering.sample(search.rng) for _ in range(SAMPLE)))
        codes = index.embed(drawn)
        seen = index.keys(taken)
        fresh = [k for k, v in enumerate(codes) if _key(v) not in seen]
        order = np.argsort(np.sum((codes[fresh] - target) ** 2, axis=1), kind="stable")
        return _first_allowed(search, (drawn[fresh[int(k)]] for k in order), parent)
    mask = ~np.isin(index.groups, index.group_ids(taken))
    for k, cp in enumerate(space):
        allowed = [cp.candidates.index(op) for op in steering.allowed(cp.name)]
        mask &= np.isin(index.digits[:, k], allowed)
    rows = np.flatnonzero(mask)
    order = rows[np.argsort(np.sum((index.codes[rows] - target) ** 2, axis=1), kind="stable")]
    return _first_allowed(search, (space.from_index(int(i)) for i in order), parent)


@register_strategy("latent", breed=latent_child)
def _latent(search: EvolutionarySearch, focus: list[Arch]) -> list[Arch]:
    """Evolution's pool; the children come from ``latent_child``."""
    return get_strategy("evolution")(search, focus)
