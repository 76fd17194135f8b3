"""ArchLock (Zhou et al., ICLR 2024): architectures that keep the source task's accuracy and
transfer badly to an attacker's target tasks. Torch-free: config, fitness, the objective an
engine calls, and the unknown target (scikit-learn predictor on simulated task embeddings,
``unknown.py``); ``targets.py`` (supernet mode's proxy scores) needs torch."""

from supernet.archlock.config import ArchLockConfig
from supernet.archlock.fitness import (
    constrained_fitness,
    feasible,
    fitness,
    locked_front,
    pick,
    ranks,
    threshold,
)
from supernet.archlock.objective import (
    FEASIBLE_KEY,
    FITNESS_KEY,
    TARGET_PREFIX,
    UNKNOWN_TARGET,
    ArchLockObjective,
    target_key,
    target_names,
)

__all__ = ["FEASIBLE_KEY", "FITNESS_KEY", "TARGET_PREFIX", "UNKNOWN_TARGET", "ArchLockConfig", "ArchLockObjective",
           "constrained_fitness", "feasible", "fitness", "locked_front", "pick", "ranks",
           "target_key", "target_names", "threshold"]
