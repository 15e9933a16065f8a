"""What a fitted model holds, declared: the shapes, dtypes and constraints of its fitted
attributes, and the one checker that :func:`genmodels.load` runs on a model file.

A model class declares ``_fitted_spec``, a dict from attribute name to an :class:`Attr`
(or a :class:`Switch` on a hyper-parameter, e.g. ``covariance_type``); a subclass's
declaration adds to its bases' (:func:`fitted_spec` merges them along the MRO). An
attribute's ``shape`` is written in terms of hyper-parameters, other attributes and named
sizes::

    "weights_": Attr(("n_components",), constraints=(FINITE, Simplex())),
    "means_": Attr(("n_components", "n_features_in_"), constraints=(FINITE,)),
    "classes_": Attr(("n_classes",), kind=("int", "float", "str"), constraints=(SORTED_UNIQUE,)),
    "class_count_": Attr(("n_classes",), constraints=(FINITE, NON_NEGATIVE)),

A dimension is an int, ``None`` (any size), or a name: a hyper-parameter (``n_components``),
an integer attribute (``n_features_in_``), or a size that the first attribute using it
fixes (``n_classes`` above, so ``len(classes_) == class_count_.shape[0]`` is checked by
writing the same name twice). A hyper-parameter that is None (``n_features=None``) is such
a free size too. Constraints are small values with a ``problem(value, ctx)`` method that
returns what is wrong, or None; :class:`Check` takes any predicate for what only one model
needs (agreement between two attributes, say).

:func:`check_fitted_state` checks a file's attributes against the declaration and raises
:class:`~genmodels.exceptions.ModelFileError` naming the file, the attribute and what is
wrong — before the model is built, so nothing reaches torch. A neural model's weights are
checked against the network its hyper-parameters build (:class:`ModuleState`).

Why a module of its own rather than :mod:`genmodels.validation`: that module checks what a
*user* passes to a method (arrays, hyper-parameters); this one describes what a *fitted
model* is, which the file format, the tests (every saved attribute must be declared) and
the documentation read.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .exceptions import ModelFileError

Dim = int | str | None

_KINDS = ("float", "int", "bool", "str", "dict", "any")


# ----------------------------------------------------------------------------------------
# Declarations


@dataclass(frozen=True)
class Attr:
    """One fitted attribute: its ``shape`` (a tuple of dimensions, ``()`` for a scalar, or
    None for any), its ``kind`` ("float", "int", "bool", "str", "dict" or "any", or a tuple
    of them), its ``constraints``; ``optional`` if a fitted model may lack it (set by
    ``partial_fit``, a DataFrame, PCD only...), ``nullable`` if it may be None."""

    shape: tuple[Dim, ...] | None = None
    kind: str | tuple[str, ...] = "float"
    constraints: tuple[Any, ...] = ()
    optional: bool = False
    nullable: bool = False

    def __post_init__(self) -> None:
        kinds = (self.kind,) if isinstance(self.kind, str) else self.kind
        bad = [k for k in kinds if k not in _KINDS]
        if bad:
            raise ValueError(f"unknown attribute kind(s) {bad}; known: {_KINDS}")


@dataclass(frozen=True)
class Switch:
    """A different :class:`Attr` for each value of hyper-parameter ``param`` (a
    covariance's shape and constraints by ``covariance_type``)."""

    param: str
    cases: Mapping[str, Attr] = field(default_factory=dict)

    def resolve(self, params: Mapping[str, Any]) -> Attr | None:
        return self.cases.get(params.get(self.param))


@dataclass(frozen=True)
class ModuleState:
    """A neural model's weights: the tensors ``<prefix><key>`` of the file must be exactly
    the state dict of the network that ``_build_module()`` builds from the hyper-parameters
    and the other (already checked) attributes — the same names, shapes and dtypes — and
    finite."""

    prefix: str = "module_/"


def fitted_spec(cls: type) -> dict[str, Attr | Switch | ModuleState]:
    """The declared fitted attributes of ``cls``: every ``_fitted_spec`` along its MRO, a
    subclass's entries replacing its bases' (``None``: a base's attribute this class has
    not)."""
    spec: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        spec.update(klass.__dict__.get("_fitted_spec", {}))
    return {k: v for k, v in spec.items() if v is not None}


# ----------------------------------------------------------------------------------------
# Constraints: problem(value, ctx) -> None when satisfied, else what is wrong


def _where(mask: np.ndarray) -> str:
    idx = tuple(int(i) for i in np.argwhere(mask)[0])
    return "" if not idx else f" at index {idx[0] if len(idx) == 1 else idx}"


def _num(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


@dataclass(frozen=True)
class _Finite:
    nan_only: bool = False

    def problem(self, a, ctx) -> str | None:
        a = _num(a)
        nan = np.isnan(a)
        if nan.any():
            return f"must not hold NaN (NaN{_where(nan)})"
        if not self.nan_only and np.isinf(a).any():
            v = a[np.isinf(a)][0]
            return f"must be finite ({v}{_where(np.isinf(a))})"
        return None


FINITE = _Finite()
NOT_NAN = _Finite(nan_only=True)  # -inf allowed: log-probabilities of impossible events


@dataclass(frozen=True)
class Range:
    """Every value in [low, high] (an end open with ``low_open``/``high_open``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return " and ".join(parts)

    def problem(self, a, ctx) -> str | None:
        a = _num(a)
        ok = ~np.isnan(a)
        if self.low is not None:
            ok &= a > self.low if self.low_open else a >= self.low
        if self.high is not None:
            ok &= a < self.high if self.high_open else a <= self.high
        if ok.all():
            return None
        bad = ~ok
        return f"must be {self.describe()} (holds {a[bad][0]:.6g}{_where(bad)})"


NON_NEGATIVE = Range(0.0)
POSITIVE = Range(0.0, low_open=True)
PROBABILITY = Range(0.0, 1.0)
NON_POSITIVE = Range(high=0.0)  # log-probabilities


def _tolerance(a: np.ndarray, tol: float | None) -> float:
    if tol is not None:
        return tol
    return 1e-4 if np.asarray(a).dtype == np.float32 else 1e-6


@dataclass(frozen=True)
class Simplex:
    """Non-negative values summing to 1 along ``axis`` (a distribution; a row-stochastic
    matrix with ``axis=-1`` on a 2-D array), within ``tol`` (default 1e-6, 1e-4 for
    float32); ``log``: the values are log-probabilities (their exps sum to 1)."""

    axis: int = -1
    tol: float | None = None
    log: bool = False

    def problem(self, a, ctx) -> str | None:
        x = _num(a)
        if self.log:
            if (np.nan_to_num(x, nan=0.0) > 1e-12).any():
                return f"must be log-probabilities (<= 0; holds {x[x > 1e-12][0]:.6g})"
            with np.errstate(under="ignore"):
                x = np.exp(x)
        elif (x < 0).any():
            return f"must be non-negative (holds {x[x < 0][0]:.6g}{_where(x < 0)})"
        if x.ndim == 0 or x.size == 0:
            return None
        sums = x.sum(axis=self.axis)
        bad = ~(np.abs(sums - 1.0) <= _tolerance(a, self.tol))
        if not bad.any():
            return None
        what = "exp of the values" if self.log else "values"
        if sums.ndim == 0:
            return f"{what} must sum to 1 (sums to {float(sums):.6g})"
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        at = first[0] if len(first) == 1 else first
        return (
            f"{what} must sum to 1 along axis {self.axis} (the slice at {at} sums to "
            f"{float(sums[first]):.6g})"
        )


ROW_STOCHASTIC = Simplex(axis=-1)


@dataclass(frozen=True)
class PositiveDefinite:
    """A symmetric positive-definite matrix, or a stack of them (the last two axes):
    symmetric to rounding, and its Cholesky factorisation succeeds."""

    def problem(self, a, ctx) -> str | None:
        x = _num(a)
        if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
            return f"must be square matrices, got shape {x.shape}"
        mats = x.reshape((-1,) + x.shape[-2:])
        scale = max(1.0, float(np.abs(mats).max()) if mats.size else 1.0)
        tol = _tolerance(a, None) * scale
        for i, m in enumerate(mats):
            at = f"[{i}]" if x.ndim > 2 else ""
            if not (np.abs(m - m.T) <= tol).all():
                return f"matrix{at} must be symmetric"
            try:
                np.linalg.cholesky(m)
            except np.linalg.LinAlgError:
                return f"matrix{at} must be positive definite (its Cholesky factorisation fails)"
        return None


POSITIVE_DEFINITE = PositiveDefinite()


@dataclass(frozen=True)
class Triangular:
    """Triangular matrices (the last two axes), upper or lower, with a positive diagonal
    when ``positive_diagonal`` (a Cholesky factor)."""

    upper: bool = True
    positive_diagonal: bool = True

    def problem(self, a, ctx) -> str | None:
        x = _num(a)
        if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
            return f"must be square matrices, got shape {x.shape}"
        d = x.shape[-1]
        other = (
            np.tril(np.ones((d, d), bool), -1) if self.upper else np.triu(np.ones((d, d), bool), 1)
        )
        side = "upper" if self.upper else "lower"
        if (x[..., other] != 0).any():
            return (
                f"must be {side}-triangular (non-zero entries below the diagonal)"
                if self.upper
                else (f"must be {side}-triangular (non-zero entries above the diagonal)")
            )
        diag = np.diagonal(x, axis1=-2, axis2=-1)
        if self.positive_diagonal and not (diag > 0).all():
            return f"must have a positive diagonal (holds {diag[~(diag > 0)][0]:.6g})"
        return None


UPPER_CHOLESKY = Triangular(upper=True)
LOWER_CHOLESKY = Triangular(upper=False)


@dataclass(frozen=True)
class _Integer:
    def problem(self, a, ctx) -> str | None:
        x = _num(a)
        bad = x != np.round(x)
        if bad.any():
            return f"must hold whole numbers (holds {x[bad][0]:.6g}{_where(bad)})"
        return None


INTEGER = _Integer()  # integer-valued (counts, categories) whatever the dtype


@dataclass(frozen=True)
class _Binary:
    def problem(self, a, ctx) -> str | None:
        x = _num(a)
        bad = (x != 0) & (x != 1)
        if bad.any():
            return f"must hold only 0 and 1 (holds {x[bad][0]:.6g}{_where(bad)})"
        return None


BINARY = _Binary()


@dataclass(frozen=True)
class _SortedUnique:
    def problem(self, a, ctx) -> str | None:
        x = np.asarray(a)
        if x.ndim != 1 or x.size < 2:
            return None
        try:
            ok = bool(np.all(x[1:] > x[:-1]))
        except TypeError:
            ok = list(x) == sorted(set(x.tolist()))
        return None if ok else "must be sorted and unique (as np.unique returns them)"


SORTED_UNIQUE = _SortedUnique()


@dataclass(frozen=True)
class Check:
    """Any other condition: ``predicate(value, ctx) -> bool``, with ``description`` saying
    what must hold (agreement with another attribute, a relation only one model has).
    ``ctx.get("name")`` gives another attribute (already checked when declared earlier)
    or a hyper-parameter."""

    predicate: Callable[[Any, Context], bool]
    description: str

    def problem(self, a, ctx) -> str | None:
        try:
            ok = bool(self.predicate(a, ctx))
        except Exception as exc:  # a malformed value makes the relation fail, not crash
            return f"must satisfy: {self.description} ({type(exc).__name__}: {exc})"
        return None if ok else f"must satisfy: {self.description}"


@dataclass(frozen=True)
class When:
    """``constraint`` only when ``condition(ctx)`` holds (e.g. a prior that is a
    distribution unless the user gave one by hand)."""

    condition: Callable[[Context], bool]
    constraint: Any

    def problem(self, a, ctx) -> str | None:
        return self.constraint.problem(a, ctx) if self.condition(ctx) else None


# ----------------------------------------------------------------------------------------
# The checker


class Context:
    """What a constraint may look at: the hyper-parameters, the file's attributes and the
    sizes fixed so far."""

    def __init__(self, model: Any, state: Mapping[str, Any]):
        self.model = model
        self.params = model.get_params(deep=False)
        self.state = state
        self.sizes: dict[str, tuple[int, str]] = {}  # name -> (size, attribute that fixed it)

    def get(self, name: str) -> Any:
        """A file attribute, else a hyper-parameter (KeyError if neither)."""
        if name in self.state:
            return self.state[name]
        return self.params[name]

    def size(self, name: str) -> int | None:
        """The value of a named dimension, or None while it is free."""
        if name in self.params and not isinstance(self.params[name], np.ndarray):
            v = self.params[name]
            if v is None:
                return self.sizes.get(name, (None,))[0]
            return v
        if name in self.state and _is_int(self.state[name]):
            return int(self.state[name])
        return self.sizes.get(name, (None,))[0]


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, str):
        return "str"
    if _is_int(value):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    arr = np.asarray(value) if isinstance(value, list | tuple | np.ndarray) else None
    if arr is None:
        return type(value).__name__
    if arr.dtype.kind == "O":
        if all(isinstance(v, str) for v in arr.ravel()):
            return "str"
        return "object"
    return {"f": "float", "i": "int", "u": "int", "b": "bool", "U": "str", "S": "str"}.get(
        arr.dtype.kind, str(arr.dtype)
    )


def _check_shape(name: str, shape: tuple, actual: tuple, ctx: Context) -> str | None:
    def show(dims, values):
        inner = ", ".join(
            str(d)
            if isinstance(d, int)
            else ("any" if d is None else f"{d}={v}" if v is not None else d)
            for d, v in zip(dims, values, strict=True)
        )
        return f"({inner}{',' if len(dims) == 1 else ''})"

    values = [d if isinstance(d, int) or d is None else ctx.size(d) for d in shape]
    if len(actual) != len(shape):
        return f"has shape {actual}, expected {show(shape, values)}"
    binding: dict[str, int] = {}
    for i, (d, v) in enumerate(zip(shape, values, strict=True)):
        if isinstance(d, str) and v is None:
            v = binding.setdefault(d, actual[i])
            values[i] = v
        if v is not None and actual[i] != v:
            fixed = ""
            if isinstance(d, str) and d in ctx.sizes and d not in ctx.params:
                fixed = f" ({d} from {ctx.sizes[d][1]})"
            return f"has shape {actual}, expected {show(shape, values)}{fixed}"
    for d, v in binding.items():
        ctx.sizes.setdefault(d, (v, name))
    return None


def _check_module(name: str, spec: ModuleState, ctx: Context, path) -> None:
    """The weights in the file against the network the hyper-parameters build."""
    import torch
    from sklearn.base import clone

    weights = {k[len(spec.prefix) :]: v for k, v in ctx.state.items() if k.startswith(spec.prefix)}
    probe = clone(ctx.model)
    for k, v in ctx.state.items():
        if not k.startswith(spec.prefix):
            setattr(probe, k, v)
    try:
        with torch.random.fork_rng(devices=[]):
            expected = {k: t for k, t in probe._build_module().state_dict().items()}
    except Exception as exc:
        raise ModelFileError(
            f"{path}: the network cannot be built from the file's hyper-parameters and "
            f"attributes ({type(exc).__name__}: {exc})"
        ) from None
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(spec.prefix + k for k in missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(spec.prefix + k for k in extra)}")
        raise ModelFileError(
            f"{path}: {name} does not hold the weights of the network the hyper-parameters "
            f"build: {'; '.join(parts)}"
        )
    for key, t in expected.items():
        v = np.asarray(weights[key])
        full = spec.prefix + key
        if tuple(v.shape) != tuple(t.shape):
            raise ModelFileError(
                f"{path}: {full} has shape {tuple(v.shape)}, expected {tuple(t.shape)} "
                "(the network the hyper-parameters build)"
            )
        want = str(t.dtype).removeprefix("torch.")
        if str(v.dtype) != want:
            raise ModelFileError(f"{path}: {full} has dtype {v.dtype}, expected {want}")
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            raise ModelFileError(f"{path}: {full} {FINITE.problem(v, ctx)}")


def check_fitted_state(
    model: Any, state: Mapping[str, Any], path: Any, *, strict: bool = True
) -> None:
    """Check the attributes ``state`` read from a model file against ``type(model)``'s
    declaration (``model`` is the unfitted model built from the file's hyper-parameters).

    Every declared, non-optional attribute must be present; every attribute present must be
    declared (unless ``strict`` is False: a file from a newer genmodels may hold more); each
    must have its kind and shape and meet its constraints. The first failure is a
    :class:`ModelFileError` naming ``path``, the attribute and what is wrong.
    """
    spec = fitted_spec(type(model))
    ctx = Context(model, state)
    module_specs = {n: s for n, s in spec.items() if isinstance(s, ModuleState)}
    prefixes = tuple(s.prefix for s in module_specs.values())
    attrs = {n: s.resolve(ctx.params) if isinstance(s, Switch) else s for n, s in spec.items()}
    if strict:
        unknown = sorted(
            k for k in state if k not in spec and not (prefixes and k.startswith(prefixes))
        )
        if unknown:
            raise ModelFileError(
                f"{path}: {type(model).__name__} has no fitted attribute {unknown[0]!r} "
                f"(declared: {', '.join(n for n in spec if not isinstance(spec[n], ModuleState))})"
            )
    # Scalars first: they give the sizes the arrays' shapes refer to.
    order = sorted(
        (n for n, a in attrs.items() if isinstance(a, Attr)),
        key=lambda n: 0 if attrs[n].shape == () else 1,
    )
    for name in order:
        a = attrs[name]
        if name not in state:
            if a.optional:
                continue
            raise ModelFileError(f"{path}: fitted attribute {name} is missing from the file")
        _check_one(name, a, state[name], ctx, path)
    for name, s in spec.items():
        if isinstance(s, Switch) and attrs[name] is None:
            raise ModelFileError(
                f"{path}: {s.param}={ctx.params.get(s.param)!r} is not one of "
                f"{', '.join(map(repr, s.cases))} ({name} cannot be checked)"
            )
    for name, s in module_specs.items():
        _check_module(name, s, ctx, path)


def _check_one(name: str, a: Attr, value: Any, ctx: Context, path) -> None:
    if value is None:
        if a.nullable:
            return
        raise ModelFileError(f"{path}: {name} is None, expected a value")
    kinds = (a.kind,) if isinstance(a.kind, str) else a.kind
    kind = _kind_of(value)
    if "any" not in kinds and kind not in kinds:
        if not (kind == "int" and "float" in kinds and a.shape == ()):  # 2 for 2.0 in JSON
            raise ModelFileError(
                f"{path}: {name} holds {kind} values, expected {' or '.join(kinds)}"
            )
    if kind == "dict":
        arr = None
    else:
        arr = np.asarray(value)
        if a.shape is not None:
            problem = _check_shape(name, a.shape, tuple(arr.shape), ctx)
            if problem:
                raise ModelFileError(f"{path}: {name} {problem}")
    for c in a.constraints:
        problem = c.problem(value if arr is None else arr, ctx)
        if problem:
            raise ModelFileError(f"{path}: {name} {problem}")


# ----------------------------------------------------------------------------------------
# Shared declarations


def covariance_spec(
    n_components: Dim = "n_components", n_features: Dim = "n_features_in_"
) -> Switch:
    """A Gaussian covariance by ``covariance_type`` (GaussianMixture, GaussianHMM): full
    (K, D, D) positive definite, tied (D, D) positive definite, diag (K, D) and spherical
    (K,) positive."""
    k, d = n_components, n_features
    return Switch(
        "covariance_type",
        {
            "full": Attr((k, d, d), constraints=(FINITE, POSITIVE_DEFINITE)),
            "tied": Attr((d, d), constraints=(FINITE, POSITIVE_DEFINITE)),
            "diag": Attr((k, d), constraints=(FINITE, POSITIVE)),
            "spherical": Attr((k,), constraints=(FINITE, POSITIVE)),
        },
    )


def _list_of_numbers(v, ctx) -> bool:
    return all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in np.ravel(v))


def _history_ok(v, ctx) -> bool:
    return all(isinstance(k, str) and isinstance(x, list) for k, x in v.items())


#: Attributes many models share.
N_FEATURES_IN = Attr((), kind="int", constraints=(Range(1),))
FEATURE_NAMES_IN = Attr(("n_features_in_",), kind="str", optional=True)
N_ITER = Attr((), kind="int", constraints=(Range(0),))
CONVERGED = Attr((), kind="bool")
SCALAR = Attr((), constraints=(NOT_NAN,))
FINITE_SCALAR = Attr((), constraints=(FINITE,))
TRACE = Attr((None,), constraints=(NOT_NAN,))  # a list of numbers per iteration
HISTORY = Attr(kind="dict", constraints=(Check(_history_ok, "a dict of per-epoch lists"),))


def _eps(a) -> float:
    return float(
        np.finfo(np.asarray(a).dtype if np.asarray(a).dtype.kind == "f" else np.float64).eps
    )


def inverse_of(other: str, matrices: bool) -> Check:
    """The value is the inverse of attribute ``other`` (matrices: their matrix inverses,
    to rounding scaled by the condition number; else elementwise reciprocals)."""

    def ok(v, ctx) -> bool:
        a, b = _num(ctx.get(other)), _num(v)
        if a.shape != b.shape:
            return False
        if not matrices:
            return bool(np.all(np.abs(a * b - 1.0) <= 1e3 * _eps(v)))
        mats, invs = a.reshape((-1,) + a.shape[-2:]), b.reshape((-1,) + b.shape[-2:])
        eye = np.eye(a.shape[-1])
        for m, p in zip(mats, invs, strict=True):
            cond = float(np.linalg.cond(m))
            if not np.all(np.abs(m @ p - eye) <= 1e3 * _eps(v) * max(1.0, cond)):
                return False
        return True

    return Check(ok, f"the inverse of {other}")


def factor_of(other: str, matrices: bool) -> Check:
    """The value P is a factor of attribute ``other``: P Pᵀ = other (matrices), or P² =
    other (elementwise), to rounding."""

    def ok(v, ctx) -> bool:
        a, p = _num(ctx.get(other)), _num(v)
        prod = p @ np.swapaxes(p, -1, -2) if matrices else p * p
        scale = np.maximum(np.abs(a), np.abs(prod)).max() if a.size else 1.0
        return prod.shape == a.shape and bool(
            np.all(np.abs(prod - a) <= 1e3 * _eps(v) * max(scale, 1e-300))
        )

    return Check(ok, f"P Pᵀ = {other} for this factor P" if matrices else f"its square is {other}")
