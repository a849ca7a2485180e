"""Dataset files on disk: checking size and SHA-256, downloading atomically."""

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from dzcore.datasets import DatasetError

logger = logging.getLogger(__name__)

__all__ = ["FileSpec", "download", "verify_bytes"]

#: Seconds to wait for a server before a download attempt fails.
TIMEOUT_SECONDS = 30

CHUNK_BYTES = 1 << 20


class FileSpec:
    """A file a dataset needs: its name, size in bytes and SHA-256.

    Args:
        name: The file name.
        size: The exact size in bytes.
        sha256: The SHA-256 of the file, in hex.
    """

    def __init__(self, name: str, size: int, sha256: str) -> None:
        self.name = name
        self.size = size
        self.sha256 = sha256

    def __repr__(self) -> str:
        return f"FileSpec({self.name!r}, {self.size})"


def verify_bytes(raw: bytes, spec: FileSpec, path: Path) -> None:
    """Check that ``raw``, the bytes of ``path``, match ``spec``.

    Raises:
        DatasetError: naming the file, the expected and the actual size or
            checksum.
    """
    if len(raw) != spec.size:
        raise DatasetError(
            f"{path}: expected {spec.size} bytes, found {len(raw)}; the file is "
            "truncated or not the right one. Delete it and provide it again"
        )
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise DatasetError(
            f"{path}: checksum mismatch: expected SHA-256 {spec.sha256}, got "
            f"{digest}; the file is corrupt or not the right one. Delete it and "
            "provide it again"
        )


def download(url: str, spec: FileSpec, folder: Path) -> Path:
    """Download ``url`` into ``folder / spec.name``, checked and atomic.

    The data goes to a temporary file in ``folder`` that replaces the
    target only after its size and checksum match ``spec``; on any failure
    the temporary file is removed and nothing else changes.

    Raises:
        OSError: if the server cannot be reached or answers with an error.
        DatasetError: if the downloaded data does not match ``spec``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / spec.name
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{spec.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            digest, size = _copy_url(url, out)
            out.flush()
            os.fsync(out.fileno())
        _check_download(url, spec, digest, size)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    logger.info("downloaded %s to %s", url, target)
    return target


def _copy_url(url: str, out: object) -> tuple[str, int]:
    """Stream ``url`` into the open file ``out``; return SHA-256 and size."""
    hasher = hashlib.sha256()
    size = 0
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        while chunk := response.read(CHUNK_BYTES):
            hasher.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def _check_download(url: str, spec: FileSpec, digest: str, size: int) -> None:
    if size != spec.size or digest != spec.sha256:
        raise DatasetError(
            f"download of {url}: checksum mismatch: expected {spec.size} bytes "
            f"with SHA-256 {spec.sha256}, got {size} bytes with SHA-256 {digest}; "
            "the file was not saved. The server may serve a different file"
        )
