"""The session's answer to the NAS-Bench-360 question: does the best architecture the search
found beat the task's fixed baseline network trained with the same budget?

:class:`BaselinePublisher` trains both stand-alone (:func:`supernet.baseline.compare_with_baseline`,
the CLI's comparison: the session's training epochs, its seed, the test split) once, on the
worker's own thread when the search budget is used up, never on a request path, and
publishes the verdict as a ``baseline`` event. Tabular sessions look accuracies up and have
no data to train on: they get none.
"""

from __future__ import annotations

import threading
from typing import Any

from navigator.bus import EventBus
from navigator.events import Baseline
from supernet.baseline import compare_with_baseline
from supernet.configs import EngineConfig
from supernet.data import Dataset
from supernet.engines import Engine
from supernet.space import Arch, SearchSpace
from supernet.tasks import METRIC_LABELS


class BaselinePublisher:
    """Publishes one ``baseline`` event per worker once the search has a best architecture."""

    def __init__(self, bus: EventBus, session: str) -> None:
        self.bus = bus
        self.session = session
        self.published = False
        self.thread: threading.Thread | None = None

    def after_budget(self, engine: Engine, config: EngineConfig) -> None:
        """Train the best found and the baseline for ``config.train.epochs`` on a thread of
        their own and publish: two stand-alone trainings can take as long as the search did,
        and the session must keep answering Stop, Pause and fine-tune meanwhile."""
        data: Any = engine.data
        board = engine.leaderboard(1)
        if self.published or config.mode == "tabular" or not board or not isinstance(data, Dataset):
            return
        self.published = True
        best = engine.space.from_string(board[0].arch)
        self.thread = threading.Thread(
            target=self._compare, args=(engine.space, best, data, config, str(engine.device)),
            name=f"baseline-{self.session}", daemon=True)
        self.thread.start()

    def _compare(self, space: SearchSpace, best: Arch, data: Dataset, config: EngineConfig,
                 device: str) -> None:
        comparison = compare_with_baseline(space, best, data, config.train.epochs, config.seed,
                                           device)
        self.bus.publish(self.session, Baseline(
            arch=comparison.baseline_arch, best_arch=comparison.best_arch,
            metric=comparison.metric, label=METRIC_LABELS[comparison.metric],
            higher_is_better=comparison.higher_is_better, value=comparison.baseline,
            best_value=comparison.best, beats=comparison.beaten, budget=comparison.epochs))
