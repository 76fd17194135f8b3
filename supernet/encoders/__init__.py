"""Architecture encoders: vectors in which similar networks lie close (the map's input).

An encoder is fitted once per search space, without accuracies (unsupervised), and is
then a pure function from architectures to vectors. ``fitted_encoder`` keeps its fitted
state on disk under the caller's cache folder, keyed by the space's hash, the encoder
and the seed, so a second session on the same space (or a restarted worker) loads it
in milliseconds. Families register like the other registries::

    @register_encoder("path")
    class PathEncoder(Encoder): ...

``learned`` is the arch2vec-style graph autoencoder (``supernet.encoders.vgae``, torch),
``path`` and ``onehot`` the simple codes (``supernet.encoders.simple``).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar, TypeVar

import numpy as np

from supernet.space import SearchSpace

_ENCODERS: dict[str, type[Encoder]] = {}
E = TypeVar("E", bound="type[Encoder]")
DEFAULT_ENCODING = "learned"
ENCODINGS = ("learned", "path", "onehot")
"""The built-in families, named without importing them (menus of the torch-free web)."""


class Encoder(ABC):
    """Maps architectures of one space to float32 vectors; ``fit`` sees no accuracies."""

    name: ClassVar[str] = ""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.seed = seed

    def fit(self) -> None:  # noqa: B027 - the simple codes need no fitting
        """Learn from architectures of the space alone (the fixed codes learn nothing)."""

    @abstractmethod
    def encode(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        """``[len(archs), dim]`` float32."""

    def state(self) -> dict[str, np.ndarray]:
        """What ``load`` needs to encode without fitting again (plain arrays, no pickle)."""
        return {}

    def load(self, state: dict[str, np.ndarray]) -> None:  # noqa: B027 - nothing to load
        """Restore a fitted state written by ``state``."""


def register_encoder(name: str) -> Callable[[E], E]:
    def register(cls: E) -> E:
        if name in _ENCODERS:
            raise ValueError(f"encoder {name!r} is already registered")
        cls.name = name
        _ENCODERS[name] = cls
        return cls
    return register


def _load_families() -> None:
    """Import the built-in families on first use: ``learned`` needs torch, and this package
    is imported by torch-free code for its names."""
    import supernet.encoders.simple
    import supernet.encoders.vgae  # noqa: F401


def encoder_names() -> tuple[str, ...]:
    _load_families()
    return tuple(_ENCODERS)


def get_encoder(name: str) -> type[Encoder]:
    _load_families()
    if name not in _ENCODERS:
        raise ValueError(f"unknown encoding {name!r}; choose one of {list(_ENCODERS)}")
    return _ENCODERS[name]


def space_key(space: SearchSpace) -> str:
    """A short hash of the template: the same space gives the same key in every process."""
    text = json.dumps(space.to_dict(), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def fitted_encoder(name: str, space: SearchSpace, seed: int = 0,
                   cache_dir: Path | None = None, **options: int) -> Encoder:
    """The encoder ``name`` fitted on ``space``: loaded from ``cache_dir`` when it was fitted
    before (same space, encoder, seed and ``options``, the family's settings such as
    ``steps``), else fitted (slow for ``learned``: call it off the request path) and
    written there."""
    encoder = get_encoder(name)(space, seed, **options)
    tag = "".join(f"-{k}{v}" for k, v in sorted(options.items()))
    path = None if cache_dir is None else cache_dir / f"{name}-{space_key(space)}-s{seed}{tag}.npz"
    if path is not None and path.exists():
        with np.load(path, allow_pickle=False) as data:
            encoder.load({k: data[k] for k in data.files})
        return encoder
    encoder.fit()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{id(encoder)}.tmp.npz")
        np.savez(partial, allow_pickle=False, **encoder.state())
        partial.replace(path)
    return encoder

