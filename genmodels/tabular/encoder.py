"""``TableEncoder``: a table of mixed columns as rows of numbers, and back.

One transform per column, by its kind (:mod:`genmodels.tabular._columns`):

* numbers (``continuous``, ``integer``, ``datetime`` as seconds since 1970): standardised,
  then *mode-specific normalisation* (CTGAN / TVAE, Xu et al. 2019): a 1-D
  :class:`~genmodels.mixture.GaussianMixture` fitted to the column with the number of modes
  K chosen by BIC (up to ``max_modes``); a value is encoded as its most probable mode, one
  hot, and its offset from that mode's mean in units of 4 standard deviations. Decoding
  takes the mode with the largest entry, clips the offset to the range the training rows
  of that mode had, and clips the value to the column's observed range; integers are
  rounded, dates rounded to the second (to the day for a format without a time) and
  written back in their format;
* ``categorical`` and ``boolean``: one hot over the observed levels;
* missing values: a categorical column's missing is one more level; a numeric column with
  missing values gets a two-level indicator group (observed / missing), and its missing
  rows are encoded at the most frequent mode's mean.

The encoded row is a sequence of feature groups (:attr:`TableEncoder.groups_`):
``("gaussian", 1)`` for an offset, ``("categorical", n)`` for a one-hot group, the layout the
VAE's ``mixed`` likelihood takes. A constant column (one level, never missing) takes no
feature. Decoding takes any real numbers in that layout (a model's samples: the largest
entry of a group wins) and gives back a table with the input's columns, order and
dtypes. The encoder's whole state is JSON (:meth:`TableEncoder.to_state`), so model files
hold no pickle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._columns import KINDS, column_kinds, date_format, pandas

#: Rows the per-column mixtures are fitted on at most (a random subset of larger tables).
MODE_FIT_ROWS = 20_000
#: Offsets are in units of this many standard deviations of their mode (CTGAN's 4).
MODE_SCALE = 4.0


def _json_scalar(v: Any) -> Any:
    """A level as a JSON value (numpy scalars as Python ones)."""
    return v.item() if isinstance(v, np.generic) else v


class _Numeric:
    """A continuous, integer or datetime column: modes, offset, missing indicator."""

    def __init__(self, state: dict):
        self.s = state

    @classmethod
    def fit(cls, name, kind, series, max_modes: int, seed: int) -> _Numeric:
        pd = pandas()
        state: dict[str, Any] = {"name": name, "kind": kind, "dtype": str(series.dtype)}
        if kind == "datetime":
            fmt = None
            if not pd.api.types.is_datetime64_any_dtype(series.dtype):
                fmt = date_format(series.dropna())
                if fmt is None:
                    raise ValueError(
                        f"column {name!r} is declared datetime, but its values do not all "
                        "read as dates in one format"
                    )
            state["format"] = fmt
            state["day_resolution"] = fmt is not None and not any(
                c in fmt for c in ("%H", "%M", "%S")
            )
        values = cls._to_float(state, series)
        observed = values[~np.isnan(values)]
        state["missing"] = bool(np.isnan(values).any())
        state["min"], state["max"] = float(observed.min()), float(observed.max())
        mean, std = float(observed.mean()), float(observed.std())
        state["mean"], state["std"] = mean, std if std > 0 else 1.0
        z = (observed - mean) / state["std"]
        weights, means, stds = _fit_modes(z, max_modes, seed)
        state["mode_weights"] = weights.tolist()
        state["mode_means"], state["mode_stds"] = means.tolist(), stds.tolist()
        k = _assign(z, weights, means, stds)
        off = (z - means[k]) / (MODE_SCALE * stds[k])
        state["offset_lo"] = [
            float(off[k == j].min()) if (k == j).any() else 0.0 for j in range(len(means))
        ]
        state["offset_hi"] = [
            float(off[k == j].max()) if (k == j).any() else 0.0 for j in range(len(means))
        ]
        state["fill_mode"] = int(np.bincount(k, minlength=len(means)).argmax())
        return cls(state)

    @staticmethod
    def _to_float(state: dict, series) -> np.ndarray:
        pd = pandas()
        name = state["name"]
        if state["kind"] == "datetime":
            fmt = state.get("format")
            if fmt is None:
                t = pd.to_datetime(series)
            else:
                t = pd.to_datetime(series, format=fmt, errors="coerce")
                bad = t.isna() & series.notna()
                if bad.any():
                    raise ValueError(
                        f"column {name!r}: {series[bad].iloc[0]!r} is not a date in the "
                        f"format {fmt!r}"
                    )
            if getattr(t.dt, "tz", None) is not None:
                raise ValueError(f"column {name!r}: time zones are not supported")
            seconds = (t - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
            return seconds.to_numpy(dtype=float, na_value=np.nan)
        try:
            values = pd.to_numeric(series, errors="raise")
        except (ValueError, TypeError):
            raise ValueError(
                f"column {name!r} is declared {state['kind']}, but it has values that are "
                "not numbers"
            ) from None
        out = np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        if np.isinf(out).any():
            raise ValueError(f"column {name!r} has infinite values")
        return out

    def groups(self) -> list[tuple[str, int]]:
        g = [("gaussian", 1)]
        if len(self.s["mode_means"]) > 1:
            g.append(("categorical", len(self.s["mode_means"])))
        if self.s["missing"]:
            g.append(("categorical", 2))
        return g

    def encode(self, series) -> np.ndarray:
        s = self.s
        values = self._to_float(s, series)
        miss = np.isnan(values)
        means, stds = np.array(s["mode_means"]), np.array(s["mode_stds"])
        z = (np.where(miss, s["mean"], values) - s["mean"]) / s["std"]
        k = _assign(z, np.array(s["mode_weights"]), means, stds)
        k[miss] = s["fill_mode"]
        off = (z - means[k]) / (MODE_SCALE * stds[k])
        off[miss] = 0.0
        parts = [off[:, None]]
        if len(means) > 1:
            parts.append(np.eye(len(means))[k])
        if s["missing"]:
            parts.append(np.eye(2)[miss.astype(int)])
        return np.hstack(parts)

    def decode(self, block: np.ndarray):
        pd = pandas()
        s = self.s
        means, stds = np.array(s["mode_means"]), np.array(s["mode_stds"])
        n_modes = len(means)
        k = block[:, 1 : 1 + n_modes].argmax(1) if n_modes > 1 else np.zeros(len(block), int)
        off = np.clip(block[:, 0], np.array(s["offset_lo"])[k], np.array(s["offset_hi"])[k])
        z = off * MODE_SCALE * stds[k] + means[k]
        x = np.clip(z * s["std"] + s["mean"], s["min"], s["max"])
        miss = block[:, -2:].argmax(1) == 1 if s["missing"] else np.zeros(len(block), bool)
        kind, dtype = s["kind"], s["dtype"]
        if kind == "integer":
            x = np.round(x)
        if kind == "datetime":
            x = np.round(x / 86400.0) * 86400.0 if s["day_resolution"] else np.round(x)
            t = pd.to_datetime(np.where(miss, np.nan, x), unit="s")
            if s["format"] is None:
                return pd.Series(t, name=s["name"]).astype(dtype)
            text = pd.Series(t, name=s["name"]).dt.strftime(s["format"])
            return text.astype(object).where(~miss, np.nan)
        x = np.where(miss, np.nan, x)
        out = pd.Series(x, name=s["name"])
        if miss.any() and dtype in _NUMPY_DTYPES:
            return out  # an integer dtype cannot hold the missing values: floats
        return out.astype(dtype)


_NUMPY_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


class _Categorical:
    """A categorical or boolean column: one hot over its levels (and missing)."""

    def __init__(self, state: dict):
        self.s = state

    @classmethod
    def fit(cls, name, kind, series) -> _Categorical:
        pd = pandas()
        observed = series.dropna()
        levels = sorted(pd.unique(observed), key=lambda v: (str(type(v)), v))
        state = {
            "name": name,
            "kind": kind,
            "dtype": str(series.dtype),
            "levels": [_json_scalar(v) for v in levels],
            "missing": bool(series.isna().any()),
        }
        if isinstance(series.dtype, pd.CategoricalDtype):
            state["categories"] = [_json_scalar(v) for v in series.dtype.categories]
        return cls(state)

    def width(self) -> int:
        return len(self.s["levels"]) + int(self.s["missing"])

    def groups(self) -> list[tuple[str, int]]:
        return [("categorical", self.width())] if self.width() > 1 else []

    def encode(self, series) -> np.ndarray:
        levels = self.s["levels"]
        if self.width() == 1:
            return np.zeros((len(series), 0))
        pd = pandas()
        miss = series.isna().to_numpy()
        values = series.astype(object).where(~miss, None)
        index = pd.Index(levels, dtype=object)
        codes = index.get_indexer(values.map(_json_scalar))
        unseen = (codes < 0) & ~miss
        if unseen.any():
            raise ValueError(
                f"column {self.s['name']!r}: {values[unseen].iloc[0]!r} is not one of the "
                "levels seen in fit"
            )
        codes[miss] = len(levels)
        return np.eye(self.width())[codes]

    def decode(self, block: np.ndarray):
        pd = pandas()
        s = self.s
        levels = np.empty(len(s["levels"]) + 1, dtype=object)
        levels[: len(s["levels"])] = s["levels"]
        levels[-1] = np.nan
        codes = block.argmax(1) if self.width() > 1 else np.zeros(len(block), int)
        values = levels[codes]
        if "categories" in s:
            return pd.Series(pd.Categorical(values, categories=s["categories"]), name=s["name"])
        out = pd.Series(values, name=s["name"], dtype=object)
        missing = pd.isna(out).any()
        if s["dtype"] == "object" or (missing and s["dtype"] in _NUMPY_DTYPES | {"bool"}):
            return out
        return out.astype(s["dtype"])


def _fit_modes(z: np.ndarray, max_modes: int, seed: int):
    """Weights, means and standard deviations of a 1-D Gaussian mixture on standardised values
    ``z``, with the number of modes (1..``max_modes``, at most the number of distinct
    values) of the lowest BIC; the search stops after two values of K that do not lower it."""
    from ..mixture import GaussianMixture

    rng = np.random.RandomState(seed)
    fit_on = z if len(z) <= MODE_FIT_ROWS else z[rng.choice(len(z), MODE_FIT_ROWS, False)]
    x = fit_on[:, None]
    distinct = len(np.unique(fit_on))
    best, best_bic, worse = None, np.inf, 0
    for k in range(1, min(max_modes, distinct) + 1):
        gm = GaussianMixture(
            k, covariance_type="diag", reg_covar=1e-6, max_iter=100, random_state=seed
        ).fit(x)
        bic = gm.bic(x)
        if bic < best_bic - 1e-9:
            best, best_bic, worse = gm, bic, 0
        else:
            worse += 1
            if worse == 2:
                break
    order = np.argsort(best.means_[:, 0])
    means = best.means_[order, 0]
    stds = np.sqrt(best.covariances_[order, 0])
    return best.weights_[order], means, np.maximum(stds, 1e-6)


def _assign(z: np.ndarray, weights: np.ndarray, means: np.ndarray, stds: np.ndarray):
    """Each value's most probable mode (the largest weight times Gaussian density)."""
    score = ((z[:, None] - means[None]) / stds[None]) ** 2 / 2 + np.log(stds / weights)[None]
    return score.argmin(1)


class TableEncoder:
    """Encodes a pandas DataFrame of mixed columns as a float array and decodes arrays
    back (see the module docstring).

    Parameters
    ----------
    columns : dict of column name -> kind, optional
        Kinds that override the inferred ones (``"continuous"``, ``"integer"``,
        ``"categorical"``, ``"boolean"``, ``"datetime"``).
    max_modes : int, default 10
        The most modes a numeric column's mixture may have.
    random_state : int, default 0
        Seeds the per-column mixtures (and the rows they are fitted on).

    Attributes
    ----------
    columns_ : list of str, the table's columns in order.
    kinds_ : dict, each column's kind.
    groups_ : tuple of (kind, size), the encoded row's feature groups.
    n_features_ : int, the encoded row's length.
    """

    def __init__(
        self, columns: dict[str, str] | None = None, max_modes: int = 10, random_state: int = 0
    ):
        self.columns = columns
        self.max_modes = max_modes
        self.random_state = random_state

    def fit(self, frame) -> TableEncoder:
        frame = as_frame(frame)
        if int(self.max_modes) < 1:
            raise ValueError(f"max_modes must be at least 1, got {self.max_modes}")
        kinds = column_kinds(frame, self.columns)
        self._transforms = []
        for name, kind in kinds.items():
            series = frame[name]
            if kind in ("categorical", "boolean"):
                self._transforms.append(_Categorical.fit(name, kind, series))
            else:
                self._transforms.append(
                    _Numeric.fit(name, kind, series, int(self.max_modes), int(self.random_state))
                )
        self._set_layout()
        return self

    def _set_layout(self) -> None:
        self.columns_ = [t.s["name"] for t in self._transforms]
        self.kinds_ = {t.s["name"]: t.s["kind"] for t in self._transforms}
        self.groups_ = tuple(g for t in self._transforms for g in t.groups())
        self._widths = [sum(n for _, n in t.groups()) for t in self._transforms]
        self.n_features_ = sum(self._widths)

    def category_groups(self) -> tuple[int, ...]:
        """The indices into ``groups_`` of the one-hot groups of categorical and boolean
        columns (not the mode indicators of numbers): what a CTGAN-like model conditions
        on."""
        self._check_fitted()
        out, i = [], 0
        for t in self._transforms:
            n = len(t.groups())
            if isinstance(t, _Categorical) and n:
                out.append(i)
            i += n
        return tuple(out)

    def columns_with_missing(self) -> list[str]:
        """The columns that had missing values in the fitted table."""
        self._check_fitted()
        return [t.s["name"] for t in self._transforms if t.s["missing"]]

    def _check_fitted(self) -> None:
        if not hasattr(self, "_transforms"):
            raise ValueError("this TableEncoder is not fitted yet; call fit(frame) first")

    def transform(self, frame) -> np.ndarray:
        """The encoded rows: (n_rows, n_features_) float64."""
        self._check_fitted()
        frame = as_frame(frame)
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise ValueError(f"the table has no column {missing[0]!r} (fitted on {self.columns_})")
        parts = [t.encode(frame[t.s["name"]]) for t in self._transforms]
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))

    def fit_transform(self, frame) -> np.ndarray:
        return self.fit(frame).transform(frame)

    def inverse_transform(self, encoded) -> Any:
        """A DataFrame with the fitted table's columns, order and dtypes from encoded rows
        (or a model's samples in that layout)."""
        self._check_fitted()
        pd = pandas()
        arr = np.asarray(encoded, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != self.n_features_:
            raise ValueError(
                f"expected encoded rows of {self.n_features_} features, got shape {arr.shape}"
            )
        cols, start = {}, 0
        for t, w in zip(self._transforms, self._widths, strict=True):
            cols[t.s["name"]] = t.decode(arr[:, start : start + w]).reset_index(drop=True)
            start += w
        return pd.DataFrame(cols, columns=self.columns_)

    # -- state as JSON ---------------------------------------------------------------------

    def to_state(self) -> dict:
        """The fitted encoder as plain JSON values (a model file's metadata)."""
        self._check_fitted()
        return {
            "params": {
                "columns": self.columns,
                "max_modes": int(self.max_modes),
                "random_state": int(self.random_state),
            },
            "transforms": [t.s for t in self._transforms],
        }

    @classmethod
    def from_state(cls, state: dict) -> TableEncoder:
        """The encoder :meth:`to_state` described (a ValueError when it is not one)."""
        try:
            enc = cls(**state["params"])
            transforms = []
            for s in state["transforms"]:
                if s["kind"] not in KINDS:
                    raise ValueError(f"unknown column kind {s['kind']!r}")
                c = _Categorical if s["kind"] in ("categorical", "boolean") else _Numeric
                transforms.append(c(dict(s)))
            enc._transforms = transforms
            enc._set_layout()
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a table encoder's state ({exc!r})") from None
        return enc


def as_frame(data) -> Any:
    """``data`` as a pandas DataFrame: a DataFrame, a dict of columns, or a numpy
    structured array; a ValueError for an empty table."""
    pd = pandas()
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, dict):
        frame = pd.DataFrame(data)
    elif isinstance(data, np.ndarray) and data.dtype.names:
        frame = pd.DataFrame({n: data[n] for n in data.dtype.names})
    else:
        raise TypeError(
            "a table must be a pandas DataFrame, a dict of columns or a numpy structured "
            f"array, got {type(data).__name__}"
        )
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"the table is empty ({frame.shape[0]} rows, {frame.shape[1]} columns)")
    if not frame.columns.is_unique:
        raise ValueError("the table's column names must be unique")
    return frame
