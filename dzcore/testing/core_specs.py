"""FunctionSpecs of the core ops in :mod:`dzcore.functions`, with NumPy references.

``CORE_SPECS`` maps a test id to a spec; ``spec.name`` is the op's name in
``dzcore.functions`` (``linear[nobias]`` is ``linear`` called without a
bias). :func:`core_function` returns the op a spec describes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dzcore.testing.spec import (
    Axis,
    BroadcastTarget,
    Elementwise,
    Fixed,
    FunctionSpec,
    Index,
    Interval,
    NewShape,
    OneOf,
    Permutation,
    Signature,
    SumTarget,
    bounded,
    labels,
    nonzero,
    positive,
    real,
)

_KEEPDIMS = OneOf((False, True))


def _logsumexp(x: np.ndarray, axis: Any) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def _softmax(x: np.ndarray, axis: Any = -1) -> np.ndarray:
    return np.exp(x - _logsumexp(x, axis))


def _log_softmax(x: np.ndarray, axis: Any = -1) -> np.ndarray:
    return x - _logsumexp(x, axis)


def _cross_entropy(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    log_p = _log_softmax(x, 1)[np.arange(len(t)), t]
    return -np.mean(log_p)


def _sum_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    y = x.sum(axis=tuple(range(x.ndim - len(shape))))
    ones = tuple(i for i, side in enumerate(shape) if side == 1)
    return y.sum(axis=ones, keepdims=True)


def _linear(x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> Any:
    return x @ W if b is None else x @ W + b


def _accuracy(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.mean(np.argmax(y, axis=1) == t)


def _unary(name: str, reference: Any, arg: Any = None, **options: Any) -> FunctionSpec:
    return FunctionSpec(name, (arg or real(),), reference=reference, **options)


def _binary(name: str, reference: Any, second: Any = None) -> FunctionSpec:
    args = (real(), second or real())
    return FunctionSpec(name, args, Elementwise(), reference=reference, min_side=0)


def _reduction(name: str, reference: Any, **options: Any) -> FunctionSpec:
    kwargs = {"axis": Axis(0), "keepdims": _KEEPDIMS}
    return FunctionSpec(name, (options.pop("arg", real()),), kwargs=kwargs,
                        reference=reference, **options)  # fmt: skip


def _with_kwargs(name: str, reference: Any, **kwargs: Any) -> FunctionSpec:
    return FunctionSpec(name, (real(),), kwargs=kwargs, reference=reference)


_DISTINCT = bounded(-10.0, 10.0, distinct=True)

_SPECS = [
    _binary("add", np.add),
    _binary("sub", np.subtract),
    _binary("mul", np.multiply),
    _binary("div", np.divide, nonzero()),
    _unary("neg", np.negative),
    _unary("exp", np.exp),
    _unary("log", np.log, positive()),
    _unary("sin", np.sin),
    _unary("cos", np.cos),
    _unary("tanh", np.tanh),
    _unary(
        "pow",
        lambda x, c: np.power(x, c),
        bounded(0.01, 100.0, grad_domain=Interval(0.1, 10.0)),
        kwargs={"c": OneOf((2.0, 3.0, 0.5, -1.5, 1.0))},
    ),
    _unary(
        "clip",
        lambda x, x_min, x_max: np.clip(x, x_min, x_max),
        real(avoid=(-0.5, 0.5)),
        kwargs={"x_min": Fixed(-0.5), "x_max": Fixed(0.5)},
    ),
    _with_kwargs("reshape", np.reshape, shape=NewShape(0)),
    _with_kwargs("transpose", np.transpose, axes=Permutation(0)),
    _with_kwargs("broadcast_to", np.broadcast_to, shape=BroadcastTarget(0)),
    _with_kwargs("sum_to", _sum_to, shape=SumTarget(0)),
    _reduction("sum", np.sum, min_side=0),
    _reduction("mean", np.mean),
    _reduction("max", np.max, arg=_DISTINCT),
    _reduction("min", np.min, arg=_DISTINCT),
    FunctionSpec(
        "matmul",
        (real(), real()),
        Signature("(m?,n),(n,p?)->(m?,p?)", loop_dims=2),
        reference=np.matmul,
    ),
    FunctionSpec(
        "linear",
        (real(), real(), real()),
        Signature("(n,k),(k,m),(m)->(n,m)", loop_dims=0),
        reference=_linear,
    ),
    FunctionSpec(
        "linear",
        (real(), real()),
        Signature("(n,k),(k,m)->(n,m)", loop_dims=0),
        reference=_linear,
    ),
    FunctionSpec(
        "get_item",
        (real(),),
        kwargs={"key": Index(0)},
        min_dims=1,
        reference=lambda x, key: x[key],
    ),
    FunctionSpec(
        "softmax",
        (real(),),
        kwargs={"axis": Axis(0, none=False)},
        min_dims=1,
        reference=_softmax,
    ),
    FunctionSpec(
        "log_softmax",
        (real(),),
        kwargs={"axis": Axis(0, none=False)},
        min_dims=1,
        reference=_log_softmax,
    ),
    FunctionSpec(
        "softmax_cross_entropy",
        (real(), labels(0)),
        Signature("(n,c),(n)->()", loop_dims=0),
        reference=_cross_entropy,
    ),
    FunctionSpec(
        "mean_squared_error",
        (real(), real()),
        Elementwise(broadcast=False),
        reference=lambda x0, x1: np.mean((x0 - x1) ** 2),
    ),
    FunctionSpec(
        "accuracy",
        (real(), labels(0)),
        Signature("(n,c),(n)->()", loop_dims=0),
        differentiable=False,
        keeps_dtype=False,
        reference=_accuracy,
    ),
    FunctionSpec(
        "dropout",
        (real(),),
        kwargs={"dropout_ratio": OneOf((0.0, 0.5, 0.25))},
        deterministic=False,
    ),
]


def _spec_id(spec: FunctionSpec) -> str:
    if spec.name == "linear" and len(spec.args) == 2:
        return "linear[nobias]"
    return spec.name


#: Every core op's spec, by test id.
CORE_SPECS: dict[str, FunctionSpec] = {_spec_id(spec): spec for spec in _SPECS}


def core_function(spec: FunctionSpec) -> Any:
    """The op in :mod:`dzcore.functions` that ``spec`` describes."""
    import dzcore.functions as F

    return getattr(F, spec.name)
