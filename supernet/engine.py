"""One search, end to end: the single object a runtime worker (or a script) drives.

``SearchEngine`` wires the space, data, supernet, trainer, evaluator, search and
fitness table together and exposes short, resumable calls (``train_steps``,
``search_generation``, ``extend_training``) so that the caller can apply the
analyst's commands between any two of them. ``save``/``load`` capture the whole
state, so a killed worker resumes where its last checkpoint left it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch

from supernet.data import Dataset, load_dataset
from supernet.evaluate import CandidateRecord, EvalConfig, Evaluator, best_distinct
from supernet.fitness import FitnessTable
from supernet.hardware import LatencyMeter
from supernet.latency_budget import LatencyObjective
from supernet.model import Supernet
from supernet.proxies import ProxyScorer, check_proxies, prescreen, proxy_batch
from supernet.search import EvolutionarySearch, SearchConfig
from supernet.space import Arch, SearchSpace, preset, template_from_dict
from supernet.steering import SteeringState
from supernet.train import TrainConfig, Trainer, TrainProgress, save_atomic


@dataclass
class EngineConfig:
    template: str | dict[str, Any] = "tiny"
    dataset: str = "digits"
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    data_limit: int | None = None
    measure_latency: bool = True
    mode: str = "supernet"  # or "tabular": accuracies looked up in a benchmark table, no training
    table_path: str | None = None  # CSV file, "synthetic[:SEED]" or "nats:[PATH]" (tabular mode)
    table_dataset: str = "cifar10"
    table_percent: bool = False
    proxies: list[str] = field(default_factory=list)  # zero-cost scores for every candidate
    prescreen_n: int = 0  # > 0: warm-start with the best of this many random archs by proxies
    prescreen_by: list[str] = field(default_factory=list)  # proxies that rank them (default all)

    def __post_init__(self) -> None:
        self.space()
        if self.mode not in ("supernet", "tabular"):
            raise ValueError(f"mode must be 'supernet' or 'tabular', got {self.mode!r}")
        if self.mode == "tabular" and self.space().is_chain:
            raise ValueError("tabular mode looks architectures up by their NAS-Bench-201 cell "
                             "string; a chain template needs mode 'supernet'")
        if self.mode == "tabular" and not self.table_path:
            raise ValueError("tabular mode needs table_path: a CSV file (arch + accuracy columns), "
                             "'synthetic[:SEED]' or 'nats:[PATH]'")
        if not isinstance(self.proxies, (list, tuple)):
            raise ValueError(f"proxies must be a list of names such as ['synflow'], got {self.proxies!r}")
        self.proxies = list(check_proxies(self.proxies)) if self.proxies else []
        if self.proxies and self.mode == "tabular":
            raise ValueError("zero-cost proxies need a batch of training data; tabular mode has none")
        if not isinstance(self.prescreen_n, int) or isinstance(self.prescreen_n, bool) or self.prescreen_n < 0:
            raise ValueError(f"prescreen_n must be a non-negative integer, got {self.prescreen_n!r}")
        if self.prescreen_n and not self.proxies:
            raise ValueError("prescreen_n needs at least one proxy to rank by: set proxies")
        if not isinstance(self.prescreen_by, (list, tuple)):
            raise ValueError(f"prescreen_by must be a list of proxy names, got {self.prescreen_by!r}")
        self.prescreen_by = list(self.prescreen_by)
        outside = [name for name in self.prescreen_by if name not in self.proxies]
        if outside:
            raise ValueError(f"prescreen_by {outside}: rank only by proxies that are scored; "
                             f"add them to proxies {self.proxies}")
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ValueError("dataset must be a spec such as 'digits' or 'cifar10:/path'")
        if not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

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
        if not isinstance(data, dict):
            raise ValueError(f"engine config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown engine setting(s) {unknown}; known: {sorted(known)}")
        nested = {"train": TrainConfig, "search": SearchConfig, "eval": EvalConfig}
        kwargs = {k: (nested[k].from_dict(v) if k in nested else v) for k, v in data.items()}
        return cls(**kwargs)


class SearchEngine:
    def __init__(self, config: EngineConfig,
                 callback: Callable[[TrainProgress], None] | None = None,
                 data: Dataset | None = None) -> None:
        self.config = config
        torch.manual_seed(config.seed)
        self.space = config.space()
        self.data = data or load_dataset(config.dataset, seed=config.seed, limit=config.data_limit)
        self.supernet = Supernet(self.space, self.data.in_channels, self.data.num_classes,
                                 self.data.image_size)
        self.steering = SteeringState(self.space)
        self.trainer = Trainer(self.supernet, self.data, self.steering, config.train, callback)
        self.evaluator = Evaluator(self.supernet, self.data, config.eval, seed=config.seed)
        self.search = EvolutionarySearch(self.space, self.steering, config.search)
        self.fitness = FitnessTable(self.space)
        self.archive: list[CandidateRecord] = []
        self.meter = _meter(self.space, self.data, config, self.trainer.device)
        self.latency = LatencyObjective(self.space)
        self.search.constraint = self.latency.allows
        self.scorer = (ProxyScorer(self.space, self.data.in_channels, self.data.num_classes,
                                   tuple(config.proxies), seed=config.seed)
                       if config.proxies else None)
        self._proxy_batch = proxy_batch(self.data, 64, config.seed) if config.proxies else None
        # Done before the first generation, not here: a resumed search has its warm start
        # in its checkpoint, and scoring N architectures again would cost minutes for nothing.
        self._prescreen_due = bool(config.prescreen_n)

    @property
    def device(self) -> torch.device:
        return self.trainer.device

    def train_steps(self, n: int) -> list[float]:
        return self.trainer.train_steps(n)

    def train_epoch(self) -> dict[str, float]:
        return self.trainer.train_epoch()

    def extend_training(self, epochs: int) -> None:
        """Plan ``epochs`` more (fine-tune) epochs; the caller then keeps calling train_steps."""
        self.trainer.extend(epochs)

    def finetune(self, epochs: int) -> list[dict[str, float]]:
        return self.trainer.finetune(epochs)

    def search_generation(self) -> list[CandidateRecord]:
        """Propose, evaluate with inherited weights, record: one generation of the search."""
        if self._prescreen_due:
            self._prescreen_due = False
            if self.search.generation == 0 and not self.search.warm_start:
                self.search.warm_start = self._prescreen(self.config.prescreen_n)
        proposals = self.search.propose()
        results = self.evaluator.evaluate([arch for arch, _ in proposals])
        generation = self.search.generation
        latencies = self._latencies([arch for arch, _ in proposals])
        records = []
        for (arch, parent), (accuracy, loss), (latency, extra) in zip(proposals, results, latencies):
            records.append(CandidateRecord(
                arch=self.space.to_string(arch), index=self.space.index(arch),
                accuracy=accuracy, loss=loss, params=self.supernet.params(arch),
                flops=self.supernet.flops(arch), latency_ms=latency,
                generation=generation, parent=parent, scores=self.proxy_scores(arch) | extra,
            ))
        self.search.tell(records)
        self.fitness.update(records)
        self.latency.observe(records)
        self.archive.extend(records)
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

    def leaderboard(self, k: int = 10) -> list[CandidateRecord]:
        """Best distinct architectures seen, by supernet accuracy."""
        return best_distinct(self.archive, k)

    def archive_as_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.archive]

    def retemplated(self, template: dict[str, Any]) -> tuple[SearchEngine, str]:
        """This search on an edited template: a new engine, and what carried over.

        Weights of every module whose name and shape survive the edit are kept, new
        candidates start from fresh weights; the training schedule, the steering edits
        that still apply and the evaluated architectures that still exist carry over.
        """
        config = replace(self.config, template=template, prescreen_n=0)
        new = SearchEngine(config, self.trainer.callback, data=self.data)
        fresh = new.supernet.state_dict()
        kept = _surviving_weights(self.supernet, new.supernet)
        new.supernet.load_state_dict(kept, strict=False)
        new.trainer.load_progress(self.trainer.state_dict())
        steering, dropped = self.steering.carried_over(new.space)
        new.steering.pruned, new.steering.locked = steering.pruned, steering.locked
        new.steering.weights, new.steering.focus = steering.weights, steering.focus
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
                "search": self.search.state_dict(), "latency": self.latency.state_dict(),
                "archive": [r.to_dict() for r in self.archive]}

    def save(self, path: str | Path) -> Path:
        return save_atomic(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | Path,
             callback: Callable[[TrainProgress], None] | None = None) -> SearchEngine:
        state = torch.load(path, map_location="cpu", weights_only=False)
        engine = cls(EngineConfig.from_dict(state["config"]), callback)
        engine.trainer.load_state_dict(state["trainer"])
        engine.search.load_state_dict(state["search"])
        engine.latency.load_state_dict(state["latency"])
        engine.archive = [CandidateRecord.from_dict(r) for r in state["archive"]]
        engine.fitness.update(engine.archive)
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
