"""The registry of template kinds: dispatch, errors that list every kind, adding a kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from supernet.choice import Arch, ChoicePoint
from supernet.space import SearchSpace, preset, template_from_dict
from supernet.templates import registry
from supernet.templates.cell import CellTemplate
from supernet.templates.chain import ChainTemplate


def test_documents_dispatch_by_kind_and_default_to_cells() -> None:
    assert isinstance(template_from_dict({"n_nodes": 3}), CellTemplate)
    assert isinstance(template_from_dict(preset("chain-tiny").to_dict()), ChainTemplate)
    assert registry.template_kinds()[:2] == ("cell", "chain")
    assert SearchSpace.from_preset("tiny").kind.name == "cell"
    assert SearchSpace.from_preset("chain-tiny").kind.name == "chain"


@pytest.mark.parametrize("doc", [{"kind": "transformer"}, {"kind": ["cell"]}, "cell"])
def test_unknown_kinds_are_value_errors(doc: Any) -> None:
    with pytest.raises(ValueError, match="kind|mapping"):
        template_from_dict(doc)


def test_the_unknown_kind_error_lists_every_registered_kind() -> None:
    with pytest.raises(ValueError, match="registered kinds: 'cell', 'chain'"):
        template_from_dict({"kind": "transformer"})
    with pytest.raises(ValueError, match="'cell', 'chain'"):
        CellTemplate.from_dict({"kind": "chain"})


def test_a_kind_registers_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register_template_kind("cell")(type(registry.template_kind("cell")))


@dataclass(frozen=True)
class _Pair:
    """A toy family: two independent choice points."""

    left: tuple[str, ...]
    right: tuple[str, ...]

    def choice_points(self) -> tuple[ChoicePoint, ...]:
        return ChoicePoint("left", self.left), ChoicePoint("right", self.right)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "pair", "left": list(self.left), "right": list(self.right)}


def test_a_new_kind_needs_no_change_to_the_space(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))

    @registry.register_template_kind("pair")
    class PairKind(registry.TemplateKind[_Pair]):
        template_type = _Pair

        def from_dict(self, data: dict[str, Any]) -> _Pair:
            return _Pair(tuple(data["left"]), tuple(data["right"]))

        def to_string(self, template: _Pair, arch: Arch) -> str:
            return "+".join(arch)

        def from_string(self, template: _Pair, text: str) -> list[str]:
            return text.split("+")

        def supernet_class(self) -> Any:
            raise NotImplementedError

        def standalone_class(self) -> Any:
            raise NotImplementedError

        def standalone_config(self, *args: Any) -> dict[str, Any]:
            raise NotImplementedError

    space = SearchSpace.from_dict({"kind": "pair", "left": ["a", "b"], "right": ["c"]})
    assert space.kind.name == "pair" and space.size() == 2 and space.edges == []
    assert space.from_string("b+c") == ("b", "c") and space.to_string(("a", "c")) == "a+c"
    costs = {"left": {"a": 2.0, "b": 1.0}, "right": {"c": 0.0}}
    assert space.kind.fastest(space.template, [("a", "b"), ("c",)], costs) == ("b", "c")
    assert "'pair'" in str(pytest.raises(ValueError, template_from_dict, {"kind": "x"}).value)
