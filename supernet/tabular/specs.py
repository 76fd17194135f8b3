"""Table specs: how a config names its benchmark table (the ``table_path`` setting).

A spec is a CSV path, ``synthetic[:SEED]`` (a generated table, see
:mod:`supernet.tabular.synthetic`) or ``nats:[PATH]`` (the official NATS-Bench topology
benchmark through the ``nats_bench`` package, if installed).
"""

from __future__ import annotations

from supernet.paths import Roots, check_under_roots
from supernet.space import SearchSpace
from supernet.tabular.synthetic import synthetic_table
from supernet.tabular.table import BenchmarkTable


def open_table(spec: str, dataset: str, space: SearchSpace | None = None,
               percent: bool | None = None, roots: Roots = None) -> BenchmarkTable:
    """A table from a spec: ``synthetic[:SEED]``, ``nats:[PATH]`` or a CSV path.

    ``roots``: the folders a named path must lie in (a lab server's data roots); ``nats:``
    without a path reads the API's default location, which the server's environment
    sets, not the user.
    """
    space = space or SearchSpace.from_preset("nb201")
    if not isinstance(spec, str) or not spec:
        raise ValueError("a table spec must be a CSV path, 'synthetic[:SEED]' or 'nats:[PATH]'")
    if spec == "synthetic" or spec.startswith("synthetic:"):
        seed_text = spec.partition(":")[2] or "0"
        try:
            seed = int(seed_text)
        except ValueError:
            raise ValueError(f"table spec {spec!r}: the seed must be an integer") from None
        return synthetic_table(space, seed, datasets=(dataset,))
    if spec.startswith("nats:"):
        path = spec[5:] or None
        if path is not None and roots is not None:
            path = str(check_under_roots(path, roots))
        return BenchmarkTable.from_nats_bench(path, dataset, space)
    return BenchmarkTable.from_csv(spec, dataset, space, percent=percent, roots=roots)
