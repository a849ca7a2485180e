"""Case 5: batches per second from dz's DataLoader over three datasets.

- In-memory arrays (``ArrayDataset``, MNIST-shaped random float32):
  against the book's DeZero loader, which reads one sample at a time and
  stacks the samples (target: dz at least 10 times faster), and against
  hand-written NumPy indexing a whole batch at once.
- MNIST with its default transform (flatten, float32, divide by 255):
  against hand-written NumPy doing the same arithmetic on the same bytes.
  Skipped, with a note, when the MNIST files are not found.
- A lazy folder of per-sample ``.npy`` files (``SampleFolder``) read with
  0, 1 and 2 worker processes, and 2 kept from epoch to epoch
  (``persistent_workers=True``): against hand-written NumPy loading the
  same files in one process.

Every reference loader here draws its epoch order as dz's DataLoader
does, ``np.random.default_rng(seed).permutation(n)``, so with the same
seed all sides deliver the same batches; one epoch of each is compared
before timing. Every ratio is dz / reference in batches per second, so
above 1 means dz is faster.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import DTYPE, Options, Result, alternate, median

NAME = "data"
BATCH = 100
SEED = 0
FEATURES = 784
CLASSES = 10
WORKERS = (0, 1, 2)
PERSISTENT = "2 persistent workers"
SPEED_TARGET = 10.0

#: Samples of the in-memory dataset and of the sample folder, by quick.
MEMORY_SAMPLES = {False: 60_000, True: 2_000}
FOLDER_SAMPLES = {False: 3_000, True: 200}

#: Where the repository's copy of the four MNIST files lies.
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

Batch = tuple[np.ndarray, np.ndarray]


def make_data(samples: int, seed: int = SEED) -> Batch:
    """Random MNIST-shaped data: float32 pixels in [0, 1), int64 labels."""
    rng = np.random.default_rng(seed)
    return rng.random((samples, FEATURES), dtype=DTYPE), rng.integers(
        0, CLASSES, samples
    )


class ShuffledLoader:
    """A reference loader: a fresh order per epoch, drawn as dz draws it.

    Iterating gives one epoch of ``make_batch(indices)`` for consecutive
    slices of the order, the last one smaller when ``size`` does not
    divide evenly (as dz's DataLoader with ``drop_last=False``).
    """

    def __init__(
        self,
        size: int,
        make_batch: Callable[[np.ndarray], Batch],
        seed: int = SEED,
        batch: int = BATCH,
    ) -> None:
        self.size, self.make_batch, self.batch = size, make_batch, batch
        self.rng = np.random.default_rng(seed)

    def __iter__(self) -> Iterator[Batch]:
        order = self.rng.permutation(self.size)
        for start in range(0, self.size, self.batch):
            yield self.make_batch(order[start : start + self.batch])


def _identity(value: object) -> object:
    return value


class BookDataset:
    """DeZero's Dataset as the book has it: identity transforms per sample.

    Leaves out the book's ``assert np.isscalar(index)``, which would only
    make this reference slower.
    """

    def __init__(self, x: np.ndarray, t: np.ndarray) -> None:
        self.data, self.label = x, t
        self.transform = self.target_transform = _identity

    def __getitem__(self, index: int) -> tuple:
        return self.transform(self.data[index]), self.target_transform(
            self.label[index]
        )

    def __len__(self) -> int:
        return len(self.data)


def book_mnist_transform(image: np.ndarray) -> np.ndarray:
    """The book's MNIST default, one sample at a time: flatten, float, scale."""
    for step in (_flatten, _to_float, _normalize):
        image = step(image)
    return image


def _flatten(x: np.ndarray) -> np.ndarray:
    return x.flatten()


def _to_float(x: np.ndarray) -> np.ndarray:
    return x.astype(DTYPE)


def _normalize(x: np.ndarray) -> np.ndarray:
    return (x - 0.0) / 255.0


def book_batches(dataset: BookDataset) -> Callable[[np.ndarray], Batch]:
    """The book's DataLoader batch: read each sample, then stack both parts."""

    def make_batch(indices: np.ndarray) -> Batch:
        samples = [dataset[i] for i in indices]
        x = np.array([sample[0] for sample in samples])
        t = np.array([sample[1] for sample in samples])
        return x, t

    return make_batch


def indexed_batches(x: np.ndarray, t: np.ndarray) -> Callable[[np.ndarray], Batch]:
    """Hand-written NumPy: one indexing call per array and batch."""
    return lambda indices: (x[indices], t[indices])


def mnist_batches(images: np.ndarray, labels: np.ndarray) -> Callable:
    """Hand-written NumPy of MNIST's default transform on an indexed batch."""

    def make_batch(indices: np.ndarray) -> Batch:
        x = images[indices].reshape(len(indices), -1).astype(DTYPE) / DTYPE(255)
        return x, labels[indices]

    return make_batch


def file_batches(paths: list[str], labels: np.ndarray) -> Callable:
    """Hand-written NumPy: load each sample's file, stack, index the labels."""

    def make_batch(indices: np.ndarray) -> Batch:
        x = np.stack([np.load(paths[i], allow_pickle=False) for i in indices])
        return x, labels[indices]

    return make_batch


def require_same_batches(where: str, sides: dict[str, Iterable[Batch]]) -> str:
    """Check that all sides deliver the same epoch of batches; return a note.

    Reads one epoch of every side in lockstep and compares each batch of
    every side with the first side's: the same dtype, shape and values.

    Raises:
        RuntimeError: naming the case, ``where``, the side and the first
            batch that differs, or a side that ends early.
    """
    names = list(sides)
    count = 0
    for number, batches in enumerate(zip_longest(*sides.values())):
        for name, batch in zip(names[1:], batches[1:], strict=True):
            problem = _difference(batches[0], batch)
            if problem:
                raise RuntimeError(
                    f"{NAME}: {where}: {name} differs from {names[0]} in batch "
                    f"{number}: {problem}"
                )
        count += 1
    return f"{where}: the same {count} batches on every side ({', '.join(names)})"


def _difference(expected: Batch | None, actual: Batch | None) -> str:
    if expected is None or actual is None:
        return "one side has no more batches"
    for part, want, got in zip(("x", "t"), expected, actual, strict=True):
        if want.dtype != got.dtype or want.shape != got.shape:
            return (
                f"{part} is {got.dtype} {got.shape}, expected {want.dtype} {want.shape}"
            )
        if not np.array_equal(want, got):
            return f"{part} holds other values"
    return ""


def seconds_per_batch(loader: Iterable[Batch], epochs: int = 1) -> Callable:
    """A timing sample: seconds per batch over ``epochs`` epochs of ``loader``."""

    def sample() -> float:
        count = 0
        start = time.perf_counter()
        for _ in range(epochs):
            for _batch in loader:
                count += 1
        return (time.perf_counter() - start) / count

    return sample


def batches_per_second(
    sides: dict[str, Iterable[Batch]], repeat: int, epochs: int = 1
) -> dict:
    """Batches per second of each side: the median of alternating samples."""
    timers = {name: seconds_per_batch(loader, epochs) for name, loader in sides.items()}
    samples = alternate(timers, repeat)
    return {name: 1.0 / median(values) for name, values in samples.items()}


def speed_result(
    measure: str,
    dz: float,
    reference: float,
    reference_name: str,
    at_least: float | None = None,
) -> Result:
    """A Result whose ratio is dz / reference speed, met when at least ``at_least``."""
    ratio = dz / reference
    met = None if at_least is None else ratio >= at_least
    target = "" if at_least is None else f">= {at_least:g}"
    return Result(NAME, measure, dz, reference, reference_name, target, ratio, met)


def in_memory(options: Options, notes: list[str]) -> list[Result]:
    """ArrayDataset against the book's loader and against NumPy indexing."""
    from dzcore.dataloaders import DataLoader
    from dzcore.datasets import ArrayDataset

    x, t = make_data(MEMORY_SAMPLES[options.quick])

    def sides() -> dict[str, Iterable[Batch]]:
        return {
            "dz": DataLoader(ArrayDataset(x, t), BATCH, seed=SEED),
            "DeZero-style": ShuffledLoader(len(x), book_batches(BookDataset(x, t))),
            "NumPy": ShuffledLoader(len(x), indexed_batches(x, t)),
        }

    notes.append(require_same_batches("in-memory", sides()))
    speed = batches_per_second(sides(), options.repeat)
    measure = f"batches/s, in-memory {len(x)}x{FEATURES}, batch {BATCH}"
    floor = speed["NumPy"] / speed["DeZero-style"]
    notes.append(
        f"in-memory {FEATURES} wide, no transform: copying the batch is most "
        f"of the work, so even NumPy indexing is only {floor:.1f}x faster than "
        "the book's loader here; the 10x target is taken on the book's own "
        "in-memory datasets (Spiral; MNIST with its per-sample transform)"
    )
    return [
        spiral(options, notes),
        speed_result(measure, speed["dz"], speed["DeZero-style"], "DeZero-style"),
        speed_result(measure, speed["dz"], speed["NumPy"], "NumPy"),
    ]


def spiral(options: Options, notes: list[str]) -> Result:
    """The book's Spiral loop's loader: dz against the book's per-sample one."""
    from dzcore import datasets
    from dzcore.dataloaders import DataLoader

    data = datasets.Spiral(train=True)
    batch = 30

    def sides() -> dict[str, Iterable[Batch]]:
        book = book_batches(BookDataset(data.data, data.label))
        return {
            "dz": DataLoader(data, batch, seed=SEED),
            "DeZero-style": ShuffledLoader(len(data), book, batch=batch),
        }

    notes.append(require_same_batches("Spiral", sides()))
    speed = batches_per_second(sides(), options.repeat, epochs=20)
    return speed_result(
        f"batches/s, Spiral {len(data)}x2, batch {batch}",
        speed["dz"], speed["DeZero-style"], "DeZero-style",
        at_least=SPEED_TARGET,
    )  # fmt: skip


def load_mnist(train: bool) -> Any:
    """MNIST with its default transform, from $DZ_DATA_DIR or the shared copy.

    Raises:
        DatasetNotFoundError: if the files are not there (never downloads).
    """
    from dzcore import datasets

    root = None if os.environ.get("DZ_DATA_DIR") else SHARED_MNIST
    return datasets.MNIST(train=train, root=root, download=False)


def mnist(options: Options, notes: list[str]) -> list[Result]:
    """MNIST's default transform against the same arithmetic in NumPy."""
    from dzcore.dataloaders import DataLoader
    from dzcore.datasets import DatasetNotFoundError

    try:
        digits = load_mnist(train=not options.quick)
    except DatasetNotFoundError as error:
        notes.append(f"MNIST skipped, its files were not found: {error}")
        return []

    def sides() -> dict[str, Iterable[Batch]]:
        numpy_side = mnist_batches(digits.data, digits.label)
        book = BookDataset(digits.data, digits.label)
        book.transform = book_mnist_transform
        return {
            "dz": DataLoader(digits, BATCH, seed=SEED),
            "NumPy": ShuffledLoader(len(digits), numpy_side),
            "DeZero-style": ShuffledLoader(len(digits), book_batches(book)),
        }

    notes.append(require_same_batches("MNIST", sides()))
    speed = batches_per_second(sides(), options.repeat)
    split = "train" if digits.train else "test"
    measure = f"batches/s, MNIST {split} ({len(digits)}), default transform"
    return [
        speed_result(
            measure, speed["dz"], speed["DeZero-style"], "DeZero-style",
            at_least=SPEED_TARGET,
        ),
        speed_result(measure, speed["dz"], speed["NumPy"], "NumPy"),
    ]  # fmt: skip


def sample_folder(options: Options, notes: list[str]) -> list[Result]:
    """SampleFolder with 0, 1 and 2 workers against NumPy loading the files."""
    from dzplugins.datasets.lazy import write_sample_folder

    x, t = make_data(FOLDER_SAMPLES[options.quick])
    with tempfile.TemporaryDirectory(prefix="dz-bench-data-") as temp:
        folder = write_sample_folder(Path(temp) / "samples", x, t)
        return _time_folder(folder, options, notes)


def _time_folder(folder: Path, options: Options, notes: list[str]) -> list[Result]:
    from dzcore import datasets
    from dzcore.dataloaders import DataLoader

    samples = datasets.SampleFolder(folder)
    paths = [str(folder / name) for name in samples.data]

    def sides() -> dict[str, Iterable[Batch]]:
        loaders: dict[str, Iterable[Batch]] = {
            _workers(n): DataLoader(samples, BATCH, seed=SEED, num_workers=n)
            for n in WORKERS
        }
        loaders[PERSISTENT] = DataLoader(
            samples, BATCH, seed=SEED, num_workers=2, persistent_workers=True
        )
        numpy_side = file_batches(paths, samples.label)
        loaders["NumPy"] = ShuffledLoader(len(paths), numpy_side)
        return loaders

    checked = sides()
    notes.append(require_same_batches("sample folder", checked))
    checked[PERSISTENT].close()
    timed = sides()
    speed = batches_per_second(timed, options.repeat)
    timed[PERSISTENT].close()
    return [
        speed_result(
            f"batches/s, folder of {len(paths)} .npy, {name}",
            speed[name], speed["NumPy"], "NumPy, 1 process",
        )
        for name in [*map(_workers, WORKERS), PERSISTENT]
    ]  # fmt: skip


def _workers(count: int) -> str:
    return f"{count} worker" + ("" if count == 1 else "s")


def run(options: Options) -> list[Result]:
    """Time every loader against its reference, epoch after epoch, alternating."""
    notes: list[str] = []
    results = in_memory(options, notes)
    results += mnist(options, notes)
    results += sample_folder(options, notes)
    notes.append(
        "ratios are dz / reference in batches/s (above 1: dz is faster); "
        "worker processes start afresh each epoch, inside the timing"
    )
    results[0].notes.extend(notes)
    return results
