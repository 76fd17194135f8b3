"""The ML core of NAS Navigator: search spaces, weight-sharing supernet, training,
evaluation, search, fitness scores and export. No web code lives here."""

from supernet.space import Arch, CellTemplate, ChoicePoint, SearchSpace, preset
from supernet.steering import SteeringState
from supernet.templates.chain import ChainTemplate

__all__ = ["Arch", "CellTemplate", "ChainTemplate", "ChoicePoint", "SearchSpace", "SteeringState", "preset"]
