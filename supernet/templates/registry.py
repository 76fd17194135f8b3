"""The registry of template kinds: one :class:`TemplateKind` per family of search spaces.

A template is the user-editable JSON document a search space is made from; its
``kind`` field names the family (``cell``, ``chain``). Everything the rest of the
system does differently per family goes through the family's kind (parsing,
architecture strings, which choice points run, the networks it builds), so adding a
family is one module with a ``@register_template_kind("name")`` class and no edits
to the space, the supernet, the exporter or the latency model.

This module stays free of torch: describing a space must not load it. The kinds
import their networks when first asked for them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from supernet.choice import Arch, ChoicePoint
from supernet.templates.limits import check_choice_sizes
from supernet.validation import show

if TYPE_CHECKING:
    from torch import nn

    from supernet.model import Supernet
    from supernet.space import SearchSpace

DEFAULT_KIND = "cell"
"""The kind of a document without a ``kind`` field (templates written before chains existed)."""


class Template(Protocol):
    """What every template offers; templates are frozen dataclasses (hashable, comparable)."""

    def choice_points(self) -> tuple[ChoicePoint, ...]: ...

    def to_dict(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=Template)


class TemplateKind(ABC, Generic[T]):
    """Everything that differs between families of templates, for one family.

    Methods take the template (of type ``template_type``) rather than holding it, so
    one stateless instance per kind serves every space of that kind.
    """

    name: ClassVar[str]
    """Set by :func:`register_template_kind`; the ``kind`` field of the JSON form."""

    template_type: ClassVar[type]
    """The template class of this kind (a frozen dataclass with ``from_dict``)."""

    supports_tabular: ClassVar[bool] = False
    """Whether benchmark tables can describe its architectures: they are indexed by
    NAS-Bench-201 cell strings, so only the cell kind can be looked up instead of trained."""

    @abstractmethod
    def from_dict(self, data: dict[str, Any]) -> T:
        """Parse and validate the JSON form; ``ValueError`` names the first problem."""

    def choice_sizes(self, data: dict[str, Any]) -> Sequence[int] | None:
        """The candidate count of each choice point of a raw document, read cheaply (never
        building one entry per edge of a huge cell; ``ValueError`` for a limit of the kind
        itself); parts that are malformed count as 0, :meth:`from_dict` rejects them.
        ``None``: this kind is not bounded by :func:`check_template_size`."""
        return None

    def edges(self, template: T) -> list[tuple[int, int]]:
        """``(src, dst)`` of every choice point, for kinds whose choice points are DAG edges."""
        return []

    @abstractmethod
    def to_string(self, template: T, arch: Arch) -> str:
        """The canonical string of a valid architecture."""

    @abstractmethod
    def from_string(self, template: T, text: str) -> list[str]:
        """The picks a canonical string names, in choice-point order (not yet validated)."""

    def runs(self, template: T, arch: Arch) -> list[bool]:
        """Which choice points of ``arch`` execute (cost time); by default all of them."""
        return [True] * len(arch)

    def fastest(self, template: T, allowed: Sequence[tuple[str, ...]],
                costs: Mapping[str, Mapping[str, float]]) -> Arch:
        """The allowed architecture with the lowest total cost of the choice points that run.

        ``costs`` maps choice point -> op -> cost. When every choice point runs, each
        one's cheapest allowed op wins independently.
        """
        return tuple(min(ops, key=costs[cp.name].__getitem__)
                     for cp, ops in zip(template.choice_points(), allowed))

    @abstractmethod
    def supernet_class(self) -> type[Supernet]:
        """The weight-sharing supernet class for spaces of this kind."""

    @abstractmethod
    def standalone_class(self) -> type[nn.Module]:
        """The stand-alone network class; its module (torch only) is copied into exports."""

    @abstractmethod
    def standalone_config(self, space: SearchSpace, arch: Arch, in_channels: int,
                          num_classes: int, image_size: int) -> dict[str, Any]:
        """JSON keyword arguments of :meth:`standalone_class` for one architecture.

        ``ValueError`` when the architecture cannot run on inputs of that size.
        """


_KINDS: dict[str, TemplateKind[Any]] = {}

K = TypeVar("K", bound=type[TemplateKind[Any]])


def register_template_kind(name: str) -> Callable[[K], K]:
    """Class decorator: make a :class:`TemplateKind` the handler of ``kind: name`` documents."""

    def register(cls: K) -> K:
        if name in _KINDS:
            raise ValueError(f"template kind {name!r} is already registered "
                             f"(by {type(_KINDS[name]).__name__})")
        cls.name = name
        _KINDS[name] = cls()
        return cls

    return register


def template_kinds() -> tuple[str, ...]:
    """Names of the registered kinds, in registration order."""
    return tuple(_KINDS)


def template_kind(name: str) -> TemplateKind[Any]:
    if name not in _KINDS:
        raise ValueError(f"unsupported template kind {name!r}; registered kinds: "
                         + ", ".join(repr(k) for k in _KINDS))
    return _KINDS[name]


def kind_of(template: object) -> TemplateKind[Any]:
    """The kind whose ``template_type`` ``template`` is."""
    for kind in _KINDS.values():
        if isinstance(template, kind.template_type):
            return kind
    raise ValueError(f"{type(template).__name__} is not a template of any registered kind "
                     f"({', '.join(_KINDS)})")


def _kind_of_document(data: Any) -> TemplateKind[Any]:
    if not isinstance(data, dict):
        raise ValueError(f"a template must be a mapping, got {type(data).__name__}")
    kind = data.get("kind", DEFAULT_KIND)
    if not isinstance(kind, str):
        raise ValueError(f"a template's kind must be a string such as {DEFAULT_KIND!r}, "
                         f"got {show(kind)}")
    return template_kind(kind)


def check_template_size(data: Any) -> None:
    """Refuse a template document beyond the limits of :mod:`supernet.templates.limits`
    (``ValueError`` naming the limit), or that is no template of a registered kind.

    Cheap and pure (microseconds whatever the document holds): the web calls it before
    queueing a session, and :func:`template_from_dict` before parsing.
    """
    sizes = _kind_of_document(data).choice_sizes(data)
    if sizes is not None:
        check_choice_sizes(sizes)


def template_from_dict(data: Any) -> Any:
    """A template of any registered kind from its JSON form (``kind`` defaults to ``cell``)."""
    check_template_size(data)
    return _kind_of_document(data).from_dict(data)
