"""Template kinds: one module per family registers itself on import (see ``registry``)."""

from supernet.templates import cell, chain
from supernet.templates.limits import (
    MAX_CANDIDATES,
    MAX_CELL_NODES,
    MAX_CHOICE_POINTS,
    MAX_SPACE_LOG10,
)
from supernet.templates.registry import (
    DEFAULT_KIND,
    Template,
    TemplateKind,
    check_template_size,
    kind_of,
    register_template_kind,
    template_from_dict,
    template_kind,
    template_kinds,
)

__all__ = ["DEFAULT_KIND", "MAX_CANDIDATES", "MAX_CELL_NODES", "MAX_CHOICE_POINTS",
           "MAX_SPACE_LOG10", "Template", "TemplateKind", "cell", "chain", "check_template_size",
           "kind_of", "register_template_kind", "template_from_dict", "template_kind",
           "template_kinds"]
