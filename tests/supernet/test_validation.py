"""The shared validation path: scalars keep their kind, containers take their JSON form, and
every problem is one short line naming the source, the field path and what was expected."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from supernet.validation import (
    MAX_LINES,
    STRICT,
    FiniteFloat,
    InvalidData,
    Lax,
    Model,
    PositiveInt,
    Probability,
    requirement,
    show,
    validate,
)


@dataclass
class Inner:
    __pydantic_config__ = STRICT
    names: tuple[str, ...] = ()
    rate: Probability = 0.5
    epochs: Annotated[int, Field(ge=1, le=1000, description="an integer from 1 to 1000")] = 1


@dataclass
class Outer:
    __pydantic_config__ = STRICT
    count: PositiveInt
    scale: FiniteFloat | None = None
    where: Path = Path(".")
    either: int | str = 0
    inner: Inner = field(default_factory=Inner)
    items: list[Inner] = field(default_factory=list)
    mode: Literal["fast", "slow"] = "fast"
    # field names that are also keys of pydantic's schemas must not confuse the strict pass
    type: str = "x"
    default: dict[str, Any] = field(default_factory=lambda: {"type": "int"})
    url: Annotated[str, requirement(lambda u: u.startswith("redis://"),
                                    "must start with redis://")] = "redis://x"


def problems(data: Any) -> str:
    with pytest.raises(InvalidData) as info:
        validate(Outer, data, "test input")
    return str(info.value)


def test_json_forms_are_accepted() -> None:
    value = validate(Outer, {"count": 2, "scale": 3, "where": "/tmp/x",
                             "inner": {"names": ["a", "b"]}, "items": [{}], "type": "y"}, "t")
    assert value.where == Path("/tmp/x") and value.inner.names == ("a", "b")
    assert value.scale == 3 and value.items == [Inner()] and value.type == "y"
    assert value.default == {"type": "int"}  # defaults are data, never touched


@pytest.mark.parametrize("data, line", [
    ({"count": True}, "test input: count must be an integer, got True"),
    ({"count": "2"}, "test input: count must be an integer, got '2'"),
    ({"count": 2.0}, "test input: count must be an integer, got 2.0"),
    ({"count": 0}, "test input: count must be >= 1, got 0"),
    ({"count": 1, "scale": True}, "test input: scale must be a number, got True"),
    ({"count": 1, "scale": float("inf")}, "test input: scale must be a finite number, got inf"),
    ({"count": 1, "where": 5}, "test input: where must be a path, got 5"),
    ({"count": 1, "either": [1]}, "test input: either must be an integer, got list"),
    ({"count": 1, "mode": "warp"}, "test input: mode must be 'fast' or 'slow', got 'warp'"),
    ({"count": 1, "inner": {"rate": 2}}, "test input: inner.rate must be a probability in [0, 1]"),
    ({"count": 1, "items": [{}, {"epochs": 0}]},
     "test input: items[1].epochs must be an integer from 1 to 1000, got 0"),
    ({"count": 1, "url": "http://x"}, "test input: url must start with redis://, got 'http://x'"),
    ({}, "test input: missing count"),
    ([1], "test input: must be an object, got list"),
    ({"count": 1, "cuont": 2}, "test input: unknown key(s) ['cuont']; allowed: ['count', "),
    ({"count": 1, "inner": {"epoch": 2}},
     "test input: inner: unknown key(s) ['epoch']; allowed: ['epochs', 'names', 'rate']"),
])
def test_each_problem_names_the_source_field_and_expectation(data: Any, line: str) -> None:
    assert line in problems(data)


def test_union_branches_fold_into_one_line_and_problems_are_one_line_each() -> None:
    message = problems({"count": "x", "either": 1.5, "mode": 1})
    assert message.splitlines() == ["test input: count must be an integer, got 'x'",
                                    "test input: either must be an integer, got 1.5",
                                    "test input: mode must be 'fast' or 'slow', got 1"]


def test_huge_values_are_not_echoed_and_many_problems_are_capped() -> None:
    message = problems({"count": "x" * 1_000_000})
    assert len(message) < 200
    many = problems({"count": 1, "items": [{"epochs": 0}] * 50})
    assert len(many.splitlines()) == MAX_LINES + 1 and "and 40 more problem(s)" in many
    assert show([1] * 10**6) == "list" and show(None) == "None"


def test_invalid_data_is_a_value_error_with_its_problems() -> None:
    with pytest.raises(ValueError) as info:
        validate(Outer, {"count": 0}, "x")
    assert isinstance(info.value, InvalidData) and info.value.where == "x"
    assert [(p.path, p.kind, p.field) for p in info.value.problems] == [
        (("count",), "greater_than_equal", "count")]


def test_plain_types_validate_too() -> None:
    assert validate(list[PositiveInt], [1, 2], "ids") == [1, 2]
    with pytest.raises(InvalidData, match=r"ids: \[1\] must be an integer, got True"):
        validate(list[PositiveInt], [1, True], "ids")


class Server(Model):
    port: Annotated[int, Field(ge=0, le=65535, description="an integer from 0 to 65535")] = 80
    root: Annotated[Path, Lax] = Path(".")
    tags: Annotated[frozenset[str], Lax] = frozenset()


def test_models_are_strict_with_lax_json_forms_and_explain_direct_construction() -> None:
    assert Server(root="/srv", tags=["a"]) == Server(root=Path("/srv"), tags=frozenset({"a"}))
    with pytest.raises(InvalidData, match="Server: port must be an integer from 0 to 65535, got True"):
        Server(port=True)
    with pytest.raises(InvalidData, match=r"conf: unknown key\(s\) \['prot'\]; allowed: \['port', "):
        validate(Server, {"prot": 1}, "conf")
    with pytest.raises(InvalidData, match="conf: tags must be a list, got 'a'"):
        validate(Server, {"tags": "a"}, "conf")


def test_conforms_is_validate_as_a_filter() -> None:
    from supernet.validation import conforms

    assert [conforms(FiniteFloat, v) for v in (1, 0.5, True, float("nan"), "1", None)] == [
        True, True, False, False, False, False]
    assert conforms(Outer, {"count": 1}) and not conforms(Outer, {"count": 1, "extra": 2})
