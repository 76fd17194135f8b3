"""Sessions in a known state, built on an in-memory bus, for the tests of views that fold them."""

from __future__ import annotations

from dataclasses import dataclass

from navigator.bus import MemoryBus
from navigator.events import Candidates, Space
from supernet.space import SearchSpace
from supernet.templates.chain import chain_tiny


@dataclass
class EditedChain:
    """A session on chain-tiny whose template was edited after six candidates arrived."""

    bus: MemoryBus
    session: str
    archs: list[str]  # every candidate, in arrival order
    survivors: list[str]  # those the edited space still holds (layer1's sep3x3 was removed)


def _publish_space(bus: MemoryBus, session: str, template: dict) -> None:
    space = SearchSpace.from_dict(template)
    bus.publish(session, Space(template=space.to_dict(), size=space.size(), choice_points=[
        {"name": cp.name, "candidates": list(cp.candidates)} for cp in space]))


def edited_chain_session() -> EditedChain:
    bus, session = MemoryBus(), "edited"
    doc = chain_tiny().to_dict()
    space = SearchSpace.from_dict(doc)
    _publish_space(bus, session, doc)
    archs = [space.to_string(space.from_index(i)) for i in (0, 100, 200, 300, 400, 500)]
    bus.publish(session, Candidates(generation=1, records=[
        {"arch": a, "accuracy": 0.1 * k, "x": 0.0, "y": 0.0} for k, a in enumerate(archs)]))
    doc["layers"][0]["blocks"] = [b for b in doc["layers"][0]["blocks"] if b["name"] != "sep3x3"]
    _publish_space(bus, session, doc)
    survivors = [a for a in archs if space.from_string(a)[0] != "sep3x3"]
    assert 0 < len(survivors) < len(archs)
    return EditedChain(bus, session, archs, survivors)
