"""List installed dz plugins: status, distribution, version, what they provide.

Loads every selected plugin (each isolated, so a broken one only shows up
as a row with its error) and prints a table and a summary line, or JSON
with ``--json``. ``--strict`` exits with status 1 unless every plugin is
``ok`` (a disabled one counts too: CI that wants all plugins loaded).
"""

from __future__ import annotations

import argparse
import json
import warnings
from typing import Any

#: Version of the ``--json`` output layout; bumped on incompatible changes.
SCHEMA_VERSION = 1

COLUMNS = ("NAME", "DISTRIBUTION", "VERSION", "STATUS", "LOAD", "PROVIDES")
_SHORT_ERROR = 72


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``dz list-plugins``."""
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="add module paths, hooks, full errors and tracebacks",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 unless every plugin's status is ok",
    )


def run(args: argparse.Namespace) -> int:
    """Prints the plugin listing; returns 1 under ``--strict`` unless all are ok."""
    report = build_report()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_table(report["plugins"]))
        print(format_summary(report))
        if args.verbose:
            print(format_details(report["plugins"]))
    not_ok = [p for p in report["plugins"] if p["status"] != "ok"]
    return 1 if args.strict and not_ok else 0


def build_report() -> dict[str, Any]:
    """Loads plugins and returns the ``--json`` document (schema version 1)."""
    from dzcore import PLUGIN_API, __version__, plugins

    with warnings.catch_warnings():
        # The listing reports broken plugins itself, one row each.
        warnings.simplefilter("ignore", plugins.BrokenPluginWarning)
        infos = plugins.plugin_infos()
    records = [info.to_dict() for info in infos]
    return {
        "schema_version": SCHEMA_VERSION,
        "dzcore_version": __version__,
        "plugin_api": PLUGIN_API,
        "entry_point_group": plugins.ENTRY_POINT_GROUP,
        "plugins": records,
        "conflicts": plugins.conflicts(),
        "ambiguous": plugins.ambiguous_names(),
        "selection_warnings": plugins.selection_warnings(),
        "counts": _counts(records),
    }


def _counts(records: list[dict[str, Any]]) -> dict[str, int]:
    from dzcore._plugin_meta import STATUSES

    return {s: sum(r["status"] == s for r in records) for s in STATUSES}


def _provides(record: dict[str, Any], verbose: bool = False) -> str:
    if record["status"] == "disabled":
        return f"(disabled by {record['disabled_by']})"
    if record["error"]:
        error = record["error"]
        if not verbose and len(error) > _SHORT_ERROR:
            error = error[: _SHORT_ERROR - 3] + "..."
        return error
    parts = [
        f"{kind}: {', '.join(names)}" for kind, names in record["provides"].items()
    ]
    return "; ".join(parts) or "(nothing)"


def _row(record: dict[str, Any]) -> tuple[str, ...]:
    load = "-" if record["load_ms"] is None else f"{record['load_ms']:.1f} ms"
    dist = "(in-process)" if record["in_process"] else record["distribution"]
    return (
        record["name"],
        dist or "-",
        record["version"] or "-",
        record["status"],
        load,
        _provides(record),
    )


def format_table(records: list[dict[str, Any]]) -> str:
    """Returns the aligned table, one row per plugin, header first."""
    rows = [COLUMNS, *(_row(r) for r in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def format_summary(report: dict[str, Any]) -> str:
    """Returns the line counting statuses and naming ambiguous short names."""
    records = report["plugins"]
    if not records:
        return (
            "no dz plugins are installed (entry-point group "
            f"{report['entry_point_group']})"
        )
    counts = [f"{n} {s}" for s, n in report["counts"].items() if n]
    line = f"{len(records)} plugin(s): {', '.join(counts)}"
    ambiguous = [
        f"{kind[:-1]} {name!r} ({', '.join(ids)})"
        for kind, names in report["ambiguous"].items()
        for name, ids in names.items()
    ]
    if ambiguous:
        line += "; ambiguous short names: " + "; ".join(ambiguous)
    return line


def format_details(records: list[dict[str, Any]]) -> str:
    """Returns the ``-v`` section: module, hooks, full error and traceback."""
    blocks = []
    for record in records:
        lines = [f"{record['name']}:"]
        lines.append(f"  module: {record['module'] or '-'} ({record['path'] or '-'})")
        lines.append(f"  hooks: {', '.join(record['hooks']) or '-'}")
        lines.append(f"  provides: {_provides(record, verbose=True)}")
        if record["traceback"]:
            lines.append("  traceback:")
            lines += [f"    {t}" for t in record["traceback"].rstrip().splitlines()]
        blocks.append("\n".join(lines))
    return "\n" + "\n\n".join(blocks)
