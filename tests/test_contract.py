"""The contract every registered model keeps. A model is checked here the moment it registers.

Data for each model is chosen from its declared ``capabilities.input_kind``; fast
hyper-parameters come from its ``_test_params()``.
"""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import genmodels
from genmodels.exceptions import NotFittedError
from genmodels.registry import registered_models

MODELS = sorted(registered_models().items())


def _data(kind: str, n: int = 120, d: int = 3, seed: int = 0) -> np.ndarray:
    """Example ``X`` for an input kind: three well-separated groups of rows."""
    rng = np.random.RandomState(seed)
    group = np.arange(n) % 3
    if kind == "continuous":
        centres = rng.randn(3, d) * 4
        return centres[group] + rng.randn(n, d)
    if kind == "binary":
        probs = rng.uniform(0.1, 0.9, size=(3, d))
        return (rng.uniform(size=(n, d)) < probs[group]).astype(float)
    if kind == "counts":
        rates = rng.uniform(0.5, 5.0, size=(3, d))
        return rng.poisson(rates[group]).astype(float)
    if kind == "categorical":
        return ((rng.randint(0, 3, size=(n, d)) + group[:, None]) % 4).astype(float)
    if kind == "tokens":  # one token id per frame: a noisy cycle 0, 1, 2, 3, 0, ...
        return ((np.arange(n) + (rng.uniform(size=n) < 0.2)) % 4).astype(float)[:, None]
    raise NotImplementedError(f"the contract suite has no example data for input_kind={kind!r}")


def _example(cls) -> np.ndarray:
    """Example ``X`` for a model: rows of its input kind, or for a sequential model the same
    rows as 12 sequences of 10 frames, ``(12, 10, d)``."""
    X = _data(cls.capabilities.input_kind)
    return X.reshape(12, 10, -1) if cls.capabilities.sequential else X


def _labels(n: int = 120) -> np.ndarray:
    return np.arange(n) % 3


def _fit_args(cls, X):
    return (X, _labels(len(X))) if cls.capabilities.supervised else (X,)


def _has_likelihood(cls) -> bool:
    return cls.capabilities.likelihood != "none"


def _outputs(model, X) -> np.ndarray:
    """What a fitted model computes from X, to compare two models by: its scores, or for a
    model without a likelihood (a GAN) seeded samples."""
    if _has_likelihood(type(model)):
        return model.score_samples(X)
    return model.sample(6, random_state=11)


def _make(cls, **extra):
    params = {**cls._test_params(), **extra}
    return cls(**params)


def _fit(cls, X, **extra):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on tiny data are expected
        return _make(cls, **extra).fit(*_fit_args(cls, X))


@pytest.fixture(params=MODELS, ids=[name for name, _ in MODELS])
def model_cls(request):
    return request.param[1]


def test_registry_is_not_empty():
    assert "GaussianMixture" in registered_models()


def test_capabilities_are_declared(model_cls):
    caps = model_cls.capabilities
    assert isinstance(caps, genmodels.Capabilities)
    assert caps.likelihood in ("exact", "bound", "estimate", "none")


def test_declared_prediction_is_what_the_model_computes(model_cls):
    """``capabilities.prediction`` (what ``genmodels predict`` writes) matches the methods:
    probabilities over classes, components or states, or hidden units' probabilities."""
    caps = model_cls.capabilities
    if caps.prediction == "none":
        return
    X = _example(model_cls)
    model = _fit(model_cls, X)
    n_rows = int(np.prod(X.shape[:-1]))  # frames, for sequence models
    if caps.prediction in ("class", "component", "state"):
        proba = np.asarray(model.predict_proba(X))
        k = len(model.classes_) if caps.prediction == "class" else model.n_components
        assert proba.shape == (n_rows, k)
        np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-10)
    elif caps.prediction == "hidden_units":
        features = np.asarray(model.transform(X))
        assert features.shape == (n_rows, model.n_components)
        assert np.all((features >= 0) & (features <= 1))
    elif caps.prediction == "embedding":  # continuous codes; a conditional one needs y
        codes = np.asarray(model.transform(*_fit_args(model_cls, X)))
        assert codes.ndim == 2 and codes.shape[0] == n_rows and codes.shape[1] >= 1
        assert np.isfinite(codes).all()
        np.testing.assert_array_equal(codes, model.transform(*_fit_args(model_cls, X)))
        label = {"y": _labels()[0]} if caps.supervised else {}
        path = np.asarray(model.interpolate(X[0], X[1], 5, method="spherical", **label))
        assert path.shape == (5, X.shape[1]) and np.isfinite(path).all()


def test_capabilities_refuse_inconsistent_predictions():
    Caps = genmodels.Capabilities
    assert Caps("exact", latent=True, prediction="component").prediction == "component"
    for bad in (
        {"prediction": "class"},  # not supervised
        {"prediction": "hidden_units"},  # no latent variables
        {"prediction": "embedding"},  # no latent variables
        {"prediction": "embedding", "latent": True, "sequential": True},
        {"prediction": "state", "latent": True},  # not sequential
        {"prediction": "component", "latent": True, "sequential": True},
        {"prediction": "labels", "latent": True},
    ):
        with pytest.raises(ValueError, match="prediction|sequential"):
            Caps("exact", **bad)


def test_neural_is_declared_by_the_models_the_trainer_trains(model_cls):
    """``capabilities.neural`` (the CLI offers --checkpoint-dir, --resume, --validation on
    it) is declared exactly by the subclasses of ``NeuralModel``, which have the trainer's
    hyper-parameters."""
    from genmodels.nn.base import TRAIN_PARAM_SPEC, NeuralModel

    neural = issubclass(model_cls, NeuralModel)
    assert model_cls.capabilities.neural == neural
    if neural:
        assert set(TRAIN_PARAM_SPEC) <= set(model_cls().get_params(deep=False))


def test_init_stores_params_untouched(model_cls):
    params = model_cls._test_params()
    model = model_cls(**params)
    got = model.get_params(deep=False)
    for key, value in params.items():
        assert got[key] is value
    assert not [k for k in vars(model) if k.endswith("_")], "fitted attributes set in __init__"
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    twin.set_params(**params)


def test_fit_sample_score(model_cls):
    X = _example(model_cls)
    model = _make(model_cls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model.fit(*_fit_args(model_cls, X)) is model
    S = model.sample(7, random_state=0)
    shape = (7, 100, X.shape[-1]) if model_cls.capabilities.sequential else (7, X.shape[1])
    assert isinstance(S, np.ndarray) and S.shape == shape
    assert np.isfinite(S).all()
    if model_cls.capabilities.latent:
        S2, latent = model.sample(7, random_state=0, return_latent=True)
        assert len(latent) == 7
        np.testing.assert_array_equal(S, S2)
    if not _has_likelihood(model_cls):
        with pytest.raises(genmodels.NoLikelihoodError, match="genmodels.metrics"):
            model.score_samples(X)
        with pytest.raises(genmodels.NoLikelihoodError):
            model.score(X)
        return
    scores = model.score_samples(X)
    assert scores.shape == (X.shape[0],) and scores.dtype == np.float64
    assert np.isfinite(scores).all()
    assert model.score(X) == pytest.approx(scores.mean())


def test_save_load_gives_identical_outputs(model_cls, tmp_path):
    X = _example(model_cls)
    model = _fit(model_cls, X)
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = genmodels.load(path)
    assert type(loaded) is model_cls
    assert loaded.get_params().keys() == model.get_params().keys()
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(model, X))
    np.testing.assert_array_equal(loaded.sample(5, random_state=3), model.sample(5, random_state=3))
    # The file is a safetensors file (an 8-byte header length, then a JSON header), not a
    # pickle (whose protocols 2-5 start with 0x80 and the protocol number).
    data = path.read_bytes()
    header = int.from_bytes(data[:8], "little")
    assert 8 + header <= len(data) and data[8:9] == b"{"
    assert json.loads(data[8 : 8 + header])["__metadata__"]["format"] == "genmodels"


def test_same_seed_same_result(model_cls):
    X = _example(model_cls)
    # Models with a random fit take random_state; deterministic fits (naive Bayes) do not.
    seed = {"random_state": 0} if "random_state" in model_cls().get_params() else {}
    a = _fit(model_cls, X, **seed)
    b = _fit(model_cls, X, **seed)
    np.testing.assert_array_equal(_outputs(a, X), _outputs(b, X))
    np.testing.assert_array_equal(a.sample(4, random_state=1), b.sample(4, random_state=1))


def test_pickles_in_memory(model_cls):
    X = _example(model_cls)
    model = _fit(model_cls, X)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(_outputs(again, X), _outputs(model, X))


def test_unfitted_model_raises_not_fitted(model_cls, tmp_path):
    X = _example(model_cls)
    model = _make(model_cls)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.sample(3)
    if _has_likelihood(model_cls):
        with pytest.raises(NotFittedError, match="not fitted"):
            model.score_samples(X)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.save(tmp_path / "x.safetensors")


def test_bad_input_gives_clear_errors(model_cls):
    caps = model_cls.capabilities
    X = _example(model_cls)
    model = _make(model_cls)
    cls_params = model.get_params()
    y = _labels(len(X))

    def fit(data):
        return model.fit(data, y[: len(data)]) if caps.supervised else model.fit(data)

    with pytest.raises(ValueError, match="2-D"):
        fit(X.reshape(-1))
    with pytest.raises(ValueError, match="empty"):
        fit(X[:0])
    with pytest.raises(ValueError, match="infinity"):
        bad = X.copy()
        bad[0, 0] = np.inf
        fit(bad)
    with pytest.raises(TypeError, match="numeric"):
        fit(np.array([["a", "b", "c"]] * 10, dtype=object))
    nan = X.copy()
    nan[0, 0] = np.nan
    if not caps.missing_values:
        with pytest.raises(ValueError, match="NaN"):
            fit(nan)
    if caps.input_kind in ("binary", "counts", "categorical", "tokens"):
        # Counts and codes refuse negatives; 0/1 data refuse anything else unless the
        # model thresholds them (BernoulliNB's binarize), so check with thresholding off.
        strict = model_cls(**{**cls_params, "binarize": None}) if "binarize" in cls_params else None
        with pytest.raises(ValueError, match="negative|only 0 and 1"):
            (strict.fit(X - 10.0, y) if strict is not None else fit(X - 10.0))
    fitted = _fit(model_cls, X)
    if _has_likelihood(model_cls):
        with pytest.raises(ValueError, match="features"):
            fitted.score_samples(X[..., :-1])
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)


def test_data_with_nothing_observed_is_refused(model_cls):
    """Issue 12: a model that reads NaN as missing must still refuse to learn from data with
    no observed value at all, or with a column that is never observed (it used to fit, sample
    ~0 and score 0.0)."""
    if not model_cls.capabilities.missing_values:
        pytest.skip("refuses every NaN already (test_bad_input_gives_clear_errors)")
    X = _example(model_cls)
    y = _labels(len(X))
    nothing = np.array(np.full(X.shape, None), dtype=object)
    column = X.astype(object)
    column[..., 1] = None
    cases = [(nothing, "every value of X is missing"), (column, "column.s. 1 of X")]
    if model_cls.__name__ == "CategoricalRBM":
        cases = cases[:1]  # an unrated item is allowed (test_boltzmann.py checks it is left alone)
    for data, match in cases:
        with pytest.raises(ValueError, match=match):
            model = _make(model_cls)
            model.fit(data, y) if model_cls.capabilities.supervised else model.fit(data)
