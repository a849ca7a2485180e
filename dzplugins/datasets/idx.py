"""Reading IDX files, the format of MNIST, with NumPy alone.

An IDX file starts with two zero bytes, a type code, the number of
dimensions ``n``, then ``n`` big-endian uint32 sizes, then the values in
C order. The ``.gz`` variant is the same, gzip-compressed.
"""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from dzcore.datasets import DatasetError

__all__ = ["parse_idx", "read_idx"]

#: IDX type codes and the (big-endian) dtypes they stand for.
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed when its name ends in ``.gz``).

    Args:
        path: The file.
        ndim: The number of dimensions expected, or None for any.

    Returns:
        A read-only array with the file's shape and dtype.

    Raises:
        DatasetError: naming the file and what is wrong with it.
    """
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = decompress(raw, path)
    return parse_idx(raw, path, ndim)


def decompress(raw: bytes, path: Path) -> bytes:
    """Gunzip ``raw``, the bytes of ``path``.

    Raises:
        DatasetError: if the data is not gzip or ends too early.
    """
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(
            f"{path}: not a complete gzip file ({type(error).__name__}: {error}); "
            "it may be truncated or corrupt, delete it and provide it again"
        ) from error


def parse_idx(raw: bytes, path: Path, ndim: int | None = None) -> np.ndarray:
    """Parse the uncompressed bytes ``raw`` of the IDX file ``path``.

    Raises:
        DatasetError: naming the file and what is wrong with the bytes.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DatasetError(
            f"{path}: not an IDX file: expected a header starting 00 00 "
            f"<type code> <ndim>, got {raw[:4].hex(' ') or 'nothing'}"
        )
    dtype, dims = IDX_DTYPES[raw[2]], raw[3]
    if ndim is not None and dims != ndim:
        raise DatasetError(f"{path}: expected an IDX file of {ndim} dims, got {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path}: the IDX header promises shape {shape} ({expected} bytes of "
            f"data) but the file holds {len(raw) - header} bytes after the header; "
            "the file is truncated or corrupt"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
    return array
