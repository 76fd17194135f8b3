"""Live estimator trust in a session: the ``trust`` event and the analyst's "rank by".

After each generation :class:`TrustPublisher` correlates every estimator the candidates
carry (supernet accuracy and loss, zero-cost proxies, FLOPs/params, the ``score``
ensemble) with the anchors, architectures whose true accuracy is known: in tabular mode
the table itself, in supernet mode the CSV of measured accuracies the config's
``table_path`` names (same format as a benchmark table; it may hold only a few rows). The
figures (:func:`supernet.estimators.trust_report`, bootstrap intervals) are published as a
``trust`` event, so they are recorded and replayed with the session. The ``rank_by``
command goes through the normal command path (acknowledged, recorded) and changes what
orders the leaderboard, the fitness table and evolution's parents.
"""

from __future__ import annotations

from collections.abc import Mapping

from navigator.bus import EventBus
from navigator.events import Trust
from supernet.engines import Engine
from supernet.estimators import trust_report
from supernet.paths import Roots
from supernet.tabular.specs import open_table

MAX_ANCHOR_CANDIDATES = 2000
"""Most evaluated candidates correlated per generation (the latest ones; bootstrap cost)."""


class TrustPublisher:
    def __init__(self, bus: EventBus, session: str, roots: Roots = None) -> None:
        self.bus = bus
        self.session = session
        self.roots = roots
        self._anchors: Mapping[str, float] | None = None
        self._problem: str | None = None

    def anchors(self, engine: Engine) -> Mapping[str, float]:
        """Known accuracies by architecture string, read once per session."""
        if self._anchors is not None:
            return self._anchors
        table = getattr(engine, "table", None)
        config = engine.config
        if table is None and config.table_path:
            try:
                table = open_table(config.table_path, config.table_dataset, engine.space,
                                   percent=config.table_percent, roots=self.roots)
            except ValueError as exc:
                self._problem = str(exc)
        self._anchors = {} if table is None else {a: table.lookup(a) for a in table.archs}
        return self._anchors

    def after_generation(self, engine: Engine) -> None:
        anchors = self.anchors(engine)
        records = engine.archive[-MAX_ANCHOR_CANDIDATES:]
        self.bus.publish(self.session, Trust(**trust_report(records, anchors, engine.rank_by)))

    def rank_by(self, engine: Engine, estimator: str) -> str:
        engine.set_rank_by(estimator)
        self.after_generation(engine)
        return f"ranking the leaderboard, fitness table and parents by {estimator}"
