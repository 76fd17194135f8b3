"""What a user chooses about a search, validated without torch.

The configs (:class:`TrainConfig`, :class:`EvalConfig`, :class:`EngineConfig`; the search's
:class:`~supernet.search.SearchConfig` lives with the search, which needs no torch either)
and the names and bounds they are checked against: registered engine modes and samplers,
proxy names, dataset limits and input shapes. The lab's web process validates every session
a browser starts with these and runs no torch (no GPU, and 0.9 s less per start), so nothing
here imports it. Whether a ``cuda`` device exists is the worker's question, asked when it
builds the engine (:func:`supernet.train.check_device`): the web of a lab has no GPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from supernet.archlock.config import ArchLockConfig
from supernet.datasets import eval_defaults
from supernet.engines import check_engine_config, engine_modes, register_config_check
from supernet.samplers import sampler_names
from supernet.search import SearchConfig
from supernet.settings import check_fields, parse
from supernet.space import SearchSpace, preset, template_from_dict
from supernet.templates import check_template_size
from supernet.validation import STRICT, requirement, validate

MIN_LIMIT = 20
"""The smallest ``limit`` of images a dataset may be cut to (``EngineConfig.data_limit``)."""

KNOWN_INPUT_SHAPES: dict[str, tuple[int, int]] = {"digits": (1, 8), "cifar10": (3, 32), "folder": (3, 32)}
"""(channels, image size) of each dataset kind whose shape is fixed, for checking a template
against a dataset without loading it."""

PROXY_NAMES: tuple[str, ...] = ("synflow", "naswot", "jacob_cov", "snip", "grad_norm", "grasp",
                                "fisher", "params", "flops")
"""Every zero-cost proxy of :data:`supernet.proxies.PROXIES`, in its order."""


def input_shape(spec: str) -> tuple[int, int] | None:
    """(channels, image size) a dataset spec will load as; ``None`` when only loading tells (npz)."""
    kind = spec.partition(":")[0] if isinstance(spec, str) else ""
    return KNOWN_INPUT_SHAPES.get(kind)


def check_proxies(names: Iterable[str]) -> tuple[str, ...]:
    """Validate proxy names up front, so a typo fails before any model is built."""
    names = tuple(names)
    unknown = [n for n in names if n not in PROXY_NAMES]
    if unknown or not names:
        problem = f"unknown proxy name(s) {unknown}" if unknown else "no proxy given"
        raise ValueError(f"{problem}; known proxies are {sorted(PROXY_NAMES)}")
    return names


def device_name_problem(name: str) -> str | None:
    """Why ``name`` names no device at all (text starting "must"), or None; whether this
    machine has it is :func:`supernet.train.device_problem`'s question."""
    if name in ("auto", "cpu") or name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        return None
    return "must be 'auto', 'cpu' or 'cuda[:N]'"


_Epochs = Annotated[int, Field(ge=1, description="a positive integer")]
_Positive = Annotated[int, Field(ge=1, description="a positive integer")]
_NON_NEGATIVE = Field(ge=0, allow_inf_nan=False, description="a finite number >= 0")


def check_epochs(epochs: object, what: str) -> int:
    """``epochs`` if it is a number of epochs to train (command arguments are user input)."""
    return validate(_Epochs, epochs, what)


def _known_sampler(name: str) -> str:
    if name not in sampler_names():
        raise ValueError(f"must be one of {list(sampler_names())}")
    return name


def _device_name(name: str) -> str:
    problem = device_name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


@dataclass
class TrainConfig:
    __pydantic_config__ = STRICT

    epochs: _Epochs = 5
    batch_size: Annotated[int, Field(ge=1, description="a positive integer")] = 64
    lr: Annotated[float, Field(ge=0, allow_inf_nan=False, description="a finite number >= 0"),
                  requirement(lambda lr: lr > 0, "must be > 0")] = 0.05
    momentum: Annotated[float, _NON_NEGATIVE] = 0.9
    weight_decay: Annotated[float, _NON_NEGATIVE] = 5e-4
    nesterov: bool = True
    sampler: Annotated[str, AfterValidator(_known_sampler)] = "uniform"
    seed: int = 0
    device: Annotated[str, AfterValidator(_device_name)] = "auto"
    """Only its spelling is checked here; a ``cuda`` the machine lacks is refused by the engine
    that would train on it (:func:`supernet.train.check_device`), on the worker that owns it."""
    amp: bool = True
    grad_clip: Annotated[float, _NON_NEGATIVE] = 5.0
    finetune_lr_factor: Annotated[float, _NON_NEGATIVE] = 0.2
    # estimator levers (issue 19; measured on and off by benchmarks/fidelity.py)
    warmup_epochs: Annotated[int, Field(ge=0, description="an integer >= 0")] = 0
    """Linear lr warm-up at the start of training (not of a fine-tune)."""
    distill_weight: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False,
                                           description="a number in [0, 1]")] = 0.0
    """In-place distillation from the largest path (supernet/distill.py); 0: off."""
    distill_temperature: Annotated[float, Field(gt=0, allow_inf_nan=False,
                                                description="a number > 0")] = 1.0
    fewshot_split: list[str] = field(default_factory=list)
    """Choice points the supernet splits on into one sub-supernet per op (supernet/fewshot.py)."""
    fewshot_at: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False,
                                       description="a number in [0, 1]")] = 0.5
    """When to split, as a fraction of the planned training steps."""

    def __post_init__(self) -> None:
        check_fields(self, "train")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return parse(cls, data, "train config", "train setting", "train")


@dataclass
class EvalConfig:
    """How candidates are scored, and how their latency is measured.

    Latency is timed at batch 1 (interactive use) and, when ``latency_batch`` > 1,
    also at that batch (throughput use): the two can rank architectures differently.
    The second timing is opt-in: on a CPU it doubles the cost of timing, already about
    0.3 s per nb201 candidate at batch 1 on a 2-core CPU (a generation of 20: 12 s to
    evaluate, 7 s to time).
    """

    __pydantic_config__ = STRICT

    bn_batches: _Positive = 4
    bn_batch_size: _Positive = 128
    batch_size: _Positive = 512
    val_limit: Annotated[int | None, Field(ge=1, description="a positive integer or null")] = None
    latency_batch: _Positive = 1
    latency_warmup: Annotated[int, Field(ge=0, description="an integer >= 0")] = 3
    latency_repeats: _Positive = 10

    def __post_init__(self) -> None:
        check_fields(self, "eval")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalConfig:
        return parse(cls, data, "eval config", "eval setting", "eval")


def _known_mode(mode: str) -> str:
    if mode not in engine_modes():
        raise ValueError(f"must be one of {engine_modes()}")
    return mode


def _known_proxies(names: list[str]) -> list[str]:
    return list(check_proxies(names)) if names else []


@dataclass
class EngineConfig:
    """Everything a user chooses about one search, as the browser, the CLI and checkpoints
    write it (``to_dict``). Where data may be read from is not a user's choice: it is the
    ``data_roots`` argument of the engines (see :func:`supernet.engines.open_engine`)."""

    __pydantic_config__ = STRICT

    template: str | dict[str, Any] = "tiny"
    dataset: Annotated[str, Field(min_length=1, description="a dataset spec such as 'digits' "
                                  "or 'cifar10:/path'")] = "digits"
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    data_limit: Annotated[int | None, Field(ge=MIN_LIMIT, description=(
        f"a number of images >= {MIN_LIMIT}, or null for all"))] = None
    measure_latency: bool = True
    mode: Annotated[str, AfterValidator(_known_mode)] = "supernet"
    """A registered engine family: "tabular" looks accuracies up, no training."""
    table_path: str | None = None  # CSV file, "synthetic[:SEED]" or "nats:[PATH]" (tabular mode)
    table_dataset: str = "cifar10"
    table_percent: bool | None = None  # None: detected from the column (percent if a value > 1)
    proxies: Annotated[list[str], AfterValidator(_known_proxies)] = field(default_factory=list)
    """Zero-cost scores for every candidate."""
    prescreen_n: Annotated[int, Field(ge=0, description="a non-negative integer")] = 0
    """> 0: warm-start with the best of this many random archs by proxies."""
    prescreen_by: list[str] = field(default_factory=list)  # proxies that rank them (default all)
    name: Annotated[str, Field(max_length=80, description="at most 80 characters")] = ""
    """What the analyst calls this search: the session lists show it."""
    archlock: ArchLockConfig | None = None
    """ArchLock: keep the source accuracy, lose it on target tasks (supernet/archlock/)."""

    def __post_init__(self) -> None:
        check_fields(self)
        if isinstance(self.template, dict):
            check_template_size(self.template)  # before building a space from it
        self.space()
        check_engine_config(self)
        unknown = [n for n in self.train.fewshot_split if n not in self.space().names()]
        if unknown:
            raise ValueError(f"train.fewshot_split names unknown choice point(s) {unknown}; "
                             f"the space has {list(self.space().names())}")
        if self.prescreen_n and not self.proxies:
            raise ValueError("prescreen_n needs at least one proxy to rank by: set proxies")
        outside = [name for name in self.prescreen_by if name not in self.proxies]
        if outside:
            raise ValueError(f"prescreen_by {outside}: rank only by proxies that are scored; "
                             f"add them to proxies {self.proxies}")
        if self.archlock is not None and not (self.archlock.targets
                                              or self.archlock.unknown_target):
            raise ValueError("archlock needs targets (dataset specs to score by zero-cost "
                             "proxies, or in tabular mode the table's other columns) or "
                             "unknown_target: true (simulated targets near the source)")

    def space(self) -> SearchSpace:
        if isinstance(self.template, str):
            return SearchSpace(preset(self.template))
        return SearchSpace(template_from_dict(self.template))

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.template, "dataset": self.dataset,
                "train": self.train.to_dict(), "search": self.search.to_dict(),
                "eval": self.eval.to_dict(), "seed": self.seed, "data_limit": self.data_limit,
                "measure_latency": self.measure_latency, "mode": self.mode,
                "table_path": self.table_path, "table_dataset": self.table_dataset,
                "table_percent": self.table_percent, "proxies": list(self.proxies),
                "prescreen_n": self.prescreen_n, "prescreen_by": list(self.prescreen_by),
                "name": self.name,
                "archlock": None if self.archlock is None else self.archlock.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineConfig:
        if not isinstance(data, dict):  # the message callers have always matched on
            raise ValueError(f"engine config must be a mapping of settings, got "
                             f"{type(data).__name__}")
        dataset = data.get("dataset")
        if "eval" not in data and isinstance(dataset, str) and eval_defaults(dataset):
            data = {**data, "eval": eval_defaults(dataset)}  # a dense task's cheaper defaults
        return parse(cls, data, "engine config", "engine setting")


@register_config_check("tabular")
def _check_tabular(config: EngineConfig) -> None:
    """Settings the tabular family (:class:`supernet.tabular.engine.TabularEngine`) cannot run."""
    kind = config.space().kind
    if not kind.supports_tabular:
        raise ValueError("tabular mode looks architectures up by their NAS-Bench-201 cell "
                         f"string; a {kind.name} template needs mode 'supernet'")
    if not config.table_path:
        raise ValueError("tabular mode needs table_path: a CSV file (arch + accuracy columns), "
                         "'synthetic[:SEED]' or 'nats:[PATH]'")
    if config.proxies:
        raise ValueError("zero-cost proxies need a batch of training data; tabular mode has none")
