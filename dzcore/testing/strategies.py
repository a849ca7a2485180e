"""Hypothesis strategies for dz tests: arrays in a domain, shapes, axes, indices.

Every strategy here builds its values instead of filtering them: values
away from a kink are drawn from the intervals between the kinks, distinct
values from a shuffled grid with bounded jitter, shapes from rules that
only produce valid ones. Floats are always bounded and never NaN,
infinite or subnormal. :func:`spec_inputs` draws a whole call of a
function from its :class:`~dzcore.testing.spec.FunctionSpec`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dzcore.testing import spec as sp

Shape = tuple[int, ...]

_UNIT_TEN = sp.Interval(-10.0, 10.0)


def _segments(domain: sp.Interval, avoid: Sequence[float], margin: float) -> list:
    """The pieces of ``domain`` that stay ``margin`` away from every point."""
    pieces = [(domain.lo, domain.hi, domain.open_lo, domain.open_hi)]
    for point in sorted(avoid):
        split = []
        for lo, hi, open_lo, open_hi in pieces:
            if point - margin > lo:
                split.append((lo, min(hi, point - margin), open_lo, False))
            if point + margin < hi:
                split.append((max(lo, point + margin), hi, False, open_hi))
        pieces = split
    if not pieces:
        raise ValueError(
            f"no values in {domain} stay {margin} away from the points {avoid}"
        )
    return pieces


def away_from(
    points: Sequence[float] = (), margin: float = 1e-2, domain: sp.Interval = sp.REAL
) -> st.SearchStrategy[float]:
    """Floats in ``domain`` at least ``margin`` from each of ``points``."""
    domain = domain.bounded(sp.DRAW_LIMIT)
    return st.one_of(
        [
            st.floats(
                lo,
                hi,
                exclude_min=open_lo,
                exclude_max=open_hi,
                allow_nan=False,
                allow_infinity=False,
                allow_subnormal=False,
            )
            for lo, hi, open_lo, open_hi in _segments(domain, points, margin)
        ]
    )


def float_arrays(
    shape: Shape,
    domain: sp.Interval = sp.REAL,
    avoid: Sequence[float] = (),
    margin: float = 1e-2,
    unique: bool = False,
    dtype: Any = np.float64,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` with finite values in ``domain``, away from ``avoid``."""
    elements = away_from(avoid, margin, domain)
    return hnp.arrays(dtype, shape, elements=elements, unique=unique)


@st.composite
def distinct_arrays(
    draw: st.DrawFn,
    shape: Shape,
    domain: sp.Interval = _UNIT_TEN,
    min_gap: float = 1e-2,
) -> np.ndarray:
    """Arrays whose values are pairwise at least ``min_gap`` apart (no ties).

    Values are a shuffled grid over ``domain`` plus a jitter smaller than
    the grid step less ``min_gap``, so no two values come closer than that.
    """
    size = math.prod(shape)
    lo, hi = domain.bounded(sp.DRAW_LIMIT).lo, domain.bounded(sp.DRAW_LIMIT).hi
    step = (hi - lo) / max(size, 1)
    if step < 2 * min_gap:
        raise ValueError(
            f"distinct_arrays: {size} values {min_gap} apart do not fit in {domain}"
        )
    order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    half = (step - min_gap) / 2
    jitter = draw(float_arrays((size,), sp.Interval(-half, half)))
    return (lo + step * (order + 0.5) + jitter).reshape(shape)


def elementwise_shapes(
    count: int,
    broadcast: bool = True,
    min_dims: int = 0,
    max_dims: int = 3,
    min_side: int = 1,
    max_side: int = 4,
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """``count`` shapes that broadcast together (or, if not ``broadcast``, equal)."""
    bounds = {"min_dims": min_dims, "max_dims": max_dims}
    bounds.update(min_side=min_side, max_side=max_side)
    if not broadcast:
        return hnp.array_shapes(**bounds).map(lambda shape: (shape,) * count)
    return hnp.mutually_broadcastable_shapes(num_shapes=count, **bounds).map(
        lambda drawn: drawn.input_shapes
    )


def gufunc_shapes(
    signature: str, loop_dims: int = 2, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Input shapes for a gufunc ``signature`` with up to ``loop_dims`` batch dims."""
    return hnp.mutually_broadcastable_shapes(
        signature=signature, max_dims=loop_dims, min_side=min_side, max_side=max_side
    ).map(lambda drawn: drawn.input_shapes)


def axes(
    ndim: int, negative: bool = True, tuples: bool = True, none: bool = True
) -> st.SearchStrategy[Any]:
    """An axis argument for ``ndim`` dims: int, tuple (negative ones too) or None."""
    low = -ndim if negative else 0
    choices = [st.integers(low, ndim - 1)] if ndim else []
    if tuples:
        tuples_drawn = hnp.valid_tuple_axes(ndim)
        if not negative:
            tuples_drawn = tuples_drawn.map(lambda t: tuple(a % ndim for a in t))
        choices.append(tuples_drawn)
    if none or not choices:
        choices.append(st.none())
    return st.one_of(choices)


@st.composite
def permutations_of(draw: st.DrawFn, ndim: int) -> tuple[int, ...] | None:
    """None, or a permutation of ``range(ndim)`` with some axes negative."""
    if draw(st.booleans()):
        return None
    order = draw(st.permutations(range(ndim)))
    return tuple(a - ndim if draw(st.booleans()) else a for a in order)


@st.composite
def new_shapes(draw: st.DrawFn, shape: Shape) -> tuple[int, ...]:
    """A shape of the same size as ``shape``, perhaps with one ``-1``."""
    size = math.prod(shape)
    if size == 0:
        return draw(st.sampled_from([(0,), tuple(reversed(shape)), (0, 1)]))
    factors = draw(st.permutations(_prime_factors(size)))
    dims = draw(st.integers(0 if size == 1 else 1, 3))
    if dims == 0:
        return ()
    cut = st.integers(0, len(factors))
    cuts = sorted(draw(st.lists(cut, min_size=dims - 1, max_size=dims - 1)))
    bounds = [0, *cuts, len(factors)]
    result = [
        math.prod(factors[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    if result and draw(st.booleans()):
        result[draw(st.integers(0, len(result) - 1))] = -1
    return tuple(result)


def _prime_factors(n: int) -> list[int]:
    factors, k = [], 2
    while n > 1:
        while n % k == 0:
            factors.append(k)
            n //= k
        k += 1
    return factors


@st.composite
def broadcast_targets(draw: st.DrawFn, shape: Shape) -> tuple[int, ...]:
    """A shape that ``shape`` broadcasts to: new leading dims, 1s grown."""
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    grown = [draw(st.integers(1, 3)) if side == 1 else side for side in shape]
    return tuple(lead + grown)


@st.composite
def sum_targets(draw: st.DrawFn, shape: Shape) -> tuple[int, ...]:
    """A shape that ``shape`` sums down to: some dims set to 1, leading ones dropped."""
    kept = [1 if draw(st.booleans()) else side for side in shape]
    return tuple(kept[draw(st.integers(0, len(shape))) :])


def indices(shape: Shape, advanced: bool = True) -> st.SearchStrategy[Any]:
    """An index into ``shape``: basic (ints, slices, Ellipsis) or integer arrays.

    Integer-array indices repeat elements often, which is what a backward
    that overwrites instead of accumulating gets wrong.
    """
    basic = hnp.basic_indices(shape, allow_ellipsis=True)
    if not advanced or not shape or 0 in shape:
        return basic
    result_shape = hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)
    return st.one_of(basic, hnp.integer_array_indices(shape, result_shape=result_shape))


def labels(count: int, classes: int) -> st.SearchStrategy[np.ndarray]:
    """``count`` integer class labels in ``[0, classes)``."""
    return hnp.arrays(np.int64, (count,), elements=st.integers(0, classes - 1))


def cotangents(shape: Shape) -> st.SearchStrategy[np.ndarray]:
    """Upstream gradients: distinct values in [-1, 1], never all ones."""
    return float_arrays(shape, sp.Interval(-1.0, 1.0), unique=True)


def seeds() -> st.SearchStrategy[int]:
    """Seeds for the random draws inside the gradient checks."""
    return st.integers(0, 2**32 - 1)


def spec_shapes(spec: sp.FunctionSpec) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Shapes for the non-static arguments of ``spec``, following its rule."""
    count = len(spec.shaped_args)
    rule = spec.shapes
    if isinstance(rule, sp.Signature):
        return gufunc_shapes(
            rule.signature, rule.loop_dims, spec.min_side, spec.max_side
        )
    if isinstance(rule, sp.CustomShapes):
        return rule.factory()
    return elementwise_shapes(
        count,
        rule.broadcast,
        spec.min_dims,
        spec.max_dims,
        spec.min_side,
        spec.max_side,
    )


def arg_values(
    arg: sp.ArgSpec, shape: Shape, shapes: dict[int, Shape], grad: bool = True
) -> st.SearchStrategy[Any]:
    """Values for one argument of ``shape``; ``shapes`` holds every drawn shape."""
    if arg.kind == "static":
        return st.just(arg.value)
    if arg.kind == "labels":
        return labels(shape[0] if shape else 0, shapes[arg.labels_of][-1])
    domain = arg.domain_for(grad)
    if arg.distinct:
        return distinct_arrays(shape, domain, arg.min_gap)
    return float_arrays(shape, domain, arg.avoid, arg.margin)


def kwarg_values(kwarg: sp.Kwarg, shapes: dict[int, Shape]) -> st.SearchStrategy:
    """Values for one keyword argument described by ``kwarg``."""
    if isinstance(kwarg, sp.Fixed):
        return st.just(kwarg.value)
    if isinstance(kwarg, sp.OneOf):
        return st.sampled_from(kwarg.values)
    if isinstance(kwarg, sp.Derived):
        return kwarg.factory(shapes)
    shape = shapes[kwarg.of]
    if isinstance(kwarg, sp.Axis):
        return axes(len(shape), kwarg.negative, kwarg.tuples, kwarg.none)
    if isinstance(kwarg, sp.Index):
        return indices(shape, kwarg.advanced)
    builders = {
        sp.Permutation: lambda: permutations_of(len(shape)),
        sp.NewShape: lambda: new_shapes(shape),
        sp.BroadcastTarget: lambda: broadcast_targets(shape),
        sp.SumTarget: lambda: sum_targets(shape),
    }
    return builders[type(kwarg)]()


@st.composite
def spec_inputs(draw: st.DrawFn, spec: sp.FunctionSpec, grad: bool = True) -> sp.Case:
    """One call of the function ``spec`` describes: args, kwargs and a seed.

    Args:
        spec: the function's spec.
        grad: draw floats from each argument's grad domain (True) or from
            its wider valid domain (False, for forward tests).
    """
    drawn = draw(spec_shapes(spec).map(tuple))
    shapes = dict(zip(spec.shaped_args, drawn, strict=True))
    args = tuple(
        draw(arg_values(arg, shapes.get(i, ()), shapes, grad))
        for i, arg in enumerate(spec.args)
    )
    kwargs = {
        key: draw(kwarg_values(kwarg, shapes)) for key, kwarg in spec.kwargs.items()
    }
    return sp.Case(args, kwargs, draw(seeds()))


__all__ = [
    "away_from",
    "axes",
    "broadcast_targets",
    "cotangents",
    "distinct_arrays",
    "elementwise_shapes",
    "float_arrays",
    "gufunc_shapes",
    "indices",
    "labels",
    "new_shapes",
    "permutations_of",
    "seeds",
    "arg_values",
    "kwarg_values",
    "spec_inputs",
    "spec_shapes",
    "sum_targets",
]
