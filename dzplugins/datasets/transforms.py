"""The common transforms: Flatten, ToFloat, Normalize, AsType, ToInt.

Each is batchable (see :mod:`dzcore.transforms`): ``apply_batch`` maps a
stacked batch to what applying the transform to every sample and stacking
would give, so datasets over in-memory arrays transform whole batches.
"""

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from dzcore.config import DEFAULT_DTYPE

__all__ = ["AsType", "Flatten", "Normalize", "ToFloat", "ToInt"]


class Flatten:
    """Flatten one sample to a 1-D array, e.g. ``(1, 28, 28)`` to ``(784,)``."""

    batchable = True

    def __call__(self, x: Any) -> np.ndarray:
        """Return ``x`` as a 1-D array (a view when possible)."""
        return np.asarray(x).reshape(-1)

    def apply_batch(self, batch: np.ndarray) -> np.ndarray:
        """Flatten every sample of a batch: ``(N, ...)`` to ``(N, prod(...))``."""
        return batch.reshape(len(batch), -1)

    def __repr__(self) -> str:
        return "Flatten()"


class AsType:
    """Convert a sample to ``dtype`` (no copy when it already has it).

    Args:
        dtype: The NumPy dtype to convert to.
    """

    batchable = True

    def __init__(self, dtype: DTypeLike = DEFAULT_DTYPE) -> None:
        self.dtype = np.dtype(dtype)

    def __call__(self, x: Any) -> np.ndarray:
        """Return ``x`` as an array of ``self.dtype``."""
        return np.asarray(x).astype(self.dtype, copy=False)

    def apply_batch(self, batch: np.ndarray) -> np.ndarray:
        """Convert a whole batch; the same as converting each sample."""
        return self(batch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dtype.name})"


class ToFloat(AsType):
    """Convert a sample to a float dtype, float32 (``DEFAULT_DTYPE``) by default.

    Args:
        dtype: A floating dtype.

    Raises:
        TypeError: if ``dtype`` is not a floating dtype.
    """

    def __init__(self, dtype: DTypeLike = DEFAULT_DTYPE) -> None:
        super().__init__(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"ToFloat: dtype must be a float dtype, got {self.dtype}")


class ToInt(AsType):
    """Convert a sample (usually a label) to an integer dtype, int64 by default.

    Args:
        dtype: An integer dtype.

    Raises:
        TypeError: if ``dtype`` is not an integer dtype.
    """

    def __init__(self, dtype: DTypeLike = np.int64) -> None:
        super().__init__(dtype)
        if self.dtype.kind not in "iu":
            raise TypeError(f"ToInt: dtype must be an integer dtype, got {self.dtype}")


class Normalize:
    """Standardise a sample: ``(x - mean) / std``.

    ``mean`` and ``std`` are scalars or arrays that broadcast against one
    sample (for an image ``(C, H, W)``, shape ``(C, 1, 1)`` gives per-channel
    values). A float input keeps its dtype; other inputs become float32.

    Args:
        mean: Subtracted from every value.
        std: Every value is divided by it; must be non-zero.

    Raises:
        ValueError: if ``std`` contains a zero.
    """

    batchable = True

    def __init__(self, mean: Any = 0.0, std: Any = 1.0) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {std!r}")
        self._skip_mean = not np.any(self.mean)
        self._skip_std = bool(np.all(self.std == 1))

    def __call__(self, x: Any) -> np.ndarray:
        """Return ``(x - mean) / std`` in x's float dtype (float32 otherwise)."""
        x = np.asarray(x)
        dtype = x.dtype if x.dtype.kind == "f" else DEFAULT_DTYPE
        x = x.astype(dtype, copy=False)
        if not self._skip_mean:
            x = x - self.mean.astype(dtype)
        if not self._skip_std:
            x = x / self.std.astype(dtype)
        return x

    def apply_batch(self, batch: np.ndarray) -> np.ndarray:
        """Normalise a batch; mean and std broadcast over the trailing axes."""
        return self(batch)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"
