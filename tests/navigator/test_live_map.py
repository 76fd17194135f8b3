from __future__ import annotations

from pathlib import Path

import numpy as np

from navigator.bus import MemoryBus
from navigator.live_map import LiveMap
from supernet.space import SearchSpace
from supernet.steering import SteeringState


def _records(space: SearchSpace, n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"arch": space.to_string(space.random_arch(rng))} for _ in range(n)]


def test_points_get_coordinates_once_and_keep_them(micro_space: SearchSpace, tmp_path: Path) -> None:
    bus = MemoryBus()
    steering = SteeringState(micro_space)
    live = LiveMap(bus, "s", micro_space, 0, "onehot", tmp_path, quick=True,
                   steering=lambda: steering)
    early = live.place(_records(micro_space, 5, 0))
    assert all(r["x"] is None for r in early)  # before the map exists
    live.start()
    building, ready = [e.data for e in bus.history("s")]
    assert building["status"] == "building" and ready["status"] == "ready"
    assert set(ready["coords"]) == {r["arch"] for r in early}
    assert np.sum(ready["background"]["allowed"]) == 27
    later = live.place(_records(micro_space, 10, 1) + [{"arch": early[0]["arch"]}])
    assert later[-1]["x"] == ready["coords"][early[0]["arch"]][0]  # the same place
    steering.lock("1<-0", "skip_connect")
    live.steering_changed()
    grey = bus.history("s")[-1].data
    assert grey["status"] == "background" and grey["coords"] == {}
    assert np.sum(grey["background"]["excluded"]) == 18
    live.poll()  # announced once
    assert len(bus.history("s")) == 3


def test_session_view_keeps_the_background_and_clears_points_on_a_refit() -> None:
    from navigator.events import MapUpdate
    from navigator.session_view import SessionView
    from tests.support.synthetic import SyntheticSession

    bus = MemoryBus()
    s = SyntheticSession(bus, "s1")
    records = s.publish_candidates(3, fitness=False)
    grid = {"bins": 2, "extent": [-1.0, 1.0], "allowed": [[1, 0], [0, 2]],
            "excluded": [[0, 0], [0, 0]], "mapped": 3, "space_size": 3}
    bus.publish("s1", MapUpdate(coords={}, status="ready", encoding="path", background=grid))
    bus.publish("s1", MapUpdate(coords={}, status="refit", message="template edited"))
    bus.publish("s1", MapUpdate(coords={records[0]["arch"]: [0.5, 0.5]}, status="ready"))
    view = SessionView("s1")
    for event in bus.history("s1"):
        view.apply(event)
    snap = view.snapshot_map()
    assert snap["x"] == [0.5, None, None] and snap["status"] == "ready"
    assert snap["background"] is None and snap["encoding"] == "path"  # the refit dropped it
    assert any("template edited" in t["text"] for t in view.timeline)


def test_session_view_keeps_the_old_map_until_the_refit_places_the_points() -> None:
    from navigator.events import MapUpdate
    from navigator.session_view import SessionView
    from tests.support.synthetic import SyntheticSession

    bus = MemoryBus()
    s = SyntheticSession(bus, "s1")
    records = s.publish_candidates(2, fitness=False)
    a, b = (r["arch"] for r in records)
    grid = {"bins": 1, "extent": [-1.0, 1.0], "allowed": [[2]], "excluded": [[0]], "mapped": 2,
            "space_size": 2}
    view = SessionView("s1")
    bus.publish("s1", MapUpdate(coords={a: [0.1, 0.2], b: [0.3, 0.4]}, status="ready",
                                encoding="learned", background=grid))
    bus.publish("s1", MapUpdate(coords={}, status="refit", encoding="path", message="re-mapping"))
    for event in bus.history("s1"):
        view.apply(event)
    during = view.snapshot_map()
    assert during["x"] == [0.1, 0.3] and during["background"] == grid  # the old map, until...
    assert during["refit"] == {"encoding": "path", "previous": "learned", "message": "re-mapping",
                               "version": during["version"], "placed": False}
    new_grid = grid | {"allowed": [[1]]}
    bus.publish("s1", MapUpdate(coords={b: [-0.5, 0.5]}, status="ready", encoding="path",
                                background=new_grid))
    view.apply(bus.history("s1")[-1])
    after = view.snapshot_map()
    assert after["x"] == [None, -0.5] and after["background"] == new_grid  # ...the new one places
    assert after["refit"]["placed"] and after["refit"]["version"] == after["version"]
    bus.publish("s1", MapUpdate(coords={a: [0.9, 0.9]}, status="ready", encoding="path"))
    view.apply(bus.history("s1")[-1])
    assert view.snapshot_map()["x"] == [0.9, -0.5]  # a later ready places, clears nothing
