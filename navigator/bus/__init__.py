"""Event buses: in-process by default, Redis for the lab server."""

from __future__ import annotations

from navigator.bus.base import EventBus, Subscription
from navigator.bus.memory import MemoryBus


def make_bus(url: str | None) -> EventBus:
    """``None`` or ``memory://`` gives the in-process bus; ``redis://...`` the Redis bus."""
    if url in (None, "", "memory://"):
        return MemoryBus()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from navigator.bus.redis import RedisBus

        return RedisBus(url)
    raise ValueError(f"unsupported bus URL {url!r}: use 'redis://host:port/db' or leave it empty")


__all__ = ["EventBus", "MemoryBus", "Subscription", "make_bus"]
