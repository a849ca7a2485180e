"""Pickle-free, atomic ``.npz`` files: the format of weights and checkpoints.

``save_npz`` writes to a temporary file in the target's folder and renames
it over the target only when complete, so a failure never damages an
earlier file. ``load_npz`` refuses object arrays, since loading them needs
pickle, which can run code.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import zipfile
from typing import Any

import numpy as np

from dzcore.errors import WeightsError


def save_npz(
    path: str | os.PathLike, arrays: dict[str, Any], where: str = "save_npz"
) -> None:
    """Write named arrays to an ``.npz`` file at ``path``, atomically, without pickle.

    The archive goes to a temporary file in the same folder, is flushed to
    disk, and then replaces ``path`` in one rename: a failure at any point
    leaves an earlier file at ``path`` as it was.

    Args:
        path: where to write; the name is used as given (no suffix added).
        arrays: name -> NumPy array; object arrays are refused.
        where: the operation named in error messages.

    Raises:
        FileNotFoundError: if the folder of ``path`` does not exist.
        ValueError: if an array has dtype object (it would need pickle).
    """
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{where}: folder {folder!r} does not exist")
    name = f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp"
    temporary = os.path.join(folder, name)
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            _write_archive(file, arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_archive(file: Any, arrays: dict[str, Any]) -> None:
    """Write an uncompressed ``.npz`` archive (one ``.npy`` member per array)."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def load_npz(path: str | os.PathLike, where: str = "load_npz") -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file with pickle disabled.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        WeightsError: if the file is not a readable ``.npz`` archive, or
            holds arrays that only pickle could load (naming them).
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"{where}: no file at {source!r}")
    try:
        archive = np.load(source, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise WeightsError(
            f"{where}: {source!r} is not a readable .npz archive: {error}"
        ) from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise WeightsError(
            f"{where}: {source!r} holds one bare array (.npy); expected an .npz "
            "archive of named arrays, as written by save_weights"
        )
    with archive:
        return _read_members(archive, source, where)


def _read_members(archive: Any, source: str, where: str) -> dict[str, np.ndarray]:
    arrays, refused = {}, []
    for key in archive.files:
        try:
            arrays[key] = archive[key]
        except ValueError as error:  # an object array: loading it needs pickle
            refused.append(f"{key} ({error})")
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise WeightsError(
                f"{where}: {source!r}: array {key!r} is damaged: {error}"
            ) from error
    if refused:
        raise WeightsError(
            f"{where}: {source!r} holds arrays that only pickle could load, "
            "refused because loading pickle can run code:\n  " + "\n  ".join(refused)
        )
    return arrays
