"""Plugin records, entry-point discovery and env selection (private).

Everything here works from installed metadata and environment variables
alone, without importing any plugin; :mod:`dzcore._plugin_host` does the
loading.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from dzcore._registry import BROKEN, ENTRY_POINT_GROUP, HOOK_KINDS, STATUSES

__all__ = [
    "BROKEN",
    "ENTRY_POINT_GROUP",
    "HOOK_KINDS",
    "STATUSES",
    "PluginInfo",
    "discover",
    "select",
]

#: Folders searched for installed distributions; None means ``sys.path``.
#: Tests point it at a folder of fake distributions.
SEARCH_PATH: list[str] | None = None

_INTERNAL_FILES = (
    "plugins.py",
    "_plugin_host.py",
    "_plugin_meta.py",
    "_plugin_hints.py",
    "_registry.py",
)
_DZCORE_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass
class PluginInfo:
    """What dz knows about one plugin, for ``dz list-plugins`` and errors.

    Attributes:
        name: The plugin name (the entry-point name, or the name given to
            ``register``).
        distribution: The installed distribution, None for in-process plugins.
        version: The distribution's version.
        module: The module path the entry point names, or the object's module.
        path: The file the plugin module was imported from, when known.
        status: One of ``ok``, ``failed``, ``invalid``, ``conflict``,
            ``disabled``.
        disabled_by: What disabled it (``DZ_PLUGINS``, ``DZ_DISABLE_PLUGINS``,
            ``unregister()``), else None.
        error: One line saying what went wrong, else None.
        traceback: The full traceback of that error, when there is one.
        hooks: Names of the hooks the plugin implements.
        provides: Kind -> names of the components it registered.
        load_ms: Milliseconds spent importing and registering it.
        in_process: Whether it came from ``register()``, not an entry point.
    """

    name: str
    distribution: str | None = None
    version: str | None = None
    module: str | None = None
    path: str | None = None
    status: str = "ok"
    disabled_by: str | None = None
    error: str | None = None
    traceback: str | None = None
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)
    load_ms: float | None = None
    in_process: bool = False

    def label(self) -> str:
        """Returns ``'name' (distribution version)`` for messages."""
        if self.in_process:
            return f"{self.name!r} (registered in-process)"
        return f"{self.name!r} ({self.distribution} {self.version})"

    def to_dict(self) -> dict[str, Any]:
        """Returns the record as plain JSON-ready data."""
        return asdict(self)


@dataclass
class FoundEntryPoint:
    """One ``dz.plugins`` entry point with its distribution, not yet loaded."""

    name: str
    value: str
    distribution: str
    version: str
    entry_point: Any


def discover() -> tuple[list[FoundEntryPoint], list[dict[str, Any]]]:
    """Lists installed entry points from metadata only, importing no plugin.

    Returns:
        The entry points with a unique name, and one conflict record per name
        that several distributions declare.
    """
    by_name: dict[str, list[FoundEntryPoint]] = {}
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        found = FoundEntryPoint(
            ep.name,
            ep.value,
            dist.name if dist else "?",
            dist.version if dist else "?",
            ep,
        )
        by_name.setdefault(ep.name, []).append(found)
    for group in by_name.values():
        group.sort(key=lambda f: (f.distribution.lower(), f.version))
    unique = [group[0] for group in by_name.values() if len(group) == 1]
    conflicts = [
        {
            "name": name,
            "distributions": [
                {"name": f.distribution, "version": f.version, "module": f.value}
                for f in group
            ],
        }
        for name, group in sorted(by_name.items())
        if len(group) > 1
    ]
    return unique, conflicts


def _entry_points() -> list[Any]:
    """Returns the ``dz.plugins`` entry points of distributions on the path."""
    from importlib.metadata import distributions, entry_points

    if SEARCH_PATH is None:
        return list(entry_points(group=ENTRY_POINT_GROUP))
    found, seen = [], set()
    for dist in distributions(path=list(SEARCH_PATH)):
        key = _norm(dist.metadata["Name"] or "")
        if key not in seen:
            seen.add(key)
            found += dist.entry_points.select(group=ENTRY_POINT_GROUP)
    return found


def _split_env(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _match(tokens: list[str], dists: dict[str, str], var: str) -> tuple[set, str]:
    """Maps env tokens to plugin names (or distribution names); warns on misses."""
    matched, unknown = set(), []
    for token in tokens:
        hits = {n for n, d in dists.items() if _norm(token) in (_norm(n), _norm(d))}
        matched |= hits
        if not hits:
            unknown.append(token)
    if not unknown:
        return matched, ""
    valid = ", ".join(sorted(dists, key=str.lower)) or "(none installed)"
    return matched, (
        f"{var} names unknown plugin(s) {', '.join(map(repr, unknown))}; "
        f"installed dz plugins are: {valid}"
    )


def select(dists: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Applies ``DZ_PLUGINS`` and ``DZ_DISABLE_PLUGINS`` to installed plugins.

    Args:
        dists: Plugin name -> distribution name, for every installed plugin.

    Returns:
        Plugin name -> the variable that disables it, and warning messages.
    """
    disabled, messages = {}, []
    allow = _split_env("DZ_PLUGINS")
    if allow is not None:
        wanted, message = _match(allow, dists, "DZ_PLUGINS")
        disabled.update({n: "DZ_PLUGINS" for n in dists if n not in wanted})
        messages.append(message)
    denied, message = _match(
        _split_env("DZ_DISABLE_PLUGINS") or [], dists, "DZ_DISABLE_PLUGINS"
    )
    disabled.update(dict.fromkeys(denied, "DZ_DISABLE_PLUGINS"))
    messages.append(message)
    return disabled, [m for m in messages if m]


def strict_mode() -> bool:
    """Whether ``DZ_PLUGINS_STRICT`` asks for errors instead of warnings."""
    return os.environ.get("DZ_PLUGINS_STRICT", "").strip().lower() in (
        "1",
        "true",
        "yes",
        "on",
    )


def stacklevel() -> int:
    """Returns the ``stacklevel`` that points a warning at the first caller
    outside the plugin machinery (counted from the function that warns)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level


def _is_internal(filename: str) -> bool:
    head, tail = os.path.split(os.path.abspath(filename))
    return head == _DZCORE_DIR and tail in _INTERNAL_FILES


def one_line(text: str) -> str:
    """Joins the non-empty lines of ``text`` with ``"; "``."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def describe_exc(exc: BaseException) -> str:
    """Returns ``"TypeName: message"`` for an exception, on one line."""
    message = one_line(str(exc))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def broken_message(info: PluginInfo) -> str:
    """Returns the one-line warning for a broken plugin."""
    return (
        f"dz plugin {info.label()} is {info.status}: {info.error} "
        "(other plugins keep working; run `dz list-plugins -v` for details)"
    )
