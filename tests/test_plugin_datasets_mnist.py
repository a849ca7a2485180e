"""Tests of MNIST from dz-datasets: the shared official files, the IDX
reader, checksums, folder resolution and downloads from a local server."""

import gzip
import shutil
import struct

import numpy as np
import pytest
from _data_helpers import mnist_dir, serve_folder

from dzcore.dataloaders import DataLoader
from dzcore.datasets import DatasetError, DatasetNotFoundError
from dzplugins.datasets.idx import read_idx
from dzplugins.datasets.mnist import MNIST, MNIST_FILES, mnist_folder

TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="module")
def shared():
    folder = mnist_dir()
    missing = [name for name in MNIST_FILES if not (folder / name).is_file()]
    assert not missing, f"MNIST test files {missing} not found in {folder}"
    return folder


@pytest.fixture(scope="module")
def train_set(shared):
    return MNIST(train=True, root=shared, download=False)


@pytest.fixture(scope="module")
def test_set(shared):
    return MNIST(train=False, root=shared, download=False)


@pytest.fixture
def test_copy(shared, tmp_path):
    """A folder with copies of the two test-split files."""
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in TEST_FILES:
        shutil.copyfile(shared / name, folder / name)
    return folder


def write_idx(path, array, type_code=0x08):
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(header + payload))


def test_mnist_train_sizes_dtypes_and_histogram(train_set):
    assert train_set.data.shape == (60000, 1, 28, 28)
    assert train_set.data.dtype == np.uint8
    assert train_set.label.dtype == np.int64
    assert np.bincount(train_set.label).tolist() == TRAIN_HISTOGRAM


def test_mnist_test_sizes_and_histogram(test_set):
    assert len(test_set) == 10000
    assert np.bincount(test_set.label).tolist() == TEST_HISTOGRAM


def test_mnist_default_transform_flattens_to_unit_float32(test_set):
    x, t = test_set[0]

    assert x.shape == (784,) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert isinstance(t, np.integer) and t == test_set.label[0]


def test_mnist_without_transform_gives_raw_image(shared):
    raw = MNIST(train=False, transform=None, root=shared, download=False)

    x, _ = raw[0]

    assert x.shape == (1, 28, 28) and x.dtype == np.uint8
    assert x.max() == 255


def test_mnist_batches_are_flat_float32(test_set):
    x, t = next(iter(DataLoader(test_set, 100, seed=0)))

    assert x.shape == (100, 784) and x.dtype == np.float32
    assert t.shape == (100,) and t.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_mnist_folder_resolution_order(monkeypatch, tmp_path, shared):
    monkeypatch.setenv("DZ_DATA_DIR", str(tmp_path))
    assert mnist_folder() == tmp_path / "mnist"
    assert mnist_folder(tmp_path / "given") == tmp_path / "given"
    monkeypatch.setenv("DZ_DATA_DIR", str(shared))
    assert mnist_folder() == shared
    monkeypatch.delenv("DZ_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist_folder() == tmp_path / ".dz" / "datasets" / "mnist"


def test_mnist_reads_from_data_dir_env(monkeypatch, test_copy):
    monkeypatch.setenv("DZ_DATA_DIR", str(test_copy))

    assert len(MNIST(train=False, download=False)) == 10000


def test_mnist_missing_files_without_download_say_what_to_do(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        MNIST(train=False, root=tmp_path, download=False)

    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message
    assert str(tmp_path) in message
    assert "DZ_DATA_DIR" in message and "root=" in message


def test_mnist_downloads_missing_files_from_server(test_copy, tmp_path):
    target = tmp_path / "fresh"
    with serve_folder(test_copy) as url:
        data = MNIST(train=False, root=target, url=url)

    assert np.bincount(data.label).tolist() == TEST_HISTOGRAM
    assert sorted(p.name for p in target.iterdir()) == sorted(TEST_FILES)


def test_mnist_download_url_from_environment(test_copy, tmp_path, monkeypatch):
    with serve_folder(test_copy) as url:
        monkeypatch.setenv("DZ_MNIST_URL", url)
        data = MNIST(train=False, root=tmp_path / "fresh")

    assert len(data) == 10000


def test_mnist_download_checksum_mismatch_saves_nothing(test_copy, tmp_path):
    labels = test_copy / TEST_FILES[1]
    corrupt = bytearray(labels.read_bytes())
    corrupt[-10] ^= 0xFF
    labels.write_bytes(bytes(corrupt))
    target = tmp_path / "fresh"

    with (
        serve_folder(test_copy) as url,
        pytest.raises(DatasetError, match="checksum mismatch.*not saved"),
    ):
        MNIST(train=False, root=target, url=url)

    assert [p.name for p in target.iterdir()] == [TEST_FILES[0]]


def test_mnist_download_failure_names_files_and_reason(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()

    with (
        serve_folder(empty) as url,
        pytest.raises(DatasetNotFoundError, match="t10k-images.*Download failed.*404"),
    ):
        MNIST(train=False, root=tmp_path / "fresh", url=url)
    assert list((tmp_path / "fresh").iterdir()) == []


def test_mnist_truncated_file_names_file_and_sizes(test_copy):
    labels = test_copy / TEST_FILES[1]
    labels.write_bytes(labels.read_bytes()[:1000])

    with pytest.raises(
        DatasetError, match=r"t10k-labels.*expected 4542 bytes, found 1000"
    ):
        MNIST(train=False, root=test_copy, download=False)


def test_mnist_checksum_mismatch_on_disk(test_copy):
    images = test_copy / TEST_FILES[0]
    corrupt = bytearray(images.read_bytes())
    corrupt[5000] ^= 0x01
    images.write_bytes(bytes(corrupt))

    with pytest.raises(
        DatasetError, match=r"t10k-images.*checksum mismatch.*Delete it"
    ):
        MNIST(train=False, root=test_copy, download=False)


def test_mnist_unverified_reads_other_files_in_the_format(tmp_path):
    write_idx(tmp_path / TEST_FILES[0], np.full((3, 28, 28), 51, np.uint8))
    write_idx(tmp_path / TEST_FILES[1], np.array([1, 2, 3], np.uint8))

    data = MNIST(train=False, root=tmp_path, download=False, verify=False)

    assert len(data) == 3
    np.testing.assert_allclose(data[0][0], np.full(784, 0.2, np.float32))


def test_mnist_unverified_count_mismatch_is_clear(tmp_path):
    write_idx(tmp_path / TEST_FILES[0], np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / TEST_FILES[1], np.zeros(2, np.uint8))

    with pytest.raises(DatasetError, match="3 images but .* 2 labels"):
        MNIST(train=False, root=tmp_path, download=False, verify=False)


def test_read_idx_round_trips_big_endian_types(tmp_path):
    values = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    write_idx(tmp_path / "v.idx.gz", values, type_code=0x0C)

    loaded = read_idx(tmp_path / "v.idx.gz", ndim=2)

    np.testing.assert_array_equal(loaded, values)
    assert loaded.dtype.isnative


def test_read_idx_rejects_bad_magic(tmp_path):
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"\x01\x02\x08\x01rest"))

    with pytest.raises(DatasetError, match=r"bad\.gz: not an IDX file.*01 02 08 01"):
        read_idx(tmp_path / "bad.gz")


def test_read_idx_rejects_wrong_dimensions(tmp_path):
    write_idx(tmp_path / "v.gz", np.zeros(4, np.uint8))

    with pytest.raises(
        DatasetError, match=r"v\.gz: expected an IDX file of 3 dims, got 1"
    ):
        read_idx(tmp_path / "v.gz", ndim=3)


def test_read_idx_rejects_truncated_payload(tmp_path):
    header = struct.pack(">BBBBI", 0, 0, 8, 1, 10)
    (tmp_path / "short.gz").write_bytes(gzip.compress(header + b"\x00" * 7))

    with pytest.raises(DatasetError, match=r"short\.gz: .*10 bytes.*holds 7 bytes"):
        read_idx(tmp_path / "short.gz")


def test_read_idx_rejects_truncated_gzip(tmp_path):
    data = gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, 4) + b"abcd")
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])

    with pytest.raises(DatasetError, match=r"cut\.gz: not a complete gzip file"):
        read_idx(tmp_path / "cut.gz")
