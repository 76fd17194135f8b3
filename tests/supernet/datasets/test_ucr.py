"""aeon's bundled UCR/UEA sets: a multivariate one, a variable-length one, and the refusal of
names that would need a download."""

from __future__ import annotations

import pytest
import torch

from supernet.data import load_dataset
from supernet.datasets.ucr import bundled_classification_sets


def test_multivariate_set_loads_as_series_with_train_statistics() -> None:
    data = load_dataset("aeon:BasicMotions", seed=0)
    assert data.task.dims == 1 and not data.task.masked and data.task.metric == "accuracy"
    assert data.x_train.shape[1:] == (6, 100)  # 6 channels (accelerometer + gyroscope)
    assert data.x_test.shape == (40, 6, 100) and data.num_classes == 4
    assert len(data.y_train) + len(data.y_val) == 40
    # standardised with the training split's own statistics
    assert torch.allclose(data.x_train.mean(dim=(0, 2)), torch.zeros(6), atol=1e-4)
    assert torch.allclose(data.x_train.std(dim=(0, 2), unbiased=False), torch.ones(6), atol=1e-3)
    assert set(data.y_test.tolist()) == set(range(4))


def test_variable_length_set_is_padded_with_a_mask_channel() -> None:
    data = load_dataset("aeon:JapaneseVowels", seed=0)
    assert data.task.masked and data.in_channels == 13  # 12 coefficients + the mask
    mask = torch.cat([data.x_train, data.x_val, data.x_test])[:, -1]
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    lengths = mask.sum(1)
    assert lengths.min() < lengths.max() == data.image_size  # padded to the longest series
    # every series is real from its start and padding only at its end, where values are 0
    for row, n in zip(mask[:50], lengths[:50]):
        assert row[:int(n)].eq(1).all() and row[int(n):].eq(0).all()
    values = data.x_train[:, :-1]
    assert values.masked_select(data.x_train[:, -1:].eq(0).expand_as(values)).abs().max() == 0
    assert data.input_mean[-1] == 0.0 and data.input_std[-1] == 1.0  # the mask is not scaled


def test_names_aeon_does_not_ship_are_refused_with_the_list() -> None:
    bundled = bundled_classification_sets()
    assert {"BasicMotions", "JapaneseVowels", "GunPoint", "ArrowHead"} <= set(bundled)
    with pytest.raises(ValueError, match="BasicMotions.*GunPoint|GunPoint.*BasicMotions"):
        load_dataset("aeon:ElectricDevices")
