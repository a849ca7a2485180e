"""Tests of the hook specifications and markers."""

import inspect

import pluggy
import pytest

import dzcore
from dzcore import hookspecs
from dzcore._plugin_meta import HOOK_KINDS

SPECS = [
    "dz_register_optimizers",
    "dz_register_functions",
    "dz_register_datasets",
    "dz_register_transforms",
]


def _manager():
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


def test_hookspecs_project_name_and_markers():
    assert hookspecs.PROJECT_NAME == "dz"
    assert dzcore.hookimpl is hookspecs.hookimpl

    @dzcore.hookimpl
    def dz_register_optimizers(registry):
        pass

    assert dz_register_optimizers.dz_impl["optionalhook"] is False


@pytest.mark.parametrize("name", SPECS)
def test_hookspecs_each_spec_takes_registry_and_documents_since(name):
    spec = getattr(hookspecs, name)
    assert list(inspect.signature(spec).parameters) == ["registry"]
    assert spec.dz_spec["firstresult"] is False
    assert "since: dzcore 0.1" in spec.__doc__
    assert inspect.get_annotations(spec)["registry"] == "Registry"


def test_hookspecs_match_the_kinds_the_manager_calls():
    assert list(HOOK_KINDS) == SPECS
    assert set(_manager().hook.__dict__) >= set(SPECS)


def test_hookspecs_reject_an_impl_with_an_extra_argument():
    class _Plugin:
        @dzcore.hookimpl
        def dz_register_datasets(self, registry, root):
            pass

    with pytest.raises(pluggy.PluginValidationError, match="root"):
        _manager().register(_Plugin())


def test_hookspecs_accept_an_impl_with_fewer_arguments():
    calls = []

    class _Plugin:
        @dzcore.hookimpl
        def dz_register_transforms(self):
            calls.append("called")

    manager = _manager()
    manager.register(_Plugin())
    manager.hook.dz_register_transforms(registry=None)
    assert calls == ["called"]
