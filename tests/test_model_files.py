"""Model files are checked for sense, not only for form (issue 12).

Every registered model is fitted small (the contract suite's example data and
``_test_params()``), saved, and then each attribute its file holds is corrupted in turn by
rewriting the safetensors tensors or the JSON metadata directly: the wrong shape, NaN (or
infinity), and a violation of each of the attribute's own declared constraints (a negative
weight, a covariance that is not positive definite, probabilities not summing to 1, a
non-integer count, unsorted labels, ...). ``load`` must refuse each with a ModelFileError
naming the file and the attribute. Every attribute a file holds must be declared (so an
attribute added without a declaration fails here), good files load to identical outputs,
and a file from a newer genmodels loads with a warning naming both versions.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save
from test_contract import _data, _example, _fit_args, _labels, _make

import genmodels
from genmodels import attributes as A
from genmodels.exceptions import ModelFileError, ModelVersionWarning
from genmodels.persistence import from_json_value, read_metadata, to_json_value
from genmodels.registry import registered_models

MODELS = registered_models()

# An encoded table: three offsets and a one-hot group of three categories.
_TABLE_GROUPS = (("gaussian", 1),) * 3 + (("categorical", 3),)

# Each registered model as the contract suite fits it, plus the configurations that store
# other attributes or other shapes: (class name, extra hyper-parameters, how it is fitted).
CONFIGS = [(name, {}, "fit") for name in sorted(MODELS)] + [
    ("GaussianMixture", {"covariance_type": "diag"}, "fit"),
    ("GaussianMixture", {"covariance_type": "tied"}, "fit"),
    ("GaussianMixture", {"covariance_type": "spherical"}, "fit"),
    ("GaussianMixture", {}, "partial_fit"),
    ("GaussianMixture", {"dtype": "float32"}, "dataframe"),
    ("GaussianHMM", {"covariance_type": "full"}, "fit"),
    ("GaussianHMM", {"covariance_type": "tied"}, "partial_fit"),
    ("GaussianHMM", {"covariance_type": "spherical"}, "fit"),
    ("GMMHMM", {"covariance_type": "full"}, "fit"),
    ("GMMHMM", {"covariance_type": "tied"}, "fit"),
    ("GMMHMM", {"covariance_type": "spherical"}, "fit"),
    ("BoltzmannMachine", {"method": "pcd"}, "fit"),
    ("BernoulliRBM", {}, "scored"),
    ("CategoricalRBM", {"method": "pcd"}, "scored"),
    ("GaussianBernoulliRBM", {}, "scored"),
    ("BoltzmannMachine", {}, "scored"),
    ("MultinomialNB", {"class_prior": [0.5, 0.25, 0.25]}, "fit"),
    ("PixelCNN", {}, "conditioned"),
    ("WaveNet", {}, "conditioned"),
    ("PixelCNN", {"output": "logistic_mixture"}, "fit"),
    ("PixelCNN", {"image_shape": (1, 1, 3)}, "fit"),  # colour: the channel path's weights
    ("TabularGAN", {"feature_groups": _TABLE_GROUPS}, "table"),  # a conditional vector
]
CONFIG_IDS = [
    "-".join([name, *(f"{k}={v}" for k, v in extra.items()), *([how] if how != "fit" else [])])
    for name, extra, how in CONFIGS
]


class _Frame(np.ndarray):
    """An array with string ``columns``, as a DataFrame has (pandas is not a dependency)."""

    def __new__(cls, X, columns):
        out = np.asarray(X).view(cls)
        out.columns = columns
        return out


def _conditions(cls, X) -> dict:
    """The conditioning of a ``"conditioned"`` fit: class labels, and for a model that
    takes them local features (two per level) and a sample rate."""
    out = {"y": _labels(len(X))}
    if cls._local_conditioning:
        out["features"] = [np.ones((x.shape[0], 2)) * (i % 3) for i, x in enumerate(X)]
    return out


def _fitted(name: str, extra: dict, how: str):
    cls = MODELS[name]
    X = _example(cls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _make(cls, **extra)
        if how == "partial_fit":
            model.partial_fit(X)
            model.partial_fit(X)
        elif how == "dataframe":
            model.fit(_Frame(X, [f"f{j}" for j in range(X.shape[1])]))
        elif how == "table":
            X = np.hstack([X, np.eye(3)[_labels(len(X))]])
            model.fit(X)
        elif how == "conditioned":
            rate = {"sample_rate": 8000} if cls._local_conditioning else {}
            model.fit(X, **_conditions(cls, X), **rate)
        else:
            model.fit(*_fit_args(cls, X))
        if how == "scored":
            model.score_samples(X)  # computes log Z, which the file then caches
    return model, X


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(model, X, path) per configuration, fitted and saved once for the module."""
    folder = tmp_path_factory.mktemp("model_files")
    out = {}
    for cid, (name, extra, how) in zip(CONFIG_IDS, CONFIGS, strict=True):
        model, X = _fitted(name, extra, how)
        path = folder / f"{cid}.safetensors"
        model.save(path)
        out[cid] = (model, X, path)
    return out


# ----------------------------------------------------------------------------------------
# Reading and rewriting a file directly


def _read(path):
    tensors = st_load(path.read_bytes())
    meta = read_metadata(path)
    attrs = {k: from_json_value(v) for k, v in json.loads(meta["attributes"]).items()}
    return tensors, meta, attrs


def _write(path, tensors, meta, attrs):
    meta = dict(meta, attributes=json.dumps({k: to_json_value(v) for k, v in attrs.items()}))
    path.write_bytes(
        st_save({k: np.array(v, order="C") for k, v in tensors.items()}, metadata=meta)
    )


def _stored(path) -> dict:
    """Every attribute the file holds, tensors and JSON, by name (``module_/<key>`` apart)."""
    tensors, _, attrs = _read(path)
    out = {k[len("attr/") :]: v for k, v in tensors.items() if k.startswith("attr/")}
    out.update(attrs)
    return out


def _with(path, target, name, value):
    """Write ``path`` to ``target`` with attribute ``name`` replaced by ``value`` (a
    tensor, or a JSON value), or removed when ``value`` is ``_DROP``."""
    tensors, meta, attrs = _read(path)
    tensors.pop(f"attr/{name}", None)
    attrs.pop(name, None)
    if value is _DROP:
        pass
    elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        tensors[f"attr/{name}"] = value
    else:
        attrs[name] = value
    _write(target, tensors, meta, attrs)


_DROP = object()


# ----------------------------------------------------------------------------------------
# Corruptions: (what, value, words the error must contain besides the attribute's name)


def _wrong_shape(v):
    if isinstance(v, np.ndarray):
        if v.size == 0:  # nothing to repeat: one entry where there should be none
            return np.zeros((1, *v.shape[1:]), dtype=v.dtype)
        if v.ndim == 0:
            return np.stack([v, v])
        return np.concatenate([v, v[:1]], axis=0)
    if isinstance(v, dict):
        return [v]
    if isinstance(v, list | tuple):
        return [list(v), list(v)]
    return [v, v]


def _with_nan(v, bad=math.nan):
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "OUS":  # labels or names: numbers where strings belong
            return np.full(v.shape, bad)
        out = v.astype(np.float64 if v.dtype.kind in "biu" else v.dtype)
        if out.size == 0:  # no entry to spoil: one NaN entry where there should be none
            return np.full((1, *v.shape[1:]), bad)
        out.flat[0] = bad
        return out
    if isinstance(v, list | tuple):
        return [bad, *list(v)[1:]] if len(v) else [bad]
    return bad


def _first(v, x):
    """``v`` with its first entry set to ``x``, in ``v``'s own form and number type."""
    if isinstance(v, np.ndarray):
        out = v.copy()
        x = int(x) if out.dtype.kind in "iu" else x
        if out.ndim == 0:
            return np.asarray(x, dtype=out.dtype)
        out.flat[0] = x
        return out
    if isinstance(v, list | tuple):
        whole = len(v) and all(isinstance(e, int) and not isinstance(e, bool) for e in v)
        return [int(x) if whole else x, *list(v)[1:]]
    return int(x) if isinstance(v, int) and not isinstance(v, bool) else float(x)


def _as_stored(v, like):
    """A corrupted numpy value back in the form the file held ``like`` in."""
    if isinstance(like, np.ndarray):
        return np.asarray(v, dtype=like.dtype) if like.dtype.kind == "f" else np.asarray(v)
    if isinstance(like, list | tuple):
        return np.asarray(v).tolist()
    return np.asarray(v).item()


def _violations(name, attr: A.Attr, value, ctx_state, model):
    """A value breaking each of ``attr``'s constraints, with the words of its message."""
    params = model.get_params(deep=False)
    arr = np.asarray(value) if not isinstance(value, dict) else None
    kinds = (attr.kind,) if isinstance(attr.kind, str) else attr.kind
    out = []
    if value is None:  # a nullable attribute that is None: only the shape and NaN cases
        return out
    if arr is not None and arr.size == 0:  # no entry to break: the shape and NaN cases
        return out
    if arr is not None and "int" in kinds and "float" not in kinds:
        out.append(("a non-integer value", _as_stored(arr + 0.5, value), "float values"))
    for c in attr.constraints:
        if isinstance(c, A.When):
            if not c.condition(A.Context(model, ctx_state)):
                continue
            c = c.constraint
        out.extend(_violate(name, c, value, arr, ctx_state, params))
    return out


def _violate(name, c, value, arr, state, params):
    f = arr.astype(np.float64) if arr is not None and arr.dtype.kind in "biuf" else None
    if c is A.FINITE:
        return [("an infinity", _with_nan(value, math.inf), "finite")]
    if c is A.NOT_NAN:
        return []  # the NaN case
    if isinstance(c, A.Simplex):
        bad = f - math.log(2.0) if c.log else f * 1.7
        return [("probabilities not summing to 1", _as_stored(bad, value), "sum to 1")]
    if isinstance(c, A.Range):
        cases = []
        if c.low is not None:
            cases.append(("below its least value", _first(value, c.low - 1.0), "must be"))
        if c.high is not None:
            cases.append(("above its largest value", _first(value, c.high + 1.0), "must be"))
        if c.low == 0.0 and c.low_open:
            cases.append(("zero where it must be positive", _first(value, 0.0), "> 0"))
        return cases
    if isinstance(c, A.PositiveDefinite):
        bad = f.copy()
        bad.reshape((-1,) + f.shape[-2:])[0] *= -1.0
        return [
            ("a matrix that is not positive definite", _as_stored(bad, value), "positive definite")
        ]
    if isinstance(c, A.Triangular):
        if f.shape[-1] < 2:
            return []
        bad = f.copy()
        m = bad.reshape((-1,) + f.shape[-2:])
        m[0, 1, 0] = m[0, 0, 1] = 0.5  # an entry on the wrong side of the diagonal
        return [("not triangular", _as_stored(bad, value), "triangular")]
    if c is A.BINARY:
        return [("a chain state that is not 0 or 1", _first(value, 0.5), "0 and 1")]
    if c is A.SORTED_UNIQUE:
        return [("labels out of order", np.asarray(value)[::-1].copy(), "sorted")]
    if isinstance(c, A.Check):
        if c.description.startswith("equal to ") and params[c.description[9:]] is None:
            return []  # holds whatever the value: the hyper-parameter was not given
        if "one chain per" in c.description:
            return []  # the wrong-shape case breaks it
        bad = _break_relation(name, c, value, state)
        # a table wider than the one a size was fixed by is a shape error instead
        words = (
            "shape"
            if "n_categories_ columns" in c.description and name != "category_count_"
            else "must satisfy"
        )
        return [("a relation broken", bad, words)]
    raise AssertionError(f"the test knows no way to violate {c!r} (of {name}); add one")


def _break_relation(name, c, value, state):
    """A value that breaks a :class:`Check` (each needs its own)."""
    d = c.description
    if "inverse of" in d or "factor P" in d or "its square" in d:
        return value * 2.0
    if "column sums of feature_count_" in d:
        return value + 1.0
    if "epsilon_" in d:
        bad = value.copy()
        bad.flat[0] = state["epsilon_"] / 2
        return bad
    if "zero diagonal" in d:
        bad = value.copy()
        bad[0, 1] += 1.0
        return bad
    if "product is n_features_in_" in d:  # the same number of dimensions, one more pixel
        return (*tuple(value)[:-1], int(tuple(value)[-1]) + 1)
    if "(H, W) or (H, W, C)" in d:  # an image shape of 4 dimensions, the same product
        return (*tuple(value), *[1] * (4 - len(value)))
    if "per-epoch lists" in d:
        return {"loss": 1.0}
    if "log Z cache" in d:
        entries = {k: (math.nan, *v[1:]) for k, v in value["entries"].items()}
        return {"key": value["key"], "entries": entries}
    if "n_categories_ columns" in d:
        return np.concatenate([value, np.ones(value.shape[:2] + (1,))], axis=2)
    if "log-probabilities over each feature" in d:
        return value - math.log(2.0)
    if d.startswith("equal to "):  # a hyper-parameter that was given
        return value + 1
    if "2^layers_per_block" in d:  # WaveNet's receptive field
        return value + 1
    if "lowest_pitch_ <= highest_pitch_" in d:  # PianoRollRNN's pitch range
        return state["lowest_pitch_"] - 1
    if "voice_low_ <= voice_high_" in d:  # VoicesRNN's voice ranges
        return np.asarray(state["voice_low_"]) - 1
    if "that conditional_groups names" in d:  # TabularGAN: a group that is an offset
        return np.zeros_like(np.asarray(value)) if np.size(value) else np.zeros(1, np.int64)
    if "summing to 1 in each" in d:  # TabularGAN: frequencies of another group's size
        return np.concatenate([np.asarray(value), [0.0]])
    raise AssertionError(f"the test knows no way to break {d!r} (of {name}); add one")


def _cases(model, path):
    """Every corruption of every attribute the file holds: (attribute, what, value, words)."""
    spec = A.fitted_spec(type(model))
    params = model.get_params(deep=False)
    stored = _stored(path)
    out = []
    for name, value in stored.items():
        if name.startswith("module_/"):
            continue
        s = spec[name]
        attr = s.resolve(params) if isinstance(s, A.Switch) else s
        out.append((name, "the wrong shape", _wrong_shape(value), ""))
        out.append((name, "NaN", _with_nan(value), ""))
        out.append((name, "removed", _DROP, "missing") if not attr.optional else None)
        out.extend(
            (name, what, v, words)
            for what, v, words in _violations(name, attr, value, stored, model)
        )
    return [c for c in out if c is not None]


# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cid", CONFIG_IDS)
def test_every_saved_attribute_is_declared(saved, cid):
    """A model file holds only declared attributes (a new one needs a declaration), and
    every attribute its class declares as required is there."""
    model, _, path = saved[cid]
    spec = A.fitted_spec(type(model))
    stored = _stored(path)
    undeclared = sorted(
        k for k in stored if k not in spec and not (k.startswith("module_/") and "module_" in spec)
    )
    assert not undeclared, f"{cid}: saved but not declared in _fitted_spec: {undeclared}"
    params = model.get_params(deep=False)
    for name, s in spec.items():
        if isinstance(s, A.ModuleState):
            assert any(k.startswith(s.prefix) for k in stored)
            continue
        attr = s.resolve(params) if isinstance(s, A.Switch) else s
        assert attr is not None, f"{cid}: {name} declares no case for these hyper-parameters"
        assert attr.optional or name in stored, f"{cid}: required {name} not saved"


def test_every_declared_attribute_is_saved_by_some_configuration(saved):
    """The configurations above exercise every declaration (so no spec is dead text): each
    attribute a class declares is saved by some configuration of a model that inherits it."""
    stored = [
        (type(m), {"module_" if k.startswith("module_/") else k for k in _stored(p)})
        for m, _, p in saved.values()
    ]
    declaring = {k for cls in MODELS.values() for k in cls.__mro__ if "_fitted_spec" in vars(k)}
    missing = []
    for klass in declaring:
        for name, s in vars(klass)["_fitted_spec"].items():
            if s is not None and not any(
                issubclass(c, klass) and name in keys for c, keys in stored
            ):
                missing.append(f"{klass.__name__}.{name}")
    assert not missing, f"declared but never saved here: {sorted(missing)}"


@pytest.mark.parametrize("cid", CONFIG_IDS)
def test_each_corrupted_attribute_is_refused_by_name(saved, cid, tmp_path):
    """Each attribute of the file in turn: the wrong shape, NaN, missing, and each of its
    declared constraints broken -> a ModelFileError naming the file and the attribute."""
    model, _, path = saved[cid]
    target = tmp_path / "corrupt.safetensors"
    cases = _cases(model, path)
    assert len(cases) >= 3 * len([k for k in _stored(path) if not k.startswith("module_/")])
    failures = []
    for name, what, value, words in cases:
        _with(path, target, name, value)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                genmodels.load(target)
        except ModelFileError as exc:
            msg = str(exc)
            if str(target) not in msg or name not in msg or words not in msg:
                failures.append(f"{name} ({what}): unclear message {msg!r}")
        except Exception as exc:  # noqa: BLE001 - what the test is about
            failures.append(f"{name} ({what}): {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{name} ({what}): loaded")
    assert not failures, f"{cid}:\n" + "\n".join(failures)


NEURAL = [
    cid
    for cid, (name, _, _) in zip(CONFIG_IDS, CONFIGS, strict=True)
    if MODELS[name].capabilities.neural
]


@pytest.mark.parametrize("cid", NEURAL)
def test_neural_weights_are_checked_against_the_network(saved, cid, tmp_path):
    """Each tensor of a neural model's state dict: a wrong shape, NaN, a wrong dtype, a
    missing or an unexpected key, and hyper-parameters that build another network."""
    model, _, path = saved[cid]
    target = tmp_path / "corrupt.safetensors"
    tensors, meta, attrs = _read(path)
    keys = sorted(k for k in tensors if k.startswith("attr/module_/"))
    assert keys
    failures = []

    def expect(what, t, m, words):
        _write(target, t, m, attrs)
        try:
            genmodels.load(target)
        except ModelFileError as exc:
            if str(target) not in str(exc) or not all(w in str(exc) for w in words):
                failures.append(f"{what}: unclear message {exc}")
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{what}: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{what}: loaded")

    for key in keys:
        short = key[len("attr/") :]
        v = tensors[key]
        longer = np.stack([v, v]) if v.ndim == 0 else np.concatenate([v, v[:1]])
        expect(f"{key} shape", {**tensors, key: longer}, meta, [short, "shape"])
        if v.dtype.kind == "f":  # (batch norm's step counter is an integer)
            bad = v.copy()
            bad.flat[0] = np.nan
            expect(f"{key} NaN", {**tensors, key: bad}, meta, [short, "NaN"])
        expect(f"{key} dtype", {**tensors, key: v.astype(np.float64)}, meta, [short, "dtype"])
        expect(
            f"{key} missing",
            {k: t for k, t in tensors.items() if k != key},
            meta,
            [short, "missing"],
        )
    extra = {**tensors, "attr/module_/extra.weight": np.zeros(2, np.float32)}
    expect("unexpected key", extra, meta, ["module_/extra.weight", "unexpected"])
    params = json.loads(meta["params"])
    # a width that shapes the weights: a VAE's, a transformer's, a WaveNet's, a PixelCNN's,
    # a piano-roll or voice model's
    width = next(
        w
        for w in ("latent_dim", "d_model", "residual_channels", "channels", "hidden_size")
        if w in params
    )
    params[width] = params[width] + params.get("n_heads", 1)
    expect(
        f"another {width}", tensors, dict(meta, params=json.dumps(params)), ["module_/", "shape"]
    )
    assert not failures, f"{cid}:\n" + "\n".join(failures)


@pytest.mark.parametrize("cid", CONFIG_IDS)
def test_good_files_load_and_give_identical_outputs(saved, cid):
    model, X, path = saved[cid]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        loaded = genmodels.load(path)
    args = _fit_args(type(model), X)
    if type(model).capabilities.supervised and not type(model).capabilities.neural:
        args = (X,)
    kw = _conditions(type(model), X) if cid.endswith("-conditioned") else {}
    if type(model).capabilities.likelihood == "none":  # a GAN: compare seeded samples
        np.testing.assert_array_equal(
            loaded.sample(5, random_state=4), model.sample(5, random_state=4)
        )
        return
    np.testing.assert_array_equal(
        loaded.score_samples(*args[:1], **kw), model.score_samples(*args[:1], **kw)
    )


def test_the_error_names_the_example_problems(saved, tmp_path):
    """The issue's cases, word for word: NaN or negative mixture weights, weights not
    summing to 1, a covariance that is not positive definite, means_ of the wrong shape."""
    model, _, path = saved["GaussianMixture"]
    target = tmp_path / "g.safetensors"
    w = model.weights_
    for value, words in [
        (w * 1.7, f"{target}: weights_ values must sum to 1 (sums to 1.7)"),
        (np.r_[-0.2, 1.2], "weights_ must be non-negative (holds -0.2"),
        (np.r_[np.nan, 1.0], "weights_ must not hold NaN"),
    ]:
        _with(path, target, "weights_", value)
        with pytest.raises(ModelFileError, match=None) as err:
            genmodels.load(target)
        assert words in str(err.value)
    _with(path, target, "means_", np.zeros((3, 3)))
    with pytest.raises(ModelFileError) as err:
        genmodels.load(target)
    assert "means_ has shape (3, 3), expected (n_components=2, n_features_in_=3)" in str(err.value)
    cov = model.covariances_.copy()
    cov[1] = -cov[1]
    _with(path, target, "covariances_", cov)
    with pytest.raises(ModelFileError, match=r"covariances_ matrix\[1\] must be positive definite"):
        genmodels.load(target)


def test_named_sizes_tie_attributes_together(saved, tmp_path):
    """A size one attribute fixes binds the others: classes_ with one label more than
    class_count_ has entries is refused, naming where the size came from."""
    model, _, path = saved["MultinomialNB"]
    target = tmp_path / "nb.safetensors"
    _with(path, target, "classes_", np.arange(4))
    with pytest.raises(ModelFileError) as err:
        genmodels.load(target)
    assert "class_count_ has shape (3,), expected (n_classes=4,) (n_classes from classes_)" in str(
        err.value
    )


def test_an_undeclared_attribute_is_refused(saved, tmp_path):
    model, _, path = saved["GaussianMixture"]
    target = tmp_path / "g.safetensors"
    _with(path, target, "secret_", np.zeros(2))
    with pytest.raises(ModelFileError, match="no fitted attribute 'secret_'"):
        genmodels.load(target)


def _with_version(path, target, version):
    tensors, meta, attrs = _read(path)
    _write(target, tensors, dict(meta, library_version=version), attrs)


def test_a_file_from_a_newer_genmodels_loads_with_a_warning(saved, tmp_path):
    model, X, path = saved["GaussianMixture"]
    target = tmp_path / "new.safetensors"
    _with_version(path, target, "99.1.0")
    with pytest.warns(ModelVersionWarning) as record:
        loaded = genmodels.load(target)
    (w,) = [r.message for r in record if isinstance(r.message, ModelVersionWarning)]
    assert "99.1.0" in str(w) and genmodels.__version__ in str(w) and str(target) in str(w)
    assert (w.file_version, w.current_version) == ("99.1.0", genmodels.__version__)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    # its attributes are still checked
    tensors, meta, attrs = _read(target)
    tensors["attr/weights_"] = tensors["attr/weights_"] * 1.7
    _write(target, tensors, meta, attrs)
    with pytest.warns(ModelVersionWarning), pytest.raises(ModelFileError, match="weights_"):
        genmodels.load(target)
    # an attribute this version does not know is the newer version's to know: kept, not refused
    tensors["attr/weights_"] = model.weights_
    tensors["attr/newer_thing_"] = np.zeros(2)
    _write(target, tensors, meta, attrs)
    with pytest.warns(ModelVersionWarning):
        genmodels.load(target)


@pytest.mark.parametrize("version", ["0.0.1", genmodels.__version__, "not a version"])
def test_same_or_older_files_load_without_a_version_warning(saved, tmp_path, version):
    _, _, path = saved["GaussianMixture"]
    target = tmp_path / "old.safetensors"
    _with_version(path, target, version)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        genmodels.load(target)


def test_data_example_is_the_contract_suites():
    # the data here is the contract suite's, so the two suites fit the same models
    np.testing.assert_array_equal(_example(MODELS["GaussianMixture"]), _data("continuous"))


# What each model's parameters *are*, written out independently of the declarations (so a
# constraint dropped from a declaration fails here, not only a declared one left unchecked).
def _times(c):
    return lambda v: v * c


def _first_to(x):
    return lambda v: _first(v, x)


def _negate_first_matrix(v):
    out = v.copy()
    out.reshape((-1,) + v.shape[-2:])[0] *= -1.0
    return out


def _below_diagonal(v):
    out = v.copy()
    out.reshape((-1,) + v.shape[-2:])[0, 1, 0] = 0.5
    return out


def _asymmetric(v):
    out = v.copy()
    out[0, 1] += 1.0
    return out


SUMS = ("probabilities not summing to 1", _times(1.7))
LOG_SUMS = ("log-probabilities not summing to 1", lambda v: v - math.log(2.0))
NEGATIVE = ("a negative value", _first_to(-1.0))
NOT_PD = ("not positive definite", _negate_first_matrix)
FACTS = {
    "GaussianMixture": {
        "weights_": [SUMS, NEGATIVE],
        "covariances_": [NOT_PD],
        "precisions_": [NOT_PD],
        "precisions_cholesky_": [("not triangular", _below_diagonal)],
        "means_": [("the wrong number of features", lambda v: v[:, :2])],
    },
    "GaussianNB": {
        "class_prior_": [SUMS],
        "var_": [NEGATIVE],
        "class_count_": [NEGATIVE],
        "classes_": [("unsorted labels", lambda v: v[::-1].copy())],
    },
    "MultinomialNB": {"feature_log_prob_": [LOG_SUMS], "feature_count_": [NEGATIVE]},
    "BernoulliNB": {"feature_log_prob_": [("a probability above 1", _first_to(0.5))]},
    "ComplementNB": {"feature_all_": [("not the column sums", lambda v: v + 1.0)]},
    "CategoricalNB": {
        "n_categories_": [("a non-integer count", lambda v: v + 0.5)],
        "feature_log_prob_": [LOG_SUMS],
    },
    "GaussianHMM": {"startprob_": [SUMS], "transmat_": [SUMS], "covars_": [NEGATIVE]},
    "GMMHMM": {"weights_": [SUMS], "covars_": [NEGATIVE]},
    "CategoricalHMM": {"emissionprob_": [SUMS]},
    "MultinomialHMM": {"emissionprob_": [SUMS], "n_trials_": [("no trials", lambda v: 0)]},
    "PoissonHMM": {"lambdas_": [NEGATIVE], "transmat_": [NEGATIVE]},
    "BernoulliRBM": {"h_samples_": [("a chain state of 0.5", _first_to(0.5))]},
    "GaussianBernoulliRBM": {"variances_": [NEGATIVE]},
    "CategoricalRBM": {"base_rate_": [LOG_SUMS]},
    "BoltzmannMachine-method=pcd": {
        "lateral_": [("asymmetric", _asymmetric)],
        "v_samples_": [("a chain state of 0.5", _first_to(0.5))],
    },
    "ConditionalVAE": {"class_prior_": [SUMS]},
    "MultVAE": {"median_total_": [("no counts", lambda v: 0)]},
}


@pytest.mark.parametrize("cid", sorted(FACTS))
def test_what_each_parameter_is_is_enforced(saved, cid, tmp_path):
    model, _, path = saved[cid]
    stored = _stored(path)
    target = tmp_path / "fact.safetensors"
    failures = []
    for name, breaks in FACTS[cid].items():
        for what, fn in breaks:
            _with(path, target, name, fn(stored[name]))
            try:
                genmodels.load(target)
            except ModelFileError as exc:
                if name not in str(exc):
                    failures.append(f"{name} ({what}): {exc}")
            else:
                failures.append(f"{name} ({what}): loaded")
    assert not failures, "\n".join(failures)


# ----------------------------------------------------------------------------------------
# The vocabulary itself, on a throwaway model (constraints no registered model uses yet)


class _Toy:
    def __init__(self, **params):
        self.params = params

    def get_params(self, deep=False):
        return dict(self.params)


def _problem(spec, state, **params):
    model = _Toy(**params)
    type(model)._fitted_spec = spec
    try:
        A.check_fitted_state(model, state, "toy.safetensors")
    except ModelFileError as exc:
        return str(exc)
    finally:
        del type(model)._fitted_spec
    return None


def test_vocabulary_integer_lower_cholesky_and_nullable():
    counts = {"c_": A.Attr(("k",), constraints=(A.INTEGER,))}
    assert _problem(counts, {"c_": np.array([1.0, 2.0])}, k=2) is None
    assert "c_ must hold whole numbers (holds 2.5 at index 1)" in _problem(
        counts, {"c_": np.array([1.0, 2.5])}, k=2
    )
    chol = {"L_": A.Attr((2, 2), constraints=(A.LOWER_CHOLESKY,))}
    assert _problem(chol, {"L_": np.array([[1.0, 0.0], [0.3, 2.0]])}) is None
    assert "upper" not in _problem(chol, {"L_": np.array([[1.0, 0.1], [0.3, 2.0]])})
    assert "lower-triangular" in _problem(chol, {"L_": np.array([[1.0, 0.1], [0.3, 2.0]])})
    assert "positive diagonal" in _problem(chol, {"L_": np.array([[1.0, 0.0], [0.3, -2.0]])})
    maybe = {"e_": A.Attr((), kind="int", nullable=True)}
    assert _problem(maybe, {"e_": None}) is None
    assert "e_ is None" in _problem({"e_": A.Attr((), kind="int")}, {"e_": None})


def test_vocabulary_switch_sizes_and_simplex_axis():
    spec = {"v_": A.Switch("kind", {"a": A.Attr((2,)), "b": A.Attr((3,))})}
    assert _problem(spec, {"v_": np.zeros(3)}, kind="b") is None
    assert "v_ has shape (3,), expected (2,)" in _problem(spec, {"v_": np.zeros(3)}, kind="a")
    assert "kind='c' is not one of 'a', 'b'" in _problem(spec, {"v_": np.zeros(3)}, kind="c")
    cols = {"p_": A.Attr((None, "m"), constraints=(A.Simplex(axis=0),))}
    ok = np.array([[0.5, 1.0], [0.5, 0.0]])
    assert _problem(cols, {"p_": ok}, m=None) is None
    assert "along axis 0 (the slice at 1 sums to 2" in _problem(cols, {"p_": ok * [1, 2]}, m=None)
    tied = {"a_": A.Attr(("n",)), "b_": A.Attr(("n", "n"))}
    assert "b_ has shape (2, 3), expected (n=2, n=2) (n from a_)" in _problem(
        tied, {"a_": np.zeros(2), "b_": np.zeros((2, 3))}
    )
    assert "no fitted attribute 'z_'" in _problem(
        tied, {"a_": np.zeros(2), "b_": np.zeros((2, 2)), "z_": 1}
    )
    assert "b_ is missing" in _problem(tied, {"a_": np.zeros(2)})
