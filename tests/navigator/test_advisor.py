from __future__ import annotations

from collections import Counter
from pathlib import Path

from navigator.advisor import SessionAdvisor, advice_command
from navigator.bus import MemoryBus
from navigator.commands import parse_command
from navigator.worker import SessionWorker
from supernet.advisor import AdvisorConfig
from supernet.configs import EngineConfig
from supernet.tabular.engine import TabularEngine
from tests.navigator.test_worker import Running, options, state_is

TABULAR = {"template": "nb201", "mode": "tabular", "table_path": "synthetic:5",
           "search": {"population": 8, "parents": 3}, "measure_latency": False}


def test_a_collapsed_space_pauses_the_session_and_nothing_is_evaluated_twice(
        tmp_path: Path) -> None:
    run = Running(MemoryBus(), tmp_path, TABULAR, extra_generations=30)
    try:
        run.wait(state_is("running"))
        for cp in ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1"):
            assert run.command("lock_edge", choice_point=cp, op="nor_conv_3x3").type == "command_ack"
        paused = run.wait(lambda e: e.type == "session_state" and "allowed space" in
                          e.data["message"])
        assert paused.data["state"] == "paused"
        evaluated = Counter(r["arch"] for e in run.seen if e.type == "candidates"
                            for r in e.data["records"])
        assert evaluated and max(evaluated.values()) == 1
    finally:
        run.stop()


def test_auto_applied_advice_goes_through_the_command_path(tmp_path: Path) -> None:
    config = EngineConfig.from_dict(TABULAR | {"search": {"population": 20, "seed": 1}})
    engine = TabularEngine(config)
    bus = MemoryBus()
    worker = SessionWorker(bus, "s", config, options(tmp_path))
    worker.engine = engine
    advisor = SessionAdvisor(bus, "s", worker.handle, AdvisorConfig())
    advisor.set_auto_apply(True)
    for _ in range(6):
        engine.search_generation()
        advisor.after_generation(engine)
    events = bus.history("s")
    advice = [e for e in events if e.type == "advice"]
    acks = [e for e in events if e.type == "command_ack"]
    assert len(advice) == 6 and all(e.data["auto_apply"] for e in advice)
    assert acks and all(a.data["user"] == "advisor" for a in acks)
    kinds = {a.data["command"] for a in acks}
    assert "focus" in kinds and kinds <= {"prune_op", "lock_edge", "set_sampling_weights",
                                          "focus", "restore_op", "unlock_edge"}
    # the acknowledged arguments are the proposals', as the Accept button would send them
    proposed = {(p["command"], str(p["args"])) for e in advice for p in e.data["proposals"]}
    assert {(a.data["command"], str(a.data["args"])) for a in acks} <= proposed


def test_advice_becomes_the_wire_command_of_the_ui() -> None:
    proposal = {"id": "prune_op-1", "command": "prune_op",
                "args": {"choice_point": "3<-0", "op": "none"}, "confidence": 0.99,
                "reason": "...", "evidence": {}}
    command = parse_command(advice_command(proposal, "s", "ana"))
    assert (command.type, command.args, command.user) == (
        "prune_op", {"choice_point": "3<-0", "op": "none"}, "ana")


def test_the_switch_is_a_recorded_command_and_survives_a_resume(tmp_path: Path) -> None:
    run = Running(MemoryBus(), tmp_path, TABULAR, extra_generations=3)
    try:
        run.wait(state_is("running"))
        assert run.command("set_advisor", auto_apply=True).type == "command_ack"
        assert run.worker.advisor.auto_apply
        assert SessionAdvisor(run.bus, run.session, run.worker.handle).auto_apply
    finally:
        run.stop()


def test_evidence_of_an_error_metric_is_shown_as_errors_with_the_lowest_reachable(
        tmp_path: Path) -> None:
    """Darcy-like: the archive holds errors (lower is better). The model is fitted on the
    negated error, so "best reachable" must come back as the lowest error, not the highest."""
    import random
    from types import SimpleNamespace

    from navigator.advisor import EvidencePublisher
    from supernet.search import SearchConfig
    from supernet.space import SearchSpace
    from supernet.steering import SteeringState

    space = SearchSpace.from_preset("tiny")
    rng = random.Random(0)
    cp = space.choice_points[0]
    good = cp.candidates[0]
    archive = {}
    for _ in range(60):
        arch = tuple(rng.choice(c.candidates) for c in space.choice_points)
        archive[arch] = (0.1 if arch[0] == good else 0.5) + rng.uniform(0, 0.02)
    bus = MemoryBus()
    engine = SimpleNamespace(space=space, steering=SteeringState(space), higher_is_better=False,
                             search=SimpleNamespace(archive=archive, config=SearchConfig()))
    assert EvidencePublisher(bus, "s").after_generation(engine)  # type: ignore[arg-type]
    data = [e for e in bus.history("s") if e.type == "evidence"][-1].data
    potential = data["potential"][cp.name]
    others = [potential[op]["value"] for op in cp.candidates if op != good]
    assert 0 < potential[good]["value"] < min(others)  # errors, the good op lowest
    for op in cp.candidates:
        r = data["partial_dependence"][cp.name][op]
        assert r["low"] <= r["value"] <= r["high"]
        # the best reachable error is at most the op's average one (not the worst reachable)
        assert potential[op]["value"] <= r["value"] + 1e-9
    assert data["partial_dependence"][cp.name][good]["value"] < 0.3
