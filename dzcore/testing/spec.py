"""Declare what a Function accepts, so that its tests can be generated.

A :class:`FunctionSpec` says, for each positional argument (an
:class:`ArgSpec`), what kind of value it is and where it is defined (its
``domain``) and well-conditioned (its ``grad_domain``), which points to keep
away from (kinks such as relu's 0), whether values must be distinct (max,
min); how the argument shapes relate (a :class:`ShapeRule`); how to draw
the keyword arguments (declarative ``Kwarg`` descriptors such as
:class:`Axis`); what the function can do (second derivatives, float32);
and a NumPy reference for the forward values.

This module is plain data: it imports neither Hypothesis nor pytest, so a
plugin can ship its specs without depending on them.
:mod:`dzcore.testing.strategies` turns a spec into Hypothesis strategies.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable, Mapping
from typing import Any

#: Infinite domain ends are cut here when values are drawn.
DRAW_LIMIT = 100.0

#: The grad domain of an unbounded argument is cut here (keeps the
#: numbers, and so the finite-difference errors, moderate).
GRAD_LIMIT = 10.0


@dataclasses.dataclass(frozen=True)
class Interval:
    """A real interval; each end is open or closed and may be infinite."""

    lo: float
    hi: float
    open_lo: bool = False
    open_hi: bool = False

    def __post_init__(self) -> None:
        if not self.lo <= self.hi:
            raise ValueError(f"Interval: lo {self.lo} is greater than hi {self.hi}")

    def contains(self, value: float) -> bool:
        """True when ``value`` lies in the interval."""
        above = value > self.lo if self.open_lo else value >= self.lo
        below = value < self.hi if self.open_hi else value <= self.hi
        return above and below

    def bounded(self, limit: float) -> Interval:
        """The interval with infinite ends replaced by ``-limit`` and ``limit``."""
        lo, hi = max(self.lo, -limit), min(self.hi, limit)
        open_lo = self.open_lo and lo == self.lo
        return Interval(lo, hi, open_lo, self.open_hi and hi == self.hi)

    def shrunk(self, margin: float, limit: float) -> Interval:
        """A closed interval ``margin`` inside each finite end, cut to ``limit``."""
        lo = self.lo + margin if math.isfinite(self.lo) else -limit
        hi = self.hi - margin if math.isfinite(self.hi) else limit
        return Interval(max(lo, -limit), min(hi, limit))


REAL = Interval(-math.inf, math.inf)


@dataclasses.dataclass(frozen=True)
class ArgSpec:
    """One positional argument of a Function.

    Attributes:
        kind: "float" (a floating array), "labels" (integer class indices
            in ``[0, classes)``, ``classes`` being the last dim of argument
            ``labels_of``), or "static" (``value`` passed unchanged).
        domain: where the function is defined (forward smoke tests).
        grad_domain: where gradients are checked; default: ``domain`` shrunk
            by ``margin`` and cut to [-10, 10].
        avoid: points to keep values away from (kinks), by at least ``margin``.
        margin: distance kept from ``avoid`` points and from finite domain
            ends; keep it >= 100 times the check's eps.
        distinct: draw distinct values, pairwise at least ``min_gap`` apart.
        min_gap: the smallest allowed difference when ``distinct``.
        differentiable: False for a floating input that is a constant.
        labels_of: for labels, the argument that gives shape and classes.
        value: for a static argument, the value passed.
    """

    kind: str = "float"
    domain: Interval = REAL
    grad_domain: Interval | None = None
    avoid: tuple[float, ...] = ()
    margin: float = 1e-2
    distinct: bool = False
    min_gap: float = 1e-2
    differentiable: bool = True
    labels_of: int = 0
    value: Any = None

    def __post_init__(self) -> None:
        if self.kind not in ("float", "labels", "static"):
            raise ValueError(
                "ArgSpec: kind must be 'float', 'labels' or 'static', "
                f"got {self.kind!r}"
            )

    def domain_for(self, grad: bool) -> Interval:
        """The grad domain when ``grad`` is True, else the (bounded) domain."""
        if not grad:
            return self.domain.bounded(DRAW_LIMIT)
        if self.grad_domain is not None:
            return self.grad_domain
        return self.domain.shrunk(self.margin, GRAD_LIMIT)


def real(**options: Any) -> ArgSpec:
    """A floating argument defined everywhere (grads checked on [-10, 10])."""
    return ArgSpec(**options)


def positive(**options: Any) -> ArgSpec:
    """A floating argument in (0, inf), grads on [0.1, 10] (log, sqrt)."""
    options.setdefault("grad_domain", Interval(0.1, GRAD_LIMIT))
    return ArgSpec(domain=Interval(0.0, math.inf, open_lo=True), **options)


def nonzero(margin: float = 0.1, **options: Any) -> ArgSpec:
    """A floating argument kept ``margin`` away from 0 (a divisor)."""
    return ArgSpec(avoid=(0.0,), margin=margin, **options)


def open_unit(**options: Any) -> ArgSpec:
    """A floating argument in (0, 1), grads on [0.01, 0.99] (probabilities)."""
    options.setdefault("grad_domain", Interval(0.01, 0.99))
    return ArgSpec(domain=Interval(0.0, 1.0, True, True), **options)


def bounded(lo: float, hi: float, **options: Any) -> ArgSpec:
    """A floating argument in the closed interval [lo, hi]."""
    return ArgSpec(domain=Interval(lo, hi), **options)


def labels(of: int = 0) -> ArgSpec:
    """Integer class labels, one per row of argument ``of`` (N, C)."""
    return ArgSpec(kind="labels", labels_of=of, differentiable=False)


def static(value: Any) -> ArgSpec:
    """A positional argument passed as ``value``, not drawn."""
    return ArgSpec(kind="static", value=value, differentiable=False)


# Keyword-argument descriptors; strategies.kwarg_strategy draws from them.


@dataclasses.dataclass(frozen=True)
class Fixed:
    """Always ``value``."""

    value: Any


@dataclasses.dataclass(frozen=True)
class OneOf:
    """One of ``values`` (shrinks towards the first)."""

    values: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Axis:
    """An axis of argument ``of``: an int (negative too), a tuple, or None."""

    of: int = 0
    negative: bool = True
    tuples: bool = True
    none: bool = True


@dataclasses.dataclass(frozen=True)
class Permutation:
    """A permutation of the axes of argument ``of`` (or None, for transpose)."""

    of: int = 0


@dataclasses.dataclass(frozen=True)
class NewShape:
    """A shape with the size of argument ``of``, maybe with one -1 (reshape)."""

    of: int = 0


@dataclasses.dataclass(frozen=True)
class BroadcastTarget:
    """A shape that argument ``of`` broadcasts to (broadcast_to)."""

    of: int = 0


@dataclasses.dataclass(frozen=True)
class SumTarget:
    """A shape that argument ``of`` can be summed down to (sum_to)."""

    of: int = 0


@dataclasses.dataclass(frozen=True)
class Index:
    """An index into argument ``of``: basic, or integer arrays with repeats."""

    of: int = 0
    advanced: bool = True


@dataclasses.dataclass(frozen=True)
class Derived:
    """Anything else: ``factory(shapes)`` returns a Hypothesis strategy."""

    factory: Callable[[tuple[tuple[int, ...], ...]], Any]


#: Any keyword-argument descriptor (usable with isinstance).
Kwarg = (
    Fixed
    | OneOf
    | Axis
    | Permutation
    | NewShape
    | BroadcastTarget
    | SumTarget
    | Index
    | Derived
)


# Shape rules: how the shapes of the floating and label arguments relate.


@dataclasses.dataclass(frozen=True)
class Elementwise:
    """Arguments broadcast against each other (or share one shape)."""

    broadcast: bool = True


@dataclasses.dataclass(frozen=True)
class Signature:
    """A gufunc signature such as ``"(n?,k),(k,m?)->(n?,m?)"`` for matmul.

    Attributes:
        signature: core dims per argument; ``?`` marks an optional dim.
        loop_dims: how many broadcast batch dims may lead (0: core only).
    """

    signature: str
    loop_dims: int = 2


@dataclasses.dataclass(frozen=True)
class CustomShapes:
    """``factory()`` returns a Hypothesis strategy of a tuple of shapes."""

    factory: Callable[[], Any]


ShapeRule = Elementwise | Signature | CustomShapes


@dataclasses.dataclass(frozen=True)
class FunctionSpec:
    """What a Function accepts and can do, for generated tests.

    Attributes:
        name: the function's registered name.
        args: one ArgSpec per positional argument.
        shapes: how the argument shapes relate.
        kwargs: a descriptor per keyword argument.
        min_dims, max_dims, min_side, max_side: bounds on drawn shapes.
        differentiable: False for a function without gradients (accuracy).
        double_grad: whether second derivatives are supported.
        float32: whether float32 inputs give float32 results close to float64.
        deterministic: False when the function draws from ``numpy.random``;
            the tests then reseed it before every call.
        keeps_dtype: whether floating outputs have the floating inputs'
            dtype (False for accuracy, which is always float32).
        reference: a NumPy function of the same arguments (float64 arrays,
            same keywords) giving the expected forward values.
        tolerances: overrides for check_grad (``eps``, ``atol``, ``rtol``).
        xfail: check name ("forward", "grad", "double_grad", "float32") to
            the reason it is known to fail; run as a strict xfail.
    """

    name: str
    args: tuple[ArgSpec, ...]
    shapes: ShapeRule = Elementwise()
    kwargs: Mapping[str, Kwarg] = dataclasses.field(default_factory=dict)
    min_dims: int = 0
    max_dims: int = 3
    min_side: int = 1
    max_side: int = 4
    differentiable: bool = True
    double_grad: bool = True
    float32: bool = True
    deterministic: bool = True
    keeps_dtype: bool = True
    reference: Callable[..., Any] | None = None
    tolerances: Mapping[str, float] = dataclasses.field(default_factory=dict)
    xfail: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.args or not all(isinstance(a, ArgSpec) for a in self.args):
            raise TypeError(f"FunctionSpec {self.name!r}: args must be ArgSpecs")
        for key, value in self.kwargs.items():
            if not isinstance(value, Kwarg):
                raise TypeError(
                    f"FunctionSpec {self.name!r}: kwarg {key!r} has descriptor "
                    f"{value!r}; expected Fixed, OneOf, Axis, ... or Derived"
                )
        unknown = set(self.xfail) - set(CHECKS)
        if unknown:
            raise ValueError(
                f"FunctionSpec {self.name!r}: unknown xfail check(s) "
                f"{sorted(unknown)}; known: {CHECKS}"
            )

    @property
    def shaped_args(self) -> tuple[int, ...]:
        """Positions of the arguments that get a drawn shape (not static)."""
        return tuple(i for i, a in enumerate(self.args) if a.kind != "static")


@dataclasses.dataclass(frozen=True)
class Case:
    """One drawn call of a specced function.

    Attributes:
        args: the positional arguments (arrays, or static values).
        kwargs: the keyword arguments.
        seed: seeds the upstream gradients and projections of the checks.
    """

    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    seed: int = 0


#: The checks a spec drives, in the order they run.
CHECKS = ("forward", "grad", "double_grad", "float32")


def resolve_spec(target: FunctionSpec | str) -> FunctionSpec:
    """Return a FunctionSpec, importing it from ``"module:attr"`` when a string.

    Raises:
        ImportError: the module cannot be imported.
        TypeError: the attribute is missing or is not a FunctionSpec.
    """
    if isinstance(target, FunctionSpec):
        return target
    module_name, _, attr = str(target).partition(":")
    found = getattr(importlib.import_module(module_name), attr, None)
    if not isinstance(found, FunctionSpec):
        raise TypeError(
            f"resolve_spec: {target!r} does not name a FunctionSpec "
            f"(found {type(found).__name__}); expected 'module:ATTR'"
        )
    return found
