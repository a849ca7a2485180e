"""Tests of dzcore.testing.spec: intervals, argument presets, spec validation."""

import math
import subprocess
import sys
import types

import pytest

import dzcore.functions as F
from dzcore.testing import spec as sp
from dzcore.testing.core_specs import CORE_SPECS, core_function


def test_interval_contains_respects_open_ends():
    interval = sp.Interval(0.0, 1.0, open_lo=True)
    assert not interval.contains(0.0)
    assert interval.contains(1.0)
    assert interval.contains(0.5)


def test_interval_rejects_reversed_bounds():
    with pytest.raises(ValueError, match="lo 2 is greater than hi 1"):
        sp.Interval(2, 1)


def test_interval_bounded_cuts_infinite_ends_only():
    cut = sp.Interval(-math.inf, 3.0, open_hi=True).bounded(100.0)
    assert cut == sp.Interval(-100.0, 3.0, False, True)


def test_argspec_default_grad_domain_is_shrunk_and_limited():
    assert sp.real().domain_for(grad=True) == sp.Interval(-10.0, 10.0)
    unit = sp.bounded(0.0, 1.0, margin=0.1).domain_for(grad=True)
    assert unit == sp.Interval(0.1, 0.9)


def test_presets_declare_their_domains():
    assert sp.positive().domain_for(grad=True).lo > 0
    assert not sp.positive().domain.contains(0.0)
    assert sp.nonzero().avoid == (0.0,)
    assert sp.open_unit().domain_for(grad=True) == sp.Interval(0.01, 0.99)
    assert sp.labels(of=0).kind == "labels"
    assert sp.static(3).value == 3


def test_argspec_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be"):
        sp.ArgSpec(kind="complex")


def test_function_spec_rejects_bad_kwarg_descriptor():
    with pytest.raises(TypeError, match="kwarg 'axis' has descriptor 3"):
        sp.FunctionSpec("f", (sp.real(),), kwargs={"axis": 3})


def test_function_spec_rejects_unknown_xfail_check():
    with pytest.raises(ValueError, match="unknown xfail check"):
        sp.FunctionSpec("f", (sp.real(),), xfail={"speed": "slow"})


def test_function_spec_requires_argspecs():
    with pytest.raises(TypeError, match="args must be ArgSpecs"):
        sp.FunctionSpec("f", ("x",))


def test_resolve_spec_imports_module_attribute(monkeypatch):
    spec = CORE_SPECS["tanh"]
    module = types.ModuleType("dz_fake_specs")
    module.TANH = spec
    monkeypatch.setitem(sys.modules, "dz_fake_specs", module)
    assert sp.resolve_spec("dz_fake_specs:TANH") is spec
    assert sp.resolve_spec(spec) is spec


def test_resolve_spec_rejects_non_spec_target():
    with pytest.raises(TypeError, match="does not name a FunctionSpec"):
        sp.resolve_spec("dzcore.testing.core_specs:CORE_SPECS")


def test_spec_module_imports_neither_hypothesis_nor_pytest():
    code = (
        "import sys, dzcore.testing, dzcore.testing.core_specs; "
        "print('hypothesis' in sys.modules, 'pytest' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_core_specs_cover_every_core_op():
    ops = {name for name in F.__all__ if name[0].islower()}
    specced = {spec.name for spec in CORE_SPECS.values()}
    assert ops - specced == set()


def test_core_specs_name_existing_functions():
    for spec in CORE_SPECS.values():
        assert callable(core_function(spec)), spec.name
