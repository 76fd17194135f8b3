"""The tabular engine: candidates looked up in a benchmark table instead of trained.

:class:`TabularEngine` drives the same search, steering state, fitness table, archive
and latency objective as :class:`~supernet.engine.SearchEngine` (both build on
:class:`~supernet.engines.common.EngineBase`), so a search can be steered and compared
with the ground truth in seconds. It is the ``tabular`` family of :mod:`supernet.engines`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from supernet.archlock.objective import UNKNOWN_TARGET, target_key
from supernet.archlock.unknown import SimulatedTarget
from supernet.configs import EngineConfig, check_epochs
from supernet.engines import register_engine
from supernet.engines.common import EngineBase
from supernet.paths import Roots
from supernet.records import CandidateRecord
from supernet.space import Arch
from supernet.steering import SteeringState
from supernet.tabular.parsing import check_arch
from supernet.tabular.specs import open_table
from supernet.tabular.table import BenchmarkTable, DatasetInfo, dataset_info
from supernet.train import read_checkpoint

NO_TRAINING = "no training: tabular mode"


class _NoTrainer:
    """Stands in for :class:`supernet.train.Trainer`: there is nothing to train."""

    note = NO_TRAINING

    def __init__(self) -> None:
        self.epoch = 0
        self.epochs = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.steps_per_epoch = 0

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def done(self) -> bool:
        return True

    def steps_remaining(self) -> int:
        return 0

    def train_steps(self, n: int) -> list[float]:
        return []

    def train_epoch(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "steps": 0, "note": NO_TRAINING}

    def extend(self, epochs: int) -> str:
        """Validates ``epochs`` like the supernet trainer, then does nothing."""
        check_epochs(epochs, "fine-tune epochs")
        return NO_TRAINING

    def finetune(self, epochs: int) -> list[dict[str, Any]]:
        self.extend(epochs)
        return []


@register_engine("tabular")
class TabularEngine(EngineBase):
    """A :class:`~supernet.engine.SearchEngine` stand-in that looks accuracies up in a table.

    Same surface as the supernet engine (:class:`~supernet.engines.Engine`): ``trainer``
    is a no-op (``done`` is always true, ``epoch`` 0), ``data`` holds the name and input
    shape only (no tensors), ``supernet`` is ``None``, ``device`` the CPU. Of ``config``
    (an :class:`~supernet.configs.EngineConfig`) the ``template`` and ``search`` apply
    (``search.seed`` makes runs reproducible); training, eval and dataset settings are
    ignored.

    The table comes from ``table`` (a :class:`BenchmarkTable` or a spec for
    :func:`~supernet.tabular.specs.open_table`) or else from ``config.table_path`` /
    ``config.table_dataset`` / ``config.table_percent``. It must cover every
    architecture of the space. ``data_roots`` confines a table path to those folders (see
    :func:`supernet.engines.open_engine`).
    """

    trainer: _NoTrainer

    def __init__(self, config: EngineConfig, callback: Callable[[Any], None] | None = None,
                 table: BenchmarkTable | str | None = None, dataset: str | None = None,
                 percent: bool | None = None, *, data_roots: Roots = None) -> None:
        self.config = config
        self.callback = callback  # never called: there is no training progress
        self.space = config.space()
        percent = config.table_percent if percent is None else percent
        if table is None:
            table = config.table_path
            if not table:
                raise ValueError("tabular mode needs a benchmark table: set table_path to a CSV "
                                 "file, 'synthetic[:SEED]' or 'nats:[PATH]'")
        if isinstance(table, str):
            table = open_table(table, dataset or config.table_dataset, self.space, percent=percent,
                               roots=data_roots)
        elif dataset and table.dataset != dataset:
            table = table.with_dataset(dataset)
        self.table: BenchmarkTable = table
        self._check_coverage()
        self._targets = self._target_columns()
        self._unknown = self._unknown_target()
        info = dataset_info(table.dataset)
        self.data = DatasetInfo(f"table {table.dataset}", info.in_channels, info.num_classes,
                                info.image_size)
        self.supernet = None
        self.trainer = _NoTrainer()
        self.steering = SteeringState(self.space)
        self._init_search()

    def _check_coverage(self) -> None:
        table = self.table
        if table.space != self.space:
            for arch in table.archs:  # every row must at least parse in this space
                check_arch(self.space, arch, "benchmark table")
        if len(table) < self.space.size():
            missing = next(self.space.to_string(a) for a in self.space.all_archs()
                           if self.space.to_string(a) not in table)
            raise ValueError(f"the benchmark table covers {len(table):,} of the "
                             f"{self.space.size():,} architectures of this space "
                             f"(e.g. {missing!r} is missing); tabular mode needs all of them")

    def _target_columns(self) -> dict[str, BenchmarkTable]:
        """The table columns ArchLock locks against (``config.archlock.targets``)."""
        if self.config.archlock is None:
            return {}
        unknown = [t for t in self.config.archlock.targets if t not in self.table.datasets]
        if unknown:
            raise ValueError(f"archlock target(s) {unknown} are not columns of the table; "
                             f"its accuracy columns are {self.table.datasets}")
        return {name: self.table.with_dataset(name) for name in self.config.archlock.targets}

    def _unknown_target(self) -> SimulatedTarget | None:
        """ArchLock's unknown target (``unknown_target``), learnt from every accuracy column
        of the table (the source alone when it has no other)."""
        locking = self.config.archlock
        if locking is None or not locking.unknown_target:
            return None
        tasks = {name: self.table.with_dataset(name).lookup for name in self.table.datasets}
        return SimulatedTarget(self.space, locking, tasks, self.table.dataset, self.config.seed)

    # -- search ---------------------------------------------------------------------------
    def _evaluate(self, proposals: list[tuple[Arch, str | None]],
                  generation: int) -> list[CandidateRecord]:
        return [self._record(arch, parent, generation) for arch, parent in proposals]

    def _record(self, arch: Arch, parent: str | None, generation: int) -> CandidateRecord:
        text = self.space.to_string(arch)
        entry = self.table.entry(text)
        rank, percentile = self.table.true_rank(text)
        scores = {"table_rank": float(rank), "table_percentile": percentile}
        for name, column in self._targets.items():  # ArchLock: the target is another column
            scores[target_key(name)] = column.lookup(text)
        if self._unknown is not None:  # ArchLock-TU: predicted on simulated tasks
            scores[target_key(UNKNOWN_TARGET)] = self._unknown.score(arch)
        return CandidateRecord(
            arch=text, index=self.space.index(arch), accuracy=entry.accuracy,
            loss=1.0 - entry.accuracy, params=entry.params, flops=entry.flops,
            latency_ms=entry.latency_ms, generation=generation, parent=parent,
            scores=scores,
        )

    def host_latency(self, arch: Arch) -> float:
        """The table's latency of ``arch`` (a table without a latency column has none)."""
        latency = self.table.entry(arch).latency_ms
        if latency is None:
            raise ValueError("this benchmark table has no latency_ms column to compare devices with")
        return latency

    def retemplated(self, template: dict[str, Any]) -> tuple[TabularEngine, str]:
        """Never: the table fixes the space, so an edited template has nothing to look up."""
        raise ValueError("a tabular session's space is fixed by its table; start a new session")

    # -- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        table = self.table
        return {"mode": self.mode, "config": self.config.to_dict(),
                "table": {"source": table.source, "dataset": table.dataset,
                          "percent": table.percent, "fingerprint": table.fingerprint(),
                          "size": len(table)},
                "steering": self.steering.to_dict(), **self._search_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("mode") != self.mode:
            raise ValueError("this checkpoint was not written by a tabular-mode engine")
        saved = state["table"]
        if saved["fingerprint"] != self.table.fingerprint():
            raise ValueError(f"the benchmark table differs from the one the checkpoint was "
                             f"made with (source {saved['source']!r}, dataset "
                             f"{saved['dataset']!r}, {saved['size']:,} entries)")
        self.steering.assign(SteeringState.from_dict(state["steering"], self.space))
        self._load_search_state(state)

    @classmethod
    def load(cls, path: str | Path, callback: Callable[[Any], None] | None = None,
             table: BenchmarkTable | None = None, *, data_roots: Roots = None) -> TabularEngine:
        """Resume from ``save``; the table is re-opened from its recorded source unless given."""
        state = read_checkpoint(path, "tabular-mode")
        if state.get("mode") != cls.mode:
            raise ValueError(f"{path} is not a tabular-mode checkpoint")
        saved = state["table"]
        if table is None:
            if not saved["source"]:
                raise ValueError("the checkpoint's table has no recorded source; pass table=")
            source: BenchmarkTable | str = saved["source"]
        else:
            source = table
        engine = cls(EngineConfig.from_dict(state["config"]), callback, table=source,
                     dataset=saved["dataset"], percent=saved["percent"], data_roots=data_roots)
        engine.load_state_dict(state)
        return engine
