"""The advisor in a session: its proposals on the bus, and auto-apply through the command path.

After each generation :class:`SessionAdvisor` asks :func:`supernet.advisor.advise` for
advice and publishes it as an ``advice`` event (so it is recorded with the session). With
auto-apply on (the ``set_advisor`` command, the automated-steering condition of a study)
each advice becomes the very command dict the UI's Accept button sends, parsed by
:func:`navigator.commands.parse_command` and handled by the worker like any other: it is
acknowledged or rejected on the bus. ``benchmarks.steering`` drives the same class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from navigator.bus import EventBus
from navigator.commands import Command, parse_command
from navigator.events import AdviceEvent, Evidence
from supernet.advisor import Advice, AdvisorConfig, advise
from supernet.configs import EngineConfig
from supernet.engines import Engine
from supernet.evidence import model_importance
from supernet.samplers import weights_apply
from supernet.tasks import rank_value

ADVISOR_USER = "advisor"
"""Who auto-applied commands are sent as (the analyst's own accepts carry their name)."""


def advice_command(advice: Advice | dict[str, Any], session: str, user: str = ADVISOR_USER
                   ) -> dict[str, Any]:
    """The wire command that carries out ``advice``: what the UI's Accept button sends."""
    data = advice.to_dict() if isinstance(advice, Advice) else advice
    return {"type": data["command"], "session": session, "user": user, "args": dict(data["args"])}


def exhausted(engine: Engine) -> str | None:
    """Why the next generation cannot be filled with unevaluated architectures, or None."""
    size = engine.steering.space_size()
    population = engine.search.config.population
    fresh = engine.search.fresh()
    if fresh <= 0:
        return (f"the allowed space is exhausted: all {size:,} architectures it holds have been "
                "evaluated; restore an op or unlock a choice point, then resume")
    if size < population:
        return (f"the allowed space holds only {size:,} architectures ({fresh:,} unevaluated), "
                f"fewer than the population of {population}; restore an op or unlock a choice "
                "point, then resume")
    return None


def weights_note(command: str, config: EngineConfig) -> str:
    """What the analyst must know about sampling weights under this session's sampler."""
    if command != "set_sampling_weights":
        return ""
    if config.mode != "supernet":
        return "; the search's fresh samples follow the weights"
    if weights_apply(config.train.sampler):
        return f"; training ({config.train.sampler} sampler) and the search's samples follow them"
    return (f"; the {config.train.sampler} sampler trains every op equally, so the weights "
            "steer the search's samples only (choose the uniform or weighted sampler to train by them)")


class EvidencePublisher:
    """The model-based evidence of a session, refitted when the archive has grown by a
    quarter (fitting costs about a second, so not after every generation of a long search)."""

    GROWTH = 1.25

    def __init__(self, bus: EventBus, session: str) -> None:
        self.bus = bus
        self.session = session
        self.fitted_on = 0

    def after_generation(self, engine: Engine) -> bool:
        archive = engine.search.archive
        n = len(archive)
        if n < 10 or n < self.fitted_on * self.GROWTH:
            return False
        self.fitted_on = n
        values = [rank_value(v, engine.higher_is_better) for v in archive.values()]
        result = model_importance(engine.space, list(archive), values, engine.steering,
                                  seed=engine.search.config.seed)
        if not engine.higher_is_better:  # fitted on "higher is better", shown in the metric's units
            for key in ("partial_dependence", "potential"):
                result[key] = {cp: {op: _in_metric_units(r) for op, r in ops.items()}
                               for cp, ops in result[key].items()}
        self.bus.publish(self.session, Evidence(**result))
        return True


def _in_metric_units(interval: dict[str, Any]) -> dict[str, Any]:
    """A value with its range, fitted on the negated error, back as an error: "best reachable"
    becomes the lowest error the model predicts, and the range's ends swap."""
    def negated(x: Any) -> Any:
        return -x if isinstance(x, (int, float)) else x

    return {**interval, "value": negated(interval.get("value")),
            "low": negated(interval.get("high")), "high": negated(interval.get("low"))}


class SessionAdvisor:
    """Advice after each generation; ``auto_apply`` sends it on as commands through ``handle``."""

    def __init__(self, bus: EventBus, session: str, handle: Callable[[Command], None],
                 config: AdvisorConfig | None = None) -> None:
        self.bus = bus
        self.session = session
        self.handle = handle
        self.config = config or AdvisorConfig()
        self.auto_apply = self._recorded_auto_apply()
        self.latest: list[Advice] = []

    def _recorded_auto_apply(self) -> bool:
        """A resumed session keeps the switch as its last acknowledged ``set_advisor`` left it."""
        for event in reversed(self.bus.history(self.session)):
            if event.type == "command_ack" and event.data.get("command") == "set_advisor":
                return bool(event.data.get("args", {}).get("auto_apply"))
        return False

    def set_auto_apply(self, on: bool) -> str:
        self.auto_apply = on
        return "the advisor's proposals are applied as they come" if on else (
            "the advisor proposes; the analyst decides")

    def after_generation(self, engine: Engine) -> list[Advice]:
        """Publish the advice on the engine's state; auto-apply it when switched on."""
        archive = engine.search.archive  # the advisor ranks "higher = better" (issue 15)
        if not engine.higher_is_better:
            archive = {arch: rank_value(v, False) for arch, v in archive.items()}
        self.latest = advise(engine.space, engine.steering, archive,
                             engine.search.config.population, self.config)
        self.bus.publish(self.session, AdviceEvent(
            generation=engine.search.generation, auto_apply=self.auto_apply,
            proposals=[a.to_dict() for a in self.latest]))
        if self.auto_apply:
            for advice in self.latest:
                self.handle(parse_command(advice_command(advice, self.session)))
        return self.latest
