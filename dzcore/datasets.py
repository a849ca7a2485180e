"""The Dataset protocol, :class:`ArrayDataset`, and the registry of datasets.

A dataset maps an integer index to one sample ``(x, t)``: an input array and
its label. :class:`DataLoader <dzcore.dataloaders.DataLoader>` groups samples
into batches, through :meth:`Dataset.get_batch` when the dataset has it, so
that in-memory datasets are indexed a whole batch at a time.

Concrete datasets (``Spiral``, ``MNIST``, the lazy on-disk ones) come from
plugins and are reached through this module: ``datasets.Spiral`` or
``datasets.get("mnist")``.
"""

import logging
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import dzcore.plugins
from dzcore.errors import DzError
from dzcore.transforms import Transform, is_batchable

logger = logging.getLogger(__name__)

__all__ = [
    "ArrayDataset",
    "Dataset",
    "DatasetError",
    "DatasetNotFoundError",
    "SampleError",
    "check_index",
    "gather",
]


class DatasetError(DzError, ValueError):
    """A dataset whose content or files are not what they should be.

    Raised for a corrupt or truncated file, a checksum mismatch, arrays of
    different lengths, or an empty dataset where samples are needed.
    """


class DatasetNotFoundError(DzError, FileNotFoundError):
    """Files a dataset needs are missing and could not be obtained."""


class SampleError(DzError, RuntimeError):
    """Reading or transforming one sample failed; names the sample index.

    Attributes:
        index: The index of the sample that failed.
    """

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the index when the error crosses a process boundary.
        return (type(self), (str(self), self.index))


class Dataset:
    """Base class of datasets: indexed samples ``(x, t)`` with transforms.

    Contract:

    - ``__init__`` stores ``train``, ``transform`` and ``target_transform``,
      sets ``self.data`` and ``self.label`` to None and calls
      :meth:`prepare`. A subclass that needs its own arguments in
      ``prepare`` stores them before calling ``super().__init__``.
    - :meth:`prepare` loads or creates the samples: it sets ``self.data``
      (indexable along axis 0, usually an array) and ``self.label`` (the
      same length, or None for unlabelled data). A lazy dataset that reads
      from disk in ``__getitem__`` may keep only a file list in ``data``
      and override ``__getitem__`` and ``__len__``.
    - ``__getitem__(index)`` returns ``(transform(data[index]),
      target_transform(label[index]))`` for an integer index; the label is
      None when there are no labels. An error in a transform is re-raised
      as :class:`SampleError` naming the index.
    - ``__len__`` is the number of samples.
    - :meth:`get_batch` returns a whole batch for an index array; the base
      class indexes in-memory arrays at once when the transforms allow it
      (see :func:`dzcore.transforms.is_batchable`) and ``__getitem__`` is
      not overridden, and falls back to one sample at a time otherwise.
      Subclasses may override it with a faster path of their own, as long
      as the result equals the fallback.

    Args:
        train: True for the training split, False for the test split.
        transform: Applied to each input ``x``; any callable.
        target_transform: Applied to each label ``t``; any callable.
    """

    def __init__(
        self,
        train: bool = True,
        transform: Transform | None = None,
        target_transform: Transform | None = None,
    ) -> None:
        _check_transform(transform, "transform", type(self).__name__)
        _check_transform(target_transform, "target_transform", type(self).__name__)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.data: Any = None
        self.label: Any = None
        self.prepare()

    def prepare(self) -> None:
        """Load or create ``self.data`` and ``self.label``; the base does nothing."""

    def __len__(self) -> int:
        if self.data is None:
            return 0
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = check_index(index, len(self), type(self).__name__)
        x = self.data[index]
        t = None if self.label is None else self.label[index]
        return self.apply_transforms(x, t, index)

    def apply_transforms(self, x: Any, t: Any, index: int) -> tuple[Any, Any]:
        """Apply transform and target_transform to sample ``index``.

        For subclasses that override ``__getitem__``.

        Raises:
            SampleError: naming ``index`` when a transform raises.
        """
        try:
            if self.transform is not None:
                x = self.transform(x)
            if self.target_transform is not None and t is not None:
                t = self.target_transform(t)
        except Exception as error:
            raise SampleError(
                f"{type(self).__name__}: a transform failed on sample {index}: "
                f"{type(error).__name__}: {error}",
                index,
            ) from error
        return x, t

    def get_batch(self, indices: np.ndarray) -> tuple[Any, Any]:
        """Return the batch ``(x_batch, t_batch)`` of the samples at ``indices``.

        Args:
            indices: A 1-D integer array of valid sample indices.

        Returns:
            ``x_batch`` with the samples stacked along axis 0 (dtype kept)
            and ``t_batch``, the stacked labels, or None without labels.

        Raises:
            SampleError: naming the index of a sample that failed.
        """
        if not self._can_index_batch():
            return gather(self, indices)
        data, label = self.data, self.label
        if type(indices) is np.ndarray and indices.dtype.kind in "iu":
            x = _rows(data, indices)
            t = None if label is None else _rows(label, indices)
        else:
            x = data[indices]
            t = None if label is None else label[indices]
        if self.transform is None and self.target_transform is None:
            return x, t
        try:
            if self.transform is not None:
                x = self.transform.apply_batch(x)
            if self.target_transform is not None and t is not None:
                t = self.target_transform.apply_batch(t)
        except Exception as error:
            # Redo the batch one sample at a time to name the failing index.
            logger.debug("batch transform failed (%s); retrying per sample", error)
            return gather(self, indices)
        return np.asarray(x), (None if t is None else np.asarray(t))

    def _array_reader(self) -> Callable[[np.ndarray], tuple] | None:
        """A batch reader for the classification case, or None.

        For a float matrix of samples with a vector of labels and no
        transforms (Spiral, ArrayDataset), the reader takes the rows of a
        batch in one ``take`` and its labels in one indexing call, with
        none of ``get_batch``'s checks: the DataLoader asks for it once
        per epoch and hands it only integer index arrays.
        """
        data, label = self.data, self.label
        plain = (
            self.transform is None
            and self.target_transform is None
            and type(data) is np.ndarray
            and data.ndim > 1
            and type(label) is np.ndarray
            and label.ndim == 1
            and type(self).__getitem__ is Dataset.__getitem__
            and type(self).get_batch is Dataset.get_batch
        )
        if not plain:
            return None

        def read(indices: np.ndarray) -> tuple:
            return data.take(indices, axis=0), label[indices]

        return read

    def _can_index_batch(self) -> bool:
        """True when data and labels are arrays and the transforms batchable.

        A subclass that overrides ``__getitem__`` computes its samples its
        own way, so indexing ``data`` directly would bypass it.
        """
        return (
            type(self).__getitem__ is Dataset.__getitem__
            and isinstance(self.data, np.ndarray)
            and (self.label is None or isinstance(self.label, np.ndarray))
            and is_batchable(self.transform)
            and is_batchable(self.target_transform)
        )

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{type(self).__name__}({split}, {len(self)} samples)"


def _rows(array: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``array[indices]`` for integer indices, the quickest way.

    For arrays of two or more dimensions ``take`` is several times quicker
    than fancy indexing on small batches (same rows); for vectors, plain
    indexing is the quicker one.
    """
    if array.ndim == 1:
        return array[indices]
    return array.take(indices, axis=0)


class ArrayDataset(Dataset):
    """A dataset over in-memory arrays ``x`` (inputs) and ``t`` (labels).

    The arrays are kept as given (no copy, dtype unchanged); sample ``i`` is
    ``(x[i], t[i])``.

    Args:
        x: The inputs, samples along axis 0.
        t: The labels, one per sample, or None for unlabelled data.
        train: True for a training split.
        transform: Applied to each input.
        target_transform: Applied to each label.

    Raises:
        DatasetError: if ``x`` is a scalar or ``t`` has another length.
    """

    def __init__(
        self,
        x: Any,
        t: Any = None,
        train: bool = True,
        transform: Transform | None = None,
        target_transform: Transform | None = None,
    ) -> None:
        self._x = np.asarray(x)
        self._t = None if t is None else np.asarray(t)
        _check_lengths(self._x, self._t)
        super().__init__(train, transform, target_transform)

    def prepare(self) -> None:
        """Use the arrays given to the constructor."""
        self.data = self._x
        self.label = self._t


def gather(dataset: Any, indices: Sequence[int] | np.ndarray) -> tuple[Any, Any]:
    """Build a batch by reading ``dataset[i]`` for each index and stacking.

    Works for any object with ``__getitem__`` returning ``(x, t)`` pairs.

    Raises:
        SampleError: naming the index whose sample could not be read or
            does not fit the shape of the others.
    """
    samples = [_read_sample(dataset, int(index)) for index in indices]
    inputs = [sample[0] for sample in samples]
    labels = [sample[1] for sample in samples]
    x_batch = _stack(inputs, indices, "input")
    if all(label is None for label in labels):
        return x_batch, None
    return x_batch, _stack(labels, indices, "label")


def _read_sample(dataset: Any, index: int) -> tuple[Any, Any]:
    try:
        sample = dataset[index]
    except SampleError:
        raise
    except Exception as error:
        raise SampleError(
            f"{type(dataset).__name__}: reading sample {index} failed: "
            f"{type(error).__name__}: {error}",
            index,
        ) from error
    if not isinstance(sample, tuple) or len(sample) != 2:
        raise SampleError(
            f"{type(dataset).__name__}: sample {index} must be a pair (x, t), "
            f"got {type(sample).__name__}",
            index,
        )
    return sample


def _stack(items: list[Any], indices: Any, what: str) -> np.ndarray:
    arrays = [np.asarray(item) for item in items]
    first_shape = arrays[0].shape
    for position, array in enumerate(arrays):
        if array.shape != first_shape:
            index = int(indices[position])
            raise SampleError(
                f"cannot batch samples: the {what} of sample {index} has shape "
                f"{array.shape}, but the {what} of sample {int(indices[0])} "
                f"has shape {first_shape}",
                index,
            )
    return np.stack(arrays)


def check_index(index: Any, length: int, where: str) -> int:
    """Return ``index`` as an int in ``[0, length)``; negative counts from the end.

    Raises:
        TypeError: if ``index`` is not an integer.
        IndexError: if it is out of range; the message names ``where``.
    """
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(
            f"{where}: a sample index must be an integer, got "
            f"{type(index).__name__} {index!r}; use get_batch() for an index array"
        )
    index = int(index)
    if not -length <= index < length:
        raise IndexError(
            f"{where}: sample index {index} is out of range for a dataset of "
            f"{length} samples"
        )
    return index % length


def _check_lengths(x: np.ndarray, t: np.ndarray | None) -> None:
    if x.ndim == 0:
        raise DatasetError(
            f"ArrayDataset: x must have samples along axis 0, got a scalar {x!r}"
        )
    if t is not None and (t.ndim == 0 or len(t) != len(x)):
        raise DatasetError(
            "ArrayDataset: x and t must hold the same number of samples; "
            f"got x of shape {x.shape} and t of shape {t.shape}"
        )


def _check_transform(transform: Any, name: str, where: str) -> None:
    if transform is not None and not callable(transform):
        raise TypeError(
            f"{where}: {name} must be callable or None, got "
            f"{type(transform).__name__} {transform!r}"
        )


dzcore.plugins.install_namespace(globals(), "datasets")
