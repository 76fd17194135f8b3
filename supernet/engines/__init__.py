"""Engine families behind one interface, picked by ``EngineConfig.mode``.

The runtime worker, the CLI and scripts drive a search through :class:`Engine` only, so
a new way of scoring candidates (training a supernet, looking them up in a benchmark
table, ...) is one class decorated with :func:`register_engine` and nothing else
changes. The built-in families register themselves when their module is imported;
:func:`open_engine` and :func:`engine_modes` import them on first use (not at import
time: ``supernet.engine`` imports this module, so importing it back would be a cycle).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from supernet.paths import Roots

if TYPE_CHECKING:
    import torch

    from supernet.engine import EngineConfig
    from supernet.evaluate import CandidateRecord
    from supernet.fitness import FitnessTable
    from supernet.latency_budget import LatencyObjective
    from supernet.model import Supernet
    from supernet.search import EvolutionarySearch
    from supernet.space import Arch, SearchSpace
    from supernet.steering import SteeringState
    from supernet.train import TrainProgress

ProgressCallback = Callable[["TrainProgress"], None]

BUILTIN_FAMILIES: tuple[str, ...] = ("supernet.engine", "supernet.tabular.engine")
"""Modules whose import registers the engine families that ship with NAS Navigator."""


class TrainerView(Protocol):
    """The part of an engine's trainer that callers read to pace a session."""

    @property
    def epoch(self) -> int: ...

    @property
    def done(self) -> bool: ...


class DataView(Protocol):
    """What an export needs to know about the data an engine searches on."""

    @property
    def name(self) -> str: ...

    @property
    def in_channels(self) -> int: ...

    @property
    def num_classes(self) -> int: ...

    @property
    def image_size(self) -> int: ...


class Engine(Protocol):
    """One search, driven in short resumable calls so commands can land between them."""

    @property
    def mode(self) -> str: ...

    @property
    def config(self) -> EngineConfig: ...

    @property
    def space(self) -> SearchSpace: ...

    @property
    def steering(self) -> SteeringState: ...

    @property
    def search(self) -> EvolutionarySearch: ...

    @property
    def fitness(self) -> FitnessTable: ...

    @property
    def archive(self) -> list[CandidateRecord]: ...

    @property
    def latency(self) -> LatencyObjective: ...

    @property
    def trainer(self) -> TrainerView: ...

    @property
    def data(self) -> DataView: ...

    @property
    def supernet(self) -> Supernet | None: ...

    @property
    def device(self) -> torch.device: ...

    def train_steps(self, n: int) -> list[float]: ...

    def train_epoch(self) -> dict[str, Any]: ...

    def extend_training(self, epochs: int) -> str | None: ...

    def finetune(self, epochs: int) -> list[dict[str, Any]]: ...

    def search_generation(self) -> list[CandidateRecord]: ...

    def leaderboard(self, k: int = 10) -> list[CandidateRecord]: ...

    def archive_as_dicts(self) -> list[dict[str, Any]]: ...

    def host_latency(self, arch: Arch) -> float: ...

    def retemplated(self, template: dict[str, Any]) -> tuple[Engine, str]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def save(self, path: str | Path) -> Path: ...


class EngineFamily(Protocol):
    """An engine class: builds a fresh engine, resumes one, and vets configs for its mode."""

    mode: str

    def __call__(self, config: EngineConfig, callback: ProgressCallback | None = None, *,
                 data_roots: Roots = None) -> Engine: ...

    def load(self, path: str | Path, callback: ProgressCallback | None = None, *,
             data_roots: Roots = None) -> Engine: ...

    def check_config(self, config: EngineConfig) -> None: ...


FamilyT = TypeVar("FamilyT", bound=EngineFamily)

_FAMILIES: dict[str, EngineFamily] = {}


def register_engine(mode: str) -> Callable[[FamilyT], FamilyT]:
    """Class decorator: the engine class that runs configs whose ``mode`` is ``mode``."""
    def register(family: FamilyT) -> FamilyT:
        if mode in _FAMILIES and _FAMILIES[mode] is not family:
            raise ValueError(f"engine mode {mode!r} is already registered by "
                             f"{_FAMILIES[mode]!r}")
        family.mode = mode
        _FAMILIES[mode] = family
        return family
    return register


def _load_builtin() -> None:
    for module in BUILTIN_FAMILIES:
        importlib.import_module(module)


def engine_modes() -> list[str]:
    """Every registered mode, sorted (what ``EngineConfig.mode`` may be)."""
    _load_builtin()
    return sorted(_FAMILIES)


def engine_family(mode: str) -> EngineFamily:
    """The engine class for ``mode``; ``ValueError`` naming the registered modes otherwise."""
    _load_builtin()
    family = _FAMILIES.get(mode) if isinstance(mode, str) else None
    if family is None:
        raise ValueError(f"mode must be one of {sorted(_FAMILIES)}, got {mode!r}")
    return family


def open_engine(config: EngineConfig, callback: ProgressCallback | None = None,
                checkpoint: str | Path | None = None, data_roots: Roots = None) -> Engine:
    """The engine for ``config.mode``, resumed from ``checkpoint`` when that file exists.

    ``data_roots``: the folders the config's dataset and table paths must lie in. Where
    users may read files is the server's policy, not part of a user's config, so it is an
    argument here (a worker passes its configured roots) and never travels in the config or
    its checkpoint; ``None`` (the embedded default) allows any path.
    """
    family = engine_family(config.mode)
    if checkpoint is not None and Path(checkpoint).exists():
        return family.load(checkpoint, callback, data_roots=data_roots)
    return family(config, callback, data_roots=data_roots)
