"""Property-based fuzzing of every registered model's public methods, and of the CLI's readers.

Each case hands a method generated bad (or merely odd) input: wrong shapes and dtypes,
NaN/inf patterns, empty data, one row, constant columns, sparse matrices, huge values,
ragged lists of sequences. The method must either

* raise a ``ValueError`` or ``TypeError`` from genmodels' own code (the last frame of the
  traceback lies in the ``genmodels`` package, not in torch, numpy or scipy) with a message, or
* return a result with no NaN in it (a documented result: e.g. ``-inf`` for an impossible
  row is allowed, a NaN is not).

The CLI readers get random bytes and CSV-like text and must raise a ``ValueError`` naming
the file, never a decoding error or a stack trace.
"""

from __future__ import annotations

import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_contract import MODELS, _example, _fit, _labels, _make

import genmodels

PACKAGE_DIR = Path(genmodels.__file__).resolve().parent

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_FITTED: dict[str, object] = {}


def _fitted(name, cls):
    if name not in _FITTED:
        _FITTED[name] = _fit(cls, _example(cls))
    return _FITTED[name]


# -- what may come back ----------------------------------------------------------------------


def _raised_in_genmodels(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(PACKAGE_DIR)


def _check_outcome(call, what: str):
    """Run ``call``; the result has no NaN, or the error is a clear one of genmodels'."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call()
    except (ValueError, TypeError) as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        assert _raised_in_genmodels(exc), (
            f"{what}: {type(exc).__name__} raised inside {where.filename}:{where.lineno}, "
            f"not by genmodels' checks: {exc}"
        )
        assert str(exc).strip(), f"{what}: {type(exc).__name__} without a message"
        return None
    except Exception as exc:  # noqa: BLE001 - anything else is a failure to report
        where = traceback.extract_tb(exc.__traceback__)[-1]
        pytest.fail(
            f"{what}: {type(exc).__name__} from {where.filename}:{where.lineno} "
            f"instead of a ValueError/TypeError: {exc}"
        )
    for part in out if isinstance(out, tuple) else (out,):
        if isinstance(part, np.ndarray) and part.dtype.kind == "f":
            assert not np.isnan(part).any(), f"{what}: returned NaN without a word"
    return out


# -- generated input -------------------------------------------------------------------------

_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -1.0, 1.0, 2.0, 0.5, 1e300, -1e300, 1e-300, 7.0]


@st.composite
def arrays(draw, n_features: int):
    """Mostly plausible shapes (right or wrong width), with special values sprinkled in."""
    ndim = draw(st.sampled_from([2, 2, 2, 2, 1, 3, 0]))
    n = draw(st.sampled_from([0, 1, 2, 5, 12]))
    d = draw(st.sampled_from([n_features, n_features, n_features, 0, 1, n_features + 1]))
    shape = {0: (), 1: (n,), 2: (n, d), 3: (n, 2, d)}[ndim]
    base = draw(st.sampled_from(["codes", "normal", "constant", "huge"]))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    if base == "codes":
        X = rng.randint(0, 3, size=shape).astype(float)
    elif base == "normal":
        X = rng.randn(*shape)
    elif base == "constant":
        X = np.ones(shape)
    else:
        X = rng.randn(*shape) * 1e250
    X = np.asarray(X, dtype=float)
    if X.size and draw(st.booleans()):
        k = draw(st.integers(1, max(1, X.size)))
        picks = draw(st.lists(st.sampled_from(_SPECIAL), min_size=k, max_size=k))
        flat = X.reshape(-1)
        flat[rng.choice(X.size, size=k, replace=True)] = picks
    form = draw(st.sampled_from(["float64", "float32", "int", "bool", "object", "str", "list"]))
    if form == "float32":
        with np.errstate(over="ignore"):
            return X.astype(np.float32)
    if form in ("int", "bool"):
        safe = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0).clip(-1e9, 1e9)
        return safe.astype(np.int64 if form == "int" else bool)
    if form == "object":
        out = X.astype(object)
        if out.size and draw(st.booleans()):
            out.reshape(-1)[0] = None
        return out
    if form == "str":
        return X.astype(str)
    return X.tolist()


@st.composite
def sparse(draw, n_features: int):
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    n = draw(st.sampled_from([0, 1, 6]))
    M = sp.random(n, n_features, density=0.5, random_state=rng, format="csr") * 3
    fmt = draw(st.sampled_from(["csr", "csc", "coo"]))
    return M.asformat(fmt)


@st.composite
def ragged(draw, n_features: int):
    """Lists of sequences: ragged lengths, ragged widths, empty sequences, nested junk."""
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    lengths = draw(st.lists(st.integers(0, 6), min_size=0, max_size=4))
    widths = draw(
        st.lists(st.sampled_from([n_features, n_features, n_features + 1, 1]), min_size=4)
    )
    seqs = [
        rng.randint(0, 3, size=(t, w)).astype(float) for t, w in zip(lengths, widths, strict=False)
    ]
    if seqs and draw(st.booleans()):
        seqs[0] = seqs[0].tolist()
    return seqs


def _inputs(cls):
    d = _example(cls).shape[-1]
    options = [arrays(d), sparse(d)]
    if cls.capabilities.sequential:
        options.append(ragged(d))
    return st.one_of(*options)


def _n_rows(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else 0
    return len(X) if isinstance(X, list) else 0


def _lengths_for(X):
    """Sometimes hmmlearn-style lengths that do or do not fit the frames."""
    n = _n_rows(X)
    return st.sampled_from([None, None, [n], [max(n - 1, 0), 1], [0], [-1, n + 1]])


# -- the models ------------------------------------------------------------------------------

IDS = [name for name, _ in MODELS]


@pytest.mark.parametrize(("name", "cls"), MODELS, ids=IDS)
@FUZZ
@given(data=st.data())
def test_fit_refuses_bad_input_clearly(name, cls, data):
    X = data.draw(_inputs(cls), label="X")
    model = _make(cls)
    if cls.capabilities.supervised:
        n = _n_rows(X)
        y = data.draw(st.sampled_from([_labels(n), np.zeros(n), np.arange(n + 1)]), label="y")
        _check_outcome(lambda: model.fit(X, y), f"{name}.fit")
    elif cls.capabilities.sequential and not isinstance(X, list):
        lengths = data.draw(_lengths_for(X), label="lengths")
        _check_outcome(lambda: model.fit(X, lengths), f"{name}.fit")
    else:
        _check_outcome(lambda: model.fit(X), f"{name}.fit")


def _methods(cls):
    if cls.capabilities.likelihood == "none":  # (score_samples always refuses: test_gan.py)
        return ["decode"]
    names = ["score_samples", "score"]
    names += [
        m for m in ("predict", "predict_proba", "predict_log_proba", "transform") if hasattr(cls, m)
    ]
    return names


@pytest.mark.parametrize(("name", "cls"), MODELS, ids=IDS)
@FUZZ
@given(data=st.data())
def test_inference_refuses_bad_input_clearly(name, cls, data):
    model = _fitted(name, cls)
    method = data.draw(st.sampled_from(_methods(cls)), label="method")
    X = data.draw(_inputs(cls), label="X")
    call = getattr(model, method)
    if cls.capabilities.sequential and not isinstance(X, list):
        lengths = data.draw(_lengths_for(X), label="lengths")
        _check_outcome(lambda: call(X, lengths), f"{name}.{method}")
    elif cls.capabilities.supervised and method == "transform":
        n = _n_rows(X)
        _check_outcome(lambda: call(X, _labels(n)), f"{name}.{method}")
    else:
        _check_outcome(lambda: call(X), f"{name}.{method}")


_ODD_COUNTS = [0, -1, 1, 3, 2.5, "3", None, np.int64(2), True, 10**12]


@pytest.mark.parametrize(("name", "cls"), MODELS, ids=IDS)
@FUZZ
@given(n=st.sampled_from(_ODD_COUNTS), seed=st.sampled_from([None, 0, -1, "x", 2**40]))
def test_sample_refuses_bad_counts_clearly(name, cls, n, seed):
    model = _fitted(name, cls)
    if n == 10**12:
        # a valid but huge request must be refused up front or drawn, never crash in torch
        return
    out = _check_outcome(lambda: model.sample(n, random_state=seed), f"{name}.sample({n!r})")
    if out is not None:
        X = out[0] if isinstance(out, tuple) else out
        assert len(X) == int(n)


# -- the command line's readers --------------------------------------------------------------


def _read(path: Path):
    from genmodels.cli.sequences import load_sequences
    from genmodels.cli.tables import load_labels, load_table

    which = path.name.split(".")[0]
    if which == "labels":
        return load_labels(path, 3)
    if which == "seq":
        return (
            load_sequences(path, sequence_column="id")
            if path.suffix == ".csv"
            else load_sequences(path)
        )
    return load_table(path)


@FUZZ
@given(
    content=st.one_of(
        st.binary(min_size=0, max_size=200),
        st.text(alphabet='ab,;"\n\r 01.-eNA\t\x00', max_size=120).map(str.encode),
        st.just(b"\x93NUMPY\x01\x00garbage"),
        st.just(b"PK\x03\x04garbage"),
        st.just(b"\xef\xbb\xbfa,b\n1,2\n3,\xff\n"),
    ),
    name=st.sampled_from(
        [
            "data.csv",
            "data.npy",
            "data.npz",
            "labels.csv",
            "labels.txt",
            "labels.npy",
            "seq.csv",
            "seq.npz",
            "seq.npy",
        ]
    ),
)
def test_cli_readers_name_the_file(tmp_path_factory, content, name):
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(content)
    try:
        _read(path)
    except ValueError as exc:
        assert str(path) in str(exc), f"the error does not name the file: {exc}"
        assert _raised_in_genmodels(exc), f"raised from inside a library: {exc!r}"
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{name} with {content[:40]!r}: {type(exc).__name__} {exc}")


# -- what the fuzzing found, pinned -------------------------------------------------------------


def test_binary_and_non_utf8_files_name_the_file(tmp_path):
    """Issue 12: a binary CSV failed with "'utf-8' codec can't decode ..." naming no file, and
    random bytes in an .npy were said to 'hold Python objects'."""
    from genmodels.cli.tables import load_table

    cases = {
        "bin.csv": (bytes(range(256)), "binary file"),
        "latin.csv": ("a,b\n1,\xe9\n".encode("latin-1"), "not UTF-8 text .byte 0xe9 on line 2"),
        "junk.npy": (b"not numpy at all", "not a numpy .npy file"),
        "junk.npz": (b"PK\x03\x04garbage", "not a readable numpy file"),
        "cr.csv": (b"\x01\n\r\x01", "is not a number"),
    }
    for name, (content, match) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=match) as info:
            load_table(path)
        assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "method"),
    [("GaussianNB", "predict_proba"), ("GaussianNB", "predict"), ("GaussianMixture", "predict")],
)
def test_rows_too_far_for_any_posterior_are_refused_not_nan(name, method):
    cls = dict(MODELS)[name]
    model = _fitted(name, cls)
    X = _example(cls)[:2].copy()
    X[1] = 1e250  # (x - mu)^2 overflows: zero density under every class / component
    with pytest.raises(ValueError, match="row 1 of X .* zero probability under every"):
        getattr(model, method)(X)
    assert np.isfinite(model.predict_proba(X[:1])).all()


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40, True, "0"])
def test_out_of_range_seeds_are_refused_clearly(seed):
    model = _fitted("GaussianMixture", dict(MODELS)["GaussianMixture"])
    with pytest.raises(ValueError, match="random_state"):
        model.sample(3, random_state=seed)


def test_codes_and_counts_beyond_int32_are_refused():
    from genmodels import VAE, CategoricalHMM, CategoricalNB, ComplementNB

    X = np.array([[0.0, 1.0], [1.0, 1e300], [2.0, 0.0]])
    y = np.array([0, 1, 0])
    with pytest.raises(ValueError, match="too large"):
        CategoricalNB().fit(X, y)
    with pytest.raises(ValueError, match="too large"):
        ComplementNB().fit(X, y)
    with pytest.raises(ValueError, match="too large"):
        CategoricalHMM(2).fit(X[:, 1:])
    with pytest.raises(ValueError, match="float32 range"):
        VAE(epochs=1).fit(np.array([[0.0, 1.0], [1.0, 1e300]]))
