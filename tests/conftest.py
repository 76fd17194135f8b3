"""Shared fixtures: tiny spaces and datasets so that the suite stays fast."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from supernet.space import CellTemplate, SearchSpace
from tests.support.sessions import EditedChain, edited_chain_session

# The test models are tiny: one thread is faster than two fighting over 2 cores, and it keeps
# timings stable when several test processes (subprocess tests, servers) run at once.
torch.set_num_threads(1)


@pytest.fixture
def nb201_space() -> SearchSpace:
    return SearchSpace.from_preset("nb201")


@pytest.fixture
def tiny_space() -> SearchSpace:
    return SearchSpace.from_preset("tiny")


@pytest.fixture
def micro_space() -> SearchSpace:
    """3 nodes, 3 edges, 3 ops: 27 architectures, small enough to enumerate in tests."""
    ops = ("skip_connect", "nor_conv_3x3", "avg_pool_3x3")
    return SearchSpace(CellTemplate(n_nodes=3, edges={"1<-0": ops, "2<-0": ops, "2<-1": ops},
                                    C=4, cells_per_stage=1, n_stages=2))


@pytest.fixture
def edited_chain() -> EditedChain:
    """A chain-tiny session whose template was edited after six candidates (UI and runtime views)."""
    return edited_chain_session()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _required(env: str) -> bool:
    import os

    return os.environ.get(env, "") not in ("", "0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis server used by the ``redis`` tests (database 15, flushed first)."""
    import os

    import redis

    url = os.environ.get("NAVIGATOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if _required("NAVIGATOR_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required but does not answer at {url}: {exc}")
        pytest.skip(f"no Redis at {url}")
    client.flushdb()
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Debian Chromium that browser tests drive (never a downloaded browser)."""
    import os
    import shutil

    path = os.environ.get("NAVIGATOR_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.exists(path) or shutil.which(path)):
        if _required("NAVIGATOR_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium is required but missing at {path}: install Debian's chromium")
        pytest.skip(f"no Chromium at {path}")
    return path


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
