"""Tests of dzcore.testing.strategies: every strategy builds only valid values."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from dzcore.testing import spec as sp
from dzcore.testing import strategies as dst
from dzcore.testing.core_specs import CORE_SPECS

small_shapes = st.tuples(*[st.integers(1, 3)] * 2).flatmap(
    lambda s: st.sampled_from([(), s[:1], s])
)


@settings(deadline=None)
@given(data=st.data(), shape=small_shapes)
def test_float_arrays_stay_in_domain_and_away_from_points(data, shape):
    domain = sp.Interval(-2.0, 3.0, open_hi=True)
    x = data.draw(dst.float_arrays(shape, domain, avoid=(0.0, 1.0), margin=0.1))
    assert x.shape == shape and x.dtype == np.float64
    assert np.all(np.isfinite(x))
    assert np.all((x >= -2.0) & (x < 3.0))
    assert np.all(np.abs(x) >= 0.1) and np.all(np.abs(x - 1.0) >= 0.1)
    tiny = np.abs(x) < np.finfo(np.float64).tiny
    assert not np.any(tiny & (x != 0))  # no subnormals


def test_float_arrays_bound_infinite_domains():
    x = find(dst.float_arrays((3,)), lambda a: np.abs(a).max() > 50)
    assert np.abs(x).max() <= sp.DRAW_LIMIT


def test_away_from_raises_when_nothing_is_left():
    with pytest.raises(ValueError, match="stay 1.0 away"):
        dst.away_from((0.0,), 1.0, sp.Interval(-0.5, 0.5))


@settings(deadline=None)
@given(data=st.data(), shape=small_shapes)
def test_distinct_arrays_keep_min_gap(data, shape):
    x = data.draw(dst.distinct_arrays(shape, sp.Interval(-1.0, 1.0), min_gap=0.05))
    values = np.sort(x.ravel())
    assert np.all(np.diff(values) >= 0.05 - 1e-12)
    assert np.all((values >= -1.0) & (values <= 1.0))


def test_distinct_arrays_refuse_too_narrow_domain():
    with pytest.raises(ValueError, match="do not fit"):
        find(dst.distinct_arrays((10,), sp.Interval(0.0, 0.1), 0.05), lambda x: True)


@settings(deadline=None)
@given(shapes=dst.elementwise_shapes(3, min_side=0))
def test_elementwise_shapes_broadcast_together(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


@settings(deadline=None)
@given(shapes=dst.elementwise_shapes(2, broadcast=False))
def test_elementwise_shapes_without_broadcast_are_equal(shapes):
    assert shapes[0] == shapes[1]


@settings(deadline=None)
@given(shapes=dst.gufunc_shapes("(m?,n),(n,p?)->(m?,p?)", loop_dims=2))
def test_gufunc_shapes_fit_matmul(shapes):
    np.matmul(np.zeros(shapes[0]), np.zeros(shapes[1]))


@settings(deadline=None)
@given(data=st.data(), ndim=st.integers(0, 4))
def test_axes_are_valid_for_reductions(data, ndim):
    axis = data.draw(dst.axes(ndim))
    np.sum(np.zeros((2,) * ndim), axis=axis)


def test_axes_include_negative_ints_and_tuples():
    assert find(dst.axes(3), lambda a: isinstance(a, int) and a < 0) == -1
    found = find(dst.axes(3), lambda a: isinstance(a, tuple) and any(i < 0 for i in a))
    assert len(found) >= 1


@settings(deadline=None)
@given(data=st.data(), shape=small_shapes)
def test_permutations_transpose(data, shape):
    axes = data.draw(dst.permutations_of(len(shape)))
    np.transpose(np.zeros(shape), axes)


@settings(deadline=None)
@given(data=st.data(), shape=dst.elementwise_shapes(1, min_side=0).map(lambda s: s[0]))
def test_new_shapes_keep_size(data, shape):
    target = data.draw(dst.new_shapes(shape))
    assert np.zeros(shape).reshape(target).size == math.prod(shape)


@settings(deadline=None)
@given(data=st.data(), shape=small_shapes)
def test_broadcast_and_sum_targets_fit(data, shape):
    wide = data.draw(dst.broadcast_targets(shape))
    assert np.broadcast_to(np.zeros(shape), wide).shape == wide
    narrow = data.draw(dst.sum_targets(shape))
    assert np.broadcast_shapes(narrow, shape) == shape


@settings(deadline=None)
@given(data=st.data(), shape=small_shapes)
def test_indices_select_from_shape(data, shape):
    index = data.draw(dst.indices(shape))
    np.zeros(shape)[index]


def test_indices_produce_repeated_integer_arrays():
    def repeats(index):
        return isinstance(index, tuple) and any(
            isinstance(i, np.ndarray) and i.size > len(set(i.ravel().tolist()))
            for i in index
        )

    index = find(dst.indices((3,)), repeats)
    assert repeats(index)


@settings(deadline=None)
@given(t=dst.labels(5, 3))
def test_labels_are_valid_classes(t):
    assert t.shape == (5,) and t.dtype.kind == "i"
    assert np.all((t >= 0) & (t < 3))


@settings(deadline=None)
@given(gy=dst.cotangents((2, 3)))
def test_cotangents_are_bounded_and_not_all_ones(gy):
    assert np.all(np.abs(gy) <= 1.0)
    assert len(set(gy.ravel().tolist())) == gy.size


@pytest.mark.parametrize("key", sorted(CORE_SPECS))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_spec_inputs_match_spec(key, data):
    spec = CORE_SPECS[key]
    case = data.draw(dst.spec_inputs(spec))
    assert len(case.args) == len(spec.args)
    assert set(case.kwargs) == set(spec.kwargs)
    for arg, value in zip(spec.args, case.args, strict=True):
        if arg.kind == "float":
            domain = arg.domain_for(grad=True)
            assert np.all((value >= domain.lo) & (value <= domain.hi))


def test_profiles_are_registered_but_not_loaded():
    code = (
        "import dzcore.testing.pytest_plugin; from hypothesis import settings; "
        "ci = settings.get_profile('dz-ci'); "
        "print(settings._current_profile, ci.derandomize, ci.database, ci.deadline, "
        "ci.print_blob, settings.get_profile('dz-nightly').max_examples)"
    )
    env = {
        "PATH": "/usr/bin:/bin"
    }  # no CI variable: Hypothesis's own profile stays off
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.stdout.split() == ["default", "True", "None", "None", "True", "500"], (
        out.stderr
    )
