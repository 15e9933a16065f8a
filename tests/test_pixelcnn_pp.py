"""PixelCNN on colour images and with PixelCNN++'s discretised logistic mixture output
(issue 14): the mixture's closed form, exact likelihoods over every tiny image, no leak
from later sub-pixels, cached generation equal to the naive loop, model files."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.special import expit
from test_autoregressive import _depends_on

import genmodels
from genmodels import PixelCNN, PixelRNN
from genmodels.autoregressive._logistic_mixture import (
    LOG_SCALE_RANGE,
    level_log_probs,
    mixture_log_probs,
    n_params,
    split_params,
)

# -- the discretised logistic mixture -----------------------------------------------------------


def _numpy_level_probs(mean, log_scale, n_levels):
    """P(level v) as CDF differences over bins of width 2 / (L - 1) on [-1, 1], the tails
    on the end levels, in float64."""
    centres = np.linspace(-1, 1, n_levels)
    half = 1 / (n_levels - 1)
    s = np.exp(np.clip(log_scale, *LOG_SCALE_RANGE))[..., None]
    m = mean[..., None]
    upper = expit((centres + half - m) / s)
    lower = expit((centres - half - m) / s)
    upper[..., -1] = 1.0
    lower[..., 0] = 0.0
    return upper - lower


@pytest.mark.parametrize("n_levels", [2, 3, 16, 256])
def test_discretised_logistic_is_the_cdf_differences_and_sums_to_one(n_levels):
    g = torch.Generator().manual_seed(n_levels)
    mean = torch.randn(200, generator=g, dtype=torch.float64) * 1.5
    log_scale = torch.rand(200, generator=g, dtype=torch.float64) * 8 - 6
    logp = level_log_probs(mean, log_scale, n_levels)
    assert logp.shape == (200, n_levels) and torch.isfinite(logp).all()
    want = _numpy_level_probs(mean.numpy(), log_scale.numpy(), n_levels)
    np.testing.assert_allclose(logp.exp().numpy(), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(logp.exp().sum(-1).numpy(), 1.0, atol=1e-12)
    # float32 and extreme parameters (a mean far outside [-1, 1], the scale's floor and
    # ceiling and beyond): finite log-probabilities that still sum to one, no log(0)
    mean = torch.tensor([-40.0, -1.0, 0.0, 0.3, 1.0, 40.0] * 3)
    log_scale = torch.tensor([-20.0] * 6 + [-7.0] * 6 + [30.0] * 6)
    logp = level_log_probs(mean, log_scale, n_levels)
    assert torch.isfinite(logp).all()
    np.testing.assert_allclose(logp.exp().sum(-1).numpy(), 1.0, atol=1e-5)


@pytest.mark.parametrize("n_channels", [1, 2, 3])
def test_mixture_conditionals_multiply_to_the_pixelcnn_pp_joint(n_channels):
    """prod_c p(x_c | x_<c) from ``mixture_log_probs`` is PixelCNN++'s joint over a
    pixel, sum_k pi_k prod_c Logistic_d(x_c; mu_kc + sum_{c'<c} alpha x_c', s_kc), computed
    directly in numpy for every pixel value; and each conditional sums to one."""
    n_levels, k, c = 4, 3, n_channels
    g = torch.Generator().manual_seed(c)
    params = torch.randn(n_params(c, k), generator=g, dtype=torch.float64)
    logits, means, log_scales, coefs = (t.numpy() for t in split_params(params, c, k))
    pi = np.exp(logits) / np.exp(logits).sum()
    values = np.array(list(itertools.product(range(n_levels), repeat=c)), dtype=float)
    got = mixture_log_probs(
        params.expand(len(values), -1), torch.as_tensor(values), n_levels, c, k
    ).double()
    np.testing.assert_allclose(got.exp().sum(-1).numpy(), 1.0, atol=1e-6)
    chain = got.gather(-1, torch.as_tensor(values).long()[..., None])[..., 0].sum(-1).exp()
    for row, x in enumerate(values):
        scaled = 2 * x / (n_levels - 1) - 1
        joint = 0.0
        for comp in range(k):
            prob, pair = pi[comp], 0
            for ch in range(c):
                mu = means[comp, ch]
                for earlier in range(ch):
                    mu += coefs[comp, pair] * scaled[earlier]
                    pair += 1
                p_levels = _numpy_level_probs(np.array(mu), np.array(log_scales[comp, ch]), 4)
                prob *= p_levels[int(x[ch])]
            joint += prob
        assert chain[row].item() == pytest.approx(joint, rel=1e-5), x
    assert chain.sum().item() == pytest.approx(1.0, abs=1e-6)


# -- the model -----------------------------------------------------------------------------------


def _images(n, shape, n_levels, seed=0):
    return np.random.RandomState(seed).randint(0, n_levels, size=(n, int(np.prod(shape))))


def _model(shape=(2, 2, 3), n_levels=2, output="categorical", n_layers=3, **kw):
    params = dict(
        n_layers=n_layers,
        channels=8,
        head_channels=8,
        kernel_size=3,
        n_levels=n_levels,
        image_shape=shape,
        output=output,
        n_mixtures=3,
        epochs=1,
        batch_size=8,
        random_state=0,
    )
    params.update(kw)
    model = PixelCNN(**params).fit(_images(24, shape, n_levels).astype(float))
    with torch.no_grad():  # spread the weights, so that every dependence shows
        g = torch.Generator().manual_seed(1)
        for p in model.module_.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.3)
    return model


OUTPUTS = ["categorical", "logistic_mixture"]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(
    "shape, n_levels", [((1, 2, 3), 2), ((1, 2, 2), 3), ((2, 1, 3), 2), ((2, 2), 3)]
)
def test_probabilities_of_every_colour_image_sum_to_one(shape, n_levels, output):
    model = _model(shape, n_levels, output)
    n = int(np.prod(shape))
    images = np.array(list(itertools.product(range(n_levels), repeat=n)), dtype=float)
    assert np.exp(model.score_samples(images)).sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("output", OUTPUTS)
def test_each_sub_pixel_sees_exactly_the_sub_pixels_before_it(output):
    """Channel c of pixel p depends on every channel of the pixels before p and on
    channels < c of p, and on nothing else (4 x 3 pixels, 3 channels, enough layers to
    reach every earlier pixel)."""
    net = _model((4, 3, 3), 4, output, n_layers=4).module_.eval()
    n = 4 * 3 * 3
    for t in range(n):
        seen = _depends_on(net, (n,), t, uniform=True).tolist()
        assert seen == [q < t for q in range(n)], t


def test_the_outputs_are_normalised_log_probabilities_per_sub_pixel():
    for output in OUTPUTS:
        model = _model((2, 3, 3), 5, output)
        tokens = torch.as_tensor(_images(4, (2, 3, 3), 5))
        bos = torch.full((4, 1), 5)
        logits = model.module_(torch.cat([bos, tokens[:, :-1]], 1))
        assert logits.shape == (4, 18, 5)
        if output == "logistic_mixture":  # log-probabilities already
            np.testing.assert_allclose(logits.exp().sum(-1).detach().numpy(), 1.0, atol=1e-5)


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("settings", [{"temperature": 0}, {}, {"top_k": 2, "temperature": 0.7}])
def test_row_cached_colour_sampling_gives_the_naive_images(settings, output):
    model = _model((4, 3, 3), 3, output)
    a = model.sample(4, random_state=3, **settings)
    b = model.sample(4, random_state=3, use_cache=False, **settings)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 36) and set(np.unique(a)) <= {0.0, 1.0, 2.0}
    X = _images(3, (4, 3, 3), 3, seed=1).astype(float)
    c = model.inpaint(X, 2, random_state=0, **settings)
    np.testing.assert_array_equal(c[:, :18], X[:, :18])
    np.testing.assert_array_equal(
        c, model.inpaint(X, 2, random_state=0, use_cache=False, **settings)
    )


@pytest.mark.parametrize("output", OUTPUTS)
def test_colour_model_files_round_trip(tmp_path, output):
    model = _model((2, 2, 3), 4, output)
    path = tmp_path / "pcnn.safetensors"
    model.save(path)
    loaded = genmodels.load(path)
    assert tuple(loaded.image_shape_) == (2, 2, 3) and loaded.output == output
    X = _images(10, (2, 2, 3), 4, seed=2).astype(float)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(loaded.sample(2, random_state=0), model.sample(2, random_state=0))


def _smooth_grey(n, side=4, seed=0):
    """8-bit images whose pixels are near their neighbours: a random level plus a ramp
    plus small noise."""
    rng = np.random.RandomState(seed)
    base = rng.randint(40, 200, size=(n, 1, 1))
    ramp = np.arange(side)[None, :, None] * rng.randint(-8, 9, size=(n, 1, 1))
    noise = rng.randint(-3, 4, size=(n, side, side))
    return (base + ramp + noise).clip(0, 255).reshape(n, -1).astype(float)


@pytest.mark.parametrize("output", OUTPUTS)
def test_grey_256_level_model_fits_and_scores_finite(output):
    """8-bit grey images: training and scores stay finite, and 32 steps already beat the
    uniform distribution's 8 bits a pixel on held-out images."""
    X = _smooth_grey(288)
    model = PixelCNN(
        2, 16, kernel_size=3, head_channels=16, n_levels=256, output=output, n_mixtures=5,
        epochs=4, batch_size=32, lr=1e-2, random_state=0,
    ).fit(X[:256])  # fmt: skip
    assert model.image_shape_ == (4, 4)
    assert np.isfinite(model.history_["loss"]).all()
    scores = model.score_samples(X[256:])
    assert np.isfinite(scores).all()
    assert model.bits_per_token(X[256:]) < 7.8
    sample = model.sample(2, random_state=0)
    assert sample.shape == (2, 16) and sample.min() >= 0 and sample.max() <= 255


def test_bad_colour_settings_get_clear_errors():
    X = _images(6, (2, 2, 3), 2).astype(float)
    with pytest.raises(ValueError, match="output"):
        PixelCNN(output="gaussian", image_shape=(2, 2, 3), epochs=1).fit(X)
    with pytest.raises(ValueError, match="n_mixtures"):
        PixelCNN(output="logistic_mixture", n_mixtures=0, image_shape=(2, 2, 3)).fit(X)
    with pytest.raises(ValueError, match="holds 8 values but the data have 12"):
        PixelCNN(image_shape=(2, 2, 2), epochs=1).fit(X)
    with pytest.raises(ValueError, match="one channel"):
        PixelRNN(image_shape=(2, 2, 3), epochs=1).fit(X)
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        PixelCNN(epochs=1).fit(X)  # 12 values are no square image
