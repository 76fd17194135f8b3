"""A session's map: the fixed map of its space, built in the background, points that never move.

At session start the worker publishes ``map_update`` "building" and a thread fits the
encoder and projects the whole space (``supernet.projection.open_fixed_map``; cached under
``<data dir>/maps`` by the space's hash, so a later session on the same space loads it at
once). Until it is ready candidates go out without coordinates; the worker's loop then
publishes "ready" once (``poll``, on the worker's own thread, so the event can never
precede the candidates it places) with the first coordinates of everything published so
far and the space's density grid. From then on each candidate is placed as it is
published and its point never moves. A template edit or another encoding builds a new map:
announced as "refit", every point moves once. Steering changes re-send the grid with the
pruned / lock-excluded region counted apart (``steering_changed``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from navigator.bus import EventBus
from navigator.events import MapUpdate
from supernet.projection import FixedMap, open_fixed_map, preferred_method
from supernet.space import SearchSpace
from supernet.steering import SteeringState


class LiveMap:
    def __init__(self, bus: EventBus, session: str, space: SearchSpace, seed: int,
                 encoding: str, cache_dir: Path | None, quick: bool = False,
                 steering: Callable[[], SteeringState] | None = None) -> None:
        """``quick``: one-hot codes and PCA, built at once on the caller's thread (tests and
        short demos; no UMAP, no encoder training)."""
        self.bus, self.session, self.space, self.seed = bus, session, space, seed
        self.encoding = "onehot" if quick else encoding
        self.method = "pca" if quick else preferred_method(self.encoding)
        self.cache_dir, self.quick, self.steering = cache_dir, quick, steering
        self.fixed: FixedMap | None = None
        self.failed = ""
        self._announced = False
        self._pending: list[str] = []  # published without coordinates, before the map was ready
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, status: str = "building", message: str = "") -> None:
        self.bus.publish(self.session, MapUpdate(
            coords={}, method=self.method, status=status, encoding=self.encoding,
            message=message or f"building the map of the space ({self.encoding} encoding)..."))
        if self.quick:
            self._build()
            self.poll()
            return
        self._thread = threading.Thread(target=self._build, name=f"map-{self.session}", daemon=True)
        self._thread.start()

    def _build(self) -> None:
        try:
            fixed = open_fixed_map(self.space, self.encoding, self.seed, self.cache_dir,
                                   method=self.method)
        except Exception as exc:  # noqa: BLE001 - the search goes on without a map
            self.failed = f"the map could not be built: {exc}"
            return
        with self._lock:
            self.fixed = fixed

    def place(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Set each record's ``x``/``y`` (None until the map is ready)."""
        with self._lock:
            fixed = self.fixed if self._announced else None
            if fixed is None:
                self._pending.extend(r["arch"] for r in records)
        coords = fixed.place([r["arch"] for r in records]) if fixed is not None else {}
        for r in records:
            r["x"], r["y"] = coords.get(r["arch"], (None, None))
        return records

    def poll(self) -> None:
        """On the worker's thread: announce a finished map (once), or its failure."""
        if self.failed and not self._announced:
            self._announced = True
            self.bus.publish(self.session, MapUpdate(coords={}, method=self.method,
                                                     status="failed", message=self.failed))
            return
        with self._lock:
            fixed = self.fixed
            if fixed is None or self._announced:
                return
            self._announced = True
            pending, self._pending = self._pending, []
        coords = fixed.place(pending)
        self.bus.publish(self.session, MapUpdate(
            coords={k: list(v) for k, v in coords.items()}, method=self.method, status="ready",
            encoding=self.encoding, background=self._background(fixed),
            message=f"map of {fixed.map.coords.shape[0]:,} architectures ready "
                    f"({self.encoding} encoding, {self.method})"))

    def steering_changed(self) -> None:
        with self._lock:
            fixed = self.fixed if self._announced else None
        if fixed is not None:
            self.bus.publish(self.session, MapUpdate(
                coords={}, method=self.method, status="background", encoding=self.encoding,
                background=self._background(fixed)))

    def _background(self, fixed: FixedMap) -> dict[str, Any]:
        steering = self.steering() if self.steering is not None else None
        return fixed.density(allowed=None if steering is None else
                             [steering.allowed(cp.name) for cp in self.space])
