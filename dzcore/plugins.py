"""The plugin manager: registry lookups backed by ``dz.plugins`` entry points.

Plugins are distributions that declare an entry point in the ``dz.plugins``
group; its name is the plugin's name everywhere (listing, disabling, error
messages, qualified ids) and its value a module of hook implementations
(see :mod:`dzcore.hookspecs`). Nothing is imported by ``import dzcore``:
the first registry access imports every selected plugin, sorted by name,
once per process. Each import and each hook call runs in its own error
handler, so a broken plugin gets a status and one warning while everything
else keeps working.

Public surface:

- :func:`lookup` ``(kind, name)``: the component registered under ``name``
  (case-insensitive, aliases, or a qualified ``plugin:name``) for ``kind``
  in {"optimizers", "functions", "datasets", "transforms"}.
- :func:`available`, :func:`describe`, :func:`components`: what is there,
  without importing lazy targets.
- :func:`install_namespace`: gives a module ``get``, ``__getattr__`` and
  ``__dir__`` so that ``optimizers.SGD`` and ``optimizers.get("sgd")``
  resolve through the registry.
- :func:`register` / :func:`unregister`: in-process plugins for notebooks
  and tests; :func:`reset` forgets everything (tests).
- :func:`plugin_infos`, :func:`conflicts`, :func:`ambiguous_names`,
  :func:`selection_warnings`: what ``dz list-plugins`` shows.

Environment variables, read at the first registry access (and after
:func:`reset`): ``DZ_PLUGINS=a,b`` loads only those plugins (empty loads
none), ``DZ_DISABLE_PLUGINS=a,b`` skips those, ``DZ_PLUGINS_STRICT=1``
raises :class:`~dzcore.errors.PluginError` instead of warning about a
broken plugin. Plugins given to :func:`register` are not subject to the
selection variables.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from dzcore._registry import (
    ENTRY_POINT_GROUP,
    HOOK_KINDS,
    KINDS,
    STATUSES,
    BrokenPluginWarning,
    Component,
    DzPluginWarning,
    Registry,
    check_kind,
)
from dzcore.errors import (
    AmbiguousNameError,
    PluginError,
    UnknownComponentError,
)

if TYPE_CHECKING:
    from dzcore._plugin_host import PluginHost
    from dzcore._plugin_meta import PluginInfo

logger = logging.getLogger(__name__)

__all__ = [
    "ENTRY_POINT_GROUP",
    "HOOK_KINDS",
    "KINDS",
    "STATUSES",
    "AmbiguousNameError",
    "BrokenPluginWarning",
    "Component",
    "ComponentAttributeError",
    "DzPluginWarning",
    "PluginError",
    "PluginInfo",
    "Registry",
    "UnknownComponentError",
    "ambiguous_names",
    "available",
    "components",
    "conflicts",
    "describe",
    "install_namespace",
    "is_loaded",
    "lookup",
    "plugin_infos",
    "register",
    "reset",
    "selection_warnings",
    "unregister",
]

# The host (and with it dataclasses, traceback, pluggy later) is created on
# first use, so that `import dzcore` pays only for this module.
_host: PluginHost | None = None
_host_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name == "PluginInfo":
        from dzcore import _plugin_meta

        return getattr(_plugin_meta, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _get_host() -> PluginHost:
    global _host
    with _host_lock:
        if _host is None:
            from dzcore._plugin_host import PluginHost

            _host = PluginHost()
        return _host


class ComponentAttributeError(UnknownComponentError, AttributeError):
    """A registry-backed module has no attribute of that name.

    Being an AttributeError, ``hasattr(optimizers, "Nope")`` returns False.
    """


def _resolve(kind: str, name: str) -> Component:
    host = _host if _host is not None else _get_host()
    if host.state != "loaded":
        host.ensure_loaded()
    if not isinstance(name, str):
        raise TypeError(
            f"{kind} are looked up by a str name, got {type(name).__name__}"
        )
    found = host.index.find(check_kind(kind), name)
    if len(found) == 1:
        return found[0]
    from dzcore._plugin_hints import ambiguous_error, unknown_error

    if found:
        raise ambiguous_error(kind, name, found)
    status_of = {n.lower(): info for n, info in host.infos.items()}
    raise unknown_error(kind, name, host.index, status_of)


def lookup(kind: str, name: str) -> Any:
    """Returns the component ``name`` of ``kind``, importing it if lazy.

    Args:
        kind: "optimizers", "functions", "datasets" or "transforms".
        name: A short name or alias (any case), or ``plugin:name``.

    Raises:
        UnknownComponentError: No plugin registers ``name``; the message
            lists close matches and, for first-party names, the distribution
            that provides them.
        AmbiguousNameError: Several plugins register ``name``; the message
            lists their qualified ids.
        PluginError: The component's lazy target failed to import, or a
            plugin is broken while ``DZ_PLUGINS_STRICT`` is set.
        ValueError: ``kind`` is not a component kind.
    """
    return _resolve(kind, name).load()


def describe(kind: str, name: str) -> Component:
    """Returns the registration record of a component, without importing it.

    The record carries ``name``, ``plugin``, ``qualified_id``, ``summary``,
    ``aliases``, ``metadata`` and ``lazy``. Raises like :func:`lookup`.
    """
    return _resolve(kind, name)


def available(kind: str) -> list[str]:
    """Returns the names of ``kind`` that :func:`lookup` resolves, sorted.

    A short name that several plugins claim appears as each plugin's
    qualified id (``plugin:name``) instead.
    """
    host = _get_host()
    host.ensure_loaded()
    return host.index.available(check_kind(kind))


def components(kind: str) -> list[Component]:
    """Returns every component record of ``kind``, sorted by qualified id."""
    host = _get_host()
    host.ensure_loaded()
    return host.index.components(check_kind(kind))


def install_namespace(module_globals: MutableMapping[str, Any], kind: str) -> None:
    """Makes a module resolve missing attributes through the registry.

    Defines ``get(name)``, a module ``__getattr__`` and ``__dir__`` in
    ``module_globals``. Names starting with ``_`` never load plugins and
    raise AttributeError at once; a missing component raises
    :class:`ComponentAttributeError`, an AttributeError, so ``hasattr``
    works. Names defined in the module itself take precedence.

    Args:
        module_globals: The ``globals()`` of the module to equip.
        kind: The component kind the module exposes.
    """
    check_kind(kind)
    module_name = module_globals.get("__name__", "?")
    module_globals["get"] = _make_get(kind)
    module_globals["__getattr__"] = _make_getattr(kind, module_globals, module_name)
    module_globals["__dir__"] = _make_dir(kind, module_globals)


def _make_get(kind: str) -> Callable[[str], Any]:
    def get(name: str) -> Any:
        """Returns the registered component ``name`` (any case, or plugin:name)."""
        return lookup(kind, name)

    return get


# Attributes resolved through a namespace are stored in the module so that
# the next `F.relu` is a plain dict hit; every registry change drops them
# again, so a cached name never outlives its registration.
_cached: list[tuple[MutableMapping[str, Any], str, Any]] = []


def _drop_cached() -> None:
    while _cached:
        module_globals, name, value = _cached.pop()
        if module_globals.get(name) is value:
            del module_globals[name]


def _make_getattr(
    kind: str, module_globals: MutableMapping[str, Any], module_name: str
) -> Callable[[str], Any]:
    def __getattr__(name: str) -> Any:  # noqa: N807
        if name.startswith("_"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        try:
            value = lookup(kind, name)
            module_globals[name] = value
            _cached.append((module_globals, name, value))
            return value
        except ComponentAttributeError:
            raise
        except UnknownComponentError as exc:
            error = ComponentAttributeError(f"module {module_name!r}: {exc}")
            error.name = name
            raise error from None

    return __getattr__


def _make_dir(
    kind: str, module_globals: MutableMapping[str, Any]
) -> Callable[[], list[str]]:
    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(module_globals) | set(available(kind)))

    return __dir__


def register(obj: Any, name: str | None = None) -> str:
    """Registers an in-process plugin (a module, class or instance).

    The object goes through the same checks and isolation as an installed
    plugin: a broken one gets a status and a warning (an error under
    ``DZ_PLUGINS_STRICT``). Installed plugins are loaded first.

    Args:
        obj: Anything with ``@dzcore.hookimpl`` functions or methods.
        name: The plugin name; defaults to the object's lowercase name.

    Returns:
        The plugin name, for qualified ids and :func:`unregister`.

    Raises:
        PluginError: The name is taken or ``obj`` is already registered.
    """
    try:
        return _get_host().register(obj, name)
    finally:
        _drop_cached()


def unregister(name_or_obj: Any) -> str:
    """Removes a plugin and everything it registered; returns its name.

    An in-process plugin is forgotten; an installed one stays listed as
    ``disabled`` (by ``unregister()``) until :func:`reset`.

    Raises:
        PluginError: No such plugin is registered.
    """
    try:
        return _get_host().unregister(name_or_obj)
    finally:
        _drop_cached()


def reset() -> None:
    """Forgets every plugin and component; the next access loads afresh.

    Meant for tests: environment variables are read again at the next
    access. Modules already imported stay in ``sys.modules``.
    """
    global _host
    with _host_lock:
        old, _host = _host, None
    _drop_cached()
    if old is not None:
        old.close()


def plugin_infos() -> list[PluginInfo]:
    """Loads plugins (never raising for broken ones) and returns their records."""
    return _loaded().snapshot()


def conflicts() -> list[dict[str, Any]]:
    """Returns entry-point names declared by several distributions."""
    return [dict(c) for c in _loaded().conflicts]


def ambiguous_names() -> dict[str, dict[str, list[str]]]:
    """Returns kind -> short name -> qualified ids, for names several plugins claim."""
    host = _loaded()
    found = {kind: host.index.ambiguous(kind) for kind in KINDS}
    return {kind: names for kind, names in found.items() if names}


def selection_warnings() -> list[str]:
    """Returns the warnings about unknown names in the selection variables."""
    return list(_loaded().selection_warnings)


def is_loaded() -> bool:
    """Whether installed plugins have been loaded (by a registry access)."""
    return _host is not None and _host.state not in ("new", "loading")


def _loaded() -> PluginHost:
    host = _get_host()
    host.ensure_loaded(strict=False)
    return host
