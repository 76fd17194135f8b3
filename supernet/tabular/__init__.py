"""Tabular-benchmark mode: look accuracies up in a NAS-Bench-201 style table instead of
training a supernet.

- :mod:`supernet.tabular.table`: :class:`~supernet.tabular.table.BenchmarkTable` maps
  every architecture of a search space (by its canonical NAS-Bench-201 string) to its
  accuracy on one or more datasets (fractions in [0, 1]), plus optional costs;
- :mod:`supernet.tabular.parsing`: the CSV format (documented there) and the NATS-Bench reader;
- :mod:`supernet.tabular.synthetic`: generated tables for tests and demos;
- :mod:`supernet.tabular.specs`: ``open_table(spec)`` for a config's ``table_path``
  (a CSV path, ``synthetic[:SEED]`` or ``nats:[PATH]``);
- :mod:`supernet.tabular.engine`: ``TabularEngine``, the ``tabular`` engine family.

In tabular mode a candidate's ``accuracy`` is the table's, its ``loss`` is
``1 - accuracy`` (an error rate, not a cross-entropy), ``params``/``flops``/``latency_ms``
come from the table (or are ``None``), its ``scores`` hold ``table_rank`` (1 = best entry
of the whole table) and ``table_percentile`` (100 = best, 0 = worst), and there is no
training: the training calls are no-ops that report ``"no training: tabular mode"``.
The engine needs a table that covers every architecture of the search space.
"""
