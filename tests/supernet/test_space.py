from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from supernet.space import CELL_OPS, CellTemplate, SearchSpace

NB201_EXAMPLE = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)


def test_nb201_has_15625_archs_and_six_edges(nb201_space: SearchSpace) -> None:
    assert nb201_space.size() == 15_625
    assert [cp.name for cp in nb201_space] == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]


def test_nb201_string_matches_benchmark_format(nb201_space: SearchSpace) -> None:
    arch = nb201_space.from_string(NB201_EXAMPLE)
    assert arch == ("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3",
                    "skip_connect", "nor_conv_3x3", "skip_connect")
    assert nb201_space.to_string(arch) == NB201_EXAMPLE


def test_all_encodings_round_trip_over_whole_nb201_space(nb201_space: SearchSpace) -> None:
    strings, hashes = set(), set()
    for index in range(nb201_space.size()):
        arch = nb201_space.from_index(index)
        assert nb201_space.index(arch) == index
        text = nb201_space.to_string(arch)
        assert nb201_space.from_string(text) == arch
        vec = nb201_space.one_hot(arch)
        assert vec.sum() == len(nb201_space)
        strings.add(text)
        hashes.add(nb201_space.arch_hash(arch))
    assert len(strings) == len(hashes) == 15_625


def test_one_hot_is_decodable(nb201_space: SearchSpace, rng: np.random.Generator) -> None:
    arch = nb201_space.random_arch(rng)
    vec = nb201_space.one_hot(arch)
    blocks = np.split(vec, len(nb201_space))
    decoded = tuple(cp.candidates[int(b.argmax())] for b, cp in zip(blocks, nb201_space))
    assert decoded == arch


def test_hash_is_stable_across_processes(nb201_space: SearchSpace) -> None:
    # sha1 of the canonical string: a fixed value, not Python's per-process salted hash()
    arch = nb201_space.from_string(NB201_EXAMPLE)
    assert nb201_space.arch_hash(arch) == hashlib.sha1(NB201_EXAMPLE.encode()).hexdigest()[:12]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"n_nodes": 1}, "at least 2 nodes"),
        ({"n_nodes": 3, "ops": ["conv_7x7"]}, "unknown op"),
        ({"n_nodes": 3, "ops": []}, "empty candidate list"),
        ({"n_nodes": 2, "edges": {"0<-1": ["none"]}}, "cycle"),
        ({"n_nodes": 2, "edges": {"1<-0": ["none"], "5<-0": ["none"]}}, "does not exist"),
        ({"n_nodes": 3, "edges": {"1<-0": ["none"]}}, "no candidate list"),
        ({"n_nodes": 3, "C": 0}, "C must be a positive integer"),
        ({"n_nodes": 3, "colour": "red"}, "unknown template field"),
        ({"kind": "transformer"}, "unsupported template kind"),
    ],
)
def test_template_validation_names_the_problem(doc: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CellTemplate.from_dict(doc)


def test_template_json_round_trip() -> None:
    template = CellTemplate.from_dict({"n_nodes": 3, "ops": list(CELL_OPS), "C": 8})
    assert CellTemplate.from_dict(json.loads(json.dumps(template.to_dict()))) == template
    assert SearchSpace(template).size() == len(CELL_OPS) ** 3


@pytest.mark.parametrize(
    "text",
    ["", "|none~0|", "|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|", 42],
)
def test_bad_arch_strings_raise_value_error(nb201_space: SearchSpace, text: object) -> None:
    with pytest.raises(ValueError):
        nb201_space.from_string(text)  # type: ignore[arg-type]


def test_index_out_of_range(nb201_space: SearchSpace) -> None:
    with pytest.raises(ValueError, match="outside"):
        nb201_space.from_index(15_625)
