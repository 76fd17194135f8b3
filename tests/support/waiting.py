"""Polling and ports for the tests that drive real servers, workers and clusters."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest


def until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
          interval: float = 0.05) -> Any:
    """The first truthy value of ``predicate()``; the test fails, naming ``what``, after
    ``timeout`` seconds without one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
