"""Shared pieces of the cases: results, timing, environment, the table.

Nothing here imports dzcore, so the NumPy side of a case can run in a
process that never loads dz.
"""

from __future__ import annotations

import datetime
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

DTYPE = np.float32


@dataclass
class Options:
    """What the command line asked for.

    Attributes:
        quick: tiny sizes, for a smoke run and the tests.
        repeat: samples per side (each side runs this often, alternating).
    """

    quick: bool = False
    repeat: int = 5


@dataclass
class Result:
    """One row of the table: a measure of dz against its reference.

    Attributes:
        case: the case name (``spiral``).
        measure: what was measured, with its unit (``ms per iteration``).
        dz: the dz value.
        reference: the reference value (hand-written NumPy unless
            ``reference_name`` says otherwise), or None.
        reference_name: who the reference is.
        target: the goal, as text (``<= 2.0``), or "".
        ratio: the ratio the target is about (dz / reference unless the
            case says otherwise), or None.
        met: whether the target is met, or None without a target.
        notes: extra lines printed under the table.
    """

    case: str
    measure: str
    dz: float
    reference: float | None = None
    reference_name: str = "NumPy"
    target: str = ""
    ratio: float | None = None
    met: bool | None = None
    notes: list[str] = field(default_factory=list)


def ratio_result(
    case: str,
    measure: str,
    dz: float,
    reference: float,
    limit: float | None = None,
    reference_name: str = "NumPy",
) -> Result:
    """A Result whose ratio is dz / reference, met when at most ``limit``."""
    ratio = dz / reference if reference else float("inf")
    met = None if limit is None else ratio <= limit
    target = "" if limit is None else f"<= {limit:g}"
    return Result(case, measure, dz, reference, reference_name, target, ratio, met)


def pin_blas() -> str:
    """Pin BLAS to one thread for this process; return a line saying so."""
    from threadpoolctl import threadpool_limits

    # Kept referenced: the limits hold as long as the object lives.
    global _LIMITS
    _LIMITS = threadpool_limits(limits=1, user_api="blas")
    return "BLAS pinned to 1 thread (threadpoolctl.threadpool_limits)"


_LIMITS = None


def time_calls(run: Callable[[], object], number: int) -> float:
    """Seconds per call of ``run``, over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        run()
    return (time.perf_counter() - start) / number


def alternate(
    sides: dict[str, Callable[[], float]], repeat: int
) -> dict[str, list[float]]:
    """Call each side in turn, ``repeat`` rounds; collect what each returns.

    Each side returns its own measurement (seconds), so that it can leave
    its set-up out. Alternating spreads the load of a shared machine
    over both sides alike.
    """
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, side in sides.items():
            samples[name].append(side())
    return samples


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def peak_traced(run: Callable[[], object]) -> int:
    """Peak bytes that Python and NumPy allocate while ``run`` runs.

    Measured with tracemalloc in a run of its own (tracing slows code
    down, so it never overlaps a timed run).
    """
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def init_params(sizes: Sequence[int], seed: int) -> list[tuple[np.ndarray, ...]]:
    """Initial (W, b) per layer, drawn as dz's Linear draws them.

    ``W`` is standard normal scaled by ``sqrt(1 / in_size)``, ``b`` is
    zeros, both float32. Both sides of a case start from copies of these.
    """
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        W = rng.standard_normal((n_in, n_out)) * np.sqrt(1.0 / n_in)
        params.append((W.astype(DTYPE), np.zeros(n_out, DTYPE)))
    return params


def softmax_cross_entropy(y: np.ndarray, t: np.ndarray) -> tuple:
    """Hand-written mean cross-entropy of logits ``y`` and its gradient."""
    n = len(t)
    rows = np.arange(n)
    m = y.max(axis=1, keepdims=True)
    e = np.exp(y - m)
    s = e.sum(axis=1, keepdims=True)
    loss = (np.log(s[:, 0]) + m[:, 0] - y[rows, t]).sum() / DTYPE(n)
    gy = e / s
    gy[rows, t] -= 1
    gy /= DTYPE(n)
    return loss, gy


def environment(pin_line: str) -> list[str]:
    """Lines describing the machine, the versions and the thread pin."""
    from threadpoolctl import threadpool_info

    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [
        f"date:    {now:%Y-%m-%d %H:%M} UTC",
        f"CPU:     {_cpu_model()} ({os.cpu_count()} logical CPUs)",
        f"Python:  {platform.python_version()} ({sys.executable})",
        f"NumPy:   {np.__version__}",
    ]
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            lines.append(
                f"BLAS:    {pool.get('internal_api')} {pool.get('version')} "
                f"({pool.get('architecture', '?')}), "
                f"{pool.get('num_threads')} thread(s) now"
            )
    lines.append(f"threads: {pin_line}")
    blas_env = [f"{k}={v}" for k, v in sorted(os.environ.items()) if "BLAS" in k]
    lines.append("env:     " + (", ".join(blas_env) or "no *BLAS* variables set"))
    return lines


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def format_table(results: Sequence[Result]) -> str:
    """The results as an aligned text table, then their notes."""
    header = ("case", "measure", "dz", "reference", "ratio", "target", "met")
    rows = [header]
    for r in results:
        ref = "" if r.reference is None else f"{_num(r.reference)} ({r.reference_name})"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        met = {None: "", True: "yes", False: "NO"}[r.met]
        rows.append((r.case, r.measure, _num(r.dz), ref, ratio, r.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"- {r.case}: {note}" for r in results for note in r.notes]
    return "\n".join(
        [line.rstrip() for line in lines] + ([""] + notes if notes else [])
    )


def _num(value: float) -> str:
    if value == 0 or 0.01 <= abs(value) < 100000:
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value:.3e}"


def require_same(case: str, dz: np.ndarray, reference: np.ndarray, rtol: float) -> str:
    """Check that both sides computed the same losses; return a note saying so.

    Raises:
        RuntimeError: naming the case and the first step that differs, if
            the sides disagree by more than ``rtol`` (relative).
    """
    dz, reference = np.asarray(dz, np.float64), np.asarray(reference, np.float64)
    if dz.shape != reference.shape:
        raise RuntimeError(
            f"{case}: dz gave {dz.size} losses, the reference {reference.size}"
        )
    scale = np.maximum(np.abs(reference), 1e-12)
    relative = np.abs(dz - reference) / scale
    bad = np.flatnonzero(relative > rtol)
    if bad.size:
        step = int(bad[0])
        raise RuntimeError(
            f"{case}: dz and the reference disagree at step {step}: loss "
            f"{dz[step]!r} against {reference[step]!r} (rtol {rtol})"
        )
    return (
        f"same loss as the reference over {dz.size} steps "
        f"(largest relative difference {relative.max():.1e})"
    )
