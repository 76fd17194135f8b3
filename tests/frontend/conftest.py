"""Fixtures the browser test modules share: one headless Chromium per module, and the
synthetic server with its fake worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import CHROMIUM_ARGS
from tests.support.synthetic import LiveServer, SyntheticWorker


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def synthetic() -> Iterator[tuple[LiveServer, SyntheticWorker]]:
    server = LiveServer().start()
    worker = SyntheticWorker(server.bus, candidates_on_start=40).start()
    yield server, worker
    worker.stop()
    server.stop()
