"""Hardware cost as a second objective: measured latency, a linear latency
predictor, transfer to other devices, Pareto fronts and a latency budget.

Why a predictor: measuring a stand-alone network takes tens to hundreds of forward
passes, while the search scores thousands of candidates. Cell latency is close to a
sum of per-(edge, op) costs over the edges that actually run, so least squares on
the space's one-hot encoding predicts it in microseconds and ranks architectures
almost like the real device (``python -m benchmarks.latency``, 40 CPU measurements
on a loaded shared 2-core machine: held-out Spearman 0.95-0.97 on ``tiny`` and
0.94-0.997 on ``nb201``, against 0.75-0.8 for the parameter count).

Why adaptation instead of refitting: Lu et al. ("One Proxy Device Is Enough for
Hardware-Aware Neural Architecture Search", 2021) show that latency rankings are
strongly monotone across devices. A predictor fitted on the proxy (host) device is
therefore a good prior for a target device; a handful of target measurements only
needs to correct what differs (for example one op the target runs slowly), which
ridge regression towards the host model does with far fewer samples than a fit from
scratch.

Modules: ``meter`` (measured latency), ``predictor`` (the linear model; ``ridge``
has its fits), ``transfer`` (other devices), ``latency_csv`` (uploaded latencies),
``pareto`` (fronts), ``budget`` (a latency budget); ``checks`` validates inputs.
This package re-exports the public names of all of them but ``meter``, the one that needs
torch: ``from supernet.hardware.meter import LatencyMeter``. The lab's web process draws
Pareto fronts and reads latency CSVs without a GPU and must not pay torch's import.

Every cost here is in milliseconds. ``supernet`` stays headless: nothing prints.
"""

from supernet.hardware.budget import sample_within_budget, within_budget
from supernet.hardware.latency_csv import CSV_COLUMNS, load_latency_csv
from supernet.hardware.pareto import pareto_front, pareto_table
from supernet.hardware.predictor import LatencyPredictor, active_edges, rank_correlation
from supernet.hardware.ridge import ALPHA_GRID
from supernet.hardware.transfer import adapt_predictor, device_srcc, scale_predictor

__all__ = ["ALPHA_GRID", "CSV_COLUMNS", "LatencyPredictor", "active_edges",
           "adapt_predictor", "device_srcc", "load_latency_csv", "pareto_front", "pareto_table",
           "rank_correlation", "sample_within_budget", "scale_predictor", "within_budget"]
