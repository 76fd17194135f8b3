"""A tabular session switched to the ``latent`` strategy by ``set_search_params``: the
engine's thread loads the encoder from the map's cache and breeds in the latent space."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import supernet.latent_search
from navigator.bus import MemoryBus
from supernet.encoders import fitted_encoder, space_key
from supernet.encoders.vgae import GraphVAEEncoder
from supernet.space import SearchSpace
from tests.navigator.test_worker import Running


def test_set_search_params_switches_a_session_to_the_latent_strategy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    space = SearchSpace.from_preset("nb201")
    fitted_encoder("learned", space, 0, tmp_path / "quick", steps=100, sample=2000)
    (tmp_path / "maps").mkdir()  # as an earlier session's map of this space left it
    shutil.copy(next((tmp_path / "quick").iterdir()), tmp_path / "maps" / f"learned-{space_key(space)}-s0.npz")
    monkeypatch.setattr(GraphVAEEncoder, "fit", lambda self: pytest.fail("fitted, not loaded"))
    loads: list[Path | None] = []

    def loading(*args: Any, **kwargs: Any) -> Any:
        loads.append(args[3])
        return fitted_encoder(*args, **kwargs)

    monkeypatch.setattr(supernet.latent_search, "fitted_encoder", loading)
    config = {"template": "nb201", "mode": "tabular", "table_path": "synthetic:3",
              "search": {"population": 8, "parents": 3}, "measure_latency": False}
    run = Running(MemoryBus(), tmp_path, config, extra_generations=4)
    try:
        run.wait(lambda e: e.type == "candidates")
        reply = run.command("set_search_params", strategy="latent")
        assert reply.type == "command_ack"
        later = run.wait(lambda e: e.type == "candidates" and e.seq > reply.seq).data["records"]
        assert later and all(r["parent"] is not None for r in later)
        assert run.worker.engine is not None and run.worker.engine.search.config.strategy == "latent"
        assert loads == [tmp_path / "maps"]  # the worker pointed the strategy at the map cache
    finally:
        run.stop()
