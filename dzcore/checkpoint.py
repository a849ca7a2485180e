"""Training checkpoints: one ``.npz`` file from which a run resumes exactly.

A checkpoint holds everything that decides how training goes on: the
model's parameters, the optimizer's state, the number of epochs done, the
history so far, the iteration and random state of each DataLoader, and
NumPy's global random state (dropout draws its masks from it). Every
member is a plain array, so the file is read with ``allow_pickle=False``
and loading an untrusted checkpoint cannot run code. Files are written
through :func:`dzcore.layers.save_npz`: to a temporary file first, then
renamed over the target, so an interrupted write leaves the previous
checkpoint intact.

Members of the archive:

- ``meta``: a 0-d string array holding JSON: the format name and version,
  the epoch count, the history, the model's class and parameter shapes,
  the optimizer's class, the loader states and the scalar part of NumPy's
  random state.
- ``model/<dotted name>``: each parameter, keyed as in ``namedparams()``.
- ``optimizer/<key>``: each entry of ``Optimizer.state_dict()``.
- ``rng/numpy_key``: the key array of NumPy's global MT19937 state.

Most users reach this module through
:meth:`dzcore.trainer.Trainer.save_checkpoint` and
:meth:`dzcore.trainer.Trainer.resume`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from dzcore import cuda
from dzcore.errors import WeightsError
from dzcore.layers import load_npz, save_npz

logger = logging.getLogger(__name__)

__all__ = [
    "FORMAT",
    "VERSION",
    "Checkpoint",
    "load_params",
    "mismatches",
    "read_checkpoint",
    "write_checkpoint",
]

#: The name written into every checkpoint's metadata.
FORMAT = "dz-checkpoint"
#: The layout version; files of another version are refused with a message.
VERSION = 1

_MODEL = "model/"
_OPTIMIZER = "optimizer/"
_RNG_KEY = "rng/numpy_key"


@dataclass
class Checkpoint:
    """The parsed content of a checkpoint file.

    Attributes:
        source: the path it was read from, for error messages.
        meta: the decoded JSON metadata.
        params: dotted parameter name -> array.
        optimizer_state: the optimizer's ``state_dict()`` entries.
        rng_key: the key array of NumPy's global random state.
    """

    source: str
    meta: dict[str, Any]
    params: dict[str, np.ndarray]
    optimizer_state: dict[str, np.ndarray]
    rng_key: np.ndarray

    @property
    def epoch(self) -> int:
        """The number of complete epochs the checkpoint was taken after."""
        return int(self.meta["epoch"])

    def numpy_rng_state(self) -> tuple[Any, ...]:
        """Return the state tuple for ``np.random.set_state``."""
        rng = self.meta["numpy_rng"]
        return (
            rng["name"],
            self.rng_key,
            rng["pos"],
            rng["has_gauss"],
            rng["gauss"],
        )


def write_checkpoint(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any,
    epoch: int,
    history: dict[str, list[float]],
    loaders: dict[str, Any],
) -> None:
    """Write a checkpoint to ``path`` atomically.

    Args:
        path: the file to write (no suffix is added).
        model: the Layer being trained; every parameter must have data.
        optimizer: its Optimizer, with ``state_dict()``.
        epoch: the number of complete epochs.
        history: per-epoch values, name -> list.
        loaders: role ("train", "val") -> a JSON-serialisable loader state,
            or None for a loader that has none.

    Raises:
        WeightsError: if a parameter is not initialised yet.
        FileNotFoundError: if the folder of ``path`` does not exist.
    """
    arrays = _param_arrays(model)
    for key, value in optimizer.state_dict().items():
        arrays[_OPTIMIZER + key] = np.asarray(cuda.as_numpy(value))
    # Limitation: only NumPy's global random state is saved; on a GPU,
    # dropout draws from CuPy's generator, so a resumed GPU run with dropout
    # does not repeat the uninterrupted one bit for bit.
    name, key, pos, has_gauss, gauss = np.random.get_state()
    arrays[_RNG_KEY] = np.asarray(key)
    shapes = {
        k[len(_MODEL) :]: list(a.shape)
        for k, a in arrays.items()
        if k.startswith(_MODEL)
    }
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "history": history,
        "model": {"class": type(model).__name__, "params": shapes},
        "optimizer": {"class": type(optimizer).__name__},
        "loaders": loaders,
        "numpy_rng": {
            "name": name,
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
    }
    arrays["meta"] = np.array(json.dumps(meta))
    save_npz(path, arrays, where="save_checkpoint")
    logger.info("checkpoint after epoch %d written to %s", epoch, os.fspath(path))


def _param_arrays(model: Any) -> dict[str, Any]:
    arrays = {}
    for name, param in model.namedparams():
        if param.data is None:
            raise WeightsError(
                f"save_checkpoint: parameter {name!r} of {type(model).__name__} "
                "is not initialised yet; run one training step first"
            )
        arrays[_MODEL + name] = cuda.as_numpy(param.data)
    return arrays


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and parse a checkpoint file, without pickle.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        WeightsError: if the file is not a dz checkpoint of this version, or
            is damaged; the message names the file and what is wrong.
    """
    source = os.fspath(path)
    arrays = load_npz(source, where="resume")
    meta = _parse_meta(source, arrays)
    params, state = {}, {}
    for key, array in arrays.items():
        if key.startswith(_MODEL):
            params[key[len(_MODEL) :]] = array
        elif key.startswith(_OPTIMIZER):
            state[key[len(_OPTIMIZER) :]] = array
    if _RNG_KEY not in arrays:
        raise WeightsError(f"resume: {source!r} lacks the entry {_RNG_KEY!r}")
    return Checkpoint(source, meta, params, state, arrays[_RNG_KEY])


def _parse_meta(source: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if "meta" not in arrays:
        raise WeightsError(
            f"resume: {source!r} is not a dz checkpoint (it has no 'meta' "
            "entry); a file from save_weights holds only weights: load it "
            "with model.load_weights"
        )
    try:
        meta = json.loads(str(arrays["meta"]))
    except ValueError as error:
        raise WeightsError(
            f"resume: {source!r}: the 'meta' entry is not valid JSON: {error}"
        ) from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsError(f"resume: {source!r} is not a {FORMAT} file")
    if meta.get("version") != VERSION:
        raise WeightsError(
            f"resume: {source!r} has checkpoint version {meta.get('version')!r}; "
            f"this dz reads version {VERSION}"
        )
    missing = [k for k in ("epoch", "history", "model", "optimizer", "numpy_rng")]
    missing = [k for k in missing if k not in meta]
    if missing:
        raise WeightsError(f"resume: {source!r}: metadata lacks {', '.join(missing)}")
    return meta


def mismatches(checkpoint: Checkpoint, model: Any, optimizer: Any) -> list[str]:
    """Return one line per way the checkpoint does not fit the model or optimizer.

    Parameters are compared by dotted name, shape and dtype kind; a
    parameter that is not initialised yet (``Linear`` before its first
    call) takes its shape from the file. The optimizer must be of the
    class that saved the state.
    """
    saved_class = checkpoint.meta["optimizer"].get("class")
    problems = []
    if saved_class != type(optimizer).__name__:
        problems.append(
            f"optimizer: saved by {saved_class}, this trainer uses "
            f"{type(optimizer).__name__}"
        )
    current = dict(model.namedparams())
    saved = checkpoint.params
    problems += [
        f"parameter {name}: in the checkpoint but not in the model"
        for name in sorted(set(saved) - set(current))
    ]
    for name, param in current.items():
        if name not in saved:
            problems.append(f"parameter {name}: in the model but not in the checkpoint")
        elif problem := _param_problem(param, saved[name]):
            problems.append(f"parameter {name}: {problem}")
    return problems


def _param_problem(param: Any, array: np.ndarray) -> str | None:
    # Limitation: a parameter not created yet (Linear before its first
    # call) accepts any saved shape here; a wrong input size then shows up
    # as Linear's shape error on the first batch.
    if param.data is None:
        return None
    if tuple(param.data.shape) != array.shape:
        return f"saved shape {array.shape}, the model has {tuple(param.data.shape)}"
    if np.dtype(param.data.dtype).kind != array.dtype.kind:
        return f"saved dtype {array.dtype.name}, the model has {param.data.dtype.name}"
    return None


def load_params(checkpoint: Checkpoint, model: Any) -> None:
    """Copy the checkpoint's parameters into the model (checked beforehand).

    Each array is copied into the parameter's dtype and device; an
    uninitialised parameter takes the saved array as it is.
    """
    for name, param in model.namedparams():
        array = checkpoint.params[name]
        if param.data is None:
            param.data = array.copy()
            continue
        data = array.astype(param.data.dtype, copy=True)
        if cuda.get_array_module(param.data) is not np:
            data = cuda.as_cupy(data)
        param.data = data
