"""Engine families behind one interface, picked by ``EngineConfig.mode``.

The runtime worker, the CLI and scripts drive a search through :class:`Engine` only, so
a new way of scoring candidates (training a supernet, looking them up in a benchmark
table, ...) is one class decorated with :func:`register_engine` and nothing else
changes. The built-in families register themselves when their module is imported;
:func:`open_engine` imports them on first use (not at import time: ``supernet.engine``
imports this module, so importing it back would be a cycle, and they need torch).
Validating a config needs no engine: the modes are known by name and each family's
checks of a config are registered apart (:func:`register_config_check`), torch-free, so
the lab's web process (no torch) validates what a browser starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from supernet.paths import Roots

if TYPE_CHECKING:
    import torch

    from supernet.archlock.objective import ArchLockObjective
    from supernet.configs import EngineConfig
    from supernet.fitness import FitnessTable
    from supernet.latency_budget import LatencyObjective
    from supernet.model import Supernet
    from supernet.records import CandidateRecord
    from supernet.search import EvolutionarySearch
    from supernet.space import Arch, SearchSpace
    from supernet.steering import SteeringState
    from supernet.train import TrainProgress

ProgressCallback = Callable[["TrainProgress"], None]

BUILTIN_FAMILIES: dict[str, str] = {"supernet": "supernet.engine", "tabular": "supernet.tabular.engine"}
"""Each mode that ships with NAS Navigator and the module whose import registers its engine."""


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
    def higher_is_better(self) -> bool:
        """The direction of the records' metric (the dataset's task)."""
        ...

    @property
    def latency(self) -> LatencyObjective: ...

    @property
    def archlock(self) -> ArchLockObjective | None: ...

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

    @property
    def rank_by(self) -> str: ...

    def set_rank_by(self, estimator: str) -> None: ...

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


FamilyT = TypeVar("FamilyT", bound=EngineFamily)
ConfigCheck = Callable[["EngineConfig"], None]
"""Rejects settings a family cannot run (``ValueError`` saying what to change)."""

_FAMILIES: dict[str, EngineFamily] = {}
_CONFIG_CHECKS: dict[str, ConfigCheck] = {}


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


def register_config_check(mode: str) -> Callable[[ConfigCheck], ConfigCheck]:
    """Decorator: what ``EngineConfig`` checks for ``mode`` besides its common settings
    (torch-free: it runs wherever a config is validated, the web process included)."""
    def register(check: ConfigCheck) -> ConfigCheck:
        if mode in _CONFIG_CHECKS:
            raise ValueError(f"engine mode {mode!r} already has a config check")
        _CONFIG_CHECKS[mode] = check
        return check
    return register


def check_engine_config(config: EngineConfig) -> None:
    """The registered checks of ``config.mode`` (none: every setting suits the family)."""
    check = _CONFIG_CHECKS.get(config.mode)
    if check is not None:
        check(config)


def engine_modes() -> list[str]:
    """Every built-in or registered mode, sorted (what ``EngineConfig.mode`` may be)."""
    return sorted(set(BUILTIN_FAMILIES) | set(_FAMILIES))


def engine_family(mode: str) -> EngineFamily:
    """The engine class for ``mode``; ``ValueError`` naming the known modes otherwise."""
    if isinstance(mode, str) and mode in BUILTIN_FAMILIES and mode not in _FAMILIES:
        importlib.import_module(BUILTIN_FAMILIES[mode])
    family = _FAMILIES.get(mode) if isinstance(mode, str) else None
    if family is None:
        raise ValueError(f"mode must be one of {engine_modes()}, got {mode!r}")
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
