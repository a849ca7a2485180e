"""MNIST: 70,000 handwritten digits from the four official IDX ``.gz`` files."""

import logging
import os
from pathlib import Path

import numpy as np

from dzcore.datasets import Dataset, DatasetError, DatasetNotFoundError
from dzcore.transforms import Compose, Transform
from dzplugins.datasets.files import FileSpec, download, verify_bytes
from dzplugins.datasets.idx import decompress, parse_idx
from dzplugins.datasets.transforms import Flatten, Normalize, ToFloat

logger = logging.getLogger(__name__)

__all__ = ["MNIST", "MNIST_FILES", "mnist_folder"]

#: The official files with their sizes and SHA-256 sums.
MNIST_FILES = {
    spec.name: spec
    for spec in (
        FileSpec(
            "train-images-idx3-ubyte.gz",
            9912422,
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        FileSpec(
            "train-labels-idx1-ubyte.gz",
            28881,
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        FileSpec(
            "t10k-images-idx3-ubyte.gz",
            1648877,
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        FileSpec(
            "t10k-labels-idx1-ubyte.gz",
            4542,
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    )
}

#: Image and label file of each split (train=True, train=False).
SPLIT_FILES = {
    True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: Mirrors of the official files, tried in order.
DEFAULT_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Environment variables: the data folder, and a download base URL.
DATA_DIR_ENV = "DZ_DATA_DIR"
URL_ENV = "DZ_MNIST_URL"

#: The book's default: each image as 784 float32 values in [0, 1].
DEFAULT_TRANSFORM = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])


def mnist_folder(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder that holds (or will hold) the MNIST files.

    ``root`` when given; else ``$DZ_DATA_DIR`` when any of the files lies
    directly in it, or its ``mnist`` subfolder otherwise; else
    ``~/.dz/datasets/mnist``.
    """
    if root is not None:
        return Path(root).expanduser()
    data_dir = os.environ.get(DATA_DIR_ENV)
    if data_dir:
        base = Path(data_dir).expanduser()
        direct = any((base / name).is_file() for name in MNIST_FILES)
        return base if direct else base / "mnist"
    return Path.home() / ".dz" / "datasets" / "mnist"


class MNIST(Dataset):
    """The MNIST digits: 60,000 training or 10,000 test images of 28x28.

    The four official IDX ``.gz`` files are read from ``root``; without it
    from the ``DZ_DATA_DIR`` environment variable (the files directly in
    it, or in its ``mnist`` subfolder); without that from
    ``~/.dz/datasets/mnist``. Each file's size and SHA-256 are checked.
    Missing files are downloaded when ``download`` is true (from ``url``,
    else ``$DZ_MNIST_URL``, else public mirrors), checked, and written
    atomically; otherwise the error names the files, the folder and how to
    provide them.

    ``data`` holds the raw images, ``(N, 1, 28, 28)`` uint8; ``label`` the
    digits, int64. The default transform flattens an image to 784 float32
    values in [0, 1]; ``transform=None`` gives the raw ``(1, 28, 28)`` uint8
    image.

    Args:
        train: True for the 60,000 training images, False for the 10,000
            test images.
        transform: Applied to each image.
        target_transform: Applied to each label.
        root: The folder holding the four files.
        download: Download missing files.
        url: Base URL to download from (the file name is appended).
        verify: Check sizes and checksums; turn off only to read other
            files in the same format (e.g. Fashion-MNIST).

    Raises:
        DatasetNotFoundError: if files are missing and cannot be downloaded.
        DatasetError: for a file with the wrong size or checksum, or a
            corrupt or truncated IDX file; the message names the file.
    """

    def __init__(
        self,
        train: bool = True,
        transform: Transform | None = DEFAULT_TRANSFORM,
        target_transform: Transform | None = None,
        root: str | os.PathLike[str] | None = None,
        download: bool = True,
        url: str | None = None,
        verify: bool = True,
    ) -> None:
        self.root = mnist_folder(root)
        self.download = download
        self.url = url
        self.verify = verify
        super().__init__(train, transform, target_transform)

    def prepare(self) -> None:
        """Read the split's images and labels, downloading missing files."""
        images_name, labels_name = SPLIT_FILES[bool(self.train)]
        self._obtain_missing((images_name, labels_name))
        images = self._read(images_name, ndim=3)
        labels = self._read(labels_name, ndim=1)
        if len(images) != len(labels):
            raise DatasetError(
                f"MNIST: {images_name} holds {len(images)} images but "
                f"{labels_name} holds {len(labels)} labels, in {self.root}"
            )
        self.data = images[:, np.newaxis]
        self.label = labels.astype(np.int64)

    def _read(self, name: str, ndim: int) -> np.ndarray:
        path = self.root / name
        raw = path.read_bytes()
        if self.verify:
            verify_bytes(raw, MNIST_FILES[name], path)
        return parse_idx(decompress(raw, path), path, ndim)

    def _obtain_missing(self, names: tuple[str, ...]) -> None:
        missing = [name for name in names if not (self.root / name).is_file()]
        if not missing:
            return
        if not self.download:
            raise DatasetNotFoundError(self._missing_message(missing, []))
        for name in missing:
            reasons = self._download(name)
            if reasons:
                raise DatasetNotFoundError(self._missing_message(missing, reasons))

    def _download(self, name: str) -> list[str]:
        """Try each base URL in turn; return the reasons of failed attempts."""
        reasons = []
        for base in self._base_urls():
            url = base.rstrip("/") + "/" + name
            try:
                download(url, MNIST_FILES[name], self.root)
                return []
            except OSError as error:
                logger.info("download of %s failed: %s", url, error)
                reasons.append(f"{url}: {error}")
        return reasons

    def _base_urls(self) -> tuple[str, ...]:
        if self.url:
            return (self.url,)
        from_env = os.environ.get(URL_ENV)
        return (from_env,) if from_env else DEFAULT_URLS

    def _missing_message(self, missing: list[str], reasons: list[str]) -> str:
        tried = f" Download failed: {'; '.join(reasons)}." if reasons else ""
        return (
            f"MNIST: missing {', '.join(missing)} in {self.root}.{tried} Put the "
            f"four MNIST files ({', '.join(MNIST_FILES)}) in that folder, pass "
            f"root=<folder holding them>, or set {DATA_DIR_ENV} to a folder "
            "holding them (directly or in a 'mnist' subfolder)"
            + (
                "; download=True fetches them when online."
                if not self.download
                else "."
            )
        )
