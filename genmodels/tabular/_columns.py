"""What kind each column of a table is: inferred from its values, or given by the user.

Kinds (:data:`KINDS`):

* ``"continuous"``: real numbers (a float column whose values are not all whole);
* ``"integer"``: whole numbers (an integer dtype, or floats that are all whole, as a CSV
  column of integers with empty cells reads);
* ``"categorical"``: labels (strings, a pandas ``category``; numbers only when asked);
* ``"boolean"``: True / False (a bool dtype, or an object column of Python bools);
* ``"datetime"``: dates and times (a ``datetime64`` dtype, or strings that all parse with
  one of :data:`DATE_FORMATS` and print back identically, so the format is kept).

Missing values (NaN, None, NaT) are left out of the inference and modelled apart.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

ColumnKind = Literal["continuous", "integer", "categorical", "boolean", "datetime"]
KINDS: tuple[str, ...] = ("continuous", "integer", "categorical", "boolean", "datetime")

#: Formats a column of strings is tried against to be read as dates (the first that reads
#: every value and prints it back identically wins).
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y%m%d",
)


def pandas():
    """The pandas module, or an ImportError that says how to install it."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the tabular extra
        raise ImportError(
            "synthetic tables need pandas: pip install 'genmodels[tabular]'"
        ) from None
    return pd


def date_format(values) -> str | None:
    """The one format of :data:`DATE_FORMATS` that reads every string of ``values`` (a
    pandas Series without missing values) and writes it back unchanged, else None."""
    pd = pandas()
    if len(values) == 0 or not all(isinstance(v, str) for v in values):
        return None
    first = values.iloc[0]
    if not any(ch.isdigit() for ch in first) or len(first) < 6:
        return None
    for fmt in DATE_FORMATS:
        if fmt == "%Y%m%d" and not first.isdigit():
            continue
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if parsed.isna().any():
            continue
        if (parsed.dt.strftime(fmt) == values).all():
            return fmt
    return None


def infer_kind(series) -> ColumnKind:
    """The kind of one column (a pandas Series), from its dtype and observed values; a
    ValueError for a column with no observed value or of a type no kind covers."""
    pd = pandas()
    name = series.name
    observed = series.dropna()
    if observed.empty:
        raise ValueError(f"column {name!r} has no observed values (every value is missing)")
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        values = observed.to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise ValueError(f"column {name!r} has infinite values")
        return "integer" if (values == np.round(values)).all() else "continuous"
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        if all(isinstance(v, bool | np.bool_) for v in observed):
            return "boolean"
        if date_format(observed) is not None:
            return "datetime"
        return "categorical"
    raise ValueError(
        f"column {name!r} has dtype {dtype}, which no column kind covers ({', '.join(KINDS)})"
    )


def column_kinds(frame, overrides: dict[str, str] | None = None) -> dict[str, ColumnKind]:
    """Each column's kind, by name in the frame's order: ``overrides`` (name -> kind)
    where given, inferred (:func:`infer_kind`) elsewhere."""
    overrides = dict(overrides or {})
    unknown = [name for name in overrides if name not in frame.columns]
    if unknown:
        raise ValueError(
            f"columns= names {unknown[0]!r}, which is not a column of the table "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    kinds: dict[str, Any] = {}
    for name in frame.columns:
        if name in overrides:
            kind = overrides[name]
            if kind not in KINDS:
                raise ValueError(
                    f"unknown column type {kind!r} for column {name!r}; the types are "
                    f"{', '.join(KINDS)}"
                )
            if frame[name].dropna().empty:
                raise ValueError(f"column {name!r} has no observed values (every value is missing)")
            kinds[name] = kind
        else:
            kinds[name] = infer_kind(frame[name])
    return kinds
