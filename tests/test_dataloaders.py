"""Tests of DataLoader: batching, epochs, seeds, state, GPU wiring, workers."""

import json
import multiprocessing
import os
import signal

import numpy as np
import pytest
from _data_helpers import DyingDataset, PerSampleDataset, RaisingDataset
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import dzcore.dataloaders as dataloaders
from dzcore.dataloaders import DataLoader, WorkerError
from dzcore.datasets import ArrayDataset, DatasetError, SampleError


@pytest.fixture
def rng():
    return np.random.default_rng(20261203)


@pytest.fixture
def dataset(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    return ArrayDataset(x, np.arange(10))


@pytest.fixture
def per_sample(rng):
    x = rng.standard_normal((23, 4)).astype(np.float32)
    return PerSampleDataset(x, np.arange(23))


@pytest.fixture
def no_children():
    yield
    assert multiprocessing.active_children() == []


def labels_of(loader):
    return [t.tolist() for _, t in loader]


def test_loader_len_counts_partial_batch(dataset):
    assert len(DataLoader(dataset, 4)) == 3
    assert len(DataLoader(dataset, 5)) == 2
    assert len(DataLoader(dataset, 4, drop_last=True)) == 2


def test_loader_keeps_last_partial_batch(dataset):
    sizes = [len(t) for _, t in DataLoader(dataset, 4, seed=0)]

    assert sizes == [4, 4, 2]


def test_loader_drop_last_drops_partial_batch(dataset):
    sizes = [len(t) for _, t in DataLoader(dataset, 4, drop_last=True, seed=0)]

    assert sizes == [4, 4]


def test_loader_epoch_visits_every_sample_once(dataset):
    seen = np.concatenate([t for _, t in DataLoader(dataset, 3, seed=1)])

    assert sorted(seen.tolist()) == list(range(10))


def test_loader_without_shuffle_keeps_index_order(dataset):
    loader = DataLoader(dataset, 4, shuffle=False)

    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_loader_batches_match_dataset_samples(dataset):
    for x, t in DataLoader(dataset, 4, seed=3):
        np.testing.assert_array_equal(x, dataset.data[t])


def test_loader_iterating_twice_gives_two_epochs(dataset):
    loader = DataLoader(dataset, 4, seed=5)

    first, second = labels_of(loader), labels_of(loader)

    assert first != second
    assert sorted(sum(second, [])) == list(range(10))
    assert loader.epoch == 2


def test_loader_same_seed_same_batches(dataset):
    run_a = [labels_of(loader) for loader in [DataLoader(dataset, 3, seed=9)] * 3]
    run_b = [labels_of(loader) for loader in [DataLoader(dataset, 3, seed=9)] * 3]

    assert run_a == run_b
    assert labels_of(DataLoader(dataset, 3, seed=10)) != run_a[0]


def test_loader_accepts_a_generator(dataset):
    from_seed = labels_of(DataLoader(dataset, 3, seed=np.random.default_rng(4)))

    assert from_seed == labels_of(DataLoader(dataset, 3, seed=4))


def test_loader_keeps_dtypes(rng):
    x64 = rng.standard_normal((5, 2))
    loader = DataLoader(ArrayDataset(x64, np.arange(5)), 2, seed=0)

    x, t = next(iter(loader))

    assert x.dtype == np.float64
    assert t.dtype == np.int64


def test_loader_dezero_style_next_and_stop(dataset):
    loader = DataLoader(dataset, 4, seed=2)
    batches = [loader.next(), next(loader), next(loader)]

    with pytest.raises(StopIteration):
        next(loader)

    assert [len(t) for _, t in batches] == [4, 4, 2]
    assert loader.epoch == 1
    assert len(next(loader)[1]) == 4


def test_loader_break_then_continue_finishes_epoch(dataset):
    loader = DataLoader(dataset, 3, seed=6)
    expected = labels_of(DataLoader(dataset, 3, seed=6))

    for _, t in loader:
        first = t.tolist()
        break
    rest = labels_of(loader)

    assert [first, *rest] == expected
    assert loader.epoch == 1


def test_loader_reset_drops_rest_of_epoch(dataset):
    loader = DataLoader(dataset, 3, seed=6)
    reference = DataLoader(dataset, 3, seed=6)
    labels_of(reference)

    next(loader)
    loader.reset()

    assert loader.epoch == 1 and loader.position == 0
    assert labels_of(loader) == labels_of(reference)


def test_loader_reset_at_epoch_start_keeps_order(dataset):
    loader = DataLoader(dataset, 3, seed=6)
    loader.reset()

    assert labels_of(loader) == labels_of(DataLoader(dataset, 3, seed=6))


@pytest.mark.parametrize("size", [0, -1])
def test_loader_batch_size_below_one_is_value_error(dataset, size):
    with pytest.raises(ValueError, match=f"batch_size must be at least 1, got {size}"):
        DataLoader(dataset, size)


@pytest.mark.parametrize("size", [2.5, True, "8"])
def test_loader_batch_size_not_int_is_type_error(dataset, size):
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        DataLoader(dataset, size)


def test_loader_empty_dataset_is_value_error():
    empty = ArrayDataset(np.zeros((0, 3), np.float32), np.zeros(0, np.int64))

    with pytest.raises(ValueError, match="has no samples") as info:
        DataLoader(empty, 4)
    assert isinstance(info.value, DatasetError)


def test_loader_drop_last_with_too_few_samples_is_value_error(dataset):
    with pytest.raises(ValueError, match="gives no batch"):
        DataLoader(dataset, 11, drop_last=True)


def test_loader_rejects_bad_seed_and_dataset(dataset):
    with pytest.raises(TypeError, match="seed must be"):
        DataLoader(dataset, 2, seed=1.5)
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(object(), 2)
    with pytest.raises(ValueError, match="num_workers must be at least 0"):
        DataLoader(dataset, 2, num_workers=-1)


def test_loader_state_dict_resumes_exactly(dataset):
    uninterrupted = DataLoader(dataset, 3, seed=11)
    expected = [labels_of(uninterrupted) for _ in range(3)]
    first = DataLoader(dataset, 3, seed=11)
    labels_of(first)
    batches = iter(first)
    head = [next(batches)[1].tolist(), next(batches)[1].tolist()]
    saved = json.loads(json.dumps(first.state_dict()))

    resumed = DataLoader(dataset, 3, seed=999)
    resumed.load_state_dict(saved)

    assert head + labels_of(resumed) == expected[1]
    assert labels_of(resumed) == expected[2]
    assert saved["epoch"] == 1 and saved["position"] == 2


def test_loader_state_dict_from_other_settings_names_difference(dataset):
    saved = DataLoader(dataset, 3, seed=0).state_dict()

    with pytest.raises(ValueError, match="batch_size: saved 3, now 4"):
        DataLoader(dataset, 4, seed=0).load_state_dict(saved)
    with pytest.raises(ValueError, match="shuffle: saved True, now False"):
        DataLoader(dataset, 3, shuffle=False).load_state_dict(saved)


def test_loader_state_dict_malformed_is_value_error(dataset):
    loader = DataLoader(dataset, 3, seed=0)
    state = loader.state_dict()

    with pytest.raises(ValueError, match="expected a dict from state_dict"):
        loader.load_state_dict({"epoch": 1})
    with pytest.raises(ValueError, match="position 9 is outside 0..4"):
        loader.load_state_dict(dict(state, position=9))
    with pytest.raises(ValueError, match="random state does not fit"):
        loader.load_state_dict(dict(state, rng_state={"bit_generator": "MT19937"}))


def test_loader_gpu_without_cupy_is_runtime_error(dataset, monkeypatch):
    monkeypatch.setattr(dataloaders.cuda, "gpu_enable", lambda: False)

    with pytest.raises(RuntimeError, match="gpu=True needs CuPy"):
        DataLoader(dataset, 2, gpu=True)


def test_loader_gpu_moves_batches_through_cuda(dataset, monkeypatch):
    moved = []
    monkeypatch.setattr(dataloaders.cuda, "gpu_enable", lambda: True)
    monkeypatch.setattr(
        dataloaders.cuda, "as_cupy", lambda a: moved.append(a) or ("gpu", a)
    )

    x, t = next(iter(DataLoader(dataset, 4, gpu=True, seed=0)))

    assert x[0] == "gpu" and t[0] == "gpu"
    assert len(moved) == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_loader_workers_give_same_batches_as_main_process(
    per_sample, workers, no_children
):
    reference = DataLoader(per_sample, 5, seed=7)
    with_workers = DataLoader(per_sample, 5, seed=7, num_workers=workers)

    for _ in range(2):
        for (x_ref, t_ref), (x, t) in zip(reference, with_workers, strict=True):
            np.testing.assert_array_equal(x, x_ref)
            np.testing.assert_array_equal(t, t_ref)


def test_loader_worker_error_names_sample_index(per_sample, no_children):
    broken = RaisingDataset(per_sample.data, per_sample.label, bad=13)
    loader = DataLoader(broken, 4, shuffle=False, num_workers=2)

    with pytest.raises(SampleError, match="sample 13.*cannot decode record 13") as info:
        labels_of(loader)
    assert info.value.index == 13
    assert "Worker traceback" in str(info.value)


def test_loader_dead_worker_is_worker_error(per_sample, no_children):
    dying = DyingDataset(per_sample.data, per_sample.label, bad=2)

    with pytest.raises(WorkerError, match="exited unexpectedly with code 3"):
        labels_of(DataLoader(dying, 4, shuffle=False, num_workers=2))


def test_loader_break_stops_workers(per_sample, no_children):
    loader = DataLoader(per_sample, 2, seed=1, num_workers=2)

    for _ in loader:
        assert len(multiprocessing.active_children()) == 2
        break


def test_loader_keyboard_interrupt_stops_workers(per_sample, no_children):
    loader = DataLoader(per_sample, 2, seed=1, num_workers=2)

    with pytest.raises(KeyboardInterrupt):
        for _ in loader:
            raise KeyboardInterrupt


def test_loader_reset_stops_next_style_workers(per_sample, no_children):
    loader = DataLoader(per_sample, 2, seed=1, num_workers=2)
    next(loader)

    loader.reset()


def test_loader_workers_resume_mid_epoch(per_sample, no_children):
    expected = labels_of(DataLoader(per_sample, 5, seed=8))
    first = DataLoader(per_sample, 5, seed=8, num_workers=2)
    for _ in first:
        break
    resumed = DataLoader(per_sample, 5, seed=0, num_workers=2)
    resumed.load_state_dict(first.state_dict())

    assert labels_of(resumed) == expected[1:]


def test_loader_spawned_workers_give_same_batches(per_sample, no_children):
    reference = labels_of(DataLoader(per_sample, 6, seed=3))
    spawned = DataLoader(per_sample, 6, seed=3, num_workers=2, mp_context="spawn")

    assert labels_of(spawned) == reference


def test_loader_repr_shows_progress(dataset):
    loader = DataLoader(dataset, 4, seed=0)
    next(loader)

    assert "position=1/3" in repr(loader)


def test_loader_workers_ignore_ctrl_c_meant_for_parent(per_sample, no_children):
    loader = DataLoader(per_sample, 2, shuffle=False, num_workers=2)
    batches = iter(loader)
    # Batch k comes from worker k % 2: after two batches both workers run.
    next(batches), next(batches)

    for worker in multiprocessing.active_children():
        os.kill(worker.pid, signal.SIGINT)
    rest = [t.tolist() for _, t in batches]

    assert len(rest) == len(loader) - 2


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(1, 40),
    batch_size=st.integers(1, 12),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
)
def test_loader_batches_partition_the_dataset(size, batch_size, shuffle, drop_last):
    assume(not drop_last or size >= batch_size)
    data = ArrayDataset(np.zeros((size, 1), np.float32), np.arange(size))
    loader = DataLoader(data, batch_size, shuffle=shuffle, drop_last=drop_last, seed=0)

    batches = labels_of(loader)
    seen = sum(batches, [])

    assert len(batches) == len(loader)
    assert all(len(batch) == batch_size for batch in batches[:-1])
    assert (
        len(seen) == len(set(seen)) == (size - size % batch_size if drop_last else size)
    )
    assert shuffle or seen == sorted(seen)


def test_loader_resume_after_last_batch_starts_next_epoch(dataset):
    reference = DataLoader(dataset, 4, seed=12)
    expected = [labels_of(reference), labels_of(reference)]
    first = DataLoader(dataset, 4, seed=12)
    batches = [next(first) for _ in range(len(first))]
    saved = first.state_dict()

    resumed = DataLoader(dataset, 4, seed=0)
    resumed.load_state_dict(saved)

    assert [t.tolist() for _, t in batches] == expected[0]
    assert saved["position"] == len(first)
    assert labels_of(resumed) == expected[1]


def test_loader_to_cpu_turns_gpu_off(dataset, monkeypatch):
    monkeypatch.setattr(dataloaders.cuda, "gpu_enable", lambda: True)
    loader = DataLoader(dataset, 4, gpu=True)

    loader.to_cpu()

    assert isinstance(next(loader)[0], np.ndarray)


def test_array_reader_gives_the_same_batches_as_get_batch(rng):
    x = rng.standard_normal((50, 4)).astype(np.float32)
    data = ArrayDataset(x, rng.integers(0, 3, 50))
    indices = rng.permutation(50)[:7]

    read = data._array_reader()

    assert read is not None
    for got, expected in zip(read(indices), data.get_batch(indices), strict=True):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_array_reader_is_refused_with_a_transform(dataset):
    dataset.transform = lambda sample: sample * 2

    assert dataset._array_reader() is None


def test_a_transform_set_between_epochs_applies_to_the_next(dataset):
    loader = DataLoader(dataset, batch_size=4, shuffle=False)
    first = [x.copy() for x, _ in loader]

    dataset.transform = lambda sample: sample * 2
    second = [x for x, _ in loader]

    for plain, doubled in zip(first, second, strict=True):
        np.testing.assert_allclose(doubled, plain * 2)


class _NoisyDataset(ArrayDataset):
    """Adds a draw from NumPy's global random state to every sample."""

    def __getitem__(self, index):
        x, t = super().__getitem__(index)
        return x + np.float32(np.random.random()), t


def _noise(loader):
    return [float(x[0, 0]) for x, _ in loader]


def test_workers_draw_different_random_numbers(no_children):
    data = _NoisyDataset(np.zeros((8, 1), np.float32), np.arange(8))
    loader = DataLoader(data, batch_size=1, shuffle=False, seed=3, num_workers=2)

    draws = _noise(loader)

    # Without reseeding, both forked workers would repeat the parent's state.
    assert len(set(draws)) == len(draws)


def test_seeded_workers_repeat_their_draws_and_change_per_epoch(no_children):
    data = _NoisyDataset(np.zeros((6, 1), np.float32), np.arange(6))

    def epochs(seed):
        loader = DataLoader(data, batch_size=2, seed=seed, num_workers=2)
        return _noise(loader), _noise(loader)

    first, second = epochs(seed=5)

    assert (first, second) == epochs(seed=5)
    assert first != second
    assert epochs(seed=6)[0] != first


def test_worker_seeds_leave_the_loader_order_alone(dataset):
    plain = DataLoader(dataset, batch_size=3, seed=7)
    with_workers = DataLoader(dataset, batch_size=3, seed=7, num_workers=1)

    assert labels_of(plain) == labels_of(with_workers)
    assert dataloaders.worker_seeds(plain._rng, 0, 2) != dataloaders.worker_seeds(
        plain._rng, 1, 2
    )


class _PidDataset(ArrayDataset):
    """Each sample's input is the id of the process that read it."""

    def __getitem__(self, index):
        _, t = super().__getitem__(index)
        return np.array([os.getpid()], np.int64), t


def _pids(loader):
    return {int(x[0, 0]) for x, _ in loader}


def test_persistent_workers_serve_every_epoch_and_stop_on_close(no_children):
    data = _PidDataset(np.zeros((8, 1), np.float32), np.arange(8))
    loader = DataLoader(data, 2, seed=1, num_workers=2, persistent_workers=True)

    first, second = _pids(loader), _pids(loader)

    assert len(first) == 2 and first == second
    assert len(multiprocessing.active_children()) == 2
    loader.close()


def test_workers_start_afresh_each_epoch_by_default(no_children):
    data = _PidDataset(np.zeros((8, 1), np.float32), np.arange(8))
    loader = DataLoader(data, 2, seed=1, num_workers=2)

    first, second = _pids(loader), _pids(loader)

    assert first.isdisjoint(second)
    assert multiprocessing.active_children() == []


def test_persistent_workers_give_the_same_batches_and_draws(no_children):
    data = _NoisyDataset(np.zeros((6, 1), np.float32), np.arange(6))
    fresh = DataLoader(data, 2, seed=4, num_workers=2)
    kept = DataLoader(data, 2, seed=4, num_workers=2, persistent_workers=True)

    assert [_noise(fresh) for _ in range(3)] == [_noise(kept) for _ in range(3)]
    kept.close()


def test_persistent_workers_stop_when_the_loader_is_dropped(no_children):
    data = _PidDataset(np.zeros((4, 1), np.float32), np.arange(4))
    loader = DataLoader(data, 2, num_workers=1, persistent_workers=True)
    _pids(loader)

    del loader

    assert multiprocessing.active_children() == []


def test_persistent_workers_after_a_break_are_not_kept(no_children):
    data = _PidDataset(np.zeros((8, 1), np.float32), np.arange(8))
    loader = DataLoader(data, 2, num_workers=1, persistent_workers=True)
    for _ in loader:
        break
    loader.reset()

    assert multiprocessing.active_children() == []
    assert len(list(loader)) == 4
    loader.close()


def test_persistent_workers_need_workers(dataset):
    with pytest.raises(ValueError, match="persistent_workers=True needs num_workers"):
        DataLoader(dataset, 2, persistent_workers=True)
