"""Conformance checks of functions, datasets and transforms fail when they should.

Each test registers an in-process plugin that breaks one rule, through a
fixture that unregisters it on teardown, and runs the checks on it.
"""

import numpy as np
import pytest
from _conformance_helpers import fresh_plugins, outcomes, plugin_module, registering

from dzcore import Function
from dzcore.testing.conformance import run_checks
from dzcore.testing.spec import FunctionSpec, real


@pytest.fixture(autouse=True)
def installed_plugins(monkeypatch):
    """Every test sees the installed plugins afresh."""
    yield from fresh_plugins(monkeypatch)


@pytest.fixture
def register():
    """Registers fake plugins for one test; unregisters them afterwards."""
    yield from registering()


class WrongSquare(Function):
    """x**2 with the gradient gy * x (the factor 2 forgotten)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0]


def wrong_square(x):
    """Squares x; its backward is wrong on purpose."""
    return WrongSquare()(x)


WRONG_SQUARE = FunctionSpec("wrong_square", (real(),), double_grad=False)


def _functions(*entries):
    def dz_register_functions(registry):
        for name, target, metadata in entries:
            registry.add(name, target, **metadata)

    return plugin_module("funcs", dz_register_functions=dz_register_functions)


def test_conformance_function_without_spec_is_one_failing_item(register):
    register(_functions(("wrong_square", wrong_square, {})), "fakefn")
    found = outcomes("fakefn")
    assert [i for i in found if i.startswith("fakefn:")] == [
        "fakefn:wrong_square[spec]"
    ]
    assert "without a spec" in found["fakefn:wrong_square[spec]"].reason


def test_conformance_wrong_gradient_fails_grad_check(register):
    spec = {"spec": WRONG_SQUARE}
    register(_functions(("wrong_square", wrong_square, spec)), "fakefn")
    found = outcomes("fakefn", examples=5)
    assert found["fakefn:wrong_square[spec]"].status == "ok"
    assert found["fakefn:wrong_square[forward]"].status == "ok"
    grad = found["fakefn:wrong_square[grad]"]
    assert grad.status == "FAIL"
    assert "wrong_square" in grad.detail


def test_conformance_expected_failure_is_strict(register):
    spec = {"spec": WRONG_SQUARE}
    register(_functions(("wrong_square", wrong_square, spec)), "fakefn")
    expected = {"grad": "factor 2 missing", "forward": "not really"}
    found = outcomes("fakefn", examples=3, expected_failures=expected)
    assert found["fakefn:wrong_square[grad]"].status == "xfail"
    assert found["fakefn:wrong_square[forward]"].status == "XPASS"
    assert not found["fakefn:wrong_square[forward]"].passed


class CountingDataset:
    """Claims ten samples but holds nine."""

    def __len__(self):
        return 10

    def __getitem__(self, index):
        if not -9 <= index < 9:
            raise IndexError(index)
        return np.full(2, index % 9), index % 9


def _datasets(*entries):
    def dz_register_datasets(registry):
        for name, target in entries:
            registry.add(name, target)

    return plugin_module("data", dz_register_datasets=dz_register_datasets)


def test_conformance_dataset_whose_len_lies_fails(register):
    register(_datasets(("counting", CountingDataset)), "fakedata")
    outcome = outcomes("fakedata")["fakedata:counting[len_and_items]"]
    assert outcome.status == "FAIL"


def test_conformance_dataset_needing_arguments_is_skipped_with_reason(register):
    class Folder(CountingDataset):
        """Needs a folder."""

        def __init__(self, root):
            self.root = root

    register(_datasets(("folder", Folder)), "fakedata")
    outcome = outcomes("fakedata")["fakedata:folder[len_and_items]"]
    assert outcome.status == "skip" and "root" in outcome.reason


def test_conformance_dataset_factory_builds_in_a_temporary_folder(register):
    folders = []

    def build(folder):
        folders.append(folder)
        assert folder.is_dir()
        return CountingDataset()

    register(_datasets(("counting", CountingDataset)), "fakedata")
    found = {
        o.check.id: o for o in run_checks("fakedata", factories={"Counting": build})
    }
    assert found["fakedata:counting[len_and_items]"].status == "FAIL"
    assert folders and not folders[0].exists()


def test_conformance_transform_must_be_callable(register):
    def dz_register_transforms(registry):
        registry.add("number", 5, summary="not a transform")
        registry.add("double", lambda x: x * 2, summary="doubles")

    module = plugin_module("tf", dz_register_transforms=dz_register_transforms)
    register(module, "faketf")
    found = outcomes("faketf")
    assert found["faketf:number[callable]"].status == "FAIL"
    assert found["faketf:double[callable]"].status == "ok"
