"""Datasets beyond images (NAS-Bench-360-style tasks): UCR/UEA series shipped with aeon
(:mod:`supernet.datasets.ucr`) and Darcy flow solved in the code (:mod:`supernet.datasets.darcy`).
``supernet.data.load_dataset`` dispatches to them by spec; each returns a ``Dataset`` whose
``task`` tells the networks, the trainer and the rankings what to do."""

from typing import Any


def eval_defaults(spec: str) -> dict[str, Any]:
    """The ``EvalConfig`` settings a dataset spec needs other than the defaults (a dense task's
    cheaper BatchNorm re-estimation); {} for the image and series sets."""
    if spec.split(":", 1)[0] == "darcy":
        from supernet.datasets.darcy import EVAL_DEFAULTS

        return dict(EVAL_DEFAULTS)
    return {}
