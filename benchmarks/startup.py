"""Case 6: whole-process start-up time of dzcore and the dz command.

Each command runs as a fresh process of this interpreter
(``sys.executable``), once untimed to warm the file cache and the
bytecode cache, then ``repeat`` times, alternating with the others; the
median wall time counts, from process start to exit. ``import dzcore``
is held against ``import numpy`` (target: at most 1.5 times as long),
since dzcore cannot start faster than the NumPy it imports; ``dz --help``
and ``dz list-plugins`` are reported against it without a target.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._common import Options, Result, alternate, median, ratio_result

NAME = "startup"
IMPORT_LIMIT = 1.5
REFERENCE = "import numpy"


def dz_command() -> list[str]:
    """The dz command line: ``python -m dzcore.cli``, else the ``dz`` script.

    Raises:
        RuntimeError: if dzcore.cli has no ``__main__`` and no ``dz``
            script lies next to this interpreter or on PATH.
    """
    try:
        runnable = importlib.util.find_spec("dzcore.cli.__main__") is not None
    except ModuleNotFoundError:
        runnable = False
    if runnable:
        return [sys.executable, "-m", "dzcore.cli"]
    beside = Path(sys.executable).with_name("dz")
    script = str(beside) if beside.is_file() else shutil.which("dz")
    if script is None:
        raise RuntimeError(
            f"{NAME}: cannot run dz: dzcore.cli has no __main__ and no dz script "
            f"is next to {sys.executable} or on PATH; install dzcore (pip "
            "install -e .) in this interpreter"
        )
    return [script]


def commands() -> dict[str, list[str]]:
    """What is timed: a name for the table -> the command line."""
    python, dz = sys.executable, dz_command()
    return {
        "python -c pass": [python, "-c", "pass"],
        REFERENCE: [python, "-c", "import numpy"],
        "import dzcore": [python, "-c", "import dzcore"],
        "dz --help": [*dz, "--help"],
        "dz list-plugins": [*dz, "list-plugins"],
    }


def run_once(name: str, argv: list[str]) -> float:
    """Run ``argv`` in a fresh process; return its wall time in seconds.

    Raises:
        RuntimeError: naming the command, its exit status and its stderr,
            if it does not exit with 0.
    """
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{NAME}: `{name}` ({' '.join(argv)}) exited with {done.returncode}:\n"
            f"{done.stderr.strip()}"
        )
    return seconds


def timer(name: str, argv: list[str]) -> Callable[[], float]:
    """A timing sample: one run of ``argv``."""
    return lambda: run_once(name, argv)


def run(options: Options) -> list[Result]:
    """Time each command in fresh processes, alternating; report in ms."""
    lines = commands()
    for name, argv in lines.items():
        run_once(name, argv)
    samples = alternate({n: timer(n, a) for n, a in lines.items()}, options.repeat)
    ms = {name: median(values) * 1000 for name, values in samples.items()}
    results = [
        ratio_result(
            NAME, "ms, python -c 'import dzcore'", ms["import dzcore"],
            ms[REFERENCE], limit=IMPORT_LIMIT, reference_name=REFERENCE,
        ),
        ratio_result(
            NAME, "ms, dz --help", ms["dz --help"], ms[REFERENCE],
            reference_name=REFERENCE,
        ),
        ratio_result(
            NAME, "ms, dz list-plugins", ms["dz list-plugins"], ms[REFERENCE],
            reference_name=REFERENCE,
        ),
    ]  # fmt: skip
    results[0].notes.append(
        f"fresh process each ({sys.executable}), median of {options.repeat} runs "
        f"after one warm-up run; dz run as `{' '.join(lines['dz --help'][:-1])}`; "
        f"the bare interpreter (python -c pass) takes {ms['python -c pass']:.0f} ms"
    )
    return results
