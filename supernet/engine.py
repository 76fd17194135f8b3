"""The supernet engine: one search that trains a weight-sharing supernet, end to end.

``SearchEngine`` wires the space, data, supernet, trainer, evaluator, search and
fitness table together and exposes short, resumable calls (``train_steps``,
``search_generation``, ``extend_training``) so that the caller can apply the
analyst's commands between any two of them. ``save``/``load`` capture the whole
state, so a killed worker resumes where its last checkpoint left it. It is the
``supernet`` family of :mod:`supernet.engines`; :class:`supernet.configs.EngineConfig`
configures every family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from supernet.archlock.targets import ProxyTargets
from supernet.configs import EngineConfig
from supernet.data import Dataset, load_dataset
from supernet.engines import register_engine
from supernet.engines.common import EngineBase
from supernet.evaluate import Evaluator
from supernet.fewshot import fewshot_supernet
from supernet.hardware.meter import LatencyMeter
from supernet.model import Supernet
from supernet.paths import Roots
from supernet.proxies import ProxyScorer, prescreen, proxy_batch
from supernet.records import CandidateRecord
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.train import Trainer, TrainProgress, check_device, read_checkpoint


@register_engine("supernet")
class SearchEngine(EngineBase):
    """Candidates scored by a weight-sharing supernet that trains between generations."""

    trainer: Trainer
    records_ensemble = True  # estimates, not truth: the ``score`` ensemble helps (issue 19)

    def __init__(self, config: EngineConfig,
                 callback: Callable[[TrainProgress], None] | None = None,
                 data: Dataset | None = None, *, data_roots: Roots = None) -> None:
        """``data_roots``: the folders ``config.dataset`` must lie in (see
        :func:`supernet.engines.open_engine`)."""
        check_device(config.train)  # before loading data for a device this worker lacks
        self.config = config
        self.data_roots = data_roots
        torch.manual_seed(config.seed)
        self.space = config.space()
        self.data = data or load_dataset(config.dataset, seed=config.seed, limit=config.data_limit,
                                         roots=data_roots)
        self.task = self.data.task
        self.supernet = fewshot_supernet(Supernet(self.space, self.data.in_channels,
                                                  self.data.num_classes, self.data.image_size,
                                                  self.task),
                                         config.train, len(self.data.y_train))
        self.steering = SteeringState(self.space)
        self.trainer = Trainer(self.supernet, self.data, self.steering, config.train, callback)
        self.evaluator = Evaluator(self.supernet, self.data, config.eval, seed=config.seed)
        self._init_search()
        self.meter = _meter(self.space, self.data, config, self.trainer.device)
        self.scorer = (ProxyScorer(self.space, self.data.in_channels, self.data.num_classes,
                                   tuple(config.proxies), seed=config.seed, task=self.task)
                       if config.proxies else None)
        self._proxy_batch = proxy_batch(self.data, 64, config.seed) if config.proxies else None
        locking = config.archlock  # ArchLock's targets: proxies on target data (archlock/targets.py)
        self.lock_targets = (ProxyTargets(self.space, locking, config.seed, data_roots,
                                          source=self.data)
                             if locking is not None else None)
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
                generation=generation, parent=parent,
                scores=self.proxy_scores(arch) | extra | self._target_scores(arch),
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

    def _target_scores(self, arch: Arch) -> dict[str, float]:
        return {} if self.lock_targets is None else self.lock_targets.scores(arch)

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
                        repeats=ev.latency_repeats, seed=config.seed, task=data.task)


def _surviving_weights(old: Supernet, new: Supernet) -> dict[str, torch.Tensor]:
    """The new supernet's state entries that the old one has under the same stable name
    (choice point, block, tensor) and shape: a block whose inputs changed width starts anew."""
    old_names = old.stable_names()
    by_name = {old_names[key]: value for key, value in old.state_dict().items()}
    names, fresh = new.stable_names(), new.state_dict()
    return {key: by_name[names[key]] for key, value in fresh.items()
            if names[key] in by_name and by_name[names[key]].shape == value.shape}
