"""Tests of the Dataset protocol, ArrayDataset and gather (no plugin needed)."""

import numpy as np
import pytest
from _data_helpers import PerSampleDataset
from hypothesis import given, settings
from hypothesis import strategies as st

from dzcore.datasets import (
    ArrayDataset,
    Dataset,
    DatasetError,
    SampleError,
    check_index,
    gather,
)
from dzcore.errors import DzError
from dzcore.transforms import Compose


class Scale:
    """A batchable transform that records which path was used."""

    batchable = True

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.calls = {"sample": 0, "batch": 0}

    def __call__(self, x):
        self.calls["sample"] += 1
        return x * self.factor

    def apply_batch(self, batch):
        self.calls["batch"] += 1
        return batch * self.factor


class FailOnNegative:
    """Batchable, but raises when any value is negative."""

    batchable = True

    def __call__(self, x):
        if np.any(x < 0):
            raise ValueError("negative pixel")
        return x

    apply_batch = __call__


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def arrays(rng):
    x = rng.standard_normal((12, 3)).astype(np.float32)
    t = rng.integers(0, 4, size=12)
    return x, t


def test_array_dataset_getitem_returns_sample_and_label(arrays):
    x, t = arrays
    data = ArrayDataset(x, t)

    sample, label = data[5]

    np.testing.assert_array_equal(sample, x[5])
    assert label == t[5]
    assert len(data) == 12
    assert sample.dtype == np.float32


def test_array_dataset_negative_index_counts_from_end(arrays):
    x, t = arrays

    np.testing.assert_array_equal(ArrayDataset(x, t)[-1][0], x[11])


def test_array_dataset_index_out_of_range_is_clear(arrays):
    with pytest.raises(IndexError, match="sample index 12 is out of range.*12 samples"):
        ArrayDataset(*arrays)[12]


def test_array_dataset_non_integer_index_is_type_error(arrays):
    with pytest.raises(TypeError, match="must be an integer.*get_batch"):
        ArrayDataset(*arrays)[np.array([1, 2])]
    with pytest.raises(TypeError, match="must be an integer"):
        ArrayDataset(*arrays)[True]


def test_array_dataset_without_labels_gives_none(arrays):
    data = ArrayDataset(arrays[0])

    assert data[0][1] is None
    assert data.get_batch(np.array([0, 1]))[1] is None


def test_array_dataset_length_mismatch_names_shapes(arrays):
    x, t = arrays

    with pytest.raises(
        DatasetError, match=r"x of shape \(12, 3\) and t of shape \(11,\)"
    ):
        ArrayDataset(x, t[:11])


def test_array_dataset_scalar_is_rejected():
    with pytest.raises(DatasetError, match="samples along axis 0"):
        ArrayDataset(np.float32(3.0))


def test_dataset_errors_derive_from_dz_and_builtin_types():
    assert issubclass(DatasetError, DzError) and issubclass(DatasetError, ValueError)
    assert issubclass(SampleError, DzError) and issubclass(SampleError, RuntimeError)


def test_dataset_applies_transform_and_target_transform(arrays):
    x, t = arrays
    data = ArrayDataset(x, t, transform=lambda s: s + 1, target_transform=lambda v: -v)

    sample, label = data[3]

    np.testing.assert_allclose(sample, x[3] + 1)
    assert label == -t[3]


def test_dataset_rejects_non_callable_transform(arrays):
    with pytest.raises(TypeError, match="transform must be callable"):
        ArrayDataset(*arrays, transform="flatten")


def test_dataset_transform_error_names_sample_index(arrays):
    x, t = arrays
    x = np.abs(x)
    x[7, 0] = -1.0
    data = ArrayDataset(x, t, transform=FailOnNegative())

    with pytest.raises(SampleError, match="sample 7.*negative pixel") as info:
        data[7]
    assert info.value.index == 7
    with pytest.raises(SampleError, match="sample 7") as info:
        data.get_batch(np.array([2, 7, 9]))
    assert info.value.index == 7


def test_get_batch_fast_path_indexes_once(arrays):
    x, t = arrays
    scale = Scale(3.0)
    data = ArrayDataset(x, t, transform=Compose([scale]))

    x_batch, t_batch = data.get_batch(np.array([4, 0, 4, 9]))

    np.testing.assert_allclose(x_batch, x[[4, 0, 4, 9]] * 3.0)
    np.testing.assert_array_equal(t_batch, t[[4, 0, 4, 9]])
    assert scale.calls == {"sample": 0, "batch": 1}


def test_get_batch_non_batchable_transform_goes_per_sample(arrays):
    x, t = arrays
    calls = []
    data = ArrayDataset(x, t, transform=lambda s: calls.append(1) or s * 2)

    x_batch, _ = data.get_batch(np.array([1, 2, 3]))

    np.testing.assert_allclose(x_batch, x[[1, 2, 3]] * 2)
    assert len(calls) == 3


def test_get_batch_respects_overridden_getitem(arrays):
    x, t = arrays
    data = PerSampleDataset(x, t)

    x_batch, t_batch = data.get_batch(np.array([0, 5]))

    np.testing.assert_allclose(x_batch, x[[0, 5]] * 2)
    np.testing.assert_array_equal(t_batch, t[[0, 5]])


def test_get_batch_keeps_dtypes(rng):
    x = rng.standard_normal((6, 2))
    data = ArrayDataset(x, np.arange(6, dtype=np.int64))

    x_batch, t_batch = data.get_batch(np.array([0, 1]))

    assert x_batch.dtype == np.float64
    assert t_batch.dtype == np.int64


@settings(max_examples=30, deadline=None)
@given(
    indices=st.lists(st.integers(0, 9), min_size=1, max_size=12),
    batchable=st.booleans(),
)
def test_get_batch_equals_stacked_samples(indices, batchable):
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    t = np.arange(10) % 3
    transform = Scale(0.5) if batchable else (lambda s: s * 0.5)
    data = ArrayDataset(x, t, transform=transform)
    index_array = np.array(indices)

    x_batch, t_batch = data.get_batch(index_array)

    np.testing.assert_array_equal(x_batch, np.stack([data[i][0] for i in indices]))
    np.testing.assert_array_equal(t_batch, np.array([data[i][1] for i in indices]))


def test_gather_works_on_plain_sequences():
    pairs = [(np.full(2, i, np.float32), i) for i in range(5)]

    x_batch, t_batch = gather(pairs, np.array([3, 1]))

    np.testing.assert_array_equal(x_batch, [[3, 3], [1, 1]])
    np.testing.assert_array_equal(t_batch, [3, 1])


def test_gather_names_sample_that_is_not_a_pair():
    with pytest.raises(SampleError, match="sample 1 must be a pair"):
        gather([(1, 2), 3], [0, 1])


def test_gather_names_sample_with_different_shape():
    pairs = [(np.zeros(2), 0), (np.zeros(3), 1)]

    with pytest.raises(SampleError, match=r"sample 1 has shape \(3,\).*\(2,\)"):
        gather(pairs, [0, 1])


def test_gather_wraps_reading_errors_with_index():
    class Broken:
        def __getitem__(self, index):
            raise OSError("disk unplugged")

    with pytest.raises(SampleError, match="reading sample 4 failed: OSError") as info:
        gather(Broken(), [4])
    assert isinstance(info.value.__cause__, OSError)


def test_dataset_subclass_prepare_runs_in_init():
    class Squares(Dataset):
        def prepare(self):
            self.data = np.arange(4.0) ** 2
            self.label = np.zeros(4, dtype=np.int64)

    data = Squares(train=False)

    assert len(data) == 4
    assert data[3][0] == 9.0
    assert not data.train
    assert "test, 4 samples" in repr(data)


def test_dataset_base_without_data_is_empty():
    assert len(Dataset()) == 0


def test_check_index_wraps_negative():
    assert check_index(-2, 5, "here") == 3
