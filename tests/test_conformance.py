"""Tests of the conformance kit: first-party plugins pass, broken ones fail.

The first-party plugins (dz-optim, dz-activations, dz-datasets) are
checked through ``parametrize_plugin_checks``, exactly as a plugin author
would. Plugin-level and optimizer checks are also shown to fail on an
in-process plugin that breaks the rule each checks (function, dataset and
transform checks: ``test_conformance_components.py``); those register
through a fixture that unregisters them on teardown.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from _conformance_helpers import (
    ENV,
    fresh_plugins,
    outcomes,
    plugin_module,
    registering,
)
from _data_helpers import mnist_dir

from dzcore import plugins
from dzcore.optimizers import Optimizer
from dzcore.testing import conformance
from dzcore.testing.conformance import (
    UnknownPluginError,
    collect_checks,
    parametrize_plugin_checks,
)


@pytest.fixture(autouse=True)
def installed_plugins(monkeypatch):
    """Every test sees the installed plugins afresh, and MNIST's files."""
    monkeypatch.setenv("DZ_DATA_DIR", str(mnist_dir()))
    yield from fresh_plugins(monkeypatch)


@pytest.fixture
def register():
    """Registers fake plugins for one test; unregisters them afterwards."""
    yield from registering()


def _sample_folder(folder):
    from dzplugins.datasets.lazy import SampleFolder, write_sample_folder

    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    return SampleFolder(write_sample_folder(folder / "samples", x, np.arange(6)))


def _memmap(folder):
    from dzplugins.datasets.lazy import MemmapDataset

    np.save(folder / "x.npy", np.arange(20, dtype=np.float32).reshape(5, 4))
    np.save(folder / "t.npy", np.arange(5))
    return MemmapDataset(folder / "x.npy", folder / "t.npy")


def _first_party(name, **options):
    """The checks of ``name``, collected whatever DZ_PLUGINS says."""
    saved = {var: os.environ.pop(var) for var in ENV if var in os.environ}
    plugins.reset()
    try:
        return parametrize_plugin_checks(name, **options)
    finally:
        os.environ.update(saved)
        plugins.reset()


# The first-party plugins pass every check (collected at import time).
test_optim_conforms = _first_party("optim")
test_activations_conforms = _first_party("activations")
test_datasets_conforms = _first_party(
    "datasets", factories={"SampleFolder": _sample_folder, "memmapdataset": _memmap}
)


# In-process plugins that break one rule each.


class Descent(Optimizer):
    """Plain gradient descent, for fakes that break one rule."""

    def update_one(self, param):
        param.data -= 0.1 * param.grad.data


class Ascent(Optimizer):
    """Climbs the gradient instead of descending it."""

    def update_one(self, param):
        param.data += 0.1 * param.grad.data


class Drift(Optimizer):
    """Moves even on a zero gradient (like decoupled weight decay)."""

    def update_one(self, param):
        param.data -= 0.1 * (param.grad.data + param.data)


class Forgetful(Optimizer):
    """Momentum kept in a dict, which state_dict() does not save."""

    def __init__(self, lr=0.1):
        super().__init__(lr=lr)
        self.velocity = {}

    def update_one(self, param):
        v = self.velocity.setdefault(id(param), np.zeros_like(param.data))
        v *= 0.9
        v -= self.lr * param.grad.data
        param.data += v


def _optimizers(*entries):
    def dz_register_optimizers(registry):
        for name, cls, metadata in entries:
            registry.add(name, cls, **metadata)

    return plugin_module("optims", dz_register_optimizers=dz_register_optimizers)


def test_conformance_ids_name_plugin_component_and_check():
    ids = {c.id for c in collect_checks("optim")}
    assert "optim:adam[decreases_quadratic]" in ids
    assert "optim[loads_in_subprocess]" in ids
    assert "optim:adamw[zero_grad_unchanged]" in ids


def test_conformance_unknown_plugin_lists_installed_ones():
    with pytest.raises(UnknownPluginError, match="nope.*activations, datasets, optim"):
        collect_checks("nope")


def test_conformance_disabled_plugin_is_refused_with_reason(monkeypatch):
    monkeypatch.setenv("DZ_DISABLE_PLUGINS", "optim")
    plugins.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", plugins.DzPluginWarning)
        with pytest.raises(UnknownPluginError, match="disabled by DZ_DISABLE_PLUGINS"):
            collect_checks("optim")


def test_conformance_optimizer_checks_pass_for_descent(register):
    register(_optimizers(("descent", Descent, {})), "fakeopt")
    found = outcomes("fakeopt")
    assert {o.status for i, o in found.items() if ":" in i} == {"ok"}
    assert found["fakeopt[installed]"].status == "skip"
    assert found["fakeopt[loads_in_subprocess]"].status == "skip"


def test_conformance_ascending_optimizer_fails_quadratic(register):
    register(_optimizers(("ascent", Ascent, {})), "fakeopt")
    outcome = outcomes("fakeopt")["fakeopt:ascent[decreases_quadratic]"]
    assert outcome.status == "FAIL"
    assert "did not decrease" in outcome.reason


def test_conformance_zero_grad_respects_moves_on_zero_grad(register):
    entries = (("drift", Drift, {}), ("decay", Drift, {"moves_on_zero_grad": True}))
    register(_optimizers(*entries), "fakeopt")
    found = outcomes("fakeopt")
    assert found["fakeopt:drift[zero_grad_unchanged]"].status == "FAIL"
    assert (
        "moves_on_zero_grad=True" in found["fakeopt:drift[zero_grad_unchanged]"].reason
    )
    assert found["fakeopt:decay[zero_grad_unchanged]"].status == "ok"


def test_conformance_state_outside_slots_fails_resume(register):
    register(_optimizers(("forgetful", Forgetful, {})), "fakeopt")
    outcome = outcomes("fakeopt")["fakeopt:forgetful[resumes_from_state_dict]"]
    assert outcome.status == "FAIL"
    assert "self.slot" in outcome.reason


def test_conformance_optimizer_needing_arguments_uses_defaults_metadata(register):
    class NeedsLr(Descent):
        def __init__(self, lr):
            super().__init__(lr=lr)

    entries = (("needy", NeedsLr, {}), ("given", NeedsLr, {"defaults": {"lr": 0.1}}))
    register(_optimizers(*entries), "fakeopt")
    found = outcomes("fakeopt")
    assert "without arguments" in found["fakeopt:needy[decreases_quadratic]"].reason
    assert found["fakeopt:given[decreases_quadratic]"].status == "ok"


def test_conformance_non_optimizer_target_fails(register):
    register(_optimizers(("thing", dict, {})), "fakeopt")
    outcome = outcomes("fakeopt")["fakeopt:thing[decreases_quadratic]"]
    assert outcome.status == "FAIL" and "subclass of" in outcome.reason


def test_conformance_nondeterministic_registration_fails(register):
    calls = []

    def dz_register_optimizers(registry):
        calls.append(1)
        registry.add(f"opt{len(calls)}", Descent)

    register(
        plugin_module("counter", dz_register_optimizers=dz_register_optimizers), "ctr"
    )
    outcome = outcomes("ctr")["ctr[deterministic]"]
    assert outcome.status == "FAIL" and "different things" in outcome.reason


def test_conformance_duplicate_names_fail(register):
    entries = (("twice", Descent, {}), ("twice", Descent, {}))
    register(_optimizers(*entries), "fakeopt")
    outcome = outcomes("fakeopt")["fakeopt[deterministic]"]
    assert outcome.status == "FAIL" and "more than once" in outcome.reason


def test_conformance_name_clash_with_first_party_fails(register):
    register(_optimizers(("Adam", Descent, {})), "fakeopt")
    outcome = outcomes("fakeopt")["fakeopt[names]"]
    assert outcome.status == "FAIL" and "optim:Adam" in outcome.reason


def test_conformance_name_that_is_no_identifier_fails(register):
    register(_optimizers(("my-opt", Descent, {})), "fakeopt")
    outcome = outcomes("fakeopt")["fakeopt[names]"]
    assert outcome.status == "FAIL" and "not a Python identifier" in outcome.reason


def test_conformance_lazy_target_that_does_not_import_fails(register):
    register(_optimizers(("ghost", "no_such_module_dz:Ghost", {})), "fakeopt")
    found = outcomes("fakeopt")
    assert found["fakeopt[targets]"].status == "FAIL"
    assert "no_such_module_dz" in found["fakeopt[targets]"].reason
    assert found["fakeopt:ghost[decreases_quadratic]"].status == "FAIL"


def test_conformance_missing_summary_fails(register):
    class Bare(Descent):
        __doc__ = None

    register(_optimizers(("bare", Bare, {})), "fakeopt")
    assert outcomes("fakeopt")["fakeopt[summaries]"].status == "FAIL"


def test_conformance_broken_plugin_gives_failing_status_not_a_crash(register):
    def dz_register_optimizers(registry):
        raise RuntimeError("boom in hook")

    register(
        plugin_module("raiser", dz_register_optimizers=dz_register_optimizers), "rsr"
    )
    found = outcomes("rsr")
    assert found["rsr[status]"].status == "FAIL"
    assert "boom in hook" in found["rsr[status]"].reason
    assert not any(":" in i for i in found)


def test_conformance_unmarked_hook_fails(register):
    module = plugin_module("half", dz_register_optimizers=lambda registry: None)
    module.dz_register_datasets = lambda registry: None
    register(module, "half")
    found = outcomes("half")
    assert found["half[status]"].status == "FAIL"
    assert "not marked" in found["half[status]"].reason


def test_conformance_examples_must_be_positive():
    with pytest.raises(ValueError, match="examples must be >= 1"):
        collect_checks("optim", examples=0)


def test_conformance_module_runs_under_pytest_pyargs(pytester_like):
    result = pytester_like("--dz-plugin", "optim", "-q")
    assert result.returncode == 0, result.stdout
    assert "26 passed" in result.stdout


def test_conformance_module_without_plugin_option_says_what_to_pass(pytester_like):
    result = pytester_like("-q")
    assert result.returncode != 0
    assert "--dz-plugin NAME" in result.stdout + result.stderr


@pytest.fixture
def pytester_like(tmp_path):
    """Runs ``pytest --pyargs dzcore.testing.conformance`` in a subprocess."""

    def run(*args):
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--pyargs",
            "dzcore.testing.conformance",
            *args,
        ]
        env = {k: v for k, v in os.environ.items() if k not in ENV}
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True
        )

    return run


def test_conformance_all_public_names_exist():
    for name in conformance.__all__:
        assert hasattr(conformance, name), name
