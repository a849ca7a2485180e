"""Plugin-level conformance checks: packaging, loading, hooks, names (private).

Each public function here is the body of one check; it raises
:class:`ConformanceError` naming what is wrong, or :class:`CheckSkippedError`.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from typing import Any

from dzcore import plugins
from dzcore._registry import HOOK_KINDS, KINDS, SINGULAR, Registry
from dzcore.testing._conformance_base import CheckSkippedError, fail

#: Modules a plugin must not import when it loads (they cost seconds).
DENYLIST = ("torch", "tensorflow", "jax")

#: Seconds a fresh interpreter may take to load the plugin.
SUBPROCESS_TIMEOUT = 120

_PLUGIN_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# Run in a fresh interpreter: load only the plugin, report as JSON.
_LOAD_SCRIPT = """
import json, sys
from dzcore import plugins
infos = {i.name: i for i in plugins.plugin_infos()}
info = infos.get(sys.argv[1])
print(json.dumps({
    "found": info is not None,
    "status": info and info.status,
    "error": info and info.error,
    "provides": info and info.provides,
    "denied": sorted(m for m in sys.argv[2:] if m in sys.modules),
}))
"""


def info_of(name: str) -> Any:
    """Returns the plugin record of ``name`` (any case), or None."""
    found = [i for i in plugins.plugin_infos() if i.name.lower() == name.lower()]
    return found[0] if found else None


def check_installed(name: str) -> None:
    """The plugin comes from an installed entry point with a version."""
    info = info_of(name)
    if info.in_process:
        raise CheckSkippedError(
            f"plugin {name!r} was registered in-process; install it (pip "
            "install -e .) to check its entry point"
        )
    if not info.distribution or info.version in (None, "", "?"):
        raise fail(
            f"plugin {name!r}: its entry point has no distribution or version "
            f"in the installed metadata (got {info.distribution} {info.version})"
        )


def check_loads_in_subprocess(name: str) -> None:
    """A fresh interpreter loads the plugin alone, ok, providing the same."""
    info = info_of(name)
    if info.in_process:
        raise CheckSkippedError(f"plugin {name!r} was registered in-process")
    report = _load_in_subprocess(info.name)
    if not report["found"]:
        raise fail(f"a fresh interpreter does not find plugin {name!r}")
    if report["status"] != "ok":
        raise fail(
            f"plugin {name!r} is {report['status']} in a fresh interpreter: "
            f"{report['error']}"
        )
    if report["denied"]:
        raise fail(
            f"loading plugin {name!r} imports {', '.join(report['denied'])}; "
            "import heavy libraries inside the functions that need them"
        )
    if report["provides"] != info.provides:
        raise fail(
            f"plugin {name!r} registers different things in a fresh "
            f"interpreter ({report['provides']}) than here ({info.provides})"
        )


def _load_in_subprocess(name: str) -> dict[str, Any]:
    env = dict(os.environ, DZ_PLUGINS=name)
    for var in ("DZ_DISABLE_PLUGINS", "DZ_PLUGINS_STRICT"):
        env.pop(var, None)
    command = [sys.executable, "-c", _LOAD_SCRIPT, name, *DENYLIST]
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=SUBPROCESS_TIMEOUT
    )
    if result.returncode != 0:
        raise fail(
            f"loading plugin {name!r} in a fresh interpreter exited with "
            f"status {result.returncode}: {result.stderr.strip()[-2000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_status(name: str) -> None:
    """The plugin's status is ok: it imported, validated and registered."""
    info = info_of(name)
    if info.status != "ok":
        raise fail(f"plugin {info.label()} is {info.status}: {info.error}")


def plugin_object(name: str) -> Any:
    """Returns the loaded plugin object (module, class or instance)."""
    from dzcore.plugins import _get_host

    obj = _get_host().objects.get(info_of(name).name)
    if obj is None:
        raise fail(f"plugin {name!r} has no loaded object (status not ok)")
    return obj


def check_hooks(name: str) -> None:
    """Every hook implementation is a dz hook; none is left unmarked."""
    obj = plugin_object(name)
    problems = []
    for attr in dir(obj):
        value = getattr(obj, attr, None)
        marked = getattr(value, "dz_impl", None) is not None
        if marked and attr not in HOOK_KINDS:
            problems.append(f"{attr} is marked @hookimpl but is not a dz hook")
        elif attr in HOOK_KINDS and callable(value) and not marked:
            problems.append(f"{attr} lacks the @dzcore.hookimpl marker")
    if not any(getattr(obj, hook, None) is not None for hook in HOOK_KINDS):
        problems.append(f"it implements none of {', '.join(HOOK_KINDS)}")
    if problems:
        raise fail(f"plugin {name!r}: " + "; ".join(problems))


def record_registrations(name: str) -> list[tuple[Any, ...]]:
    """Calls every hook of the plugin once more, recording what it adds."""
    obj, recorded = plugin_object(name), []
    for hook_name, kind in HOOK_KINDS.items():
        hook = getattr(obj, hook_name, None)
        if hook is None:
            continue
        registry = Registry(info_of(name).name, kind, f"{name!r} (conformance)")
        try:
            _call_hook(hook, registry)
        finally:
            registry.close()
        recorded += [(kind, *_describe(c)) for c in registry.components]
    return recorded


def _call_hook(hook: Any, registry: Registry) -> None:
    if "registry" in inspect.signature(hook).parameters:
        hook(registry=registry)
    else:
        hook()


def _describe(comp: Any) -> tuple[Any, ...]:
    target = comp.target
    if not isinstance(target, str):
        target = f"{getattr(target, '__module__', '?')}:" + getattr(
            target, "__qualname__", type(target).__qualname__
        )
    metadata = sorted((k, repr(v)) for k, v in comp.metadata.items())
    return comp.name, comp.aliases, target, comp.summary, tuple(metadata)


def check_deterministic(name: str) -> None:
    """Two more calls of the hooks register exactly what the load did."""
    first, second = record_registrations(name), record_registrations(name)
    if first != second:
        changed = sorted({r[1] for r in set(first) ^ set(second)})
        raise fail(
            f"plugin {name!r} registers different things on different calls "
            f"(changed: {', '.join(changed) or 'the order'}); a hook must "
            "register the same components every time"
        )
    seen: dict[tuple[str, str], int] = {}
    for kind, comp_name, *_ in first:
        key = (kind, comp_name.lower())
        seen[key] = seen.get(key, 0) + 1
    twice = [f"{SINGULAR[k]} {n!r}" for (k, n), count in seen.items() if count > 1]
    if twice:
        raise fail(f"plugin {name!r} registers {', '.join(twice)} more than once")
    _compare_with_index(name, first)


def _compare_with_index(name: str, recorded: list[tuple[Any, ...]]) -> None:
    plugin = info_of(name).name
    for kind in KINDS:
        now = sorted(r[1] for r in recorded if r[0] == kind)
        loaded = sorted(c.name for c in _own(kind, plugin))
        if now != loaded:
            raise fail(
                f"plugin {name!r}: its hooks now register {kind} {now}, but at "
                f"load time they registered {loaded}"
            )


def _own(kind: str, plugin: str) -> list[Any]:
    return [c for c in plugins.components(kind) if c.plugin == plugin]


def check_names(name: str) -> None:
    """Plugin and component names are valid and claimed by no other plugin."""
    plugin = info_of(name).name
    problems = []
    if not _PLUGIN_NAME_RE.match(plugin):
        problems.append(
            f"the plugin name {plugin!r} should be lowercase letters, digits and _"
        )
    for kind in KINDS:
        for comp in _own(kind, plugin):
            bad = [n for n in (comp.name, *comp.aliases) if not n.isidentifier()]
            problems += [
                f"{SINGULAR[kind]} name {n!r} is not a Python identifier, so "
                f"`{kind}.{n}` cannot reach it"
                for n in bad
            ]
    for kind, names in plugins.ambiguous_names().items():
        for short, ids in names.items():
            if any(i.lower().startswith(plugin.lower() + ":") for i in ids):
                others = ", ".join(i for i in ids if not i.startswith(plugin + ":"))
                problems.append(
                    f"{SINGULAR[kind]} name {short!r} is also registered as "
                    f"{others}, so the short name is ambiguous"
                )
    if problems:
        raise fail(f"plugin {name!r}: " + "; ".join(problems))


def check_targets(name: str) -> None:
    """Every lazy target, and every function spec, imports."""
    plugin, problems = info_of(name).name, []
    for kind in KINDS:
        for comp in _own(kind, plugin):
            try:
                comp.load()
                spec = comp.metadata.get("spec")
                if isinstance(spec, str):
                    from dzcore.testing.spec import resolve_spec

                    resolve_spec(spec)
            except Exception as exc:
                problems.append(f"{comp.qualified_id}: {type(exc).__name__}: {exc}")
    if problems:
        raise fail("targets that do not resolve: " + "; ".join(problems))


def check_summaries(name: str) -> None:
    """Every component has a one-line summary for listings and errors."""
    plugin = info_of(name).name
    missing = [
        c.qualified_id
        for kind in KINDS
        for c in _own(kind, plugin)
        if not c.summary.strip()
    ]
    if missing:
        raise fail(
            f"components without a summary: {', '.join(missing)}; pass "
            "summary='...' to registry.add or give the target a docstring"
        )
