"""The unit every search space is made of: a choice point picking one of its candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Arch = tuple[str, ...]
"""An architecture: one operation name per choice point, in choice-point order."""


@dataclass(frozen=True)
class ChoicePoint:
    """One decision of the search: pick one of ``candidates``."""

    name: str
    candidates: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "candidates": list(self.candidates)}

