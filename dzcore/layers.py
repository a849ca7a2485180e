"""Layers: containers of Parameters and of other Layers, and ``Linear``.

A :class:`Layer` tracks every attribute that holds a Parameter or a Layer,
in the order they were assigned, so that ``params()`` and
``namedparams()`` walk the model the same way every time, and the dotted
names (``l0.W``) are the keys of the ``.npz`` files written by
``save_weights`` and read back by ``load_weights``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

import dzcore.functions as F
from dzcore import cuda
from dzcore.config import DEFAULT_DTYPE
from dzcore.core import Parameter, Variable
from dzcore.errors import DtypeError, ShapeError, WeightsError
from dzcore.serialization import load_npz, save_npz

logger = logging.getLogger(__name__)

# One walk step: (dotted name, owning layer, attribute name, parameter).
_Entry = tuple[str, "Layer", str, Parameter]

# Bumped whenever any layer starts or stops tracking an attribute, so that
# a cached walk (params() on every training step) knows it is stale.
_structure_version = 0


def structure_version() -> int:
    """A number that changes whenever any Layer gains or loses a tracked attribute.

    ``params()`` and ``namedparams()`` cache their walk until it changes;
    optimizers use it the same way.
    """
    return _structure_version


def _structure_changed() -> None:
    global _structure_version
    _structure_version += 1


class Layer:
    """Base class of everything that owns Parameters.

    Contract:
        - A subclass calls ``super().__init__()`` before assigning any
          attribute, then assigns its Parameters and sub-Layers as plain
          attributes (``self.W = Parameter(...)``, ``self.l0 = Linear(3)``).
          These are tracked in assignment order; re-assigning a tracked name
          to something else (``self.b = None``) or deleting it stops the
          tracking. Parameters kept in lists or dicts are not seen.
        - A subclass overrides ``forward(*inputs)``; calling the layer calls
          ``forward`` directly and returns what it returns. Unlike DeZero,
          a layer keeps no weak references to its last inputs and outputs:
          they served only ``Model.plot``, and cost every call.
        - ``params()`` yields every Parameter reachable from the layer once,
          depth first in assignment order, even when a Parameter or a Layer
          is shared; ``namedparams()`` yields the same sequence with the
          dotted name of the first path that reaches each one.
        - A Parameter may hold ``None`` until the first call (``Linear``
          infers its input size); such a layer may override
          ``_pending_spec`` so that ``load_weights`` can create it from the
          file.

    Attributes:
        name: a label used in error messages; a parent layer gives an
            unnamed child the attribute name it is assigned to.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_tracked", [])
        object.__setattr__(self, "name", None)

    def __setattr__(self, key: str, value: Any) -> None:
        tracked = self.__dict__.get("_tracked")
        if tracked is None:
            raise RuntimeError(
                f"{type(self).__name__}: Layer.__init__ was not called; call "
                "super().__init__() before assigning attributes"
            )
        if isinstance(value, (Parameter, Layer)):
            if key not in tracked:
                tracked.append(key)
            if isinstance(value, Layer) and value.name is None:
                object.__setattr__(value, "name", key)
            _structure_changed()
        elif key in tracked:
            tracked.remove(key)
            _structure_changed()
        object.__setattr__(self, key, value)

    def __delattr__(self, key: str) -> None:
        tracked = self.__dict__.get("_tracked", [])
        if key in tracked:
            tracked.remove(key)
            _structure_changed()
        object.__delattr__(self, key)

    def __call__(self, *inputs: Any) -> Any:
        return self.forward(*inputs)

    def forward(self, *inputs: Any) -> Any:
        """Compute the outputs from the inputs (Variables or arrays)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def _walk(self, prefix: str, seen: set[int]) -> Iterator[_Entry]:
        """Yield each unseen Parameter below this layer with its owner."""
        for key in self._tracked:
            value = self.__dict__[key]
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, Layer):
                yield from value._walk(f"{prefix}{key}.", seen)
            else:
                yield f"{prefix}{key}", self, key, value

    def params(self) -> Iterator[Parameter]:
        """Yield every Parameter of this layer and its sub-layers, once each."""
        for _, param in self._named():
            yield param

    def namedparams(self) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` pairs such as ``("l0.W", W)``."""
        yield from self._named()

    def _named(self) -> list[tuple[str, Parameter]]:
        """The walk's ``(name, parameter)`` pairs, cached until any layer changes."""
        cached = self.__dict__.get("_named_cache")
        if cached is None or cached[0] != _structure_version:
            pairs = [(name, param) for name, _, _, param in self._walk("", set())]
            cached = (_structure_version, pairs)
            object.__setattr__(self, "_named_cache", cached)
        return cached[1]

    def cleargrads(self) -> None:
        """Forget every parameter's gradient, before the next ``backward()``."""
        for _, param in self._named():
            param.cleargrad()

    def to_cpu(self) -> Layer:
        """Move every parameter (and gradient) to the host; returns self."""
        for param in self.params():
            param.to_cpu()
            if param.grad is not None:
                param.grad.to_cpu()
        return self

    def to_gpu(self) -> Layer:
        """Move every parameter (and gradient) to the GPU; returns self.

        Raises:
            RuntimeError: if CuPy with a CUDA device is not available.
        """
        for param in self.params():
            param.to_gpu()
            if param.grad is not None:
                param.grad.to_gpu()
        return self

    def _pending_spec(self, key: str) -> tuple[tuple[int | None, ...] | None, Any]:
        """Return the (shape pattern, dtype) an uninitialised Parameter will get.

        ``None`` in the pattern accepts any size on that axis; a pattern of
        ``None`` accepts any shape. Layers whose parameters are created on
        first call override this so that ``load_weights`` can check them.
        """
        return None, DEFAULT_DTYPE

    def save_weights(self, path: str | os.PathLike) -> None:
        """Write every parameter to an ``.npz`` file at exactly ``path``.

        Keys are the dotted names of ``namedparams()``. Arrays are stored
        without pickle. The file is written to a temporary file in the same
        folder and then renamed over ``path``, so a failure midway leaves
        any earlier file at ``path`` intact.

        Raises:
            WeightsError: if a parameter has no data yet (run one forward
                pass, or give ``Linear`` its ``in_size``).
            FileNotFoundError: if the folder of ``path`` does not exist.
        """
        arrays = {}
        for name, param in self.namedparams():
            if param.data is None:
                raise WeightsError(
                    f"save_weights: parameter {name!r} of {type(self).__name__} "
                    "is not initialised yet (its layer infers its input size on "
                    "the first call); run one forward pass or pass in_size"
                )
            arrays[name] = cuda.as_numpy(param.data)
        save_npz(path, arrays, where="save_weights")

    def load_weights(self, path: str | os.PathLike) -> None:
        """Replace every parameter with the array of the same name in ``path``.

        The whole file is checked before anything changes: every parameter
        must be present, no key may be left over, shapes must match and
        dtypes must be of the same kind (floating for floating parameters;
        float64 values are cast to a float32 parameter's dtype). Pickled
        (object) arrays are refused. A parameter that is not initialised
        yet (``Linear`` before its first call) is created from the file's
        array, so its input size comes from the file; it is created on the
        host. Other parameters stay on the device they are on.

        Raises:
            WeightsError: naming the file and every parameter at fault, with
                what was expected and what the file holds; the model is
                then unchanged.
            FileNotFoundError: if there is no file at ``path``.
        """
        arrays = load_npz(path, where="load_weights")
        entries = list(self._walk("", set()))
        problems = _check_weights(entries, arrays)
        if problems:
            raise WeightsError(
                f"load_weights: {os.fspath(path)!r} does not fit "
                f"{type(self).__name__}; nothing was loaded:\n  "
                + "\n  ".join(problems)
            )
        new_data = [_converted(entry, arrays[entry[0]]) for entry in entries]
        for (_, _, _, param), data in zip(entries, new_data, strict=True):
            param.data = data
        logger.info("loaded %d parameters from %s", len(entries), os.fspath(path))


def _check_weights(entries: list[_Entry], arrays: dict[str, np.ndarray]) -> list[str]:
    """Return one line per mismatch between the model's parameters and a file."""
    names = {entry[0] for entry in entries}
    problems = [
        f"{key}: in the file but not a parameter of the model"
        for key in sorted(set(arrays) - names)
    ]
    for entry in entries:
        name = entry[0]
        if name not in arrays:
            expected = _expected_shape(entry)
            problems.append(
                f"{name}: missing from the file (expected shape {expected})"
            )
        elif problem := _check_one(entry, arrays[name]):
            problems.append(f"{name}: {problem}")
    return problems


def _check_one(entry: _Entry, array: np.ndarray) -> str | None:
    """Describe how ``array`` does not fit the entry's parameter, or return None."""
    _, owner, key, param = entry
    if param.data is None:
        pattern, dtype = owner._pending_spec(key)
        shape_ok = pattern is None or (
            len(pattern) == array.ndim
            and all(p in (None, n) for p, n in zip(pattern, array.shape, strict=True))
        )
    else:
        dtype, shape_ok = param.data.dtype, tuple(param.data.shape) == array.shape
    if not shape_ok:
        return f"expected shape {_expected_shape(entry)}, got {array.shape}"
    dtype = np.dtype(dtype)
    if dtype.kind != array.dtype.kind:
        kind = _KIND_WORDS.get(dtype.kind, dtype.kind)
        return f"expected a {kind} dtype ({dtype.name}), got {array.dtype.name}"
    return None


_KIND_WORDS = {"f": "floating", "i": "signed integer", "u": "unsigned integer"}


def _expected_shape(entry: _Entry) -> str:
    """The shape a parameter needs, as text; ``?`` for a size not known yet."""
    _, owner, key, param = entry
    if param.data is not None:
        return str(tuple(param.data.shape))
    pattern = owner._pending_spec(key)[0]
    if pattern is None:
        return "any"
    return "(" + ", ".join("?" if p is None else str(p) for p in pattern) + ")"


def _converted(entry: _Entry, array: np.ndarray) -> Any:
    """Return ``array`` as a fresh array of the parameter's dtype and device."""
    _, owner, key, param = entry
    if param.data is None:
        # Limitation: a parameter with no data yet has no device, so it is
        # created on the host; call to_gpu() again after loading such a model.
        return array.astype(owner._pending_spec(key)[1], copy=True)
    data = array.astype(param.data.dtype, copy=True)
    if cuda.get_array_module(param.data) is not np:
        data = cuda.as_cupy(data)
    return data


class Linear(Layer):
    """A fully connected layer: ``y = x @ W + b``.

    ``W`` has shape ``(in_size, out_size)`` and is drawn from a normal
    distribution scaled by ``sqrt(1 / in_size)``; ``b`` starts at zeros.
    When ``in_size`` is None it is taken from the last axis of the first
    input, and ``W`` is created then (or by ``load_weights``, from the
    file's shape).

    Seeding: with ``seed=None`` the weights come from NumPy's global random
    state, so ``np.random.seed(0)`` makes them reproducible as in DeZero.
    An int or a ``np.random.Generator`` gives the layer its own stream.

    Args:
        out_size: number of output features.
        nobias: leave out ``b``.
        dtype: floating dtype of ``W`` and ``b`` (float32 by default).
        in_size: number of input features, or None to infer it.
        seed: None, an int, or a ``np.random.Generator`` for ``W``.

    Raises:
        ValueError: if a size is not a positive int.
        DtypeError: if ``dtype`` is not a floating dtype.
    """

    def __init__(
        self,
        out_size: int,
        nobias: bool = False,
        dtype: DTypeLike = DEFAULT_DTYPE,
        in_size: int | None = None,
        *,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        _check_size("out_size", out_size)
        if in_size is not None:
            _check_size("in_size", in_size)
        if np.dtype(dtype).kind != "f":
            raise DtypeError(
                f"Linear: dtype must be floating (float32, float64), got "
                f"{np.dtype(dtype).name}"
            )
        self.out_size = out_size
        self.dtype = np.dtype(dtype)
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.W = Parameter(None, name="W")
        if in_size is not None:
            self.W.data = self._init_W(in_size)
        self.b = None
        if not nobias:
            self.b = Parameter(np.zeros(out_size, dtype=self.dtype), name="b")

    @property
    def in_size(self) -> int | None:
        """Number of input features, or None until the first call or load."""
        return None if self.W.data is None else self.W.data.shape[0]

    def _init_W(self, in_size: int) -> np.ndarray:
        shape = (in_size, self.out_size)
        if self._rng is None:
            w = np.random.standard_normal(shape)
        else:
            w = self._rng.standard_normal(shape)
        return (w * np.sqrt(1.0 / in_size)).astype(self.dtype)

    def _pending_spec(self, key: str) -> tuple[tuple[int | None, ...] | None, Any]:
        return (None, self.out_size), self.dtype

    def forward(self, x: Any) -> Variable:
        """Return ``x @ W + b`` for ``x`` of shape ``(..., in_size)``."""
        W = self.W
        w = W.data
        a = x.data if isinstance(x, Variable) else x
        fits = w is not None and type(a) is np.ndarray and a.ndim == 2
        if fits and a.shape[1] == w.shape[0]:
            # The hot path, a batch that fits, skips the checks below.
            return F.linear(x, W, self.b)
        try:
            ndim = x.ndim
        except AttributeError:
            raise TypeError(
                f"{self._label()}: expected a Variable or an array, got "
                f"{type(x).__name__} (wrap lists with np.array)"
            ) from None
        if ndim == 0 or (W.data is not None and x.shape[-1] != W.data.shape[0]):
            raise ShapeError(
                f"{self._label()}: input has the wrong number of features\n"
                f"  expected: (..., {self.in_size or 'in_size'})\n"
                f"  got:      {tuple(x.shape)}"
            )
        if W.data is None:
            W.data = self._init_W(x.shape[-1])
            if cuda.get_array_module(x) is not np:
                W.data = cuda.as_cupy(W.data)
        return F.linear(x, W, self.b)

    def _label(self) -> str:
        named = "" if self.name is None else f" {self.name!r}"
        return f"Linear{named} (out_size={self.out_size})"

    def __repr__(self) -> str:
        return (
            f"Linear(in_size={self.in_size}, out_size={self.out_size}, "
            f"nobias={self.b is None}, dtype={self.dtype.name})"
        )


def _check_size(what: str, value: Any) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Linear: {what} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"Linear: {what} must be positive, got {value}")


__all__ = ["Layer", "Linear", "load_npz", "save_npz"]
