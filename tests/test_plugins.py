"""Tests of plugin discovery, lazy loading, isolation and selection.

Fake plugins are installed into a temporary folder (see
``plugin_fixtures``); ``DZ_PLUGINS`` keeps the real ones out of the way.
"""

import subprocess
import sys
import warnings

import pytest
from plugin_fixtures import (
    FUNCTIONS,
    MARK_IMPORT,
    OPTIMIZERS,
    isolated_site,
    subprocess_env,
)

from dzcore import plugins
from dzcore.errors import DzError, PluginError, UnknownComponentError


@pytest.fixture
def site(tmp_path, monkeypatch):
    fake = isolated_site(tmp_path, monkeypatch)
    yield fake
    plugins.reset()
    fake.cleanup()


def _info(name):
    return next(i for i in plugins.plugin_infos() if i.name == name)


def _quiet_infos():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", plugins.DzPluginWarning)
        return {i.name: i for i in plugins.plugin_infos()}


def test_import_dzcore_imports_no_plugin_and_no_pluggy(site):
    site.add("opt", MARK_IMPORT + OPTIMIZERS)
    code = (
        "import sys, dzcore, dzcore.plugins\n"
        "from dzcore import datasets, functions, optimizers, transforms\n"
        "bad = [m for m in ('pluggy', 'importlib.metadata') if m in sys.modules]\n"
        "print('loaded-before', bad, dzcore.plugins.is_loaded())\n"
        "dzcore.plugins.lookup('optimizers', 'plain')\n"
        "print('loaded-after', 'pluggy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(site),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "loaded-before [] False" in out
    assert "loaded-after True" in out
    assert site.imported("opt")


def test_plugins_load_lazily_on_first_access(site):
    site.add("opt", MARK_IMPORT + OPTIMIZERS)
    plugins.reset()
    assert not site.imported("opt")
    assert not plugins.is_loaded()
    assert plugins.lookup("optimizers", "plain").__name__ == "Plain"
    assert site.imported("opt")
    assert plugins.is_loaded()


def test_plugins_load_sorted_by_name_once_per_process(site):
    log = site.root / "order.txt"
    source = f"""
        from dzcore import hookimpl
        with open(r"{log}", "a") as handle:
            handle.write(__name__.rsplit("_", 1)[1] + "\\n")

        @hookimpl
        def dz_register_transforms(registry):
            with open(r"{log}", "a") as handle:
                handle.write("hook\\n")
    """
    for name in ("zeta", "alpha", "mid"):
        site.add(name, source)
    plugins.available("transforms")
    plugins.available("optimizers")
    plugins.plugin_infos()
    lines = log.read_text().split()
    assert [line for line in lines if line != "hook"] == ["alpha", "mid", "zeta"]
    assert lines.count("hook") == 3


def test_plugin_whose_import_raises_is_failed_and_others_work(site):
    site.add("broken", "raise RuntimeError('boom at import')\n", version="2.5")
    site.add("opt", OPTIMIZERS)
    with pytest.warns(plugins.BrokenPluginWarning) as record:
        assert plugins.lookup("optimizers", "plain").__name__ == "Plain"
    messages = [str(w.message) for w in record]
    assert len(messages) == 1
    assert "'broken' (dzfake-broken 2.5)" in messages[0]
    assert "RuntimeError: boom at import" in messages[0]
    assert "dz list-plugins -v" in messages[0]
    info = _info("broken")
    assert info.status == "failed"
    assert "boom at import" in info.traceback
    assert _info("opt").status == "ok"


def test_plugin_whose_import_calls_sys_exit_is_failed(site):
    site.add("quitter", "import sys\nsys.exit(3)\n")
    assert _quiet_infos()["quitter"].status == "failed"
    assert "SystemExit: 3" in _quiet_infos()["quitter"].error


def test_entry_point_naming_missing_module_is_failed(site):
    site.add("ghost", None, value="no_such_module_for_dz_tests")
    info = _quiet_infos()["ghost"]
    assert info.status == "failed"
    assert "ModuleNotFoundError" in info.error
    assert "no_such_module_for_dz_tests" in info.error


def test_hook_that_raises_drops_only_its_own_contributions(site):
    source = """
        from dzcore import hookimpl

        @hookimpl
        def dz_register_optimizers(registry):
            registry.add("half", dict)
            raise ValueError("optimizer table corrupt")

        @hookimpl
        def dz_register_functions(registry):
            registry.add("kept", len)
    """
    site.add("partial", source)
    info = _quiet_infos()["partial"]
    assert info.status == "failed"
    assert "ValueError: optimizer table corrupt (in dz_register_optimizers)" in (
        info.error
    )
    assert plugins.lookup("functions", "kept") is len
    with pytest.raises(plugins.UnknownComponentError):
        plugins.lookup("optimizers", "half")


def test_hook_with_wrong_signature_is_invalid(site):
    source = """
        from dzcore import hookimpl

        @hookimpl
        def dz_register_optimizers(registry, path):
            registry.add("never", dict)
    """
    site.add("wrongsig", source)
    site.add("opt", OPTIMIZERS)
    infos = _quiet_infos()
    assert infos["wrongsig"].status == "invalid"
    assert "path" in infos["wrongsig"].error
    assert infos["opt"].status == "ok"
    assert plugins.available("optimizers") == ["fancy", "Plain"]


def test_unknown_hook_name_is_invalid_with_suggestion(site):
    source = """
        from dzcore import hookimpl

        @hookimpl
        def dz_register_optimisers(registry):
            registry.add("never", dict)
    """
    site.add("typo", source)
    info = _quiet_infos()["typo"]
    assert info.status == "invalid"
    assert "did you mean dz_register_optimizers" in info.error


def test_optional_unknown_hook_is_allowed(site):
    source = """
        from dzcore import hookimpl

        @hookimpl(optionalhook=True)
        def dz_register_schedulers(registry):
            pass
    """
    site.add("future", source)
    assert _quiet_infos()["future"].status == "ok"


def test_unmarked_hook_function_is_invalid(site):
    site.add("unmarked", "def dz_register_optimizers(registry):\n    pass\n")
    info = _quiet_infos()["unmarked"]
    assert info.status == "invalid"
    assert "not marked with @dzcore.hookimpl" in info.error


def test_plugin_api_mismatch_is_invalid(site):
    site.add("future_api", "    dz_plugin_api = 99\n" + OPTIMIZERS)
    info = _quiet_infos()["future_api"]
    assert info.status == "invalid"
    assert "dz_plugin_api = 99" in info.error


def test_hook_returning_a_value_is_failed(site):
    source = """
        from dzcore import hookimpl

        @hookimpl
        def dz_register_optimizers(registry):
            return [("sgd", dict)]
    """
    site.add("returner", source)
    info = _quiet_infos()["returner"]
    assert info.status == "failed"
    assert "must call registry.add" in info.error


def test_entry_point_name_in_two_distributions_is_conflict(site):
    site.add("twin", MARK_IMPORT + OPTIMIZERS, dist="dzfake-first")
    site.add("twin", FUNCTIONS, dist="dzfake-second", value=site.module("twin2"))
    info = _quiet_infos()["twin"]
    assert info.status == "conflict"
    assert "dzfake-first" in info.error and "dzfake-second" in info.error
    assert not site.imported("twin")
    (conflict,) = plugins.conflicts()
    names = sorted(d["name"] for d in conflict["distributions"])
    assert names == ["dzfake-first", "dzfake-second"]


def test_strict_mode_raises_plugin_error(site, monkeypatch):
    site.add("broken", "raise ImportError('needs torch')\n")
    monkeypatch.setenv("DZ_PLUGINS_STRICT", "1")
    with pytest.raises(PluginError, match="'broken'.*needs torch"):
        plugins.lookup("optimizers", "anything")
    assert _info("broken").status == "failed"


def test_plugin_error_is_a_dz_runtime_error():
    assert issubclass(PluginError, DzError)
    assert issubclass(PluginError, RuntimeError)


def test_allow_list_loads_only_named_plugins(site, monkeypatch):
    site.add("opt", MARK_IMPORT + OPTIMIZERS)
    site.add("fun", FUNCTIONS)
    monkeypatch.setenv("DZ_PLUGINS", "fun")
    infos = _quiet_infos()
    assert infos["opt"].status == "disabled"
    assert infos["opt"].disabled_by == "DZ_PLUGINS"
    assert infos["fun"].status == "ok"
    assert not site.imported("opt")


def test_empty_allow_list_loads_no_plugin(site, monkeypatch):
    site.add("opt", MARK_IMPORT + OPTIMIZERS)
    monkeypatch.setenv("DZ_PLUGINS", "")
    assert plugins.available("optimizers") == []
    assert not site.imported("opt")


def test_disable_list_skips_plugin_by_distribution_name(site, monkeypatch):
    site.add("opt", OPTIMIZERS)
    site.add("fun", FUNCTIONS)
    monkeypatch.setenv("DZ_DISABLE_PLUGINS", " dzfake-opt ")
    infos = _quiet_infos()
    assert infos["opt"].disabled_by == "DZ_DISABLE_PLUGINS"
    assert infos["fun"].status == "ok"


def test_unknown_names_in_selection_warn_listing_valid_ones(site, monkeypatch):
    site.add("opt", OPTIMIZERS)
    monkeypatch.setenv("DZ_DISABLE_PLUGINS", "nope")
    with pytest.warns(plugins.DzPluginWarning, match="'nope'.*opt") as record:
        plugins.available("optimizers")
    assert "DZ_DISABLE_PLUGINS" in str(record[0].message)
    assert plugins.selection_warnings() == [str(record[0].message)]


def test_disabled_first_party_hint_names_the_switch(site, monkeypatch):
    site.add("activations", FUNCTIONS, dist="dz-activations-fake")
    monkeypatch.setenv("DZ_PLUGINS", "")
    with pytest.raises(plugins.UnknownComponentError, match="disabled by DZ_PLUGINS"):
        plugins.lookup("functions", "relu")


def test_missing_first_party_name_says_how_to_install(site):
    with pytest.raises(
        plugins.UnknownComponentError,
        match="provided by the distribution dz-activations .* not installed; "
        "install it with `pip install dz-activations`",
    ):
        plugins.lookup("functions", "relu")


def test_broken_first_party_plugin_is_named_in_lookup_error(site):
    site.add("optim", "    raise RuntimeError('half-installed')\n", dist="dz-optim")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", plugins.BrokenPluginWarning)
        with pytest.raises(
            plugins.UnknownComponentError,
            match="plugin 'optim' \\(dz-optim 1.0\\) is failed: RuntimeError: "
            "half-installed.*dz list-plugins -v",
        ):
            plugins.lookup("optimizers", "Adam")


def test_invalid_plugin_still_lists_its_hooks(site):
    source = """
        from dzcore import hookimpl

        @hookimpl
        def dz_register_optimisers(registry):
            pass
    """
    site.add("typo", source)
    assert _quiet_infos()["typo"].hooks == ["dz_register_optimisers"]


def test_a_miss_names_the_disabled_plugin_that_may_provide_it(site, monkeypatch):
    site.add("opt", OPTIMIZERS)
    site.add("fun", FUNCTIONS)
    monkeypatch.setenv("DZ_DISABLE_PLUGINS", "opt")

    with pytest.raises(UnknownComponentError) as info:
        plugins.lookup("optimizers", "plain")

    message = str(info.value)
    assert "did not load and may provide it" in message
    assert "'opt'" in message and "disabled by DZ_DISABLE_PLUGINS" in message


def test_a_miss_with_every_plugin_loaded_names_no_plugin(site):
    site.add("opt", OPTIMIZERS)

    with pytest.raises(UnknownComponentError) as info:
        plugins.lookup("optimizers", "nosuch")

    assert "did not load" not in str(info.value)
