"""Tests of ``dz check-plugin``: one line per check, exit status, errors."""

import subprocess
import sys
import types
import warnings

import pytest

from dzcore import hookimpl, plugins
from dzcore.cli import main
from dzcore.optimizers import Optimizer
from dzcore.testing.spec import FunctionSpec, real

_ENV = ("DZ_PLUGINS", "DZ_DISABLE_PLUGINS", "DZ_PLUGINS_STRICT")


@pytest.fixture(autouse=True)
def installed_plugins(monkeypatch):
    """Every test sees the installed plugins afresh."""
    for var in _ENV:
        monkeypatch.delenv(var, raising=False)
    plugins.reset()
    yield
    plugins.reset()


class Ascent(Optimizer):
    """Climbs the gradient instead of descending it."""

    def update_one(self, param):
        param.data += 0.1 * param.grad.data


@pytest.fixture
def ascent_plugin():
    """An in-process plugin whose optimizer fails the quadratic check."""
    module = types.ModuleType("dzcli_ascent")

    @hookimpl
    def dz_register_optimizers(registry):
        registry.add("ascent", Ascent)

    module.dz_register_optimizers = dz_register_optimizers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", plugins.DzPluginWarning)
        name = plugins.register(module, name="ascender")
    yield name
    plugins.unregister(name)


def test_check_plugin_passes_first_party_optim(capsys):
    assert main(["check-plugin", "optim"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "ok     optim:adam[decreases_quadratic]" in out
    assert "ok     optim[loads_in_subprocess]" in out
    assert out[-1] == "plugin 'optim' passes 26 checks: 26 ok"


def test_check_plugin_prints_fail_with_reason_and_exits_1(ascent_plugin, capsys):
    assert main(["check-plugin", ascent_plugin]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "ascent[decreases_quadratic]" in x)
    assert line.startswith("FAIL   ascender:ascent[decreases_quadratic]: ")
    assert "did not decrease" in line
    assert "skip   ascender[installed]: " in out
    assert "plugin 'ascender' FAILS" in out.splitlines()[-1]


def test_check_plugin_verbose_shows_full_message(ascent_plugin, capsys):
    main(["check-plugin", ascent_plugin, "-v"])
    out = capsys.readouterr().out
    assert "\n       optimizer ascender:ascent (seed 0, 20 steps)" in out


def test_check_plugin_unknown_name_lists_installed_and_exits_2(capsys):
    assert main(["check-plugin", "nosuchplugin"]) == 2
    err = capsys.readouterr().err
    assert "no dz plugin is named 'nosuchplugin'" in err
    assert "installed plugins: activations, datasets, optim" in err


def test_check_plugin_rejects_examples_below_one(capsys):
    assert main(["check-plugin", "optim", "--examples", "0"]) == 2
    assert "expected a whole number >= 1, got '0'" in capsys.readouterr().err


def test_check_plugin_examples_option_reaches_hypothesis(capsys):
    calls = []

    def cube(x):
        """Cubes x (counts its calls)."""
        calls.append(1)
        return x**3

    module = types.ModuleType("dzcli_cube")

    @hookimpl
    def dz_register_functions(registry):
        spec = FunctionSpec("cube", (real(),), double_grad=False, float32=False)
        registry.add("cube", cube, spec=spec)

    module.dz_register_functions = dz_register_functions
    plugins.register(module, name="cuber")
    try:
        assert main(["check-plugin", "cuber", "--examples", "1"]) == 0
        few = len(calls)
        assert main(["check-plugin", "cuber", "--examples", "8"]) == 0
    finally:
        plugins.unregister("cuber")
    assert "ok     cuber:cube[grad]" in capsys.readouterr().out
    assert len(calls) - few > 4 * few


def test_check_plugin_runs_as_console_script():
    result = subprocess.run(
        [sys.executable, "-m", "dzcore.cli", "check-plugin", "datasets"],
        capture_output=True,
        text=True,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok     datasets:spiral[len_and_items]" in result.stdout


def test_check_plugin_help_names_the_pytest_route(capsys):
    assert main(["check-plugin", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--examples N" in out and "one line per check" in out
    assert "--pyargs dzcore.testing.conformance" in out


def _clean_env():
    import os

    return {k: v for k, v in os.environ.items() if k not in _ENV}
