"""BigData-style datasets that read samples from disk only when indexed.

:class:`SampleFolder` keeps one ``.npy`` or ``.npz`` file per sample plus a
small ``manifest.json`` (file names and labels); constructing it reads the
manifest only. :func:`write_sample_folder` writes such a folder from
arrays. :class:`MemmapDataset` memory-maps a ``.npy`` array, so only the
rows a batch needs are read.
"""

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dzcore.datasets import (
    Dataset,
    DatasetError,
    DatasetNotFoundError,
    SampleError,
    check_index,
)
from dzcore.transforms import Transform

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST", "MemmapDataset", "SampleFolder", "write_sample_folder"]

#: The manifest of a sample folder, and its format tag and version.
MANIFEST = "manifest.json"
FORMAT = "dz-sample-folder"
VERSION = 1

PathLike = str | os.PathLike[str]


class SampleFolder(Dataset):
    """A folder of per-sample ``.npy``/``.npz`` files, read on ``__getitem__``.

    The folder holds ``manifest.json`` (written by
    :func:`write_sample_folder`) listing the sample files in order and their
    labels. Construction reads only the manifest; ``dataset[i]`` loads file
    ``i`` (``np.load`` without pickle). A ``.npz`` sample stores its input
    as ``x`` and may store its label as ``t``, used when the manifest has no
    labels. Use ``DataLoader(..., num_workers=N)`` to read files in
    parallel.

    Args:
        root: The folder.
        train: True for a training split.
        transform: Applied to each input.
        target_transform: Applied to each label.

    Raises:
        DatasetNotFoundError: if the folder has no manifest.
        DatasetError: if the manifest is malformed.
    """

    def __init__(
        self,
        root: PathLike,
        train: bool = True,
        transform: Transform | None = None,
        target_transform: Transform | None = None,
    ) -> None:
        self.root = Path(root)
        super().__init__(train, transform, target_transform)

    def prepare(self) -> None:
        """Read the manifest: the file list and the labels."""
        manifest = _read_manifest(self.root)
        self.data = list(manifest["files"])
        # A string, for os.path.join: a Path join per sample costs more.
        self._folder = os.fspath(self.root)
        labels = manifest.get("labels")
        self.label = None if labels is None else np.asarray(labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = check_index(index, len(self), f"SampleFolder({self.root})")
        path = os.path.join(self._folder, self.data[index])
        x, t = _load_sample(path, index)
        if self.label is not None:
            t = self.label[index]
        return self.apply_transforms(x, t, index)


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.is_file():
        raise DatasetNotFoundError(
            f"SampleFolder: no {MANIFEST} in {root}; write the folder with "
            "dzplugins.datasets.lazy.write_sample_folder(folder, x, t)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not valid JSON: {error}") from error
    _check_manifest(manifest, path)
    return manifest


def _check_manifest(manifest: Any, path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetError(f"{path}: not a {FORMAT} manifest (no 'format': {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise DatasetError(
            f"{path}: manifest version {manifest.get('version')!r}, this "
            f"dz-datasets reads version {VERSION}"
        )
    files, labels = manifest.get("files"), manifest.get("labels")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise DatasetError(f"{path}: 'files' must be a list of file names")
    if labels is not None and (
        not isinstance(labels, list) or len(labels) != len(files)
    ):
        raise DatasetError(
            f"{path}: 'labels' must be null or a list as long as 'files' "
            f"({len(files)} files)"
        )


def _load_sample(path: str, index: int) -> tuple[np.ndarray, Any]:
    """Load sample ``index`` from ``path``: its input and its label or None."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded, None
        with loaded:
            return loaded["x"], (loaded["t"] if "t" in loaded.files else None)
    except (OSError, ValueError, KeyError) as error:
        raise SampleError(
            f"SampleFolder: cannot read sample {index} from {path}: "
            f"{type(error).__name__}: {error}",
            index,
        ) from error


def write_sample_folder(
    folder: PathLike,
    x: Any,
    t: Any = None,
    fmt: str = "npy",
    overwrite: bool = False,
) -> Path:
    """Write arrays as a :class:`SampleFolder`: one file per sample.

    Each sample file and then the manifest are written atomically (a
    temporary file, then a rename); the manifest comes last, so a folder
    whose writing was interrupted has no new manifest.

    Args:
        folder: The folder to write; created when missing.
        x: The inputs, samples along axis 0.
        t: The labels, one per sample, or None.
        fmt: ``"npy"`` (input only) or ``"npz"`` (input ``x`` and label ``t``).
        overwrite: Replace an existing sample folder.

    Returns:
        The folder.

    Raises:
        ValueError: for an unknown ``fmt`` or ``t`` of another length.
        FileExistsError: if the folder has a manifest and not ``overwrite``.
    """
    folder, x = Path(folder), np.asarray(x)
    t = None if t is None else np.asarray(t)
    _check_write_args(folder, x, t, fmt, overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    files = [f"{index:08d}.{fmt}" for index in range(len(x))]
    for index, name in enumerate(files):
        label = None if t is None else t[index]
        _atomic_write(
            folder / name, lambda out, i=index, lb=label: _save(out, fmt, x[i], lb)
        )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "count": len(files),
        "files": files,
    }
    manifest["labels"] = None if t is None else t.tolist()
    text = json.dumps(manifest)
    _atomic_write(folder / MANIFEST, lambda out: out.write(text.encode("utf-8")))
    logger.info("wrote %d samples to %s", len(files), folder)
    return folder


def _check_write_args(
    folder: Path, x: np.ndarray, t: Any, fmt: str, overwrite: bool
) -> None:
    if fmt not in ("npy", "npz"):
        raise ValueError(
            f"write_sample_folder: fmt must be 'npy' or 'npz', got {fmt!r}"
        )
    if x.ndim == 0:
        raise ValueError("write_sample_folder: x must have samples along axis 0")
    if t is not None and (t.ndim == 0 or len(t) != len(x)):
        raise ValueError(
            "write_sample_folder: x and t must hold the same number of samples; "
            f"got x of shape {x.shape} and t of shape {t.shape}"
        )
    if (folder / MANIFEST).exists() and not overwrite:
        raise FileExistsError(
            f"write_sample_folder: {folder} already holds a sample folder; pass "
            "overwrite=True to replace it"
        )


def _save(out: Any, fmt: str, sample: np.ndarray, label: Any) -> None:
    if fmt == "npy":
        np.save(out, sample, allow_pickle=False)
    elif label is None:
        np.savez(out, x=sample)
    else:
        np.savez(out, x=sample, t=label)


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary file, then rename it to ``path``."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


class MemmapDataset(Dataset):
    """A dataset over memory-mapped ``.npy`` arrays, read as batches need them.

    ``np.load(..., mmap_mode="r")`` maps the files without reading them;
    indexing reads only the rows asked for, so the arrays may be larger
    than memory. Write the arrays with ``np.save``. Batches are gathered by
    one indexing call when the transforms are batchable.

    Args:
        x_path: The ``.npy`` file of inputs, samples along axis 0.
        t_path: The ``.npy`` file of labels, or None.
        train: True for a training split.
        transform: Applied to each input.
        target_transform: Applied to each label.

    Raises:
        DatasetNotFoundError: if a file is missing.
        DatasetError: if a file is not a plain ``.npy`` array, or the two
            arrays differ in length.
    """

    def __init__(
        self,
        x_path: PathLike,
        t_path: PathLike | None = None,
        train: bool = True,
        transform: Transform | None = None,
        target_transform: Transform | None = None,
    ) -> None:
        self.x_path = Path(x_path)
        self.t_path = None if t_path is None else Path(t_path)
        super().__init__(train, transform, target_transform)

    def prepare(self) -> None:
        """Map the arrays; nothing beyond the .npy headers is read."""
        self.data = _open_mmap(self.x_path)
        self.label = None if self.t_path is None else _open_mmap(self.t_path)
        if self.label is not None and len(self.label) != len(self.data):
            raise DatasetError(
                f"MemmapDataset: {self.x_path} holds {len(self.data)} samples but "
                f"{self.t_path} holds {len(self.label)} labels"
            )

    def __getstate__(self) -> dict[str, Any]:
        # Send paths, not mapped data, to worker processes.
        return {**self.__dict__, "data": None, "label": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.prepare()


def _open_mmap(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DatasetNotFoundError(f"MemmapDataset: no file {path}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"MemmapDataset: cannot map {path}: {error}") from error
    if not isinstance(array, np.ndarray) or array.ndim == 0:
        raise DatasetError(
            f"MemmapDataset: {path} must be a .npy array with samples along "
            "axis 0 (not .npz, not a scalar)"
        )
    return array
