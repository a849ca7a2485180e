"""Tests of the component registry: names, ids, lazy targets, namespaces.

Plugins are registered in-process through the ``register_temp`` fixture,
which unregisters them on teardown; no installed plugin is loaded.
"""

import types
import warnings

import pytest

from dzcore import hookimpl, plugins
from dzcore.errors import AmbiguousNameError, DzError, PluginError
from dzcore.errors import UnknownComponentError as UnknownError


@pytest.fixture
def register_temp(monkeypatch):
    monkeypatch.setenv("DZ_PLUGINS", "")
    monkeypatch.delenv("DZ_PLUGINS_STRICT", raising=False)
    plugins.reset()
    names = []

    def _register(obj, name=None):
        names.append(plugins.register(obj, name=name))
        return names[-1]

    yield _register
    present = {info.name for info in plugins.plugin_infos()}
    for name in names:
        if name in present:  # a test may have unregistered it already
            plugins.unregister(name)
    plugins.reset()


def _optimizer_plugin(*entries):
    """Returns a plugin object whose hook adds ``(name, target, kwargs)``."""

    class _Plugin:
        @hookimpl
        def dz_register_optimizers(self, registry):
            for name, target, options in entries:
                registry.add(name, target, **options)

    return _Plugin()


class Momentum:
    """Momentum SGD for tests."""


def test_lookup_is_case_insensitive_and_follows_aliases(register_temp):
    register_temp(
        _optimizer_plugin(("MomentumSGD", Momentum, {"aliases": ("momentum",)})),
        "toy",
    )
    for name in ("MomentumSGD", "momentumsgd", "MOMENTUM", "toy:momentum"):
        assert plugins.lookup("optimizers", name) is Momentum


def test_describe_exposes_metadata_without_import(register_temp):
    register_temp(
        _optimizer_plugin(("lazy", "no_such_module_dz:Thing", {"has_momentum": True})),
        "toy",
    )
    record = plugins.describe("optimizers", "LAZY")
    assert record.qualified_id == "toy:lazy"
    assert record.plugin == "toy"
    assert record.metadata == {"has_momentum": True}
    assert record.lazy


def test_summary_defaults_to_first_docstring_line(register_temp):
    register_temp(_optimizer_plugin(("m", Momentum, {})), "toy")
    assert plugins.describe("optimizers", "m").summary == "Momentum SGD for tests."


def test_lazy_target_is_imported_on_first_use(register_temp):
    register_temp(_optimizer_plugin(("frac", "fractions:Fraction", {})), "toy")
    record = plugins.describe("optimizers", "frac")
    assert record.lazy and record.target == "fractions:Fraction"
    assert plugins.lookup("optimizers", "frac").__name__ == "Fraction"


def test_lazy_target_import_error_names_component_and_plugin(register_temp):
    target = "no_such_module_dz:Thing"
    register_temp(_optimizer_plugin(("ghost", target, {})), "toy")
    with pytest.raises(
        PluginError, match="'toy:ghost'.*toy.*no_such_module_dz"
    ) as info:
        plugins.lookup("optimizers", "ghost")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_short_name_of_two_plugins_is_ambiguous_at_lookup(register_temp):
    register_temp(_optimizer_plugin(("sgd", Momentum, {})), "first")
    register_temp(_optimizer_plugin(("SGD", dict, {})), "second")
    with pytest.raises(AmbiguousNameError, match="'first:sgd' or 'second:SGD'"):
        plugins.lookup("optimizers", "sgd")
    assert plugins.lookup("optimizers", "first:sgd") is Momentum
    assert plugins.lookup("optimizers", "second:sgd") is dict
    assert plugins.available("optimizers") == ["first:sgd", "second:SGD"]
    assert plugins.ambiguous_names() == {
        "optimizers": {"sgd": ["first:sgd", "second:SGD"]}
    }


def test_ambiguous_error_is_a_dz_lookup_error():
    assert issubclass(AmbiguousNameError, LookupError)
    assert issubclass(AmbiguousNameError, DzError)
    assert issubclass(UnknownError, LookupError)


def test_unknown_name_suggests_close_matches(register_temp):
    register_temp(_optimizer_plugin(("momentum", Momentum, {})), "toy")
    with pytest.raises(UnknownError, match="did you mean 'momentum'"):
        plugins.lookup("optimizers", "momentun")


def test_unknown_first_party_name_names_its_distribution(register_temp):
    register_temp(_optimizer_plugin(("momentum", Momentum, {})), "toy")
    with pytest.raises(UnknownError, match="dz-activations"):
        plugins.lookup("functions", "leaky_relu")


def test_unknown_plugin_in_qualified_id_is_named(register_temp):
    register_temp(_optimizer_plugin(("momentum", Momentum, {})), "toy")
    with pytest.raises(UnknownError, match="no plugin named 'nobody'"):
        plugins.lookup("optimizers", "nobody:momentum")


def test_lookup_rejects_unknown_kind_and_non_string_name(register_temp):
    with pytest.raises(ValueError, match="optimizers, functions"):
        plugins.lookup("optimisers", "sgd")
    with pytest.raises(TypeError, match="str name, got int"):
        plugins.lookup("optimizers", 3)


def test_same_name_twice_in_one_plugin_keeps_the_first(register_temp):
    plugin = _optimizer_plugin(("twice", Momentum, {}), ("TWICE", dict, {}))
    with pytest.warns(plugins.DzPluginWarning, match="twice.*first registration"):
        register_temp(plugin, "toy")
    assert plugins.lookup("optimizers", "twice") is Momentum


@pytest.mark.parametrize(
    ("name", "target"),
    [("has space", dict), ("a:b", dict), ("_private", dict), ("", dict)]
    + [("ok", "not a target"), ("ok", None), ("ok", "module_only")],
)
def test_bad_name_or_target_fails_the_hook(register_temp, name, target):
    with pytest.warns(plugins.BrokenPluginWarning, match="'toy'.*PluginError"):
        register_temp(_optimizer_plugin((name, target, {})), "toy")
    info = next(i for i in plugins.plugin_infos() if i.name == "toy")
    assert info.status == "failed"
    assert plugins.available("optimizers") == []


def test_registry_refuses_add_after_hook_returned(register_temp):
    kept = []

    class _Leaky:
        @hookimpl
        def dz_register_optimizers(self, registry):
            kept.append(registry)

    register_temp(_Leaky(), "leaky")
    with pytest.raises(PluginError, match="after its hook returned"):
        kept[0].add("late", dict)


def test_in_process_plugin_gets_the_same_isolation(register_temp, monkeypatch):
    class _Raising:
        @hookimpl
        def dz_register_optimizers(self, registry):
            raise KeyError("bad table")

    with pytest.warns(plugins.BrokenPluginWarning, match="registered in-process"):
        register_temp(_Raising(), "raising")
    monkeypatch.setenv("DZ_PLUGINS_STRICT", "1")
    with pytest.raises(PluginError, match="'strict_one'.*KeyError"):
        register_temp(_Raising(), "strict_one")


def test_register_rejects_taken_name_and_same_object(register_temp):
    plugin = _optimizer_plugin(("m", Momentum, {}))
    register_temp(plugin, "toy")
    with pytest.raises(PluginError, match="already taken"):
        plugins.register(_optimizer_plugin(), name="TOY")
    with pytest.raises(PluginError, match="already registered as plugin 'toy'"):
        plugins.register(plugin, name="other")


def test_register_defaults_name_from_module(register_temp):
    module = types.ModuleType("pkg.dz_toymod")

    @hookimpl
    def dz_register_transforms(registry):
        registry.add("double", lambda x: 2 * x)

    module.dz_register_transforms = dz_register_transforms
    assert register_temp(module) == "dz_toymod"
    assert plugins.lookup("transforms", "dz_toymod:double")(2) == 4


def test_unregister_removes_components_and_rejects_unknown(register_temp):
    plugin = _optimizer_plugin(("m", Momentum, {}))
    name = plugins.register(plugin, name="gone")
    assert plugins.unregister(plugin) == name
    assert plugins.available("optimizers") == []
    assert all(i.name != "gone" for i in plugins.plugin_infos())
    with pytest.raises(PluginError, match="no such plugin"):
        plugins.unregister("gone")


def _namespace(kind):
    module = types.ModuleType("fake_namespace")
    module.core_thing = 1
    plugins.install_namespace(vars(module), kind)
    return module


def test_namespace_resolves_attributes_and_get(register_temp):
    register_temp(_optimizer_plugin(("MomentumSGD", Momentum, {})), "toy")
    namespace = _namespace("optimizers")
    assert namespace.MomentumSGD is Momentum
    assert namespace.momentumsgd is Momentum
    assert namespace.get("toy:momentumsgd") is Momentum
    assert {"MomentumSGD", "core_thing", "get"} <= set(dir(namespace))


def test_namespace_miss_is_attribute_error_so_hasattr_works(register_temp):
    namespace = _namespace("optimizers")
    assert not hasattr(namespace, "Nope")
    with pytest.raises(plugins.ComponentAttributeError, match="fake_namespace"):
        namespace.Nope  # noqa: B018
    with pytest.raises(UnknownError):
        namespace.get("Nope")


def test_namespace_private_names_do_not_load_plugins(monkeypatch):
    monkeypatch.setenv("DZ_PLUGINS", "")
    plugins.reset()
    namespace = _namespace("datasets")
    assert not plugins.is_loaded()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not hasattr(namespace, "__wrapped__")
        assert not hasattr(namespace, "_repr_html_")
    assert not plugins.is_loaded()
    plugins.reset()


def test_namespace_cache_never_outlives_a_registration(register_temp):
    first = register_temp(_optimizer_plugin(("MomentumSGD", Momentum, {})), "first")
    register_temp(_optimizer_plugin(("other", list, {})), "bystander")
    namespace = _namespace("optimizers")
    assert namespace.MomentumSGD is Momentum
    assert vars(namespace)["MomentumSGD"] is Momentum
    register_temp(_optimizer_plugin(("momentumsgd", dict, {})), "second")
    with pytest.raises(AmbiguousNameError):
        namespace.MomentumSGD  # noqa: B018
    plugins.unregister(first)
    assert namespace.MomentumSGD is dict
    assert namespace.other is list
    plugins.reset()
    assert "MomentumSGD" not in vars(namespace)
    assert "other" not in vars(namespace)
