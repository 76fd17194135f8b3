"""supernet/configs.py: the configs and the names they are checked against, without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from supernet.configs import PROXY_NAMES, EngineConfig, TrainConfig, check_proxies

ROOT = Path(__file__).resolve().parents[2]


def test_proxy_names_are_the_proxies_of_the_scorer() -> None:
    from supernet.proxies import PROXIES

    assert tuple(PROXIES) == PROXY_NAMES
    with pytest.raises(ValueError, match="unknown proxy name"):
        check_proxies(["synflw"])


def test_configs_validate_without_importing_torch() -> None:
    """The lab's web validates every session a browser starts; it runs no torch."""
    code = ("import sys\n"
            "from supernet.configs import EngineConfig\n"
            "EngineConfig.from_dict({'mode': 'tabular', 'table_path': 'synthetic',"
            " 'train': {'device': 'cuda', 'sampler': 'fair'}, 'data_limit': 40})\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_device_is_only_spelled_right_here() -> None:
    assert TrainConfig(device="cuda:3").device == "cuda:3"  # the worker decides if it has one
    with pytest.raises(ValueError, match="train.device must be 'auto', 'cpu' or 'cuda"):
        EngineConfig.from_dict({"train": {"device": "gpu"}})


def test_a_family_registers_its_config_checks_apart_from_its_engine(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import supernet.engines as engines
    from supernet.engine import SearchEngine

    monkeypatch.setattr(engines, "_FAMILIES", dict(engines._FAMILIES))
    monkeypatch.setattr(engines, "_CONFIG_CHECKS", dict(engines._CONFIG_CHECKS))

    class Strict(SearchEngine):
        pass

    engines.register_engine("strict")(Strict)

    @engines.register_config_check("strict")
    def no_latency(config: EngineConfig) -> None:
        if config.measure_latency:
            raise ValueError("strict mode times nothing: set measure_latency false")

    assert EngineConfig(mode="strict", measure_latency=False).mode == "strict"
    with pytest.raises(ValueError, match="strict mode times nothing"):
        EngineConfig(mode="strict")
    with pytest.raises(ValueError, match="already has a config check"):
        engines.register_config_check("strict")(no_latency)
    with pytest.raises(ValueError, match="tabular mode needs table_path"):
        EngineConfig(mode="tabular")  # the built-in family's checks, torch-free
