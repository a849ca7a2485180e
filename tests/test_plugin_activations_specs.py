"""The dz-activations specs drive every generated check of their functions."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dzcore.testing import check_function_spec, resolve_spec, supports
from dzcore.testing.spec import CHECKS
from dzcore.testing.strategies import spec_inputs
from dzplugins.activations import ops
from dzplugins.activations.specs import SPECS

PARAMS = [
    pytest.param(name, check, id=f"{name}-{check}")
    for name, spec in sorted(SPECS.items())
    for check in CHECKS
    if supports(spec, check)
]


@pytest.mark.parametrize(("name", "check"), PARAMS)
# Numeric checks: no deadline, whatever profile is loaded (a loaded
# machine must not turn a slow example into a failure).
@settings(deadline=None)
@given(data=st.data())
def test_activation_passes_spec_check(name, check, data):
    spec = SPECS[name]
    case = data.draw(spec_inputs(spec, grad=check != "forward"), label="case")
    check_function_spec(getattr(ops, name), spec, case, check)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_activation_spec_resolves_from_registry_string(name):
    target = f"dzplugins.activations.specs:{name.upper()}"
    assert resolve_spec(target) is SPECS[name]
