"""Template size limits (issue 17): huge templates are refused from a few counts, in
milliseconds and without memory, before anything is built; every preset stays allowed."""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from supernet.configs import EngineConfig
from supernet.space import PRESETS, SearchSpace, preset, template_from_dict
from supernet.templates import (
    MAX_CANDIDATES,
    MAX_CELL_NODES,
    MAX_CHOICE_POINTS,
    MAX_SPACE_LOG10,
    check_template_size,
)
from supernet.templates.cell import CELL_OPS, CellTemplate, cell_edges, edge_name
from supernet.templates.chain import ChainTemplate


def cell(n_nodes: int, explicit: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "cell", "n_nodes": n_nodes}
    if explicit:
        doc["edges"] = {edge_name(i, j): ["none", "skip_connect"] for i, j in cell_edges(n_nodes)}
    return doc


def chain(layers: int, blocks: int = 1) -> dict[str, Any]:
    body = [{"name": f"b{k}", "type": "identity"} for k in range(blocks)]
    return {"kind": "chain", "layers": [{"name": f"l{i}", "blocks": body} for i in range(layers)],
            "heads": [{"name": "h", "type": "dense"}]}


def test_every_preset_is_within_the_limits() -> None:
    for name, template in PRESETS.items():
        check_template_size(template.to_dict())
        assert SearchSpace(template_from_dict(template.to_dict())) == SearchSpace.from_preset(name)
    assert SearchSpace.from_preset("nb201").size() == 15_625
    assert SearchSpace.from_preset("navigator-chain").size() == 839_808


@pytest.mark.parametrize("n_nodes", [50, 110, 1_500])
@pytest.mark.parametrize("explicit", [False, True])
def test_huge_cells_are_refused_fast_and_light(n_nodes: int, explicit: bool) -> None:
    doc = cell(n_nodes, explicit)
    for parse in (check_template_size, template_from_dict, CellTemplate.from_dict,
                  lambda d: EngineConfig.from_dict({"template": d})):
        parse(cell(4))  # validators are built on first use, once per process
        tracemalloc.start()
        started = time.perf_counter()
        with pytest.raises(ValueError, match=f"{n_nodes:,} nodes; the limit is "
                                             f"{MAX_CELL_NODES} \\(MAX_CELL_NODES\\)"):
            parse(doc)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert seconds < 0.05 and peak < 1_000_000, (parse, seconds, peak)


def test_the_space_size_is_bounded_as_a_power_of_ten() -> None:
    with pytest.raises(ValueError, match=r"10\^31.5 architectures; the limit is 10\^30 "
                                         r"\(MAX_SPACE_LOG10\)"):
        template_from_dict({"n_nodes": 10})  # 45 edges of 5 ops
    assert SearchSpace(template_from_dict({"n_nodes": 10, "ops": ["none"]})).size() == 1
    assert MAX_SPACE_LOG10 == 30
    wide = SearchSpace(template_from_dict(cell(8, explicit=True)))  # 2**28 architectures
    assert wide.size() == 2 ** 28 and len(str(wide.size() - 1)) < 31


def test_chains_are_bounded_by_choice_points_and_candidates() -> None:
    assert SearchSpace(ChainTemplate.from_dict(chain(40, blocks=1))).size() == 1
    with pytest.raises(ValueError, match=f"the limit is {MAX_CHOICE_POINTS} \\(MAX_CHOICE_POINTS\\)"):
        check_template_size(chain(MAX_CHOICE_POINTS + 1))
    with pytest.raises(ValueError, match=f"the limit is {MAX_CANDIDATES} \\(MAX_CANDIDATES\\)"):
        ChainTemplate.from_dict(chain(1, blocks=MAX_CANDIDATES + 1))
    with pytest.raises(ValueError, match="MAX_SPACE_LOG10"):
        template_from_dict(chain(31, blocks=10))
    long = chain(100_000)
    started = time.perf_counter()
    with pytest.raises(ValueError, match="MAX_CHOICE_POINTS"):
        template_from_dict(long)
    assert time.perf_counter() - started < 0.05


def test_networks_too_big_to_build_are_refused_by_their_fields() -> None:
    with pytest.raises(ValueError, match="C must be a positive integer \\(at most 256\\)"):
        template_from_dict({"n_nodes": 4, "C": 10**9})
    with pytest.raises(ValueError, match="filters must be an integer >= 1 \\(at most 4,096\\)"):
        template_from_dict({"kind": "chain", "layers": [
            {"name": "l", "blocks": [{"name": "c", "type": "conv", "filters": 10**9}]}],
            "heads": [{"name": "h", "type": "dense"}]})
    with pytest.raises(ValueError, match="hidden must be at most 16 item"):
        template_from_dict({"kind": "chain", "layers": [{"name": "l", "blocks": [
            {"name": "i", "type": "identity"}]}],
            "heads": [{"name": "h", "type": "dense", "hidden": [8] * 1000}]})
    assert len(CELL_OPS) <= MAX_CANDIDATES and preset("tiny").C <= 256


def test_malformed_documents_are_left_to_the_parser() -> None:
    for doc in ({"n_nodes": "many"}, {"n_nodes": True}, {"kind": "chain", "layers": "x"},
                {"edges": [1, 2]}):
        check_template_size(doc)  # nothing to count: from_dict says what is wrong
        with pytest.raises(ValueError):
            template_from_dict(doc)
    with pytest.raises(ValueError, match="registered kinds"):
        check_template_size({"kind": "transformer"})
