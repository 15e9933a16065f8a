"""Reading and writing data tables for the command line: CSV, ``.npy``, ``.npz`` and the
data sets that ship with scikit-learn. No printing; every problem is an exception whose
message names the file, and where it applies the column and row.

>>> X, columns = load_table("train.csv")            # doctest: +SKIP
>>> save_table("samples.csv", X, columns)           # doctest: +SKIP
>>> X, y = builtin_dataset("digits")                # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Collection
from pathlib import Path

import numpy as np

from .npfiles import as_table, npz_array, open_numpy, sparse_npz

__all__ = [
    "BUILTIN_DATASETS",
    "BUILTIN_PREFIX",
    "builtin_dataset",
    "image_shape_for",
    "load_labels",
    "load_data",
    "load_table",
    "save_records",
    "save_table",
]

#: File types :func:`load_table` reads and :func:`save_table` writes.
READ_SUFFIXES = (".csv", ".npy", ".npz")
WRITE_SUFFIXES = (".csv", ".npy")

#: Prefix naming a built-in data set in :func:`load_data` (``builtin:digits``).
BUILTIN_PREFIX = "builtin:"
BUILTIN_DATASETS = ("digits", "iris", "wine")

#: Cells read as missing values (NaN), compared case-insensitively after stripping.
MISSING = frozenset({"", "na", "nan", "n/a", "null", "none"})

_IMAGE_SHAPES = {64: (8, 8), 784: (28, 28)}


# ----------------------------------------------------------------------------------------
# Reading


def read_text(path: Path) -> str:
    """The text of a CSV or labels file (UTF-8, a byte-order mark allowed), or a
    ``ValueError`` naming the file when it is binary or in another encoding."""
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise ValueError(
            f"{path}: is a binary file, not a text {path.suffix or 'CSV'} file (it holds "
            "NUL bytes); pass a UTF-8 CSV, or a .npy/.npz array"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{path}: is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line} cannot "
            "be decoded); save the file as UTF-8, or pass a .npy/.npz array"
        ) from None


def csv_rows(text: str, path: Path) -> list[list[str]]:
    """The rows of CSV ``text``, or a ``ValueError`` naming the file when it is not CSV."""
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None


def load_table(path: str | os.PathLike) -> tuple[np.ndarray, list[str] | None]:
    """Read a 2-D float64 table and its column names (``None`` where the file has none).

    * ``.csv``: a header row, then one row per sample. Empty cells and ``NA``/``nan``
      (any case) become NaN; any other non-numeric cell is a ``ValueError`` naming its
      column and row.
    * ``.npy``: one array (never unpickled). A 1-D array is one column; arrays of more
      than two dimensions (e.g. images ``(n, h, w)``) are flattened to ``(n, h*w)``.
    * ``.npz``: the array named ``X``, or else the only array in the archive.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise ValueError(
            f"{path}: unsupported data file type {path.suffix!r}; supported: "
            f"{', '.join(READ_SUFFIXES)}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no data file at {path}")
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".npy":
        return as_table(open_numpy(path), path), None
    sparse = sparse_npz(path)
    if sparse is not None:
        return sparse, None
    return as_table(npz_array(path), path), None


def load_labels(path: str | os.PathLike, n_rows: int) -> np.ndarray:
    """One class label per row from a file beside the data (for a sparse ``.npz``, which
    has no column to hold them): a ``.npy`` vector, a ``.txt`` of one label per line, or a
    one-column ``.csv`` with a header. Integers stay integers, the rest is text."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no labels file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        y = np.asarray(open_numpy(path))
        if y.ndim != 1 and not (y.ndim == 2 and 1 in y.shape):
            raise ValueError(f"{path}: labels must be a vector, got shape {y.shape}")
        y = y.ravel()
    elif suffix in (".txt", ".csv"):
        lines = [line.strip() for line in read_text(path).splitlines()]
        lines = [line for line in lines if line]
        if suffix == ".csv":
            if not lines or "," in lines[0]:
                raise ValueError(f"{path}: a labels CSV has one column, under a header row")
            lines = lines[1:]
        y = _labels(path, "labels", lines)
    else:
        raise ValueError(f"{path}: labels are read from .npy, .txt or .csv files")
    if y.shape[0] != n_rows:
        raise ValueError(f"{path}: {y.shape[0]} labels for {n_rows} rows of data")
    return y


def load_data(
    source: str | os.PathLike, target: str | None = None, exclude: Collection[str] = ()
) -> tuple[np.ndarray, list[str] | None, np.ndarray | None]:
    """``(X, columns, y)`` from a file or from ``builtin:NAME`` (a data set shipped with
    scikit-learn, with its labels ``y``).

    For a file, ``y`` is ``None`` unless ``target`` names where the labels are: a CSV
    column (its cells may be text, e.g. ``spam``/``ham``; the other columns form ``X``) or
    an array in an ``.npz`` archive. ``exclude`` names CSV columns to leave out unread
    (they may hold text).
    """
    text = os.fspath(source)
    if isinstance(text, str) and text.lower().startswith(BUILTIN_PREFIX):
        bunch = _builtin_bunch(text[len(BUILTIN_PREFIX) :])
        return _float_data(bunch), [str(c) for c in bunch.feature_names], bunch.target
    exclude = [c for c in exclude if c != target]
    if exclude and Path(source).suffix.lower() == ".csv" and Path(source).is_file():
        X, columns, cells = split_csv_column(Path(source), target, "the target", exclude)
        if X.shape[0] == 0:
            raise ValueError(f"{source}: has a header row but no data rows")
        return X, columns, None if target is None else _labels(Path(source), target, cells)
    if target is None:
        X, columns = load_table(source)
        return X, columns, None
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        X, _ = load_table(path)
        with open_numpy(path) as archive:
            if target not in archive.files:
                raise ValueError(f"{path}: no array named {target!r} for the labels")
            return X, None, np.asarray(archive[target]).ravel()
    if suffix != ".csv":
        raise ValueError(f"{path}: --target needs a .csv (a column) or .npz (an array) file")
    if not path.is_file():
        raise FileNotFoundError(f"no data file at {path}")
    return _csv_with_target(path, target)


def _csv_with_target(path: Path, target: str):
    """Split the ``target`` column (labels, text allowed) off a CSV; parse the rest."""
    X, columns, cells = split_csv_column(path, target, "the target")
    return X, columns, _labels(path, target, cells)


def _labels(path: Path, target: str, cells: list[str]) -> np.ndarray:
    """The label cells of column ``target``: integers, floats or text."""
    if any(v == "" for v in cells):
        raise ValueError(f"{path}: column {target!r} has empty labels")
    y = np.asarray(cells, dtype=object)
    try:
        numeric = y.astype(np.float64)
        y = numeric.astype(np.int64) if np.all(numeric == np.round(numeric)) else numeric
    except ValueError:
        y = y.astype(str)
    return y


def split_csv_column(
    path: Path, column: str | None, role: str, exclude: Collection[str] = ()
) -> tuple[np.ndarray, list[str], list]:
    """``(X, feature columns, cells of column)``: the named column (text allowed, cells
    stripped) split off a CSV, the columns named in ``exclude`` left out unread (text
    allowed), the others parsed as numbers. ``role`` names the column in errors (``"the
    target"``, ``"the sequence ids"``); ``column=None`` splits nothing off."""
    rows = [r for r in csv_rows(read_text(path), path) if r]
    if not rows:
        raise ValueError(f"{path}: the file is empty; expected a header row and data rows")
    header = [c.strip() for c in rows[0]]
    if column is not None and column not in header:
        raise ValueError(
            f"{path}: no column named {column!r} for {role}; columns: {', '.join(header)}"
        )
    j = -1 if column is None else header.index(column)
    cells = [] if column is None else [r[j].strip() if j < len(r) else "" for r in rows[1:]]
    skip = {i for i, c in enumerate(header) if i == j or c in exclude}
    rest = io.StringIO()
    csv.writer(rest, lineterminator="\n").writerows(
        [c for i, c in enumerate(r) if i not in skip] for r in rows
    )
    columns = [c for i, c in enumerate(header) if i not in skip]
    if not columns:
        what = "the chosen columns" if column is None else f"{role} {column!r}"
        raise ValueError(f"{path}: no feature columns besides {what}")
    X = _fast_csv(rest.getvalue(), 0, len(columns))
    if X is None:
        X = _careful_csv(rest.getvalue(), 0, columns, path)
    return X, columns, cells


def csv_header(path: str | os.PathLike) -> list[str] | None:
    """The column names of a ``.csv`` file (``None`` for other files or a missing file)."""
    path = Path(path)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return None
    first = next(iter(csv_rows(read_text(path), path)), None)
    return None if first is None else [c.strip() for c in first]


def builtin_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a data set that ships with scikit-learn (no download):
    ``"digits"`` (1797 x 64, 8x8 images), ``"iris"`` (150 x 4) or ``"wine"`` (178 x 13)."""
    bunch = _builtin_bunch(name)
    return _float_data(bunch), np.asarray(bunch.target)


def image_shape_for(n_features: int) -> tuple[int, int] | None:
    """The image shape of flat rows of ``n_features`` pixels: ``(8, 8)`` for 64 (the
    digits), ``(28, 28)`` for 784 (MNIST-like), ``None`` for anything else."""
    return _IMAGE_SHAPES.get(int(n_features))


def _builtin_bunch(name: str):
    from sklearn import datasets

    key = name.strip().lower()
    if key not in BUILTIN_DATASETS:
        raise ValueError(
            f"unknown built-in data set {name!r}; available: "
            + ", ".join(BUILTIN_PREFIX + n for n in BUILTIN_DATASETS)
        )
    return getattr(datasets, f"load_{key}")()


def _float_data(bunch) -> np.ndarray:
    return np.ascontiguousarray(bunch.data, dtype=np.float64)


# -- CSV ---------------------------------------------------------------------------------


def _read_csv(path: Path) -> tuple[np.ndarray, list[str]]:
    text = read_text(path)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ValueError(f"{path}: the file is empty; expected a header row and data rows")
    header_line = next(i for i, line in enumerate(lines) if line.strip())
    header = csv_rows(lines[header_line], path)[0]
    columns = [c.strip() or f"x{j}" for j, c in enumerate(header)]
    _check_header(columns, path)
    X = _fast_csv(text, header_line, len(columns))
    if X is None:
        X = _careful_csv(text, header_line, columns, path)
    if X.shape[0] == 0:
        raise ValueError(f"{path}: has a header row but no data rows")
    return X, columns


def _check_header(columns: list[str], path: Path) -> None:
    """Refuse a first row of numbers (a header is required; reading data as names would
    silently lose a sample). Column indices ``0, 1, 2...`` are accepted as names."""
    if columns == [str(j) for j in range(len(columns))]:
        return
    if all(_is_number(c) for c in columns):
        raise ValueError(
            f"{path}: the first row ({', '.join(columns[:5])}{'...' if len(columns) > 5 else ''}) "
            "holds numbers, but a CSV file needs a header row of column names first"
        )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _fast_csv(text: str, header_line: int, n_columns: int) -> np.ndarray | None:
    """numpy's C parser for plain numeric files; ``None`` when the file needs the careful
    reader (missing cells, quotes, ragged rows, text)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            X = np.loadtxt(
                io.StringIO(text),
                delimiter=",",
                skiprows=header_line + 1,
                ndmin=2,
                comments=None,
                dtype=np.float64,
            )
    except ValueError:
        return None
    if X.shape[0] and X.shape[1] != n_columns:
        return None
    return X.reshape(-1, n_columns) if X.shape[0] == 0 else X


def _careful_csv(text: str, header_line: int, columns: list[str], path: Path) -> np.ndarray:
    """Cell-by-cell reader that turns missing markers into NaN and names the first bad cell."""
    reader = csv_rows(text, path)
    rows: list[list[float]] = []
    for line_no, cells in enumerate(reader, start=1):
        if line_no <= header_line + 1 or not any(c.strip() for c in cells):
            continue
        row_no = len(rows) + 1
        if len(cells) != len(columns):
            raise ValueError(
                f"{path}: data row {row_no} (line {line_no}) has {len(cells)} cells but the "
                f"header names {len(columns)} columns"
            )
        rows.append([_cell(c, columns[j], row_no, line_no, path) for j, c in enumerate(cells)])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(columns))


def _cell(cell: str, column: str, row_no: int, line_no: int, path: Path) -> float:
    value = cell.strip()
    if value.lower() in MISSING:
        return math.nan
    try:
        return float(value)
    except ValueError:
        raise ValueError(
            f"{path}: column {column!r}, data row {row_no} (line {line_no}): {cell!r} is "
            "not a number (empty cells and NA/nan are read as missing values)"
        ) from None


# ----------------------------------------------------------------------------------------
# Writing


def column_names(columns: list[str] | None, n: int, what: str) -> list[str]:
    """``columns`` as strings, or ``x0, x1, ...`` when None; refused unless there are ``n``
    (``what`` names them in the error: "columns", "features")."""
    names = [f"x{j}" for j in range(n)] if columns is None else [str(c) for c in columns]
    if len(names) != n:
        raise ValueError(f"{len(names)} column names given for {n} {what}")
    return names


def save_table(path: str | os.PathLike, X: np.ndarray, columns: list[str] | None = None) -> Path:
    """Write a 2-D table to ``.csv`` (a header row, default names ``x0, x1, ...``; floats
    written with full precision so they read back exactly) or ``.npy``. Creates missing
    parent folders and returns the path written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ValueError(
            f"{path}: cannot write a {path.suffix or 'suffix-less'} file; supported: "
            f"{', '.join(WRITE_SUFFIXES)}"
        )
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"save_table needs a 2-D array, got shape {X.shape}")
    names = column_names(columns, X.shape[1], "columns")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(path, X, allow_pickle=False)
        return path
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerow(names)
        np.savetxt(fh, X, fmt="%.17g", delimiter=",")
    return path


def save_records(path: str | os.PathLike, columns: list[str], values: list[np.ndarray]) -> Path:
    """Write a CSV of columns of mixed kinds (one array per column, all the same length):
    text as it is, integers as integers, floats with full precision. Creates missing parent
    folders and returns the path written."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: cannot write a {path.suffix or 'suffix-less'} file; use .csv")
    if len(columns) != len(values):
        raise ValueError(f"{len(columns)} column names given for {len(values)} columns")
    cells = []
    for v in values:
        v = np.asarray(v).ravel()
        if v.dtype.kind == "f":
            cells.append(np.char.mod("%.17g", v))
        else:
            cells.append(v.astype(str))
    if len({len(c) for c in cells}) > 1:
        raise ValueError("save_records needs columns of equal length")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([str(c) for c in columns])
        writer.writerows(zip(*cells, strict=True))
    return path
