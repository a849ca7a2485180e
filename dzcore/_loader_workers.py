"""Worker processes that build DataLoader batches (internal to dataloaders).

The parent hands batch ``k`` to worker ``k % count`` through that worker's
task queue; every worker puts ``(k, ok, payload)`` on one shared result
queue. The parent keeps results that arrive early until their turn, so the
batch order does not depend on which worker is faster.
"""

import logging
import multiprocessing
import queue
import random
import signal
import time
import traceback
from functools import partial
from typing import Any

import numpy as np

from dzcore.datasets import SampleError, gather
from dzcore.errors import DzError

logger = logging.getLogger(__name__)

#: Seconds between liveness checks while waiting for a batch.
POLL_SECONDS = 0.2

#: Seconds a worker gets to exit after being told to stop.
STOP_SECONDS = 5.0

#: The batch number of a task that reseeds a worker (for the next epoch).
RESEED = -1


class WorkerError(DzError, RuntimeError):
    """A DataLoader worker process died or failed outside any one sample."""


def worker_loop(dataset: Any, tasks: Any, results: Any, seed: int) -> None:
    """Build the batches named on ``tasks`` until a None arrives.

    ``seed`` seeds NumPy's global random state and Python's ``random`` in
    this worker: forked workers would otherwise share the parent's state
    and draw the same "random" augmentations.
    """
    # Ctrl-C reaches the whole process group; the parent alone handles it
    # and then stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _seed_globals(seed)
    fetch = getattr(dataset, "get_batch", None) or partial(gather, dataset)
    while True:
        task = tasks.get()
        if task is None:
            break
        number, indices = task
        if number == RESEED:
            _seed_globals(indices)
            continue
        try:
            results.put((number, True, fetch(indices)))
        except Exception as error:
            results.put((number, False, _describe(error)))


def _seed_globals(seed: int) -> None:
    np.random.seed(seed)
    random.seed(seed)


def _describe(error: Exception) -> tuple[str, int | None, str]:
    """Message, sample index (or None) and traceback text of a worker error."""
    message = f"{type(error).__name__}: {error}"
    index = error.index if isinstance(error, SampleError) else None
    return message, index, traceback.format_exc()


class WorkerPool:
    """Worker processes of one DataLoader epoch.

    Args:
        dataset: The dataset each worker reads (inherited or pickled).
        count: The number of worker processes.
        context: The multiprocessing start method, or None for the default.
        seeds: One random seed per worker (see :func:`worker_loop`).
    """

    def __init__(
        self, dataset: Any, count: int, context: str | None, seeds: list[int]
    ) -> None:
        ctx = multiprocessing.get_context(context)
        self._results = ctx.Queue()
        self._tasks = [ctx.Queue() for _ in range(count)]
        self._done: dict[int, tuple[int, bool, Any]] = {}
        self._closed = False
        self._workers = [
            ctx.Process(
                target=worker_loop,
                args=(dataset, tasks, self._results, seed),
                daemon=True,
                name=f"dz-loader-worker-{number}",
            )
            for number, (tasks, seed) in enumerate(zip(self._tasks, seeds, strict=True))
        ]
        for worker in self._workers:
            worker.start()

    def reseed(self, seeds: list[int]) -> None:
        """Give each worker a new random seed before its next batch."""
        for tasks, seed in zip(self._tasks, seeds, strict=True):
            tasks.put((RESEED, seed))

    def alive(self) -> bool:
        """Whether every worker is still running (a kept pool may have died)."""
        return not self._closed and all(w.is_alive() for w in self._workers)

    def submit(self, number: int, indices: np.ndarray) -> None:
        """Ask worker ``number % count`` to build batch ``number``."""
        self._tasks[number % len(self._tasks)].put((number, indices))

    def result(self, number: int) -> tuple[Any, Any]:
        """Wait for batch ``number``; re-raise a worker's error here.

        Raises:
            SampleError: naming the sample index a worker failed on.
            WorkerError: if a worker died or failed outside any sample.
        """
        while number not in self._done:
            try:
                message = self._results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                self._check_alive()
                continue
            self._done[message[0]] = message
        _, ok, payload = self._done.pop(number)
        if not ok:
            self._raise(number, *payload)
        return payload

    def _raise(self, number: int, message: str, index: int | None, trace: str) -> None:
        worker = number % len(self._tasks)
        where = f"DataLoader worker {worker}, batch {number}"
        if index is not None:
            raise SampleError(f"{where}: {message}\nWorker traceback:\n{trace}", index)
        raise WorkerError(f"{where}: {message}\nWorker traceback:\n{trace}")

    def _check_alive(self) -> None:
        for number, worker in enumerate(self._workers):
            if not worker.is_alive():
                raise WorkerError(
                    f"DataLoader worker {number} (pid {worker.pid}) exited "
                    f"unexpectedly with code {worker.exitcode}; it may have run "
                    "out of memory or been killed"
                )

    def close(self) -> None:
        """Stop every worker: ask politely, then terminate after a timeout."""
        if self._closed:
            return
        self._closed = True
        for tasks in self._tasks:
            tasks.put(None)
        deadline = time.monotonic() + STOP_SECONDS
        while self._any_alive() and time.monotonic() < deadline:
            self._drain()
            for worker in self._workers:
                worker.join(timeout=0.01)
        for worker in self._workers:
            if worker.is_alive():
                logger.warning(
                    "terminating unresponsive DataLoader worker %s", worker.pid
                )
                worker.terminate()
            worker.join()
        for channel in [*self._tasks, self._results]:
            channel.cancel_join_thread()
            channel.close()

    def _any_alive(self) -> bool:
        return any(worker.is_alive() for worker in self._workers)

    def _drain(self) -> None:
        # A worker blocked on a full result pipe cannot exit; empty it.
        try:
            while True:
                self._results.get_nowait()
        except queue.Empty:
            pass
