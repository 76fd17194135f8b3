from __future__ import annotations

from pathlib import Path

from navigator.bus import MemoryBus
from navigator.events import Trust
from navigator.session_view import SessionView
from navigator.trust import TrustPublisher
from supernet.configs import EngineConfig
from supernet.search import SearchConfig
from supernet.tabular.engine import TabularEngine


def _engine(**extra: object) -> TabularEngine:
    return TabularEngine(EngineConfig(template="nb201", mode="tabular", table_path="synthetic:2",
                                      search=SearchConfig(population=15, seed=0), **extra))


def test_trust_events_correlate_estimators_with_the_table_and_fold_into_the_view() -> None:
    bus, engine = MemoryBus(), _engine()
    publisher = TrustPublisher(bus, "s")
    engine.search_generation()
    publisher.after_generation(engine)
    engine.search_generation()
    publisher.after_generation(engine)
    events = [e for e in bus.history("s") if e.type == "trust"]
    assert len(events) == 2 and events[-1].data["anchors"] == 30
    trust = Trust(**events[-1].data)
    assert trust.estimators["accuracy"]["kendall"] == 1.0  # the table is its own truth
    assert {"params", "flops", "score"} <= set(trust.estimators)
    view = SessionView("s")
    for event in bus.history("s"):
        view.apply(event)
    assert view.trust["rank_by"] == "accuracy"
    assert "params" in publisher.rank_by(engine, "params")
    assert bus.history("s")[-1].data["rank_by"] == "params" and engine.rank_by == "params"


def test_supernet_mode_anchors_come_from_the_table_path_csv(tmp_path: Path) -> None:
    a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    csv = tmp_path / "measured.csv"
    csv.write_text(f"arch,measured\n{a},91.5\n", encoding="utf-8")

    class Stub:  # what the publisher reads of an engine without a table
        config = EngineConfig(template="nb201", table_path=str(csv), table_dataset="measured")
        space = config.space()

    anchors = TrustPublisher(MemoryBus(), "s", roots=(tmp_path,)).anchors(Stub())  # type: ignore[arg-type]
    assert anchors == {a: 0.915}
