"""VAE and ConditionalVAE estimators: the IWAE score against an exact log p(x) from
quadrature, bounds ordered as theory says, each likelihood and architecture, the latent
space operations, conditional sampling, and clear errors. (The maths underneath are
tested in test_vae_math.py, the shared contract in test_contract.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import genmodels
from genmodels import VAE, ConditionalVAE


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X > 7).astype(float), y


@pytest.fixture(scope="module")
def digits_vae(digits):
    X, _ = digits
    return VAE(latent_dim=4, hidden_dims=(64,), epochs=15, batch_size=64, random_state=0).fit(
        X[:1500]
    )


def _exact_log_px(model: VAE, X: np.ndarray) -> np.ndarray:
    """log p(x) = log int N(z; 0, 1) p(x | z) dz for a 1-D latent, by the trapezoid rule."""
    grid = np.linspace(-9, 9, 20001)
    net = model.module_
    with torch.no_grad():
        out = net.decoder(torch.as_tensor(grid[:, None], dtype=torch.float32))  # (G, D, 1)
        x = torch.as_tensor(X, dtype=torch.float32)
        log_px_z = net.likelihood.log_prob(x[:, None, :], out[None]).double().numpy()  # (N, G)
    log_joint = log_px_z - 0.5 * grid**2 - 0.5 * np.log(2 * np.pi)
    m = log_joint.max(1, keepdims=True)
    return (m[:, 0] + np.log(np.trapezoid(np.exp(log_joint - m), grid, axis=1))).astype(float)


def test_iwae_converges_to_exact_log_likelihood():
    rng = np.random.RandomState(0)
    z = rng.randn(400)
    probs = 1 / (1 + np.exp(-np.outer(z, [2.0, -1.5, 1.0, 0.5])))
    X = (rng.uniform(size=probs.shape) < probs).astype(float)
    model = VAE(latent_dim=1, hidden_dims=(16,), epochs=30, batch_size=50, random_state=0).fit(X)
    exact = _exact_log_px(model, X[:40])
    elbo = model.score_samples(X[:40], n_importance=1, random_state=1)
    iwae = model.score_samples(X[:40], n_importance=5000, random_state=1)
    # The 5000-sample estimate has converged to log p(x) (4 binary pixels, 1-D latent) ...
    np.testing.assert_allclose(iwae, exact, atol=0.02)
    # ... while a one-sample ELBO is below it on average (it is a lower bound).
    assert elbo.mean() < exact.mean() - 1e-3
    # The exact probabilities of all 16 binary images sum to one: a normalised density.
    every = np.array([[(i >> b) & 1 for b in range(4)] for i in range(16)], dtype=float)
    assert np.exp(_exact_log_px(model, every)).sum() == pytest.approx(1.0, abs=1e-6)


def test_iwae_rises_with_the_number_of_importance_samples(digits, digits_vae):
    X, _ = digits
    held_out = X[1500:1700]
    means = [
        digits_vae.score_samples(held_out, n_importance=k, random_state=0).mean()
        for k in (1, 10, 100, 1000)
    ]
    assert all(a < b for a, b in zip(means, means[1:], strict=False)), means
    # Same random_state, same estimate; a different one moves it only a little.
    again = digits_vae.score_samples(held_out, n_importance=100, random_state=0).mean()
    other = digits_vae.score_samples(held_out, n_importance=100, random_state=5).mean()
    assert again == means[2]
    assert abs(other - means[2]) < 0.2


def test_training_improves_the_held_out_likelihood(digits):
    X, _ = digits
    short = VAE(latent_dim=4, hidden_dims=(64,), epochs=1, random_state=0).fit(X[:1500])
    long = VAE(latent_dim=4, hidden_dims=(64,), epochs=15, random_state=0).fit(X[:1500])
    assert long.score(X[1500:]) > short.score(X[1500:]) + 5
    h = long.history_
    assert len(h["loss"]) == 15 and h["loss"][-1] < h["loss"][0]
    np.testing.assert_allclose(
        np.array(h["elbo"]), -(np.array(h["recon"]) + np.array(h["kl"])), rtol=1e-5
    )


def test_latent_space_operations(digits, digits_vae):
    X, _ = digits
    m = digits_vae
    mu, var = m.encode(X[:5])
    assert mu.shape == var.shape == (5, 4) and (var > 0).all()
    np.testing.assert_array_equal(m.transform(X[:5]), mu)
    recon = m.reconstruct(X[:5])
    np.testing.assert_allclose(recon, m.decode(mu))
    assert recon.shape == (5, 64) and (recon >= 0).all() and (recon <= 1).all()
    # A digit's own reconstruction explains it (Bernoulli log-likelihood) better than
    # most other digits' reconstructions do.
    p = np.clip(m.reconstruct(X[:100]), 1e-6, 1 - 1e-6)  # (100, 64)
    ll = X[:100] @ np.log(p).T + (1 - X[:100]) @ np.log(1 - p).T  # [i, j]: x_i under recon_j
    rank = (ll > np.diag(ll)[:, None]).sum(1)  # how many reconstructions beat the own one
    assert np.median(rank) <= 2
    for method in ("linear", "spherical"):
        strip = m.interpolate(X[0], X[1], steps=6, method=method)
        assert strip.shape == (6, 64)
        np.testing.assert_allclose(strip[0], recon[0], atol=1e-6)
        np.testing.assert_allclose(strip[-1], recon[1], atol=1e-6)
    walk = m.traverse(X[0], dim=2, values=[-2.0, 0.0, 2.0])
    z = np.repeat(mu[:1], 3, axis=0)
    z[:, 2] = [-2.0, 0.0, 2.0]
    np.testing.assert_allclose(walk, m.decode(z), atol=1e-6)


def test_samples_are_binary_and_resemble_the_data(digits, digits_vae):
    X, _ = digits
    S, Z = digits_vae.sample(2000, random_state=0, return_latent=True)
    assert set(np.unique(S)) <= {0.0, 1.0} and Z.shape == (2000, 4)
    # The model's pixel marginals follow the data's (a rough check of sample statistics).
    assert np.abs(S.mean(0) - X.mean(0)).max() < 0.1
    assert abs(Z.mean()) < 0.05 and abs(Z.std() - 1) < 0.05  # z ~ N(0, I)


def test_convolutional_vae_on_images(digits):
    X, _ = digits
    m = VAE(latent_dim=4, hidden_dims=(8, 16), image_shape=(8, 8), epochs=3, random_state=0)
    m.fit(X[:600])
    assert m.feature_shape_ == (1, 8, 8)
    assert m.sample(3, random_state=0).shape == (3, 64)
    assert np.isfinite(m.score_samples(X[600:650], n_importance=10)).all()
    with pytest.raises(ValueError, match="image_shape"):
        VAE(architecture="conv", epochs=1).fit(np.zeros((10, 10)))
    with pytest.raises(ValueError, match="holds 16 values"):
        VAE(image_shape=(4, 4), epochs=1).fit(X[:10])


def test_gaussian_vae_learns_a_low_dimensional_density():
    # x = A z + noise with a 1-D z: a probabilistic PCA whose exact log-likelihood is known.
    rng = np.random.RandomState(0)
    A = np.array([[2.0], [-1.0], [0.5]])
    noise = 0.3
    cov = A @ A.T + noise**2 * np.eye(3)
    X = rng.randn(3000, 1) @ A.T + noise * rng.randn(3000, 3)
    m = VAE(
        latent_dim=1,
        hidden_dims=(32,),
        likelihood="gaussian",
        epochs=40,
        lr=3e-3,
        batch_size=100,
        random_state=0,
    ).fit(X[:2000])
    from scipy.stats import multivariate_normal

    truth = multivariate_normal(np.zeros(3), cov).logpdf(X[2000:]).mean()
    got = m.score_samples(X[2000:], n_importance=500, random_state=0).mean()
    independent = sum(
        -0.5 * (np.log(2 * np.pi * v) + 1) for v in np.diag(cov)
    )  # -4.46: a model that ignores the correlations
    assert got == pytest.approx(truth, abs=0.25)
    assert got > independent + 1.5
    assert got < truth + 0.05  # an estimate from below, up to sampling noise
    np.testing.assert_allclose(np.cov(m.sample(5000, random_state=0).T), cov, atol=0.35)


def test_categorical_vae_on_grey_levels(digits):
    X = load_digits().data  # integer grey levels 0..16
    m = VAE(
        latent_dim=2,
        hidden_dims=(32,),
        likelihood="categorical",
        n_levels=17,
        epochs=3,
        random_state=0,
    ).fit(X[:500])
    S = m.sample(20, random_state=0)
    assert ((S >= 0) & (S <= 16) & (S == np.round(S))).all()
    assert np.isfinite(m.score_samples(X[500:520], n_importance=5)).all()
    with pytest.raises(ValueError, match="integer levels"):
        m.score_samples(X[:5] + 0.5)


def test_beta_and_iwae_objectives(digits):
    X, _ = digits
    base = dict(latent_dim=4, hidden_dims=(32,), epochs=4, random_state=0)
    plain = VAE(**base).fit(X[:800])
    heavy = VAE(beta=20.0, **base).fit(X[:800])
    assert heavy.history_["kl"][-1] < 0.5 * plain.history_["kl"][-1]
    iw = VAE(objective="iwae", n_train_samples=5, **base).fit(X[:800])
    assert "iwae" in iw.history_ and np.isfinite(iw.history_["loss"]).all()
    annealed = VAE(kl_anneal_steps=10_000, **base).fit(X[:800])
    # The KL weight is still tiny after ~50 steps, so the loss is almost the reconstruction.
    h = annealed.history_
    assert h["loss"][-1] == pytest.approx(h["recon"][-1], rel=0.02)


def test_conditional_vae_samples_the_asked_class(digits):
    X, y = digits
    m = ConditionalVAE(latent_dim=2, hidden_dims=(64,), epochs=60, random_state=0).fit(X, y)
    assert list(m.classes_) == list(range(10))
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=3000).fit(X, y)
    z = np.random.RandomState(1).randn(100, 2)
    for label in range(10):
        # Decoded pixel means of prior draws, given the class: a classifier trained on the
        # data recognises the asked digit in nearly all of them.
        means = m.decode(z, y=np.full(100, label))
        assert (clf.predict((means > 0.5).astype(float)) == label).mean() > 0.9
    S = m.sample(100, y=3, random_state=1)
    assert S.shape == (100, 64) and set(np.unique(S)) <= {0.0, 1.0}
    # The marginal log p(x) is log sum_c p(c) p(x | c): above every single term.
    marg = m.score_samples(X[:20], n_importance=50, random_state=0)
    for c, prior in zip(m.classes_, m.class_prior_, strict=True):
        term = m.score_samples(X[:20], np.full(20, c), n_importance=50, random_state=0)
        assert (marg >= term + np.log(prior) - 1e-9).all()
    # A digit scores higher under its own class than under most others.
    own = m.score_samples(X[:50], y[:50], n_importance=20, random_state=0)
    wrong = m.score_samples(X[:50], (y[:50] + 1) % 10, n_importance=20, random_state=0)
    assert (own > wrong).mean() > 0.9
    with pytest.raises(ValueError, match="unknown class label 11"):
        m.sample(2, y=11)
    with pytest.raises(ValueError, match="labels"):
        ConditionalVAE(epochs=1).fit(X)


def test_clear_errors(digits, digits_vae):
    X, _ = digits
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        VAE(epochs=1).fit(X * 2)
    with pytest.raises(ValueError, match="Z"):
        digits_vae.decode(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_importance"):
        digits_vae.score_samples(X[:2], n_importance=0)
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=0).fit(X)
    with pytest.raises(ValueError, match="hidden_dims"):
        VAE(hidden_dims=(0,)).fit(X)


def test_conv_model_file_round_trip(digits, tmp_path):
    X, _ = digits
    m = VAE(latent_dim=2, hidden_dims=(4,), image_shape=(8, 8), epochs=1, random_state=0)
    m.fit(X[:200]).save(tmp_path / "conv.safetensors")
    back = genmodels.load(tmp_path / "conv.safetensors")
    np.testing.assert_array_equal(back.score_samples(X[:20]), m.score_samples(X[:20]))
    assert back.feature_shape_ == (1, 8, 8)


def test_fit_on_a_torch_dataset_equals_fit_on_the_array(digits):
    X, _ = digits

    class Rows(torch.utils.data.Dataset):  # a map-style dataset yielding float64 rows
        def __len__(self):
            return 300

        def __getitem__(self, i):
            return torch.as_tensor(X[i])

    params = dict(latent_dim=2, hidden_dims=(16,), epochs=2, batch_size=32, random_state=0)
    from_array = VAE(**params).fit(X[:300])
    from_dataset = VAE(**params).fit(Rows())
    assert from_dataset.n_features_in_ == 64
    for a, b in zip(
        from_array.module_.state_dict().values(),
        from_dataset.module_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)

    class Bad(Rows):
        def __getitem__(self, i):
            return torch.as_tensor(X[i] * 2)

    with pytest.raises(ValueError, match=r"first row has values outside \[0, 1\]"):
        VAE(**params).fit(Bad())


def test_variants_share_an_abstract_base():
    from genmodels.base import GenerativeModel
    from genmodels.registry import registered_models
    from genmodels.vae import MultVAE
    from genmodels.vae.base import SHARED_PARAM_SPEC, BaseVAE

    registered = set(registered_models().values())
    assert BaseVAE not in registered
    with pytest.raises(TypeError, match="abstract"):
        BaseVAE()
    for cls in (VAE, ConditionalVAE, MultVAE):
        # BaseVAE first; anything after it is an interface mixin (MultVAE's Recommender)
        assert cls.__bases__[0] is BaseVAE
        assert not any(issubclass(b, GenerativeModel) for b in cls.__bases__[1:])
        # no other concrete (registered) model above it
        assert [c for c in cls.__mro__ if c in registered] == [cls]
        for name, constraints in SHARED_PARAM_SPEC.items():
            assert cls._param_spec[name] is constraints
        assert set(cls._param_spec) <= set(cls().get_params())
        assert cls.capabilities.estimator == "importance"
        assert cls.capabilities.estimator_params == ("n_importance",)
        assert cls.capabilities.resumable
    assert not isinstance(ConditionalVAE(), VAE)
    # VAE and ConditionalVAE take the same hyper-parameters, with the same defaults
    assert VAE().get_params() == ConditionalVAE().get_params()
    assert VAE._param_spec is ConditionalVAE._param_spec


@pytest.mark.parametrize(
    "params",
    [
        dict(beta=0.5, kl_anneal_steps=8, n_train_samples=3),
        dict(objective="iwae", n_train_samples=4),
    ],
)
def test_the_shared_training_step_follows_the_objective(params):
    """BaseVAE's training step is the ELBO (beta times the annealed KL weight, n_train_samples
    samples) or the IWAE bound of the pure functions in ``_bounds``; validation scores the
    one-sample ELBO with the full KL weight."""
    from genmodels.nn import StepContext
    from genmodels.vae._bounds import log_importance_weights, training_losses

    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(64, 12)) < 0.3).astype(float)
    model = VAE(latent_dim=2, hidden_dims=(8,), epochs=1, random_state=0, **params).fit(X)
    net = model.module_
    x = torch.as_tensor(X[:20], dtype=torch.float32)

    def ctx(step, group="model"):
        return StepContext(0, step, group, torch.Generator().manual_seed(7))

    got = model.training_step((x,), ctx(2))
    gen = torch.Generator().manual_seed(7)
    if model.objective == "iwae":
        lw = log_importance_weights(
            x, net.encoder, net.decoder, net.likelihood, n_samples=4, generator=gen
        )
        bound = torch.logsumexp(lw, 0) - math.log(4)
        assert set(got) == {"loss", "iwae"}
        torch.testing.assert_close(got["loss"], -bound.float().mean(), rtol=0, atol=0)
    else:
        want = training_losses(
            x,
            net.encoder,
            net.decoder,
            net.likelihood,
            beta=0.5,
            kl_weight=2 / 8,
            n_samples=3,
            generator=gen,
        )
        assert got.keys() == want.keys()
        for k in want:
            torch.testing.assert_close(got[k], want[k], rtol=0, atol=0)
    val = model.validation_step((x,), ctx(-1, "validation"))
    gen = torch.Generator().manual_seed(7)
    want = training_losses(
        x,
        net.encoder,
        net.decoder,
        net.likelihood,
        beta=model.beta,
        kl_weight=1.0,
        n_samples=1,
        generator=gen,
    )
    for k in want:
        torch.testing.assert_close(val[k], want[k], rtol=0, atol=0)


def test_colour_rows_are_channel_last_images_as_numpy_lays_them_out():
    """image_shape (H, W, C): a row is an (H, W, C) image flattened (numpy/PIL order, as
    PixelCNN reads it); the network sees channel c of the image as its channel c, and
    the rows the model returns come back in the same order."""
    from genmodels.nn.shapes import fold_rows, unfold_rows

    rng = np.random.default_rng(0)
    images = rng.random((5, 4, 6, 3))
    rows = images.reshape(5, -1)
    m = VAE(
        latent_dim=2,
        hidden_dims=(4,),
        image_shape=(4, 6, 3),
        likelihood="gaussian",
        epochs=1,
        random_state=0,
    ).fit(rows)
    assert m.feature_shape_ == (3, 4, 6)
    net_in = m._tensor(rows).numpy()
    np.testing.assert_allclose(net_in, images.transpose(0, 3, 1, 2), atol=1e-6)
    back = unfold_rows(fold_rows(torch.as_tensor(rows), (3, 4, 6))).numpy()
    np.testing.assert_array_equal(back, rows)
    assert m.sample(2, random_state=0).shape == (2, 72)
