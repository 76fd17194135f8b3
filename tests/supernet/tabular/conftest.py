from __future__ import annotations

import pytest

from supernet.tabular.synthetic import synthetic_table
from supernet.tabular.table import BenchmarkTable
from tests.supernet.tabular.cases import NB201


@pytest.fixture(scope="package")
def table() -> BenchmarkTable:
    return synthetic_table(NB201, seed=0, datasets=("cifar10", "cifar100"))
