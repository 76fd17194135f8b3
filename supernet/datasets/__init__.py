"""Datasets beyond images (NAS-Bench-360-style tasks): UCR/UEA series shipped with aeon
(:mod:`supernet.datasets.ucr`) and Darcy flow solved in the code (:mod:`supernet.datasets.darcy`).
``supernet.data.load_dataset`` dispatches to them by spec; each returns a ``Dataset`` whose
``task`` tells the networks, the trainer and the rankings what to do."""

from typing import Any

# BatchNorm re-estimation per candidate: a field's statistics pool all 32 x 32 positions, so 64
# fields (65,536 positions per channel) estimate them as well as 512 digits images (32,768)
# while costing an eighth of the default 4 x 128 forward passes that dominated a darcy search.
_EVAL_DEFAULTS: dict[str, dict[str, Any]] = {"darcy": {"bn_batches": 1, "bn_batch_size": 64}}


def eval_defaults(spec: str) -> dict[str, Any]:
    """The ``EvalConfig`` settings a dataset spec needs other than the defaults (a dense task's
    cheaper BatchNorm re-estimation); {} for the image and series sets. Torch-free: the web
    process applies it to the configs it validates."""
    return dict(_EVAL_DEFAULTS.get(spec.split(":", 1)[0], {}))
