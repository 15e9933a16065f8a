"""Input and hyper-parameter checks, raised at the public API with a message naming the problem.

Every public method of every model validates what it receives here, before any tensor is
built, so a user never sees a stack trace from inside torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import NotFittedError

# ----------------------------------------------------------------------------------------
# Arrays


def check_array(
    X: Any,
    *,
    name: str = "X",
    owner: str = "",
    allow_nan: bool = False,
    ndim: int = 2,
    min_samples: int = 1,
    dtype: type | None = np.float64,
) -> np.ndarray:
    """Return ``X`` as a numpy array of ``dtype`` with ``ndim`` dimensions, or raise.

    Refuses (with a message that names ``name`` and the problem): sparse matrices, complex or
    non-numeric values, the wrong number of dimensions, empty data, fewer than ``min_samples``
    rows, infinities, and NaN unless ``allow_nan``.
    """
    where = f"{owner}: " if owner else ""
    if X is None:
        raise TypeError(f"{where}{name} is None; expected an array of numbers")
    if _is_sparse(X):
        raise TypeError(
            f"{where}{name} is a sparse matrix, which this model does not support; "
            "pass a dense array (X.toarray())"
        )
    if getattr(X, "dtype", None) is not None and np.issubdtype(
        np.asarray(X).dtype, np.complexfloating
    ):
        raise ValueError(f"{where}{name} holds complex numbers; Complex data not supported")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{where}{name} cannot be read as a numeric array: {exc}") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{where}{name} holds complex numbers; Complex data not supported")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{where}{name} must be numeric, got values of dtype {arr.dtype} "
                f"(e.g. {_first_bad_value(arr)!r}: {exc})"
            ) from None
    if arr.ndim != ndim:
        hint = ""
        if ndim == 2 and arr.ndim == 1:
            hint = (
                ". Reshape your data either using X.reshape(-1, 1) if it has a single "
                "feature or X.reshape(1, -1) if it contains a single sample"
            )
        raise ValueError(
            f"{where}{name} must be a {ndim}-D array, got {arr.ndim}-D with shape {arr.shape}{hint}"
        )
    if ndim >= 2 and arr.shape[1] == 0:
        raise ValueError(
            f"{where}{name} is empty: 0 feature(s) (shape={arr.shape}) while a minimum of 1 "
            "is required."
        )
    if arr.shape[0] == 0:
        raise ValueError(
            f"{where}{name} is empty: 0 sample(s) (shape={arr.shape}) while a minimum of "
            f"{max(1, min_samples)} is required."
        )
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{where}{name} has n_samples={arr.shape[0]} but at least {min_samples} are required"
        )
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            if np.isinf(arr).any():
                raise ValueError(f"{where}{name} contains infinity; only finite values are allowed")
            if not allow_nan:
                raise ValueError(
                    f"{where}{name} contains NaN; this method does not accept missing values"
                )
    return arr


def check_matrix(
    X: Any,
    *,
    name: str = "X",
    owner: str = "",
    accept_sparse: bool = False,
    min_samples: int = 1,
):
    """Like :func:`check_array` (2-D, float64), but a scipy sparse matrix is accepted when
    ``accept_sparse`` and returned as CSR float64 without densifying; its stored values get
    the same NaN/infinity checks as a dense array's."""
    if not (accept_sparse and _is_sparse(X)):
        return check_array(X, name=name, owner=owner, min_samples=min_samples)
    import scipy.sparse as sp

    where = f"{owner}: " if owner else ""
    if X.ndim != 2:
        raise ValueError(f"{where}{name} must be a 2-D array, got {X.ndim}-D")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{where}{name} must be numeric, got a sparse matrix of dtype {X.dtype}")
    Xc = sp.csr_matrix(X, dtype=np.float64)
    if Xc.shape[1] == 0:
        raise ValueError(
            f"{where}{name} is empty: 0 feature(s) (shape={Xc.shape}) while a minimum of 1 "
            "is required."
        )
    if Xc.shape[0] < max(1, min_samples):
        raise ValueError(
            f"{where}{name} is empty: {Xc.shape[0]} sample(s) (shape={Xc.shape}) while a "
            f"minimum of {max(1, min_samples)} is required."
        )
    if not Xc.has_canonical_format:
        Xc = Xc.copy()
        Xc.sum_duplicates()
    data = Xc.data
    if data.size and not np.isfinite(data).all():
        if np.isinf(data).any():
            raise ValueError(f"{where}{name} contains infinity; only finite values are allowed")
        raise ValueError(f"{where}{name} contains NaN; this method does not accept missing values")
    return Xc


def check_non_negative(X: Any, owner: str, name: str = "X") -> None:
    """Refuse negative entries (counts, frequencies, category codes) in a dense or CSR ``X``."""
    data = X.data if _is_sparse(X) else X
    if data.size and data.min() < 0:
        raise ValueError(
            f"Negative values in data passed to {owner} (input {name}): it has negative entries "
            f"(smallest {data.min():g}); counts and frequencies must be >= 0"
        )


def feature_names(X: Any) -> np.ndarray | None:
    """The string column names of a DataFrame-like ``X`` (``None`` for arrays)."""
    cols = getattr(X, "columns", None)
    if cols is None:
        return None
    names = np.asarray(list(cols), dtype=object)
    if len(names) and all(isinstance(c, str) for c in names):
        return names
    return None


def check_float32_range(X: np.ndarray, owner: str, name: str = "X") -> None:
    """Refuse finite values that a float32 model cannot hold (they would become infinity)."""
    limit = float(np.finfo(np.float32).max)
    big = np.abs(X) > limit
    if big.any():
        r = np.argwhere(big)[0]
        raise ValueError(
            f"{owner}: {name} holds {X[tuple(r)]:g} at {tuple(int(i) for i in r)}, beyond the "
            f"float32 range (|x| <= {limit:.3g}) this model computes in; rescale the data"
        )


def check_observed(X: np.ndarray, owner: str, name: str = "X", *, columns: bool = True) -> None:
    """Refuse data to learn from that has nothing observed: every value missing (NaN), or
    (with ``columns``) a column with no observed value (nothing to estimate its parameters
    from). A model whose unobserved columns keep well-defined initial parameters (an RBM
    recommender's items nobody rated) passes ``columns=False``."""
    observed = ~np.isnan(X)
    if not observed.any():
        raise ValueError(
            f"{owner}: every value of {name} is missing (NaN or None); there is nothing to "
            "learn from"
        )
    empty = np.flatnonzero(~observed.any(axis=0))
    if columns and empty.size:
        cols = ", ".join(str(int(c)) for c in empty[:10]) + (", ..." if empty.size > 10 else "")
        raise ValueError(
            f"{owner}: column(s) {cols} of {name} have no observed value (all NaN or None); "
            "drop them or give at least one value"
        )


def check_n_features(X: np.ndarray, expected: int, owner: str, name: str = "X") -> None:
    if X.shape[1] != expected:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but {owner} is expecting {expected} features "
            "as input"
        )


def check_sample_weight(sample_weight: Any, n_samples: int, owner: str) -> np.ndarray:
    """Return non-negative finite float64 weights of length ``n_samples`` (ones if None)."""
    if sample_weight is None:
        return np.ones(n_samples)
    w = check_array(sample_weight, name="sample_weight", owner=owner, ndim=1)
    if w.shape[0] != n_samples:
        raise ValueError(
            f"{owner}: sample_weight has {w.shape[0]} entries but X has {n_samples} samples"
        )
    if (w < 0).any():
        raise ValueError(f"{owner}: sample_weight contains negative values")
    if w.sum() <= 0:
        raise ValueError(f"{owner}: sample_weight sums to zero; at least one weight must be > 0")
    return w


def check_is_fitted(model: Any, attribute: str) -> None:
    if not hasattr(model, attribute):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


def check_random_state(seed: Any) -> np.random.RandomState:
    """A ``numpy.random.RandomState`` from None, an int or an existing RandomState."""
    if isinstance(seed, bool):
        raise ValueError(f"random_state must be None, an int or a numpy RandomState, got {seed!r}")
    if seed is None or isinstance(seed, numbers.Integral):
        if seed is not None and not 0 <= int(seed) < 2**32:
            raise ValueError(f"random_state must be an int in [0, 2**32 - 1], got {seed}")
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int or a numpy RandomState, got {seed!r}")


def _is_sparse(X: Any) -> bool:
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        return False
    return sp.issparse(X)


def _first_bad_value(arr: np.ndarray) -> Any:
    for v in arr.ravel():
        try:
            float(v)
        except (TypeError, ValueError):
            return v
    return arr.ravel()[0]


# ----------------------------------------------------------------------------------------
# Hyper-parameters: declared once per class, checked at the start of fit.


@dataclass(frozen=True)
class Interval:
    """A number in [low, high] (open ends with ``closed``), optionally integer."""

    kind: type  # int or float
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both" | "left" | "right" | "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real):
            return False
        lo_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        hi_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return bool(lo_ok and hi_ok and np.isfinite(value))

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        lo_b = "[" if self.closed in ("both", "left") and self.low is not None else "("
        hi_b = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{what} in {lo_b}{lo}, {hi}{hi_b}"


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of values (strings, None, booleans...)."""

    values: tuple

    def accepts(self, value: Any) -> bool:
        return any(value is v or (type(value) is type(v) and value == v) for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Satisfies:
    """Anything ``predicate`` accepts (e.g. an array-like, a RandomState)."""

    predicate: Callable[[Any], bool]
    description: str

    def accepts(self, value: Any) -> bool:
        return bool(self.predicate(value))

    def describe(self) -> str:
        return self.description


def _is_array_like(v: Any) -> bool:
    return isinstance(v, np.ndarray | list | tuple)


def _is_seed(v: Any) -> bool:
    return (isinstance(v, numbers.Integral) and not isinstance(v, bool)) or isinstance(
        v, np.random.RandomState
    )


def _is_device(v: Any) -> bool:
    return v in ("cpu", "cuda", "auto") or (isinstance(v, str) and v.startswith("cuda:"))


DEVICE = Satisfies(_is_device, "'cpu', 'cuda', 'cuda:N' or 'auto'")
ARRAY_LIKE = Satisfies(_is_array_like, "an array-like")
SEED = Satisfies(_is_seed, "an int or a numpy RandomState")
NONE = OneOf((None,))
BOOL = OneOf((True, False))


def validate_params(model: Any, spec: dict[str, Sequence[Any]]) -> None:
    """Check every hyper-parameter of ``model`` against its declared constraints."""
    params = model.get_params(deep=False)
    for name, constraints in spec.items():
        value = params[name]
        if any(c.accepts(value) for c in constraints):
            continue
        allowed = " or ".join(c.describe() for c in constraints)
        raise ValueError(
            f"{type(model).__name__}: invalid hyper-parameter {name}={value!r}; expected {allowed}"
        )


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first frame outside genmodels
    (the user's line), however deep in the library it is raised: for ``warnings.warn(...,
    stacklevel=user_stacklevel())`` called directly from library code."""
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def is_sparse(X: Any) -> bool:
    """Whether ``X`` is a scipy sparse matrix or array (any format)."""
    return _is_sparse(X)


# -- class labels (conditional models) --------------------------------------------------


def fit_classes(y, n: int, owner: str, what: str) -> np.ndarray:
    """The sorted distinct labels of ``y`` (one per ``what``, ``n`` of them)."""
    arr = _labels_array(y, owner)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"{owner}: y must be 1-D with one class label per {what} ({n}), got shape {arr.shape}"
        )
    try:
        classes = np.unique(arr)
    except TypeError:
        raise ValueError(
            f"{owner}: the class labels must be of one sortable type (all numbers, or all strings)"
        ) from None
    if classes.dtype.kind not in "biufU":
        raise ValueError(
            f"{owner}: class labels must be numbers, booleans or strings, got {classes.dtype}"
        )
    return classes


def label_codes(y, classes: np.ndarray, n: int, owner: str, what: str) -> np.ndarray:
    """The indices into ``classes`` of the labels ``y``: one label (for all ``n``) or one
    per ``what``."""
    arr = _labels_array(y, owner)
    if arr.ndim == 0:
        arr = np.repeat(arr[None], n)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"{owner}: y must be one class label or one per {what} ({n}), got shape {arr.shape}"
        )
    index = {c: i for i, c in enumerate(classes.tolist())}
    codes = np.empty(n, dtype=np.int64)
    for k, v in enumerate(arr.tolist()):
        code = index.get(v)
        if code is None:
            raise ValueError(
                f"{owner}: unknown class label {v!r}; the model knows {classes.tolist()}"
            )
        codes[k] = code
    return codes


def _labels_array(y, owner: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.dtype.kind == "O":
        arr = np.asarray(arr.tolist())
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{owner}: the class labels hold NaN or infinity")
    return arr
