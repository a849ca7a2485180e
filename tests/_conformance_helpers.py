"""Helpers shared by the conformance tests: fresh registries, fake plugins."""

import types
import warnings
from collections.abc import Iterator

from dzcore import hookimpl, plugins
from dzcore.testing.conformance import run_checks

#: Variables that select plugins; the tests clear them.
ENV = ("DZ_PLUGINS", "DZ_DISABLE_PLUGINS", "DZ_PLUGINS_STRICT")


def fresh_plugins(monkeypatch) -> Iterator[None]:
    """Clears the selection variables and reloads the installed plugins."""
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    plugins.reset()
    yield
    plugins.reset()


def plugin_module(name: str, **hooks) -> types.ModuleType:
    """A plugin module whose hooks are the given functions, marked."""
    module = types.ModuleType(f"dzconf_{name}")
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def registering() -> Iterator:
    """Yields ``add(module, name)``; unregisters what it added afterwards."""
    names = []

    def add(module, name):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", plugins.DzPluginWarning)
            names.append(plugins.register(module, name=name))
        return name

    yield add
    for name in names:
        plugins.unregister(name)


def outcomes(name: str, **options) -> dict:
    """Runs the checks of plugin ``name``: check id -> outcome."""
    return {o.check.id: o for o in run_checks(name, **options)}
