"""Components and the name index behind :mod:`dzcore.plugins` (private).

A :class:`Component` is one registered optimizer, function, dataset or
transform. The :class:`Index` maps lowercase short names, aliases and
qualified ids (``plugin:name``) to components; a short name that two
plugins claim stays in the index under both and is reported as ambiguous
only when somebody looks it up.
"""

from __future__ import annotations

import importlib
import logging
import re
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from dzcore.errors import PluginError

logger = logging.getLogger(__name__)

#: The kinds of component, each with its own registration hook.
KINDS: tuple[str, ...] = ("optimizers", "functions", "datasets", "transforms")

SINGULAR = {kind: kind[:-1] for kind in KINDS}

#: The entry-point group that plugins declare.
ENTRY_POINT_GROUP = "dz.plugins"

#: Plugin statuses; every one but ``ok`` and ``disabled`` means broken.
STATUSES = ("ok", "failed", "invalid", "conflict", "disabled")
BROKEN = ("failed", "invalid", "conflict")

#: Registration hooks, in the order dz calls them, and the kind each feeds.
HOOK_KINDS = {
    "dz_register_optimizers": "optimizers",
    "dz_register_functions": "functions",
    "dz_register_datasets": "datasets",
    "dz_register_transforms": "transforms",
}

_NAME_RE = re.compile(r"^[^\s:_][^\s:]*$")
_TARGET_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class DzPluginWarning(UserWarning):
    """A recoverable problem with plugin selection or registration."""


class BrokenPluginWarning(DzPluginWarning):
    """A plugin that could not load; every other plugin keeps working."""


def check_kind(kind: str) -> str:
    """Returns ``kind`` if it names a component kind, else raises ValueError."""
    if kind not in KINDS:
        raise ValueError(
            f"unknown component kind {kind!r}; expected one of {', '.join(KINDS)}"
        )
    return kind


class Component:
    """One registered component: its names, origin, metadata and target.

    Attributes:
        kind: One of :data:`KINDS`.
        name: The short name as the plugin spelled it.
        plugin: The name of the plugin that registered it.
        aliases: Other short names it answers to.
        summary: One line describing it.
        metadata: Extra keywords given to ``registry.add``, readable
            without importing the target.
        target: The object, or a ``"module:attr"`` string until first use.
    """

    __slots__ = (
        "_loaded",
        "_origin",
        "_value",
        "aliases",
        "kind",
        "metadata",
        "name",
        "plugin",
        "summary",
        "target",
    )

    def __init__(
        self,
        kind: str,
        name: str,
        plugin: str,
        target: Any,
        summary: str,
        aliases: tuple[str, ...],
        metadata: Mapping[str, Any],
        origin: str,
    ) -> None:
        self.kind, self.name, self.plugin = kind, name, plugin
        self.target, self.summary, self.aliases = target, summary, aliases
        self.metadata = dict(metadata)
        self._origin = origin
        self._loaded = not self.lazy
        self._value = None if self.lazy else target

    @property
    def qualified_id(self) -> str:
        """The unique id ``plugin:name``."""
        return f"{self.plugin}:{self.name}"

    @property
    def lazy(self) -> bool:
        """Whether the target is a ``"module:attr"`` string not yet imported."""
        return isinstance(self.target, str)

    def load(self) -> Any:
        """Returns the component, importing a lazy target on first use.

        Raises:
            PluginError: The lazy target could not be imported; the message
                names the component, its plugin and version, and the cause.
        """
        if not self._loaded:
            self._value = self._import_target()
            self._loaded = True
        return self._value

    # Limitation: a lazy target that fails to import is reported when it is
    # used (PluginError), but its plugin's status stays "ok" in the listing,
    # since listing never imports targets; the conformance kit resolves them.
    def _import_target(self) -> Any:
        module_name, _, attr_path = self.target.partition(":")
        try:
            value: Any = importlib.import_module(module_name)
            for attr in attr_path.split("."):
                value = getattr(value, attr)
        except Exception as exc:
            raise PluginError(
                f"{SINGULAR[self.kind]} {self.qualified_id!r} from plugin "
                f"{self._origin} could not be imported from {self.target!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return value

    def __repr__(self) -> str:
        return f"<{SINGULAR[self.kind]} {self.qualified_id} target={self.target!r}>"


class Registry:
    """What a hook receives: adds components on behalf of one plugin.

    The registry is bound to the plugin that implements the hook and to the
    kind of the hook (``dz_register_optimizers`` gets one for optimizers).
    It is closed when the hook returns; components it collected are kept
    only if the hook returned normally.

    Attributes:
        plugin: The name of the plugin the components are attributed to.
        kind: The kind of component this registry accepts.
    """

    def __init__(self, plugin: str, kind: str, origin: str) -> None:
        self.plugin = plugin
        self.kind = check_kind(kind)
        self.components: list[Component] = []
        self._origin = origin
        self._open = True

    def add(
        self,
        name: str,
        target: Any,
        *,
        summary: str = "",
        aliases: Iterable[str] = (),
        **metadata: Any,
    ) -> None:
        """Registers one component under ``name`` and its ``aliases``.

        Args:
            name: The short name, e.g. ``"adam"``; no spaces or colons, not
                starting with ``_``. Lookups ignore case.
            target: The component itself, or ``"module:attr"`` to import it
                only when first used.
            summary: One line describing the component; defaults to the first
                line of the target's docstring.
            aliases: Other short names for the same component.
            **metadata: Facts readable without importing the target (e.g.
                ``has_momentum=True``, ``lazy=True``, ``spec=...``).

        Raises:
            PluginError: A bad name, alias or target, or a closed registry.
        """
        if not self._open:
            raise PluginError(
                f"plugin {self.plugin!r} called registry.add({name!r}, ...) after "
                "its hook returned; add components inside the hook"
            )
        names = [self._valid_name(n) for n in (name, *_as_tuple(aliases, name))]
        self._check_target(name, target)
        if not summary and not isinstance(target, str):
            summary = _first_doc_line(target)
        self.components.append(
            Component(
                self.kind,
                names[0],
                self.plugin,
                target,
                str(summary),
                tuple(names[1:]),
                metadata,
                self._origin,
            )
        )

    def close(self) -> None:
        """Refuses further ``add`` calls (the hook has returned)."""
        self._open = False

    def _valid_name(self, name: Any) -> str:
        if isinstance(name, str) and _NAME_RE.match(name):
            return name
        raise PluginError(
            f"plugin {self.plugin!r} registered a {SINGULAR[self.kind]} with the "
            f"invalid name {name!r}; expected a non-empty string without spaces "
            "or ':' that does not start with '_'"
        )

    def _check_target(self, name: str, target: Any) -> None:
        if target is None or (isinstance(target, str) and not _TARGET_RE.match(target)):
            raise PluginError(
                f"plugin {self.plugin!r} registered {SINGULAR[self.kind]} "
                f"{name!r} with target {target!r}; expected the object itself "
                "or a 'module:attr' string such as 'my_pkg.adam:Adam'"
            )


def _as_tuple(aliases: Iterable[str], name: str) -> tuple[str, ...]:
    if isinstance(aliases, str):
        return (aliases,)
    try:
        return tuple(aliases)
    except TypeError:
        raise PluginError(
            f"aliases of {name!r} must be an iterable of strings, "
            f"got {type(aliases).__name__}"
        ) from None


def _first_doc_line(target: Any) -> str:
    doc = getattr(target, "__doc__", None) or ""
    return doc.strip().split("\n", 1)[0].strip()


class Index:
    """Every committed component, found by short name, alias or qualified id."""

    def __init__(self) -> None:
        self._short: dict[str, dict[str, list[Component]]] = {k: {} for k in KINDS}
        self._qualified: dict[str, dict[str, Component]] = {k: {} for k in KINDS}

    def commit(self, components: Iterable[Component]) -> list[Component]:
        """Adds components; a name its plugin already uses is skipped with a warning."""
        kept = []
        for comp in components:
            keys = list(dict.fromkeys(n.lower() for n in (comp.name, *comp.aliases)))
            qualified = self._qualified[comp.kind]
            taken = [k for k in keys if f"{comp.plugin.lower()}:{k}" in qualified]
            if taken:
                _warn_duplicate(comp, taken)
                continue
            for key in keys:
                self._short[comp.kind].setdefault(key, []).append(comp)
                qualified[f"{comp.plugin.lower()}:{key}"] = comp
            kept.append(comp)
        return kept

    def remove_plugin(self, plugin: str) -> None:
        """Drops every component of ``plugin``."""
        for kind in KINDS:
            for key, comps in list(self._short[kind].items()):
                comps[:] = [c for c in comps if c.plugin != plugin]
                if not comps:
                    del self._short[kind][key]
            qualified = self._qualified[kind]
            for key in [k for k, c in qualified.items() if c.plugin == plugin]:
                del qualified[key]

    def find(self, kind: str, name: str) -> list[Component]:
        """Returns the distinct components ``name`` may mean (0, 1 or more)."""
        key = name.lower()
        if ":" in key:
            comp = self._qualified[kind].get(key)
            return [] if comp is None else [comp]
        return list(dict.fromkeys(self._short[kind].get(key, ())))

    def components(self, kind: str) -> list[Component]:
        """Returns the components of ``kind``, sorted by qualified id."""
        comps = set(self._qualified[kind].values())
        return sorted(comps, key=lambda c: c.qualified_id.lower())

    def ambiguous(self, kind: str) -> dict[str, list[str]]:
        """Maps each short name two plugins claim to the candidates' ids."""
        found = {}
        for key, comps in sorted(self._short[kind].items()):
            if len({c.plugin for c in comps}) > 1:
                found[key] = sorted(c.qualified_id for c in comps)
        return found

    def available(self, kind: str) -> list[str]:
        """Returns names that resolve: short names, qualified ids if ambiguous."""
        ambiguous = self.ambiguous(kind)
        names = {
            c.qualified_id if c.name.lower() in ambiguous else c.name
            for c in self.components(kind)
        }
        return sorted(names, key=str.lower)

    def keys(self, kind: str) -> list[str]:
        """Returns every lowercase short name and alias of ``kind``."""
        return sorted(self._short[kind])


def _warn_duplicate(comp: Component, keys: list[str]) -> None:
    from dzcore._plugin_meta import stacklevel

    warnings.warn(
        f"plugin {comp.plugin!r} registers the {SINGULAR[comp.kind]} name(s) "
        f"{', '.join(sorted(set(keys)))} twice; the first registration is kept",
        DzPluginWarning,
        stacklevel=stacklevel(),
    )
