"""DataLoader: batches of a dataset, epoch after epoch, in one or more processes.

Example:
    >>> import numpy as np
    >>> from dzcore.datasets import ArrayDataset
    >>> data = ArrayDataset(np.zeros((10, 2), np.float32), np.arange(10))
    >>> loader = DataLoader(data, batch_size=4, seed=0)
    >>> [x.shape[0] for x, t in loader]
    [4, 4, 2]
"""

import logging
import math
import numbers
import weakref
from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np

from dzcore import cuda
from dzcore._loader_workers import WorkerError, WorkerPool
from dzcore.datasets import DatasetError, gather

logger = logging.getLogger(__name__)

__all__ = ["DataLoader", "WorkerError"]

#: Version of the dictionary returned by :meth:`DataLoader.state_dict`.
STATE_VERSION = 1

Batch = tuple[Any, Any]


def _epoch_reader(dataset: Any) -> Any:
    """The dataset's quickest batch reader for one epoch, or None.

    A :class:`~dzcore.datasets.Dataset` over plain arrays hands back a
    reader that skips the per-batch checks of ``get_batch``. Limitation:
    the reader is taken at the start of each epoch, so replacing the
    dataset's arrays or transforms mid-epoch takes effect at the next one
    (changing the arrays' values in place is seen at once).
    """
    reader = getattr(dataset, "_array_reader", None)
    return None if reader is None else reader()


class DataLoader:
    """Iterate over a dataset in batches ``(x, t)``, one epoch per pass.

    Contract:

    - ``for x, t in loader:`` yields the batches of one epoch; when the
      epoch ends the loader draws the order of the next one, so iterating
      again gives the next epoch. ``next(loader)`` does the same one batch
      at a time and raises ``StopIteration`` at the end of each epoch
      (DeZero style); :meth:`reset` starts a fresh epoch.
    - An epoch left early (``break``) continues where it stopped the next
      time the loader is iterated; call :meth:`reset` to drop its rest.
    - ``len(loader)`` is the number of batches per epoch; the last batch is
      smaller when the dataset does not divide evenly, unless
      ``drop_last=True`` drops it.
    - ``x`` keeps the dataset's dtype (float32 for dz's datasets); ``t`` is
      the stacked labels (integers for classification) or None.
    - Batches come from ``dataset.get_batch(indices)`` when the dataset
      has it (an in-memory dataset returns a whole batch in one indexing
      operation), else from ``dataset[i]`` one sample at a time.
    - The order is drawn from ``seed``: the same seed gives the same
      batches. :meth:`state_dict` and :meth:`load_state_dict` save and
      restore the epoch, the position in it and the random state, so a
      resumed run sees exactly the batches an uninterrupted one would.
    - With ``num_workers > 0``, worker processes build the batches (for
      datasets that read each sample from disk); the batches and their
      order are the same as with ``num_workers=0``. Workers stop when the
      epoch ends, when the loop is left (``break``, an error, Ctrl-C) and
      the iterator is dropped, or on :meth:`reset`; with ``next(loader)``
      they run until the epoch ends, :meth:`reset`, or the loader is
      garbage-collected. Each worker seeds NumPy's global random state and
      ``random`` from the loader's seed, the epoch and its own number, so
      random transforms differ between workers and repeat for a seeded
      loader.

    Args:
        dataset: A :class:`~dzcore.datasets.Dataset`, or any object with
            ``__len__`` and ``__getitem__`` returning ``(x, t)``.
        batch_size: Samples per batch, at least 1.
        shuffle: Draw a new random order each epoch; else keep index order.
        drop_last: Drop the last batch when it is smaller than batch_size.
        seed: An int seed, a ``np.random.Generator`` (used, not copied), or
            None for a fresh unpredictable order.
        gpu: Move each batch to the GPU with :func:`dzcore.cuda.as_cupy`.
        num_workers: Worker processes; 0 builds batches in this process.
        mp_context: The multiprocessing start method of the workers
            ("fork", "spawn", "forkserver"); None takes the platform's
            default. With "spawn" or "forkserver" the dataset must be
            picklable and a script must guard its code with
            ``if __name__ == "__main__":``.
        persistent_workers: Keep the worker processes from one complete
            epoch to the next instead of starting them afresh (they are
            reseeded each epoch); :meth:`close` or garbage collection of the
            loader stops them. Needs ``num_workers > 0``.

    Raises:
        ValueError: for a batch_size below 1, an empty dataset, or
            ``drop_last=True`` with fewer samples than one batch.
        TypeError: for arguments of the wrong type.
        RuntimeError: for ``gpu=True`` without CuPy and a CUDA device.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int | np.random.Generator | None = None,
        gpu: bool = False,
        num_workers: int = 0,
        mp_context: str | None = None,
        persistent_workers: bool = False,
    ) -> None:
        self.dataset = dataset
        self.batch_size = _check_count(batch_size, "batch_size", minimum=1)
        self.num_workers = _check_count(num_workers, "num_workers", minimum=0)
        if persistent_workers and not self.num_workers:
            raise ValueError(
                "DataLoader: persistent_workers=True needs num_workers > 0, "
                "got num_workers=0"
            )
        self.persistent_workers = bool(persistent_workers)
        self._pool: WorkerPool | None = None
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.mp_context = mp_context
        self.data_size = _dataset_length(dataset)
        self.max_iter = self._count_batches()
        self.gpu = False
        if gpu:
            self.to_gpu()
        self._rng = _make_rng(seed)
        self._fetch = getattr(dataset, "get_batch", None) or partial(gather, dataset)
        self._active: Iterator[Batch] | None = None
        self.epoch = 0
        self.position = 0
        self._draw_order()

    def _count_batches(self) -> int:
        if not self.drop_last:
            return math.ceil(self.data_size / self.batch_size)
        if self.data_size < self.batch_size:
            raise ValueError(
                f"DataLoader: drop_last=True with batch_size {self.batch_size} "
                f"and a dataset of {self.data_size} samples gives no batch; "
                "use a smaller batch_size or drop_last=False"
            )
        return self.data_size // self.batch_size

    def __len__(self) -> int:
        return self.max_iter

    def _draw_order(self) -> None:
        # The state before the draw is what state_dict saves: restoring it
        # and drawing again reproduces this order and the state after it.
        self._rng_state = self._rng.bit_generator.state
        if self.shuffle:
            self._order = self._rng.permutation(self.data_size)
        else:
            self._order = np.arange(self.data_size)

    def _finish_epoch(self) -> None:
        self.epoch += 1
        self.position = 0
        self._draw_order()

    def batch_indices(self, number: int) -> np.ndarray:
        """Return the sample indices of batch ``number`` of the current epoch."""
        start = number * self.batch_size
        return self._order[start : start + self.batch_size]

    def _to_device(self, x: Any, t: Any) -> Batch:
        return cuda.as_cupy(x), (None if t is None else cuda.as_cupy(t))

    def __iter__(self) -> Iterator[Batch]:
        self._close_active()
        return self._epoch_batches()

    def _epoch_batches(self) -> Iterator[Batch]:
        if self.position >= self.max_iter:
            self._finish_epoch()
        if self.num_workers:
            yield from self._worker_batches()
        else:
            # Locals and a slice per batch: this loop is the whole cost of
            # a small in-memory batch.
            fetch = _epoch_reader(self.dataset) or self._fetch
            size, order, gpu = self.batch_size, self._order, self.gpu
            for position in range(self.position, self.max_iter):
                start = position * size
                x, t = fetch(order[start : start + size])
                self.position = position + 1
                yield self._to_device(x, t) if gpu else (x, t)
        self._finish_epoch()

    def _worker_batches(self) -> Iterator[Batch]:
        # Limitation: without persistent_workers, workers start afresh each
        # epoch (a few ms each with fork, more with spawn), which small
        # epochs feel.
        pool = self._worker_pool()
        finished = False
        try:
            sent = self.position
            while self.position < self.max_iter:
                ahead = min(self.max_iter, self.position + 2 * self.num_workers)
                for number in range(sent, ahead):
                    pool.submit(number, self.batch_indices(number))
                sent = max(sent, ahead)
                x, t = pool.result(self.position)
                self.position += 1
                yield self._to_device(x, t) if self.gpu else (x, t)
            finished = True
        finally:
            # A pool left mid-epoch may still hold batches in flight: it is
            # never kept, persistent or not.
            if finished and self.persistent_workers:
                self._pool = pool
            else:
                pool.close()

    def _worker_pool(self) -> WorkerPool:
        """The kept pool, reseeded for this epoch, or a new one."""
        seeds = worker_seeds(self._rng, self.epoch, self.num_workers)
        pool, self._pool = self._pool, None
        if pool is not None and pool.alive():
            pool.reseed(seeds)
            return pool
        if pool is not None:
            pool.close()
        pool = WorkerPool(self.dataset, self.num_workers, self.mp_context, seeds)
        if self.persistent_workers:
            # Stops the workers when the loader is garbage-collected.
            weakref.finalize(self, pool.close)
        return pool

    def close(self) -> None:
        """Stop the workers that ``persistent_workers=True`` keeps alive."""
        self._close_active()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __next__(self) -> Batch:
        if self._active is None:
            self._active = self._epoch_batches()
        try:
            return next(self._active)
        except StopIteration:
            self._active = None
            raise

    def next(self) -> Batch:
        """Return the next batch (DeZero's spelling of ``next(loader)``)."""
        return self.__next__()

    def _close_active(self) -> None:
        if self._active is not None:
            self._active.close()
            self._active = None

    def reset(self) -> None:
        """Start a fresh epoch, dropping the rest of a partly read one.

        Does nothing at the start of an epoch; otherwise counts the partly
        read epoch as done and draws the order of the next.
        """
        self._close_active()
        if self.position > 0:
            self._finish_epoch()

    def to_gpu(self) -> None:
        """Move the following batches to the GPU.

        Raises:
            RuntimeError: if CuPy with a CUDA device is not available.
        """
        if not cuda.gpu_enable():
            raise RuntimeError(
                "DataLoader: gpu=True needs CuPy and a CUDA device, and none is "
                "available; install dzcore[gpu] on a machine with a GPU or use "
                "gpu=False"
            )
        self.gpu = True

    def to_cpu(self) -> None:
        """Keep the following batches as NumPy arrays."""
        self.gpu = False

    def state_dict(self) -> dict[str, Any]:
        """Return the iteration state as a JSON-serialisable dictionary.

        It holds the epoch, the number of batches already read in it, the
        random state the epoch's order was drawn from, and the settings
        that must match on :meth:`load_state_dict`.
        """
        return {
            "version": STATE_VERSION,
            "epoch": self.epoch,
            "position": self.position,
            "rng_state": _jsonable(self._rng_state),
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "dataset_length": self.data_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore an iteration state saved by :meth:`state_dict`.

        Raises:
            ValueError: if the state is malformed or was saved for another
                batch size, shuffle or drop_last setting or dataset length.
        """
        _check_state(self, state)
        self._close_active()
        try:
            self._rng.bit_generator.state = state["rng_state"]
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(
                f"DataLoader.load_state_dict: the saved random state does not fit "
                f"this loader's {type(self._rng.bit_generator).__name__} "
                f"generator: {error}"
            ) from error
        self._draw_order()
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {self.data_size}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"epoch={self.epoch}, position={self.position}/{self.max_iter})"
        )


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"DataLoader: {name} must be an integer, got {type(value).__name__} "
            f"{value!r}"
        )
    if value < minimum:
        raise ValueError(f"DataLoader: {name} must be at least {minimum}, got {value}")
    return int(value)


def _dataset_length(dataset: Any) -> int:
    try:
        length = len(dataset)
    except TypeError as error:
        raise TypeError(
            f"DataLoader: the dataset must have __len__ and __getitem__, got "
            f"{type(dataset).__name__}"
        ) from error
    if length == 0:
        raise DatasetError(
            f"DataLoader: the dataset {dataset!r} has no samples; check the "
            "data it was built from"
        )
    return length


def worker_seeds(rng: np.random.Generator, epoch: int, count: int) -> list[int]:
    """One seed per worker for ``epoch``, without drawing from ``rng``.

    Derived from the entropy of the loader's seed, the epoch and the worker
    number, so a seeded loader gives its workers the same random streams
    on every run (and on resume), different per worker and per epoch, and
    its own order stays exactly what it is without workers.
    """
    bits = rng.bit_generator
    # The property is public from NumPy 1.25; before that only _seed_seq.
    root = getattr(bits, "seed_seq", None) or getattr(bits, "_seed_seq", None)
    if root is None:
        root = np.random.SeedSequence()
    seeds = []
    for worker in range(count):
        key = (*root.spawn_key, epoch, worker)
        child = np.random.SeedSequence(root.entropy, spawn_key=key)
        seeds.append(int(child.generate_state(1)[0]))
    return seeds


def _make_rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (
        isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
    ):
        return np.random.default_rng(seed)
    raise TypeError(
        "DataLoader: seed must be an int, a numpy.random.Generator or None, got "
        f"{type(seed).__name__} {seed!r}"
    )


def _jsonable(value: Any) -> Any:
    """Convert a bit-generator state to plain dicts, lists, ints and strings."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_state(loader: DataLoader, state: Any) -> None:
    keys = ("epoch", "position", "rng_state", "batch_size", "shuffle", "drop_last")
    if not isinstance(state, dict) or any(key not in state for key in keys):
        raise ValueError(
            "DataLoader.load_state_dict: expected a dict from state_dict() with "
            f"keys {', '.join(keys)}; got {state!r:.200}"
        )
    saved = dict(state, dataset_length=state.get("dataset_length"))
    mine = loader.state_dict()
    names = ("batch_size", "shuffle", "drop_last", "dataset_length")
    differ = [
        f"{n}: saved {saved[n]!r}, now {mine[n]!r}"
        for n in names
        if saved[n] != mine[n]
    ]
    if differ:
        raise ValueError(
            "DataLoader.load_state_dict: the state was saved by a different "
            "loader; " + "; ".join(differ)
        )
    if not 0 <= int(state["position"]) <= loader.max_iter:
        raise ValueError(
            f"DataLoader.load_state_dict: position {state['position']} is outside "
            f"0..{loader.max_iter}"
        )
