"""Helpers shared by the data tests: the MNIST folder, a local HTTP server,
and small datasets that worker processes can import."""

import contextlib
import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from dzcore.datasets import Dataset


def mnist_dir() -> Path:
    """The folder of the four official MNIST files used by tests."""
    override = os.environ.get("DZ_TEST_MNIST_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class PerSampleDataset(Dataset):
    """In-memory arrays read one sample at a time (like a disk dataset).

    Sample ``i`` is ``(data[i] * 2, label[i])``, computed in ``__getitem__``,
    so a DataLoader can only gather it sample by sample.
    """

    def __init__(self, x: np.ndarray, t: np.ndarray) -> None:
        self._x, self._t = x, t
        super().__init__()

    def prepare(self) -> None:
        self.data, self.label = self._x, self._t

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self.data[index] * 2, self.label[index]


class RaisingDataset(PerSampleDataset):
    """Raises ValueError when sample ``bad`` is read."""

    def __init__(self, x: np.ndarray, t: np.ndarray, bad: int) -> None:
        self.bad = bad
        super().__init__(x, t)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if index == self.bad:
            raise ValueError(f"cannot decode record {index}")
        return super().__getitem__(index)


class DyingDataset(PerSampleDataset):
    """Kills the process that reads sample ``bad`` (a crashed worker)."""

    def __init__(self, x: np.ndarray, t: np.ndarray, bad: int) -> None:
        self.bad = bad
        super().__init__(x, t)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if index == self.bad:
            os._exit(3)
        return super().__getitem__(index)
