"""A dense task's cheaper evaluation defaults (64 fields for BatchNorm re-estimation instead of
512 images), which the CLI applies to Darcy flow and to nothing else."""

from __future__ import annotations

import argparse

import pytest

from supernet.cli import add_search_arguments, config_from_args
from supernet.configs import EvalConfig
from supernet.datasets import eval_defaults


def _config(dataset: str) -> EvalConfig:
    parser = argparse.ArgumentParser()
    add_search_arguments(parser)
    return config_from_args(parser.parse_args(["--dataset", dataset])).eval


@pytest.mark.parametrize("spec", ["darcy", "darcy:200"])
def test_darcy_re_estimates_batchnorm_on_fewer_fields(spec: str) -> None:
    config = _config(spec)
    default = EvalConfig()
    assert config.bn_batches * config.bn_batch_size < default.bn_batches * default.bn_batch_size
    assert config.bn_batches * config.bn_batch_size * 32 * 32 >= 512 * 8 * 8  # as many positions
    assert config.val_limit == default.val_limit and config.batch_size == default.batch_size


@pytest.mark.parametrize("spec", ["digits", "aeon:BasicMotions", "npz:x.npz"])
def test_classification_keeps_the_defaults(spec: str) -> None:
    assert eval_defaults(spec) == {}
    assert _config(spec) == EvalConfig()


def test_a_config_from_the_web_gets_them_too_unless_it_sets_eval() -> None:
    """The builder sends no eval section: a darcy session started there is as cheap as the CLI's."""
    from supernet.configs import EngineConfig

    assert EngineConfig.from_dict({"dataset": "darcy:64"}).eval == EvalConfig(**eval_defaults("darcy"))
    assert EngineConfig.from_dict({"dataset": "digits"}).eval == EvalConfig()
    chosen = EngineConfig.from_dict({"dataset": "darcy", "eval": {"bn_batches": 3}}).eval
    assert chosen.bn_batches == 3 and chosen.bn_batch_size == EvalConfig().bn_batch_size
