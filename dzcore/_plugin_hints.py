"""Error messages for registry lookups: ambiguity, misses, install hints (private).

A miss tells the user what to do next: a close match they may have meant,
the first-party distribution that provides the name when it is not
installed, or the status of the plugin that should have provided it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from dzcore._registry import SINGULAR, Component, Index
from dzcore.errors import AmbiguousNameError, UnknownComponentError

# Names that the first-party plugins provide, for the "not installed" hint:
# kind -> lowercase name -> (plugin name, distribution).
_ACTIVATIONS = ("activations", "dz-activations")
_OPTIM = ("optim", "dz-optim")
_DATASETS = ("datasets", "dz-datasets")
FIRST_PARTY: dict[str, dict[str, tuple[str, str]]] = {
    "functions": dict.fromkeys(
        ("relu", "sigmoid", "leaky_relu", "softplus", "gelu"), _ACTIVATIONS
    ),
    "optimizers": dict.fromkeys(
        ("sgd", "momentumsgd", "adagrad", "adadelta", "adam", "adamw"), _OPTIM
    ),
    "datasets": dict.fromkeys(("spiral", "get_spiral", "mnist"), _DATASETS),
    "transforms": dict.fromkeys(
        ("flatten", "tofloat", "normalize", "astype", "toint"), _DATASETS
    ),
}


def ambiguous_error(kind: str, name: str, comps: list[Component]) -> Exception:
    """Builds the error for a short name that several plugins register."""
    ids = " or ".join(repr(c.qualified_id) for c in comps)
    *rest, last = sorted({c.plugin for c in comps})
    claim = "both" if len(rest) == 1 else "all"
    return AmbiguousNameError(
        f"{SINGULAR[kind]} name {name!r} is ambiguous: plugins {', '.join(rest)} "
        f"and {last} {claim} register it; ask for {ids} instead, or disable one "
        "plugin with DZ_DISABLE_PLUGINS"
    )


def unknown_error(
    kind: str, name: str, index: Index, status_of: Mapping[str, Any]
) -> UnknownComponentError:
    """Builds the error for a name no plugin provides, with hints.

    Args:
        kind: The kind that was searched.
        name: The name as the caller wrote it.
        index: The index that was searched.
        status_of: Plugin name -> its info record (``status``, ``label()``).
    """
    what = SINGULAR[kind]
    hints = [_provider_hint(kind, name, status_of)]
    short = name.lower().rpartition(":")[2]
    close = difflib.get_close_matches(short, index.keys(kind), n=5, cutoff=0.6)
    if close:
        hints.append("did you mean " + " or ".join(repr(c) for c in close) + "?")
    elif index.available(kind):
        shown = index.available(kind)
        more = f" and {len(shown) - 12} more" if len(shown) > 12 else ""
        hints.append(f"registered {kind}: {', '.join(shown[:12])}{more}")
    else:
        hints.append(f"no {kind} are registered; see `dz list-plugins`")
    hint = "; ".join(h for h in hints if h)
    return UnknownComponentError(f"no {what} named {name!r} is registered; {hint}")


def _provider_hint(kind: str, name: str, status_of: Mapping[str, Any]) -> str:
    plugin_part, _, short = name.lower().rpartition(":")
    if plugin_part:
        info = status_of.get(plugin_part)
        if info is None:
            return f"no plugin named {plugin_part!r} is installed"
        if info.status == "ok":
            return ""
        return _status_hint(info)
    provider = FIRST_PARTY[kind].get(short)
    if provider is None:
        return _unloaded_hint(status_of)
    plugin, dist = provider
    info = status_of.get(plugin)
    if info is None:
        return (
            f"it is provided by the distribution {dist} (plugin {plugin!r}), "
            f"which is not installed; install it with `pip install {dist}`"
        )
    return _status_hint(info) if info.status != "ok" else ""


def _unloaded_hint(status_of: Mapping[str, Any]) -> str:
    """Name the plugins that did not load: one of them may provide the name.

    A third-party plugin is not imported when disabled or broken, so what
    it would register is unknown; saying which plugins are missing is the
    most that can be said.
    """
    unloaded = [info for info in status_of.values() if info.status != "ok"]
    if not unloaded:
        return ""
    described = ", ".join(f"{info.label()} ({_reason(info)})" for info in unloaded[:5])
    more = f" and {len(unloaded) - 5} more" if len(unloaded) > 5 else ""
    return f"these plugins did not load and may provide it: {described}{more}"


def _reason(info: Any) -> str:
    if info.status == "disabled":
        return f"disabled by {info.disabled_by}"
    return info.status


def _status_hint(info: Any) -> str:
    if info.status == "disabled":
        return f"plugin {info.label()} is disabled by {info.disabled_by}"
    return (
        f"plugin {info.label()} is {info.status}: {info.error}; "
        "see `dz list-plugins -v`"
    )
