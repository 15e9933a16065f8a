"""Reading numpy files for the command line: ``.npy`` and ``.npz`` arrays (never
unpickled) and the sparse matrices ``scipy.sparse.save_npz`` writes, each problem a
``ValueError`` naming the file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

__all__ = ["as_table", "npz_array", "open_numpy", "sparse_npz"]


#: How a ``.npy`` file (numpy's magic string) and an ``.npz`` (a zip archive) begin.
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def open_numpy(path: Path):
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not (head.startswith(_NPY_MAGIC) or head[:4] in _ZIP_MAGICS):
        kind = ".npz (a zip archive)" if path.suffix.lower() == ".npz" else ".npy"
        raise ValueError(
            f"{path}: not a numpy {kind} file (it does not start like one"
            + ("; the file is empty)" if not head else ")")
        )
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(
                f"{path}: holds Python objects, which genmodels never unpickles; save a "
                "numeric array instead"
            ) from None
        raise ValueError(f"{path}: not a readable numpy file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable numpy file ({exc})") from None


def npz_array(path: Path) -> np.ndarray:
    archive = open_numpy(path)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not an .npz archive")
    with archive:
        keys = list(archive.files)
        if "X" in keys:
            key = "X"
        elif len(keys) == 1:
            key = keys[0]
        else:
            found = ", ".join(repr(k) for k in keys) or "none"
            raise ValueError(
                f"{path}: cannot tell which array holds the data: no array named 'X' and "
                f"{len(keys)} arrays ({found}); name the data array 'X'"
            )
        try:
            return archive[key]
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise ValueError(
                    f"{path}: array {key!r} holds Python objects, which genmodels never "
                    "unpickles; save a numeric array instead"
                ) from None
            raise


def as_table(arr: np.ndarray, path: Path) -> np.ndarray:
    """A float64 2-D view of a loaded array, or a ValueError saying why not."""
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{path}: the array must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"{path}: holds a single number, not a table")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    elif arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    return np.ascontiguousarray(arr, dtype=np.float64)


#: The arrays ``scipy.sparse.save_npz`` writes.
_SPARSE_KEYS = frozenset({"data", "indices", "indptr", "shape", "format"})


def sparse_npz(path: Path):
    """The scipy sparse matrix an ``.npz`` from ``scipy.sparse.save_npz`` holds, as float64
    CSR (never densified; naive Bayes takes it as it is), or None for another archive.
    Other arrays in the archive (e.g. labels, for ``target``) are left alone."""
    with open_numpy(path) as archive:
        if not _SPARSE_KEYS <= set(archive.files) or "X" in archive.files:
            return None
        fmt = archive["format"].item()
        fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        shape = tuple(int(v) for v in archive["shape"])
        arrays = (archive["data"], archive["indices"], archive["indptr"])
    import scipy.sparse as sp

    if fmt not in ("csr", "csc"):
        raise ValueError(f"{path}: a sparse {fmt!r} matrix; save it as CSR (X.tocsr())")
    make = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
    try:
        X = make(arrays, shape=shape).tocsr().astype(np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: not a readable sparse matrix ({exc})") from None
    if X.shape[0] == 0:
        raise ValueError(f"{path}: the sparse matrix has no rows")
    return X
