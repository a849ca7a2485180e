"""Tests of the dz-datasets plugin: Spiral, transforms, lazy datasets, registry.

MNIST has its own module, tests/test_plugin_datasets_mnist.py.
"""

import json
import multiprocessing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dzcore.plugins
from dzcore import datasets, hookimpl, transforms
from dzcore.dataloaders import DataLoader
from dzcore.datasets import DatasetError, DatasetNotFoundError, SampleError
from dzcore.transforms import Compose
from dzplugins.datasets.lazy import MemmapDataset, SampleFolder, write_sample_folder
from dzplugins.datasets.spiral import Spiral, get_spiral
from dzplugins.datasets.transforms import AsType, Flatten, Normalize, ToFloat, ToInt


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.fixture
def images(rng):
    x = rng.integers(0, 256, size=(9, 1, 4, 4)).astype(np.uint8)
    return x, rng.integers(0, 10, size=9)


# Spiral


def test_spiral_shapes_dtypes_and_classes():
    x, t = get_spiral(train=True)

    assert x.shape == (300, 2) and x.dtype == np.float32
    assert t.shape == (300,) and t.dtype == np.int64
    assert np.bincount(t).tolist() == [100, 100, 100]
    assert np.all(np.hypot(x[:, 0], x[:, 1]) < 1.5)


def test_spiral_is_deterministic_per_split_and_splits_differ():
    train_a, train_b = get_spiral(True), get_spiral(True)
    test = get_spiral(False)

    np.testing.assert_array_equal(train_a[0], train_b[0])
    np.testing.assert_array_equal(train_a[1], train_b[1])
    assert not np.allclose(train_a[0], test[0])


def test_spiral_leaves_global_random_state_alone():
    before = np.random.get_state()[1].copy()
    get_spiral(False)

    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_spiral_points_lie_on_their_arm():
    x, t = get_spiral(True)
    radius = np.hypot(x[:, 0], x[:, 1])
    angle = np.arctan2(x[:, 0], x[:, 1])
    expected = 4.0 * t + 4.0 * radius
    noise = np.angle(np.exp(1j * (angle - expected)))

    assert np.std(noise) < 0.3


def test_spiral_dataset_matches_arrays_and_loads_in_batches():
    data = Spiral(train=False)
    x, t = get_spiral(train=False)

    np.testing.assert_array_equal(data.data, x)
    assert len(data) == 300
    assert [len(b) for _, b in DataLoader(data, 30, seed=0)] == [30] * 10


# Registry


def test_registry_resolves_components_by_name():
    assert datasets.get("spiral") is Spiral
    assert datasets.Spiral is Spiral
    assert datasets.get_spiral is get_spiral
    assert datasets.get("bigdata") is SampleFolder
    assert datasets.get("memmap") is MemmapDataset
    assert transforms.Flatten is Flatten
    assert transforms.get("tofloat") is ToFloat
    assert {"normalize", "astype", "toint"} <= {
        name.lower() for name in dzcore.plugins.available("transforms")
    }


def test_registry_metadata_marks_lazy_datasets():
    assert dzcore.plugins.describe("datasets", "SampleFolder").metadata["lazy"]
    assert not dzcore.plugins.describe("datasets", "mnist").metadata["lazy"]
    assert dzcore.plugins.describe("datasets", "spiral").plugin == "datasets"


class _TinyPlugin:
    @hookimpl
    def dz_register_datasets(self, registry):
        registry.add("tiny_squares", "dzplugins.datasets.spiral:Spiral", summary="x")


@pytest.fixture
def tiny_plugin():
    name = dzcore.plugins.register(_TinyPlugin(), name="tinyplugin")
    yield name
    dzcore.plugins.unregister(name)


def test_registry_third_party_dataset_alongside_plugin(tiny_plugin):
    assert datasets.get("tiny_squares") is Spiral
    assert datasets.get(f"{tiny_plugin}:tiny_squares") is Spiral


# Transforms


def test_flatten_sample_and_batch(images):
    x, _ = images

    assert Flatten()(x[0]).shape == (16,)
    np.testing.assert_array_equal(
        Flatten().apply_batch(x), np.stack([Flatten()(s) for s in x])
    )


def test_tofloat_and_astype_and_toint_dtypes(images):
    x, t = images

    assert ToFloat()(x[0]).dtype == np.float32
    assert ToFloat(np.float64)(x[0]).dtype == np.float64
    assert AsType(np.int16)(x[0]).dtype == np.int16
    assert ToInt()(t[0]).dtype == np.int64
    assert ToInt(np.uint8)(np.array([3.7])).tolist() == [3]


def test_tofloat_and_toint_reject_wrong_kind():
    with pytest.raises(TypeError, match="ToFloat: dtype must be a float dtype"):
        ToFloat(np.int32)
    with pytest.raises(TypeError, match="ToInt: dtype must be an integer dtype"):
        ToInt(np.float32)


def test_normalize_keeps_float32_and_converts_ints():
    x32 = np.array([2.0, 4.0], np.float32)

    assert Normalize(1.0, 2.0)(x32).dtype == np.float32
    np.testing.assert_allclose(Normalize(1.0, 2.0)(x32), [0.5, 1.5])
    assert Normalize(0.0, 255.0)(np.array([255], np.uint8)).dtype == np.float32
    assert Normalize(0.0, 1.0)(np.array([1.0]))[0] == 1.0


def test_normalize_zero_std_is_value_error():
    with pytest.raises(ValueError, match="std must be non-zero"):
        Normalize(0.0, [1.0, 0.0])


def test_normalize_per_channel_batch_equals_per_sample(images):
    x, _ = images
    norm = Normalize(mean=[[[10.0]]], std=[[[3.0]]])

    np.testing.assert_allclose(
        norm.apply_batch(x), np.stack([norm(s) for s in x]), rtol=1e-6
    )


@settings(max_examples=25, deadline=None)
@given(
    batch=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=4, max_side=4)),
    mean=st.floats(-5, 5),
    std=st.floats(0.5, 50),
)
def test_transform_chain_batch_path_equals_sample_path(batch, mean, std):
    chain = Compose([Flatten(), ToFloat(), Normalize(mean, std)])

    per_sample = np.stack([chain(sample) for sample in batch])

    np.testing.assert_allclose(chain.apply_batch(batch), per_sample, rtol=1e-6)
    assert chain.batchable


def test_transform_reprs_are_readable():
    assert repr(Flatten()) == "Flatten()"
    assert repr(ToFloat()) == "ToFloat(float32)"
    assert repr(Normalize(0, 255)) == "Normalize(mean=0.0, std=255.0)"


# SampleFolder


@pytest.mark.parametrize("fmt", ["npy", "npz"])
def test_sample_folder_round_trip(tmp_path, images, fmt):
    x, t = images
    write_sample_folder(tmp_path / "set", x, t, fmt=fmt)

    data = SampleFolder(tmp_path / "set", transform=Flatten())

    assert len(data) == 9
    for index in (0, 4, 8):
        sample, label = data[index]
        np.testing.assert_array_equal(sample, x[index].reshape(-1))
        assert label == t[index]


def test_sample_folder_npz_without_manifest_labels_reads_file_labels(tmp_path, images):
    x, t = images
    folder = write_sample_folder(tmp_path / "set", x, t, fmt="npz")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["labels"] = None
    (folder / "manifest.json").write_text(json.dumps(manifest))

    assert SampleFolder(folder).label is None
    assert SampleFolder(folder)[3][1] == t[3]


def test_sample_folder_reads_nothing_at_construction(tmp_path, images, monkeypatch):
    folder = write_sample_folder(tmp_path / "set", *images)
    loads = []
    real_load = np.load
    monkeypatch.setattr(
        np, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k)
    )

    data = SampleFolder(folder)
    assert loads == []
    data[2]
    assert len(loads) == 1


def test_sample_folder_missing_sample_file_names_index_and_file(tmp_path, images):
    folder = write_sample_folder(tmp_path / "set", *images)
    (folder / "00000003.npy").unlink()
    data = SampleFolder(folder)

    with pytest.raises(SampleError, match=r"sample 3 from .*00000003\.npy") as info:
        data[3]
    assert info.value.index == 3


def test_sample_folder_without_manifest_is_clear(tmp_path):
    with pytest.raises(
        DatasetNotFoundError, match="no manifest.json.*write_sample_folder"
    ):
        SampleFolder(tmp_path)


def test_sample_folder_bad_manifest_is_dataset_error(tmp_path):
    (tmp_path / "manifest.json").write_text('{"format": "other"}')

    with pytest.raises(DatasetError, match="not a dz-sample-folder manifest"):
        SampleFolder(tmp_path)
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(DatasetError, match="not valid JSON"):
        SampleFolder(tmp_path)


def test_write_sample_folder_refuses_to_overwrite(tmp_path, images):
    write_sample_folder(tmp_path, *images)

    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_sample_folder(tmp_path, *images)
    write_sample_folder(tmp_path, images[0][:2], images[1][:2], overwrite=True)
    assert len(SampleFolder(tmp_path)) == 2


def test_write_sample_folder_rejects_bad_arguments(tmp_path, images):
    x, t = images

    with pytest.raises(ValueError, match="fmt must be"):
        write_sample_folder(tmp_path, x, t, fmt="png")
    with pytest.raises(ValueError, match="same number of samples"):
        write_sample_folder(tmp_path, x, t[:3])
    assert not (tmp_path / "manifest.json").exists()


def test_sample_folder_workers_match_main_process(tmp_path, images):
    folder = write_sample_folder(tmp_path / "set", *images)
    data = SampleFolder(folder, transform=Compose([Flatten(), ToFloat()]))

    reference = list(DataLoader(data, 4, seed=2))
    parallel = list(DataLoader(data, 4, seed=2, num_workers=2))

    for (x_ref, t_ref), (x, t) in zip(reference, parallel, strict=True):
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(t, t_ref)
    assert multiprocessing.active_children() == []


# MemmapDataset


@pytest.fixture
def memmap_files(tmp_path, images):
    x, t = images
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    return tmp_path / "x.npy", tmp_path / "t.npy"


def test_memmap_dataset_maps_and_batches(memmap_files, images):
    data = MemmapDataset(*memmap_files, transform=Compose([Flatten(), ToFloat()]))

    assert isinstance(data.data, np.memmap)
    x_batch, t_batch = data.get_batch(np.array([8, 1]))
    assert type(x_batch) is np.ndarray and x_batch.dtype == np.float32
    np.testing.assert_array_equal(x_batch, images[0][[8, 1]].reshape(2, -1))
    np.testing.assert_array_equal(t_batch, images[1][[8, 1]])


def test_memmap_dataset_errors_name_the_file(tmp_path, memmap_files):
    np.save(tmp_path / "short.npy", np.zeros(3))
    np.savez(tmp_path / "arrays.npz", x=np.zeros(3))

    with pytest.raises(
        DatasetError, match=r"x\.npy holds 9 samples.*short\.npy holds 3"
    ):
        MemmapDataset(memmap_files[0], tmp_path / "short.npy")
    with pytest.raises(DatasetNotFoundError, match="no file .*absent.npy"):
        MemmapDataset(tmp_path / "absent.npy")
    with pytest.raises(DatasetError, match=r"arrays\.npz"):
        MemmapDataset(tmp_path / "arrays.npz")


def test_memmap_dataset_spawned_workers_match_main_process(memmap_files):
    data = MemmapDataset(*memmap_files)

    reference = [t.tolist() for _, t in DataLoader(data, 4, seed=5)]
    loader = DataLoader(data, 4, seed=5, num_workers=2, mp_context="spawn")

    assert [t.tolist() for _, t in loader] == reference
    assert multiprocessing.active_children() == []
