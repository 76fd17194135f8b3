"""The supernet engine: one search that trains a weight-sharing supernet, end to end.

``SearchEngine`` wires the space, data, supernet, trainer, evaluator, search and
fitness table together and exposes short, resumable calls (``train_steps``,
``search_generation``, ``extend_training``) so that the caller can apply the
analyst's commands between any two of them. ``save``/``load`` capture the whole
state, so a killed worker resumes where its last checkpoint left it. It is the
``supernet`` family of :mod:`supernet.engines`; ``EngineConfig`` configures every family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import torch
from pydantic import AfterValidator, Field

from supernet.data import MIN_LIMIT, Dataset, load_dataset
from supernet.engines import engine_family, engine_modes, register_engine
from supernet.engines.common import EngineBase
from supernet.evaluate import CandidateRecord, EvalConfig, Evaluator
from supernet.hardware import LatencyMeter
from supernet.model import Supernet
from supernet.paths import Roots
from supernet.proxies import ProxyScorer, check_proxies, prescreen, proxy_batch
from supernet.search import SearchConfig
from supernet.settings import check_fields, parse
from supernet.space import Arch, SearchSpace, preset, template_from_dict
from supernet.steering import SteeringState
from supernet.templates import check_template_size
from supernet.train import TrainConfig, Trainer, TrainProgress, read_checkpoint
from supernet.validation import STRICT


def _known_mode(mode: str) -> str:
    if mode not in engine_modes():
        raise ValueError(f"must be one of {engine_modes()}")
    return mode


def _known_proxies(names: list[str]) -> list[str]:
    return list(check_proxies(names)) if names else []


@dataclass
class EngineConfig:
    """Everything a user chooses about one search, as the browser, the CLI and checkpoints
    write it (``to_dict``). Where data may be read from is not a user's choice: it is the
    ``data_roots`` argument of the engines (see :func:`supernet.engines.open_engine`)."""

    __pydantic_config__ = STRICT

    template: str | dict[str, Any] = "tiny"
    dataset: Annotated[str, Field(min_length=1, description="a dataset spec such as 'digits' "
                                  "or 'cifar10:/path'")] = "digits"
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    data_limit: Annotated[int | None, Field(ge=MIN_LIMIT, description=(
        f"a number of images >= {MIN_LIMIT}, or null for all"))] = None
    measure_latency: bool = True
    mode: Annotated[str, AfterValidator(_known_mode)] = "supernet"
    """A registered engine family: "tabular" looks accuracies up, no training."""
    table_path: str | None = None  # CSV file, "synthetic[:SEED]" or "nats:[PATH]" (tabular mode)
    table_dataset: str = "cifar10"
    table_percent: bool = False
    proxies: Annotated[list[str], AfterValidator(_known_proxies)] = field(default_factory=list)
    """Zero-cost scores for every candidate."""
    prescreen_n: Annotated[int, Field(ge=0, description="a non-negative integer")] = 0
    """> 0: warm-start with the best of this many random archs by proxies."""
    prescreen_by: list[str] = field(default_factory=list)  # proxies that rank them (default all)

    def __post_init__(self) -> None:
        check_fields(self)
        if isinstance(self.template, dict):
            check_template_size(self.template)  # before building a space from it
        self.space()
        engine_family(self.mode).check_config(self)
        if self.prescreen_n and not self.proxies:
            raise ValueError("prescreen_n needs at least one proxy to rank by: set proxies")
        outside = [name for name in self.prescreen_by if name not in self.proxies]
        if outside:
            raise ValueError(f"prescreen_by {outside}: rank only by proxies that are scored; "
                             f"add them to proxies {self.proxies}")

    def space(self) -> SearchSpace:
        if isinstance(self.template, str):
            return SearchSpace(preset(self.template))
        return SearchSpace(template_from_dict(self.template))

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.template, "dataset": self.dataset,
                "train": self.train.to_dict(), "search": self.search.to_dict(),
                "eval": self.eval.to_dict(), "seed": self.seed, "data_limit": self.data_limit,
                "measure_latency": self.measure_latency, "mode": self.mode,
                "table_path": self.table_path, "table_dataset": self.table_dataset,
                "table_percent": self.table_percent, "proxies": list(self.proxies),
                "prescreen_n": self.prescreen_n, "prescreen_by": list(self.prescreen_by)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineConfig:
        if not isinstance(data, dict):  # the message callers have always matched on
            raise ValueError(f"engine config must be a mapping of settings, got "
                             f"{type(data).__name__}")
        return parse(cls, data, "engine config", "engine setting")


@register_engine("supernet")
class SearchEngine(EngineBase):
    """Candidates scored by a weight-sharing supernet that trains between generations."""

    trainer: Trainer

    def __init__(self, config: EngineConfig,
                 callback: Callable[[TrainProgress], None] | None = None,
                 data: Dataset | None = None, *, data_roots: Roots = None) -> None:
        """``data_roots``: the folders ``config.dataset`` must lie in (see
        :func:`supernet.engines.open_engine`)."""
        self.config = config
        self.data_roots = data_roots
        torch.manual_seed(config.seed)
        self.space = config.space()
        self.data = data or load_dataset(config.dataset, seed=config.seed, limit=config.data_limit,
                                         roots=data_roots)
        self.supernet = Supernet(self.space, self.data.in_channels, self.data.num_classes,
                                 self.data.image_size)
        self.steering = SteeringState(self.space)
        self.trainer = Trainer(self.supernet, self.data, self.steering, config.train, callback)
        self.evaluator = Evaluator(self.supernet, self.data, config.eval, seed=config.seed)
        self._init_search()
        self.meter = _meter(self.space, self.data, config, self.trainer.device)
        self.scorer = (ProxyScorer(self.space, self.data.in_channels, self.data.num_classes,
                                   tuple(config.proxies), seed=config.seed)
                       if config.proxies else None)
        self._proxy_batch = proxy_batch(self.data, 64, config.seed) if config.proxies else None
        # Done before the first generation, not here: a resumed search has its warm start
        # in its checkpoint, and scoring N architectures again would cost minutes for nothing.
        self._prescreen_due = bool(config.prescreen_n)

    def _propose(self) -> list[tuple[Arch, str | None]]:
        if self._prescreen_due:
            self._prescreen_due = False
            if self.search.generation == 0 and not self.search.warm_start:
                self.search.warm_start = self._prescreen(self.config.prescreen_n)
        return self.search.propose()

    def _evaluate(self, proposals: list[tuple[Arch, str | None]],
                  generation: int) -> list[CandidateRecord]:
        """Accuracy with inherited weights, costs, latencies and proxy scores of each proposal."""
        results = self.evaluator.evaluate([arch for arch, _ in proposals])
        latencies = self._latencies([arch for arch, _ in proposals])
        records = []
        for (arch, parent), (accuracy, loss), (latency, extra) in zip(proposals, results, latencies):
            records.append(CandidateRecord(
                arch=self.space.to_string(arch), index=self.space.index(arch),
                accuracy=accuracy, loss=loss, params=self.supernet.params(arch),
                flops=self.supernet.flops(arch), latency_ms=latency,
                generation=generation, parent=parent, scores=self.proxy_scores(arch) | extra,
            ))
        return records

    def _latencies(self, archs: list[Arch]) -> list[tuple[float | None, dict[str, float]]]:
        """Batch-1 latency of each arch, and its latency at ``eval.latency_batch`` (a score).

        The whole generation goes to the meter at once, so its interleaved rounds spread
        any load change on the machine over every candidate alike.
        """
        if not self.config.measure_latency:
            return [(None, {}) for _ in archs]
        single = self.meter.measure_many(archs)
        batch = self.config.eval.latency_batch
        if batch == 1:
            return [(ms, {}) for ms in single]
        batched = self.meter.measure_many(archs, batch)
        return [(ms, {latency_score_key(batch): b}) for ms, b in zip(single, batched)]

    def proxy_scores(self, arch: Arch) -> dict[str, float]:
        """Zero-cost scores of a freshly initialised copy of ``arch`` (none configured: {})."""
        if self.scorer is None:
            return {}
        assert self._proxy_batch is not None
        return self.scorer.score(arch, *self._proxy_batch)

    def _prescreen(self, n: int) -> list[Arch]:
        assert self.scorer is not None and self._proxy_batch is not None
        k = min(self.config.search.population, n)
        return prescreen(self.scorer, self.steering, *self._proxy_batch, n=n, k=k,
                         seed=self.config.seed, by=self.config.prescreen_by)

    def host_latency(self, arch: Arch) -> float:
        """Batch-1 latency of the stand-alone net on this engine's device (cached), for
        comparing with other devices."""
        return self.meter.measure(arch)

    def retemplated(self, template: dict[str, Any]) -> tuple[SearchEngine, str]:
        """This search on an edited template: a new engine, and what carried over.

        Weights of every module whose name and shape survive the edit are kept, new
        candidates start from fresh weights; the training schedule, the steering edits
        that still apply and the evaluated architectures that still exist carry over.
        """
        config = replace(self.config, template=template, prescreen_n=0)
        new = SearchEngine(config, self.trainer.callback, data=self.data,
                           data_roots=self.data_roots)
        fresh = new.supernet.state_dict()
        kept = _surviving_weights(self.supernet, new.supernet)
        new.supernet.load_state_dict(kept, strict=False)
        new.trainer.load_progress(self.trainer.state_dict())
        steering, dropped = self.steering.carried_over(new.space)
        new.steering.assign(steering)  # the trainer and search hold this object
        new.archive = [r for r in self.archive if new.space.accepts(r.arch)]
        search = self.search.state_dict()
        search["archive"] = [[a, acc] for a, acc in search["archive"] if new.space.accepts(a)]
        search["warm_start"] = [a for a in search["warm_start"] if new.space.accepts(a)]
        new.search.load_state_dict(search)
        new.fitness.update(new.archive)
        new.latency.observe(new.archive)
        detail = (f"{new.space.size():,} architectures; kept {len(kept)} of {len(fresh)} weight "
                  f"tensors and {len(new.archive)} of {len(self.archive)} evaluated candidates")
        if dropped:
            detail += f"; dropped {dropped} steering edits that no longer apply"
        if self.latency.budget_ms is not None:
            detail += "; the latency budget was lifted (the latency model starts anew): set it again"
        return new, detail

    def state_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "trainer": self.trainer.state_dict(),
                **self._search_state()}

    @classmethod
    def load(cls, path: str | Path, callback: Callable[[TrainProgress], None] | None = None,
             *, data_roots: Roots = None) -> SearchEngine:
        state = read_checkpoint(path, "supernet-mode")
        engine = cls(EngineConfig.from_dict(state["config"]), callback, data_roots=data_roots)
        engine.trainer.load_state_dict(state["trainer"])  # weights, optimizer and steering
        engine._load_search_state(state)
        return engine


def latency_score_key(batch: int) -> str:
    """Where a candidate's latency at ``batch`` images lands in its ``scores``."""
    return f"latency_ms_batch{batch}"


def _meter(space: SearchSpace, data: Dataset, config: EngineConfig,
           device: torch.device) -> LatencyMeter:
    """One meter per engine, on its device: candidates are timed where this worker runs them."""
    ev = config.eval
    return LatencyMeter(space, data.in_channels, data.image_size, data.num_classes, device=device,
                        batch_size=ev.latency_batch, warmup=ev.latency_warmup,
                        repeats=ev.latency_repeats, seed=config.seed)


def _surviving_weights(old: Supernet, new: Supernet) -> dict[str, torch.Tensor]:
    """The new supernet's state entries that the old one has under the same stable name
    (choice point, block, tensor) and shape: a block whose inputs changed width starts anew."""
    old_names = old.stable_names()
    by_name = {old_names[key]: value for key, value in old.state_dict().items()}
    names, fresh = new.stable_names(), new.state_dict()
    return {key: by_name[names[key]] for key, value in fresh.items()
            if names[key] in by_name and by_name[names[key]].shape == value.shape}
