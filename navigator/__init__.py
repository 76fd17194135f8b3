"""The NAS Navigator runtime: search sessions, steering commands, event bus,
recording store, websocket server and CLI."""

__version__ = "0.1.0"
