"""Conformance checks that any dz plugin author can run on their plugin.

The same checks run three ways:

- ``dz check-plugin NAME [--examples N] [-v]``: one line per check, ``ok``
  or ``FAIL`` with a reason; exit status 0 only if every check passes.
- ``pytest --pyargs dzcore.testing.conformance --dz-plugin NAME``: one
  test per check (``--dz-examples N`` sets the Hypothesis examples).
- In the plugin's own test file::

      from dzcore.testing.conformance import parametrize_plugin_checks

      test_lion_conforms = parametrize_plugin_checks("lion")

Checks are generated from the registry when tests are collected, with
ids such as ``optim[loads_in_subprocess]`` and
``optim:adam[decreases_quadratic]``:

- the plugin (``NAME[...]``): ``installed`` (entry point with a version in
  the installed metadata), ``loads_in_subprocess`` (a fresh interpreter
  loads it alone, status ok, no torch/tensorflow/jax imported, the same
  components), ``status`` (ok here), ``hooks`` (only dz hooks, all
  marked), ``deterministic`` (two more hook calls register exactly what
  the load did, no name twice), ``names`` (valid, identifiers, claimed by
  no other plugin), ``targets`` (every lazy target and spec imports),
  ``summaries``;
- each optimizer: ``decreases_quadratic`` (default options, 20 steps on
  ``0.5*sum(a*w**2)``), ``zero_grad_unchanged`` (unless registered with
  ``moves_on_zero_grad=True``), ``resumes_from_state_dict`` (through
  ``np.savez`` without pickle);
- each function: ``spec`` (a ``spec=`` FunctionSpec is registered), then
  the spec-driven ``forward``, ``grad``, ``double_grad`` and ``float32``
  checks of :mod:`dzcore.testing.speccheck` on Hypothesis-generated cases
  (derandomized, so runs repeat); a spec's ``xfail`` entries are strict
  expected failures;
- each dataset: ``len_and_items``; each transform: ``callable``.

A broken plugin (status ``failed``, ``invalid``, ...) gives failing
plugin checks rather than an error. Hypothesis and pytest are needed only
for the function checks and the pytest entry points.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dzcore import plugins
from dzcore.errors import PluginError
from dzcore.testing import _conformance_components as comps
from dzcore.testing import _conformance_optim as optim
from dzcore.testing import _conformance_plugin as plugin_checks
from dzcore.testing._conformance_base import (
    DEFAULT_EXAMPLES,
    Check,
    CheckSkippedError,
    ConformanceError,
    Outcome,
    run_check,
)

__all__ = [
    "DEFAULT_EXAMPLES",
    "Check",
    "CheckSkippedError",
    "ConformanceError",
    "Outcome",
    "UnknownPluginError",
    "collect_checks",
    "parametrize_plugin_checks",
    "run_check",
    "run_checks",
]

_PLUGIN_CHECKS: tuple[tuple[str, Callable[[str], None]], ...] = (
    ("installed", plugin_checks.check_installed),
    ("loads_in_subprocess", plugin_checks.check_loads_in_subprocess),
    ("status", plugin_checks.check_status),
    ("hooks", plugin_checks.check_hooks),
    ("deterministic", plugin_checks.check_deterministic),
    ("names", plugin_checks.check_names),
    ("targets", plugin_checks.check_targets),
    ("summaries", plugin_checks.check_summaries),
)

_OPTIMIZER_CHECKS = (
    ("decreases_quadratic", optim.check_decreases_quadratic),
    ("zero_grad_unchanged", optim.check_zero_grad),
    ("resumes_from_state_dict", optim.check_resumes),
)


#: Builds a dataset in the temporary folder it is given.
Factory = Callable[[Path], Any]


class UnknownPluginError(PluginError, LookupError):
    """No installed or registered plugin has the name asked for."""


def known_plugin(name: str) -> str:
    """Returns the plugin's exact name, or raises listing the installed ones.

    Raises:
        UnknownPluginError: No plugin has that name (any case), or it is
            disabled, so its components cannot be checked.
    """
    info = plugin_checks.info_of(name)
    if info is None:
        names = sorted(i.name for i in plugins.plugin_infos())
        raise UnknownPluginError(
            f"no dz plugin is named {name!r}; installed plugins: "
            f"{', '.join(names) or '(none)'} (see `dz list-plugins`)"
        )
    if info.status == "disabled":
        raise UnknownPluginError(
            f"plugin {name!r} is disabled by {info.disabled_by}; enable it to "
            "check it (unset DZ_PLUGINS / DZ_DISABLE_PLUGINS)"
        )
    return info.name


def collect_checks(
    name: str,
    examples: int = DEFAULT_EXAMPLES,
    expected_failures: Mapping[str, str] | None = None,
    factories: Mapping[str, Factory] | None = None,
) -> list[Check]:
    """Returns every conformance check of plugin ``name``, not yet run.

    Args:
        name: The plugin name (the entry-point name; any case).
        examples: Hypothesis examples per function check.
        expected_failures: Check id (``lion:lion[zero_grad_unchanged]``) or
            check name (``zero_grad_unchanged``) -> why it is known to fail;
            such checks are strict expected failures.
        factories: Dataset name (any case) -> a function that builds a
            small instance in the temporary folder it is given, for
            datasets whose constructor needs arguments (a folder, a file).

    Raises:
        UnknownPluginError: No plugin has that name, or it is disabled.
        ValueError: ``examples`` is below 1.
    """
    if examples < 1:
        raise ValueError(f"collect_checks: examples must be >= 1, got {examples}")
    plugin = known_plugin(name)
    checks = [
        Check(plugin, "", check_name, functools.partial(run, plugin))
        for check_name, run in _PLUGIN_CHECKS
    ]
    if plugin_checks.info_of(plugin).status == "ok":
        found = {k.lower(): v for k, v in (factories or {}).items()}
        checks += _component_checks(plugin, examples, found)
    return [_with_xfail(c, expected_failures or {}) for c in checks]


def _with_xfail(check: Check, expected: Mapping[str, str]) -> Check:
    reason = expected.get(check.id) or expected.get(check.name) or check.xfail
    return Check(check.plugin, check.component, check.name, check.run, reason)


def _component_checks(
    plugin: str, examples: int, factories: Mapping[str, Factory]
) -> list[Check]:
    checks = []
    for kind in plugins.KINDS:
        for comp in plugins.components(kind):
            if comp.plugin == plugin:
                factory = factories.get(comp.name.lower())
                checks += _checks_of(kind, comp, examples, factory)
    return checks


def _checks_of(
    kind: str, comp: Any, examples: int, factory: Factory | None
) -> list[Check]:
    component = f"{kind}:{comp.name.lower()}"

    def make(name: str, run: Callable[[], None], xfail: str = "") -> Check:
        return Check(comp.plugin, component, name, run, xfail)

    if kind == "optimizers":
        return [make(n, functools.partial(f, comp)) for n, f in _OPTIMIZER_CHECKS]
    if kind == "datasets":
        run = functools.partial(comps.check_dataset, comp, factory)
        return [make("len_and_items", run)]
    if kind == "transforms":
        return [make("callable", functools.partial(comps.check_transform, comp))]
    return _function_checks(comp, examples, make)


def _function_checks(comp: Any, examples: int, make: Callable[..., Check]) -> list:
    from dzcore.testing.spec import CHECKS
    from dzcore.testing.speccheck import supports

    checks = [make("spec", functools.partial(comps.check_spec, comp))]
    try:
        spec = comps.function_spec(comp)
    except Exception:
        return checks  # the "spec" check reports the problem
    for name in CHECKS:
        if supports(spec, name):
            run = comps.spec_runner(comp, spec, name, examples)
            checks.append(make(name, run, spec.xfail.get(name, "")))
    return checks


def run_checks(
    name: str,
    examples: int = DEFAULT_EXAMPLES,
    expected_failures: Mapping[str, str] | None = None,
    factories: Mapping[str, Factory] | None = None,
) -> list[Outcome]:
    """Collects and runs every check of plugin ``name``; see :func:`collect_checks`."""
    checks = collect_checks(name, examples, expected_failures, factories)
    return [run_check(c) for c in checks]


def parametrize_plugin_checks(
    name: str,
    examples: int = DEFAULT_EXAMPLES,
    expected_failures: Mapping[str, str] | None = None,
    factories: Mapping[str, Factory] | None = None,
) -> Callable[..., None]:
    """Returns a pytest test function with one case per conformance check.

    Assign it to a ``test_`` name in a test module::

        test_lion_conforms = parametrize_plugin_checks("lion")

    The checks are collected from the registry when the module is imported.
    Arguments are those of :func:`collect_checks`; expected failures run as
    strict xfails.
    """
    import pytest

    params = [
        pytest.param(check, id=check.id, marks=_marks(check))
        for check in collect_checks(name, examples, expected_failures, factories)
    ]

    @pytest.mark.parametrize("dz_check", params)
    def test_plugin_check(dz_check: Check) -> None:
        run_in_pytest(dz_check)

    return test_plugin_check


def _marks(check: Check) -> list[Any]:
    import pytest

    if not check.xfail:
        return []
    return [pytest.mark.xfail(strict=True, reason=check.xfail, raises=Exception)]


def run_in_pytest(check: Check) -> None:
    """Runs ``check`` in a pytest test: a skip becomes ``pytest.skip``."""
    import pytest

    try:
        check.run()
    except CheckSkippedError as exc:
        pytest.skip(str(exc))


def pytest_generate_tests(metafunc: Any) -> None:
    """Parametrizes :func:`test_plugin_conforms` from ``--dz-plugin``."""
    if "dz_check" not in metafunc.fixturenames or metafunc.function is not (
        test_plugin_conforms
    ):
        return
    import pytest

    names = metafunc.config.getoption("dz_plugin", default=None) or []
    if not names:
        raise pytest.UsageError(
            "dzcore.testing.conformance: name the plugin to check with "
            "--dz-plugin NAME (see `dz list-plugins`)"
        )
    examples = metafunc.config.getoption("dz_examples", default=None)
    params = [
        pytest.param(check, id=check.id, marks=_marks(check))
        for name in names
        for check in collect_checks(name, examples or DEFAULT_EXAMPLES)
    ]
    metafunc.parametrize("dz_check", params)


def test_plugin_conforms(dz_check: Check) -> None:
    """One conformance check of the plugin named by ``--dz-plugin``."""
    run_in_pytest(dz_check)
