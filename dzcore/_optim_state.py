"""Helpers of :mod:`dzcore.optimizers` (private): targets and saved state.

Resolving what ``Optimizer.setup`` was given into ``(name, Parameter)``
pairs, and checking a saved state against those parameters before
``load_state_dict`` changes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from dzcore import cuda
from dzcore.core import Parameter, Variable
from dzcore.errors import ShapeError, WeightsError
from dzcore.layers import Layer, structure_version


def param_source(where: str, target: Any) -> Callable[[], list[tuple[str, Parameter]]]:
    """Return a function listing ``(name, param)`` pairs of ``target``."""
    if isinstance(target, Variable):
        target = [target]
    if isinstance(target, Layer):
        return _LayerSource(where, target)
    if callable(getattr(target, "namedparams", None)):
        return lambda: _unique(where, target.namedparams())
    if callable(getattr(target, "params", None)):
        return lambda: _unique(where, _positions(target.params()))
    if isinstance(target, (str, bytes, Mapping)) or not isinstance(target, Iterable):
        raise TypeError(
            f"{where}.setup: expected a Layer or Model (an object with "
            "params()), or an iterable of Parameters; got "
            f"{type(target).__name__}"
        )
    named = _unique(where, _positions(_checked_params(where, target)))
    return lambda: named


class _LayerSource:
    """Lists a Layer's parameters, walking it again only after it changed.

    The list is rebuilt whenever any Layer gains or loses a tracked
    attribute (:func:`dzcore.layers.structure_version`), so parameters
    created or replaced after ``setup`` are still found; between such
    changes every ``update()`` reuses one list (the same object).
    """

    def __init__(self, where: str, layer: Layer) -> None:
        self.where = where
        self.layer = layer
        self.version = -1
        self.named: list[tuple[str, Parameter]] = []

    def __call__(self) -> list[tuple[str, Parameter]]:
        version = structure_version()
        if version != self.version:
            self.named = _unique(self.where, self.layer.namedparams())
            self.version = version
        return self.named


def _checked_params(where: str, items: Iterable[Any]) -> list[Parameter]:
    params = list(items)
    for index, item in enumerate(params):
        if not isinstance(item, Parameter):
            raise TypeError(
                f"{where}.setup: expected Parameters, got {type(item).__name__} "
                f"at position {index}; wrap arrays as Parameter(array)"
            )
    if not params:
        raise ValueError(f"{where}.setup: got an empty list of parameters")
    return params


def _positions(params: Iterable[Parameter]) -> Iterable[tuple[str, Parameter]]:
    return ((str(index), param) for index, param in enumerate(params))


def _unique(
    where: str, named: Iterable[tuple[str, Parameter]]
) -> list[tuple[str, Parameter]]:
    """Drop repeats of one parameter (tied weights); reject reused names."""
    result: dict[str, Parameter] = {}
    seen: set[int] = set()
    for name, param in named:
        if id(param) in seen:
            continue
        if name in result:
            raise RuntimeError(
                f"{where}: two different parameters are both named {name!r}; "
                "parameter names must be unique to key the optimizer state"
            )
        seen.add(id(param))
        result[name] = param
    return list(result.items())


def check_grad(where: str, name: str, param: Parameter) -> None:
    grad = param.grad.data
    if grad is None or grad.shape != param.data.shape:
        got = None if grad is None else grad.shape
        raise ShapeError(
            f"{where}.update: the gradient of parameter {name!r} does not fit it\n"
            f"  expected shape: {param.data.shape}\n"
            f"  got:            {got}"
        )


def check_class(where: str, expected: str, state: Mapping[str, Any]) -> None:
    saved = state.get("optimizer")
    saved = None if saved is None else str(np.asarray(saved).item())
    if saved != expected:
        raise WeightsError(
            f"{where}: the state was saved by optimizer {saved!r}, "
            f"not by {expected!r}; load it into an optimizer of that class"
        )


def step_count(where: str, state: Mapping[str, Any]) -> int:
    value = np.asarray(state.get("t", -1))
    if value.dtype.kind not in "iu" or value.ndim != 0 or int(value) < 0:
        raise WeightsError(
            f"{where}: 't' must be a non-negative integer step count, "
            f"got {state.get('t')!r}"
        )
    return int(value)


def match_slots(
    where: str, slots: dict[str, dict[str, Any]], params: dict[str, Parameter]
) -> dict[str, dict[str, Any]]:
    """Copy saved slot arrays onto the parameters' dtype and device."""
    unknown = sorted(set(slots) - set(params))
    if unknown:
        raise WeightsError(
            f"{where}: the state holds parameters that the target does not "
            f"have: {', '.join(unknown)}\n  target parameters: "
            f"{', '.join(params) or '(none)'}"
        )
    return {
        name: {
            slot_name: _fit(where, f"{name}/{slot_name}", array, params[name])
            for slot_name, array in named_slots.items()
        }
        for name, named_slots in slots.items()
    }


def _fit(where: str, key: str, array: Any, param: Parameter) -> Any:
    array = cuda.as_numpy(array)
    data = param.data
    if data is None:
        return np.array(array)
    if array.shape != data.shape:
        raise WeightsError(
            f"{where}: state {key!r} does not fit its parameter\n"
            f"  expected shape: {data.shape}\n  got:            {array.shape}"
        )
    return to_device_of(data, array.astype(data.dtype, copy=True))


def to_device_of(data: Any, array: Any) -> Any:
    """Return ``array`` on the device (NumPy or CuPy) where ``data`` is."""
    if isinstance(data, np.ndarray):
        return cuda.as_numpy(array)
    return cuda.as_cupy(array)
