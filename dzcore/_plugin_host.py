"""Loading and isolation of dz plugins (private).

:class:`PluginHost` owns the entry-point loop (pluggy keeps the specs, the
signature validation and the markers): every plugin import and every hook
call runs in its own error handler, and the outcome is recorded in a
:class:`PluginInfo` per plugin. The public face is :mod:`dzcore.plugins`.
"""

from __future__ import annotations

import copy
import difflib
import logging
import threading
import time
import traceback
import warnings
from typing import Any

from dzcore._plugin_meta import (
    BROKEN,
    HOOK_KINDS,
    FoundEntryPoint,
    PluginInfo,
    broken_message,
    describe_exc,
    discover,
    one_line,
    select,
    stacklevel,
    strict_mode,
)
from dzcore._registry import BrokenPluginWarning, DzPluginWarning, Index, Registry
from dzcore.errors import PluginError

logger = logging.getLogger(__name__)


class PluginHost:
    """Loads plugins once, isolates each, and keeps the component index.

    Attributes:
        state: ``new``, ``loading``, ``loaded`` or ``degraded`` (loaded, with
            at least one broken plugin).
        infos: Plugin name -> :class:`PluginInfo`.
        index: The committed components.
        conflicts: Entry-point names that several distributions declare.
        selection_warnings: Messages about unknown names in the env vars.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._pm: Any = None
        self.state = "new"
        self.infos: dict[str, PluginInfo] = {}
        self.objects: dict[str, Any] = {}
        self.index = Index()
        self.conflicts: list[dict[str, Any]] = []
        self.selection_warnings: list[str] = []

    def ensure_loaded(self, strict: bool = True) -> None:
        """Loads the entry-point plugins unless done; may raise in strict mode."""
        if self.state == "loaded":
            return
        with self._lock:
            if self.state == "new":
                self._load_all()
        if strict and self.state == "degraded" and strict_mode():
            raise self._strict_error(self.broken())

    def broken(self) -> list[PluginInfo]:
        """Returns the records of plugins whose status is broken."""
        return [i for i in self.infos.values() if i.status in BROKEN]

    def _load_all(self) -> None:
        self.state = "loading"
        try:
            found, self.conflicts = discover()
            dists = {f.name: f.distribution for f in found}
            dists.update({c["name"]: "?" for c in self.conflicts})
            disabled, self.selection_warnings = select(dists)
            for message in self.selection_warnings:
                warnings.warn(message, DzPluginWarning, stacklevel=stacklevel())
            self._load_each(found, disabled)
        finally:
            self._refresh_state()
        logger.debug("dz plugins: %s", {n: i.status for n, i in self.infos.items()})
        self._report(self.broken(), raise_strict=False)

    def _load_each(
        self, found: list[FoundEntryPoint], disabled: dict[str, str]
    ) -> None:
        records = [(f.name, f) for f in found]
        records += [(c["name"], c) for c in self.conflicts]
        for name, record in sorted(records, key=lambda r: r[0].lower()):
            info = self._record(record)
            if name in disabled:
                info.status, info.disabled_by = "disabled", disabled[name]
            elif isinstance(record, FoundEntryPoint):
                self._load_entry_point(record, info)
            self.infos[name] = info

    def _record(self, record: FoundEntryPoint | dict[str, Any]) -> PluginInfo:
        if isinstance(record, FoundEntryPoint):
            return PluginInfo(
                record.name, record.distribution, record.version, record.value
            )
        dists = record["distributions"]
        who = ", ".join(f"{d['name']} {d['version']} ({d['module']})" for d in dists)
        return PluginInfo(
            record["name"],
            ", ".join(d["name"] for d in dists),
            ", ".join(d["version"] for d in dists),
            ", ".join(d["module"] for d in dists),
            status="conflict",
            error=f"{len(dists)} distributions declare this entry-point name: "
            f"{who}; neither is loaded, uninstall all but one",
        )

    def _load_entry_point(self, found: FoundEntryPoint, info: PluginInfo) -> None:
        start = time.perf_counter()
        try:
            obj = found.entry_point.load()
        except (Exception, SystemExit) as exc:
            self._set_broken(
                info,
                "failed",
                f"{describe_exc(exc)} (while importing {found.value})",
                traceback.format_exc(),
            )
        else:
            self._add(obj, info)
        info.load_ms = round((time.perf_counter() - start) * 1000, 1)
        logger.debug(
            "plugin %s: %s in %.1f ms", info.label(), info.status, info.load_ms
        )

    def _set_broken(
        self, info: PluginInfo, status: str, error: str, tb: str | None = None
    ) -> None:
        if info.status in BROKEN:
            info.error = f"{info.error}; {error}"
        else:
            info.status, info.error = status, error
        info.traceback = info.traceback or tb

    def _plugin_manager(self) -> Any:
        if self._pm is None:
            import pluggy

            from dzcore import hookspecs

            self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
            self._pm.add_hookspecs(hookspecs)
        return self._pm

    def _add(self, obj: Any, info: PluginInfo) -> None:
        """Validates ``obj`` as plugin ``info.name`` and runs its hooks."""
        import pluggy

        info.path = getattr(obj, "__file__", None)
        problem = _api_problem(obj) or _unmarked_problem(obj)
        if problem:
            return self._set_broken(info, "invalid", problem)
        pm = self._plugin_manager()
        try:
            pm.register(obj, name=info.name)
        except pluggy.PluginValidationError as exc:
            self._undo(info.name)
            return self._set_broken(info, "invalid", one_line(str(exc)))
        except ValueError as exc:
            return self._set_broken(info, "conflict", one_line(str(exc)))
        info.hooks = sorted(c.name for c in pm.get_hookcallers(obj) or ())
        problem = _hook_problem(pm, obj)
        if problem:
            self._undo(info.name)
            return self._set_broken(info, "invalid", problem)
        self.objects[info.name] = obj
        self._call_hooks(pm, obj, info)

    def _undo(self, name: str) -> None:
        if self._pm is not None and self._pm.get_plugin(name) is not None:
            self._pm.unregister(name=name)

    def _call_hooks(self, pm: Any, obj: Any, info: PluginInfo) -> None:
        for hook_name, kind in HOOK_KINDS.items():
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                if impl.plugin is obj:
                    self._call_one(impl, hook_name, kind, info)

    def _call_one(self, impl: Any, hook_name: str, kind: str, info: PluginInfo) -> None:
        """Runs one hook implementation, keeping its components only on success."""
        registry = Registry(info.name, kind, info.label())
        try:
            result = impl.function(**dict.fromkeys(impl.argnames, registry))
            if result is not None:
                raise TypeError(
                    f"{hook_name} returned a {type(result).__name__}; a dz hook "
                    "must call registry.add(...) and return None"
                )
        except (Exception, SystemExit) as exc:
            tb = traceback.format_exc()
            self._set_broken(
                info, "failed", f"{describe_exc(exc)} (in {hook_name})", tb
            )
            return
        finally:
            registry.close()
        kept = self.index.commit(registry.components)
        names = info.provides.setdefault(kind, [])
        names.extend(c.name for c in kept)
        names.sort(key=str.lower)

    def _refresh_state(self) -> None:
        self.state = "degraded" if self.broken() else "loaded"

    def _report(self, infos: list[PluginInfo], raise_strict: bool) -> None:
        if not infos:
            return
        if strict_mode():
            if raise_strict:
                raise self._strict_error(infos)
            return
        for info in infos:
            warnings.warn(
                broken_message(info), BrokenPluginWarning, stacklevel=stacklevel()
            )

    @staticmethod
    def _strict_error(infos: list[PluginInfo]) -> PluginError:
        lines = "; ".join(f"{i.label()} is {i.status}: {i.error}" for i in infos)
        return PluginError(
            f"DZ_PLUGINS_STRICT is set and {len(infos)} plugin(s) are broken: "
            f"{lines}; run `dz list-plugins -v` for details"
        )

    def register(self, obj: Any, name: str | None = None) -> str:
        """Adds an in-process plugin through the same checks as entry points."""
        self.ensure_loaded(strict=False)
        name = name or _default_name(obj)
        with self._lock:
            self._check_free(obj, name)
            info = PluginInfo(name, module=_module_of(obj), in_process=True)
            start = time.perf_counter()
            self._add(obj, info)
            info.load_ms = round((time.perf_counter() - start) * 1000, 1)
            self.infos[name] = info
            self._refresh_state()
        self._report([info] if info.status in BROKEN else [], raise_strict=True)
        return name

    def _check_free(self, obj: Any, name: str) -> None:
        if not isinstance(name, str) or not name or ":" in name:
            raise PluginError(
                f"plugin name {name!r} must be a non-empty str without ':'"
            )
        taken = self._find_name(name)
        if taken is not None:
            raise PluginError(
                f"plugin name {name!r} is already taken by {self.infos[taken].label()};"
                " pass another name=, or unregister() the other plugin first"
            )
        for other, registered in self.objects.items():
            if registered is obj:
                raise PluginError(f"{obj!r} is already registered as plugin {other!r}")

    def _find_name(self, name: str) -> str | None:
        return next((n for n in self.infos if n.lower() == name.lower()), None)

    def unregister(self, name_or_obj: Any) -> str:
        """Removes a plugin and its components; returns its name."""
        self.ensure_loaded(strict=False)
        with self._lock:
            name = self._name_of(name_or_obj)
            obj = self.objects.pop(name, None)
            if obj is not None and self._pm is not None:
                self._undo(name)
            self.index.remove_plugin(name)
            info = self.infos[name]
            if info.in_process:
                del self.infos[name]
            else:
                info.status, info.disabled_by = "disabled", "unregister()"
                info.provides, info.error, info.traceback = {}, None, None
            self._refresh_state()
        return name

    def _name_of(self, name_or_obj: Any) -> str:
        if isinstance(name_or_obj, str):
            name = self._find_name(name_or_obj)
        else:
            name = next((n for n, o in self.objects.items() if o is name_or_obj), None)
        if name is None:
            known = ", ".join(sorted(self.infos)) or "(none)"
            raise PluginError(
                f"cannot unregister {name_or_obj!r}: no such plugin is registered;"
                f" registered plugins are: {known}"
            )
        return name

    def snapshot(self) -> list[PluginInfo]:
        """Returns copies of every plugin record, sorted by name."""
        infos = sorted(self.infos.values(), key=lambda i: i.name.lower())
        return copy.deepcopy(infos)

    def close(self) -> None:
        """Unregisters everything from pluggy (used by ``reset``)."""
        with self._lock:
            for name in list(self.objects):
                self._undo(name)
            self.objects.clear()


def _api_problem(obj: Any) -> str:
    from dzcore import PLUGIN_API, __version__

    declared = getattr(obj, "dz_plugin_api", None)
    if declared is None or declared == PLUGIN_API:
        return ""
    return (
        f"it declares dz_plugin_api = {declared!r} but dzcore {__version__} "
        f"provides plugin API {PLUGIN_API}; install a matching plugin version"
    )


def _unmarked_problem(obj: Any) -> str:
    unmarked = [
        attr
        for attr in dir(obj)
        if attr.startswith("dz_register_")
        and callable(getattr(obj, attr, None))
        and getattr(getattr(obj, attr), "dz_impl", None) is None
    ]
    if not unmarked:
        return ""
    return (
        f"{', '.join(unmarked)} is not marked with @dzcore.hookimpl, so dz "
        "would never call it; add the decorator"
    )


def _hook_problem(pm: Any, obj: Any) -> str:
    problems = []
    for caller in pm.get_hookcallers(obj) or ():
        impls = [i for i in caller.get_hookimpls() if i.plugin is obj]
        if not caller.has_spec() and not all(i.optionalhook for i in impls):
            close = difflib.get_close_matches(caller.name, HOOK_KINDS, n=1)
            maybe = f" (did you mean {close[0]}?)" if close else ""
            problems.append(
                f"{caller.name} is not a dz hook{maybe}; dz hooks are "
                f"{', '.join(HOOK_KINDS)}"
            )
        elif any(i.wrapper or i.hookwrapper for i in impls):
            problems.append(
                f"{caller.name} is declared as a wrapper, which dz registration "
                "hooks do not support"
            )
    return "; ".join(problems)


def _default_name(obj: Any) -> str:
    name = getattr(obj, "__name__", None) or type(obj).__name__
    return name.rpartition(".")[2].lower()


def _module_of(obj: Any) -> str | None:
    if hasattr(obj, "__file__") or type(obj).__name__ == "module":
        return getattr(obj, "__name__", None)
    return getattr(obj, "__module__", None)
