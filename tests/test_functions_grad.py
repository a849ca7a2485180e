"""Generated tests of every core op, from its FunctionSpec in core_specs.

For each op and each check its spec supports: forward values against the
NumPy reference, ``check_grad`` in float64 on random shapes (broadcasting
ones included), ``check_double_grad``, and float32 consistency. Run them
with ``--hypothesis-profile=dz-ci`` for the fixed CI examples.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dzcore.functions as F
from dzcore import Variable, test_mode
from dzcore.testing import check_double_grad, check_function_spec, check_grad, supports
from dzcore.testing.core_specs import CORE_SPECS, core_function
from dzcore.testing.spec import CHECKS
from dzcore.testing.strategies import spec_inputs


def _params():
    for key, spec in sorted(CORE_SPECS.items()):
        for check in CHECKS:
            if not supports(spec, check):
                continue
            reason = spec.xfail.get(check)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(key, check, id=f"{key}-{check}", marks=marks)


@pytest.mark.parametrize(("key", "check"), list(_params()))
# Numeric checks: no deadline, whatever profile is loaded (a loaded
# machine must not turn a slow example into a failure).
@settings(deadline=None)
@given(data=st.data())
def test_core_op_passes_spec_check(key, check, data):
    spec = CORE_SPECS[key]
    case = data.draw(spec_inputs(spec, grad=check != "forward"), label="case")
    check_function_spec(core_function(spec), spec, case, check)


# Pinned examples that random draws cannot be trusted to hit.


def test_get_item_repeated_indices_accumulate():
    x = np.arange(6.0).reshape(2, 3)
    check_grad(lambda v: F.get_item(v, np.array([0, 0, 1])), x)
    v = Variable(x)
    F.get_item(v, [0, 0, 1]).backward()
    np.testing.assert_array_equal(v.grad.data, [[2, 2, 2], [1, 1, 1]])


def test_add_double_grad_keeps_second_operand_in_graph():
    # Regression: the second operand's gradient was a constant copy of gy.
    x, w = Variable(np.array(1.0)), Variable(np.array(2.0))
    ((x + w) ** 2).backward(create_graph=True)
    gw = w.grad
    x.cleargrad()
    w.cleargrad()
    gw.backward()
    assert x.grad is not None and float(x.grad.data) == 2.0
    check_double_grad(F.add, np.array([0.5, -1.0]), np.array(2.0))


@pytest.mark.parametrize("op", [F.max, F.min])
def test_max_min_ties_share_gradient_equally(op):
    x = Variable(
        np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]) * (1 if op is F.max else -1)
    )
    op(x, axis=1).backward()
    third = 1 / 3
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [third, third, third]])


def test_softmax_cross_entropy_matches_logsumexp_at_large_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]])
    t = np.array([1, 1])
    m = x.max(axis=1, keepdims=True)
    log_z = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    expected = -np.mean(x[np.arange(2), t] - log_z)
    np.testing.assert_allclose(F.softmax_cross_entropy(x, t).data, expected)


def test_dropout_zeroes_or_scales_and_is_identity_in_test_mode():
    x = np.random.default_rng(0).uniform(1, 2, size=(50,))
    y = F.dropout(x, 0.5).data
    assert np.all((y == 0) | np.isclose(y, 2 * x))
    assert 0 < np.count_nonzero(y) < 50
    with test_mode():
        np.testing.assert_array_equal(F.dropout(x, 0.5).data, x)
