"""The ArchLock objective as a user sets it: which tasks to lock against and how much source
accuracy may be given up.

ArchLock (Zhou et al., ICLR 2024) looks for architectures that keep their accuracy on the
owner's task (the *source*: the session's own table column or dataset) and lose it on the
tasks an attacker may transfer them to (the *targets*). Torch-free, so the lab's web process
validates it with the rest of :class:`supernet.configs.EngineConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field

from supernet.settings import check_fields, parse
from supernet.validation import STRICT

UNKNOWN_TARGET = "unknown"
"""The unknown target's name (``unknown_target``): ArchLock-TU's predicted score on
simulated tasks near the source."""

_Points = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False,
                                 description="accuracy points in [0, 100]")]
_Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False,
                                   description="a fraction in [0, 1]")]
_Weight = Annotated[float, Field(ge=0, allow_inf_nan=False, description="a finite number >= 0")]
_Generations = Annotated[int, Field(ge=0, description="an integer >= 0")]
_Target = Annotated[str, Field(min_length=1, max_length=200,
                               description="a table column or a dataset spec")]


@dataclass
class ArchLockConfig:
    """``targets``: tabular mode, other columns of the session's table; supernet mode,
    dataset specs scored by zero-cost proxies. ``unknown_target`` adds the target nobody
    names (ArchLock-TU, :mod:`supernet.archlock.unknown`): a predictor trained on the known
    tasks (tabular: every column; supernet: the source and ``known_tasks`` class subsets of
    it, by proxy) scores architectures on ``simulated_tasks`` task embeddings at a cosine
    similarity in [``similarity_low``, ``similarity_high``] around the source's.

    The source constraint is ``mode`` "relative" (within ``tolerance`` points of the best
    source accuracy found so far) or "absolute" (at least ``min_source``, a fraction). The
    first ``source_generations`` generations search the source alone, so that "the best
    found" is near the true best before locking starts. ``pick`` is the architecture the
    search hands over: "lowest_target" (the lowest target accuracy that meets the
    constraint) or "fitness" (ArchLock's rank difference, ``source_weight`` = 2 in the paper).
    """

    __pydantic_config__ = STRICT

    targets: list[_Target] = field(default_factory=list)
    mode: Literal["relative", "absolute"] = "relative"
    tolerance: _Points = 2.0
    min_source: _Fraction = 0.0
    source_weight: _Weight = 2.0
    source_generations: _Generations = 20
    pick: Literal["lowest_target", "fitness"] = "lowest_target"
    proxy: Literal["naswot", "jacob_cov", "snip", "grad_norm", "fisher", "grasp"] = "naswot"
    """Supernet mode: the data-dependent zero-cost proxy that scores a target dataset."""
    target_limit: Annotated[int, Field(ge=20, description="a number of images >= 20")] = 512
    """Supernet mode: images of each target dataset loaded (one proxy batch is drawn)."""

    unknown_target: bool = False
    simulated_tasks: Annotated[int, Field(ge=1, le=64, description="an integer in [1, 64]")] = 8
    similarity_low: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False,
                                           description="a cosine similarity in [-1, 1]")] = 0.9
    similarity_high: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False,
                                            description="a cosine similarity in [-1, 1]")] = 1.0
    known_tasks: Annotated[int, Field(ge=0, le=16, description="an integer in [0, 16]")] = 3
    """Supernet mode: class-subset tasks of the source data the predictor learns from."""
    probe_archs: Annotated[int, Field(ge=8, le=512, description="an integer in [8, 512]")] = 48
    """Architectures scored on every known task: the predictor's training set (the first 16
    also embed each task, Task2Vec-lite: its normalised scores of them)."""

    def __post_init__(self) -> None:
        check_fields(self, "archlock")
        if self.similarity_low > self.similarity_high:
            raise ValueError(f"archlock.similarity_low {self.similarity_low:g} is above "
                             f"similarity_high {self.similarity_high:g}")
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"archlock.targets {self.targets}: name each target once")
        if self.unknown_target and UNKNOWN_TARGET in self.targets:
            raise ValueError(f"archlock.targets names {UNKNOWN_TARGET!r}, the unknown target's "
                             "own name: rename that column or dataset")
        if self.mode == "absolute" and self.min_source <= 0:
            raise ValueError("archlock.mode 'absolute' needs min_source: the least source "
                             "accuracy (a fraction such as 0.92) a locked architecture keeps")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchLockConfig:
        return parse(cls, data, "archlock config", "archlock setting", "archlock")
