"""How large a template may be, checked on the raw document before anything is built.

A template is user input, and its cost grows faster than its text: 50 cell nodes make
1,225 edges and architecture indices of 857 digits (clients cannot parse them, JSON
encoders choke beyond ~110 nodes), and 1,500 nodes cost seconds of validation and
gigabytes of memory before any check fails. :func:`check_template_size` refuses such a
document from a few counts, in microseconds, so the web can call it before queueing a
session and every parser calls it first. The limits sit far above every preset (``nb201``
has 15,625 architectures, ``navigator-chain`` 839,808).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MAX_CELL_NODES = 12
"""Nodes of a cell (NAS-Bench-201 cells have 4)."""

MAX_CELL_CHANNELS = 256
"""Channels ``C`` of a cell network's first stage (NAS-Bench-201: 16); they double per stage,
so the last of :data:`MAX_STAGES` has at most 4,096."""

MAX_CELLS_PER_STAGE = 32
MAX_STAGES = 5

MAX_FILTERS = 4096
"""Channels of a chain block (conv filters, dense hidden widths)."""

MAX_KERNEL = 15
"""Kernel size, stride and padding of a chain block."""

MAX_HIDDEN_LAYERS = 16
"""Hidden layers of a dense head."""

MAX_CHOICE_POINTS = 100
"""Choice points of a template: cell edges, or chain layers' block and pool choices plus
the head choice."""

MAX_CANDIDATES = 32
"""Candidates of one choice point."""

MAX_SPACE_LOG10 = 30.0
"""Architectures of a space, as a power of ten: at most 10**30 (31-digit indices)."""


def too_many(what: str, count: int, limit: int, constant: str) -> ValueError:
    """The refusal of a template that exceeds one limit, naming it."""
    return ValueError(f"template too large: {count:,} {what}; the limit is {limit:,} "
                      f"({constant})")


def check_choice_sizes(sizes: Sequence[int]) -> None:
    """Refuse too many choice points, too many candidates at one, or too many architectures.

    ``sizes``: the number of candidates of each choice point, as the raw document lists them.
    """
    if len(sizes) > MAX_CHOICE_POINTS:
        raise too_many("choice points", len(sizes), MAX_CHOICE_POINTS, "MAX_CHOICE_POINTS")
    widest = max(sizes, default=0)
    if widest > MAX_CANDIDATES:
        raise too_many("candidates at one choice point", widest, MAX_CANDIDATES,
                       "MAX_CANDIDATES")
    digits = sum(math.log10(n) for n in sizes if n > 0)
    if digits > MAX_SPACE_LOG10:
        raise ValueError(f"template too large: about 10^{digits:.1f} architectures; the limit "
                         f"is 10^{MAX_SPACE_LOG10:g} (MAX_SPACE_LOG10): use fewer choice points "
                         "or fewer candidates")
