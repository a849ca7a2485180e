"""The array backend: NumPy always, CuPy when installed and asked for.

Every other module picks its array module through :func:`get_array_module`
so that the same code runs on the CPU and on a GPU. Nothing else in dz
imports CuPy.
"""

import logging
import types
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_cupy: types.ModuleType | None = None
_cupy_checked = False


def _load_cupy() -> types.ModuleType | None:
    """Import CuPy once, on first need; None when it is absent or unusable."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception as error:  # ImportError, or no CUDA device
            logger.debug("CuPy unavailable: %s", error)
    return _cupy


def gpu_enable() -> bool:
    """True when CuPy is installed and a CUDA device can be used."""
    return _load_cupy() is not None


def _is_cupy_array(x: Any) -> bool:
    # Decide without importing CuPy: only CuPy's own arrays live in it.
    return type(x).__module__.startswith("cupy")


def get_array_module(x: Any) -> types.ModuleType:
    """Return ``cupy`` for a CuPy array (or a Variable holding one), else ``numpy``."""
    data = getattr(x, "data", x)
    if _is_cupy_array(data):
        return _load_cupy()
    return np


def as_numpy(x: Any) -> np.ndarray:
    """Return ``x`` as a NumPy array, copying from the GPU when needed."""
    data = getattr(x, "data", x)
    if isinstance(data, np.ndarray):
        return data
    if np.isscalar(data):
        return np.asarray(data)
    if _is_cupy_array(data):
        return data.get()
    return np.asarray(data)


def as_cupy(x: Any) -> Any:
    """Return ``x`` as a CuPy array.

    Raises:
        RuntimeError: if CuPy or a CUDA device is not available.
    """
    cupy = _load_cupy()
    if cupy is None:
        raise RuntimeError(
            "as_cupy: CuPy with a CUDA device is needed to move arrays to the GPU; "
            "install it with `pip install dzcore[gpu]` on a machine with a GPU"
        )
    return cupy.asarray(getattr(x, "data", x))


def scatter_add(target: Any, indices: Any, values: Any) -> None:
    """Add ``values`` into ``target[indices]`` in place, accumulating repeats."""
    if isinstance(target, np.ndarray):
        np.add.at(target, indices, values)
        return
    import cupyx  # only reached with a CuPy array, so CuPy is installed

    cupyx.scatter_add(target, indices, values)
