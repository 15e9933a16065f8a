"""The GAN family (issue 13): the losses against their closed forms, networks that fit any
image size, the training schedule (n critic steps, each on its own batch), the moving
average of the generator, exact resumption, what a trained GAN learns about simple
distributions, conditioning, and the errors a user meets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

import genmodels
from genmodels import GAN, ConditionalGAN
from genmodels.gan import _losses
from genmodels.gan._networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    downsampling_plan,
    upsampling_plan,
)
from genmodels.nn import _checkpoint as ckpt

# ----------------------------------------------------------------------------------------
# The losses


def test_losses_equal_their_closed_forms():
    real = torch.tensor([2.0, -1.0, 0.5])
    fake = torch.tensor([-3.0, 0.2])
    ones, zeros = torch.ones(3), torch.zeros(2)
    bce = F.binary_cross_entropy_with_logits
    expected = bce(real, ones) + bce(fake, zeros)
    got = _losses.discriminator_loss("non-saturating", real, fake)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        _losses.generator_loss("non-saturating", fake), -torch.log(torch.sigmoid(fake)).mean()
    )
    hinge = (0 + 2.0 + 0.5) / 3 + (0 + 1.2) / 2  # relu(1 - real), relu(1 + fake)
    assert _losses.discriminator_loss("hinge", real, fake).item() == pytest.approx(hinge)
    assert _losses.generator_loss("hinge", fake).item() == pytest.approx(1.4)
    wgan = fake.mean() - real.mean()
    torch.testing.assert_close(_losses.discriminator_loss("wgan-gp", real, fake), wgan)
    with pytest.raises(ValueError, match="loss must be one of"):
        _losses.discriminator_loss("ls", real, fake)


def test_gradient_penalty_of_a_linear_critic_is_its_closed_form():
    """A linear critic w.x has gradient w everywhere: the penalty is (||w|| - 1)^2 whatever
    the points, and it is differentiable in w."""
    w = torch.tensor([3.0, 4.0], requires_grad=True)  # ||w|| = 5
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    gp = _losses.gradient_penalty(lambda x: x @ w, real, fake, torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx(16.0)
    (g,) = torch.autograd.grad(gp, w)
    torch.testing.assert_close(g, 2 * (5 - 1) * w.detach() / 5)  # d/dw (||w|| - 1)^2


# ----------------------------------------------------------------------------------------
# Networks of any image size


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (3, 13, 9), (1, 7, 5), (2, 1, 3)])
def test_dcgan_networks_fit_any_image_size_with_nothing_padded(shape):
    gen = DCGANGenerator(10, shape, channels=(16, 8))
    z = torch.randn(4, 10)
    x = gen(z)
    assert x.shape == (4, *shape)
    for conditioning in ("projection", "concat"):
        disc = DCGANDiscriminator(shape, (8, 16), n_classes=3, conditioning=conditioning)
        assert disc(x, torch.tensor([0, 1, 2, 1])).shape == (4,)


def test_size_plans():
    assert upsampling_plan(28, 2) == [7, 14, 28]
    assert upsampling_plan(13, 3) == [2, 4, 7, 13]
    assert downsampling_plan(28, 3) == [(4, 2), (4, 2), (4, 2)]  # 28 -> 14 -> 7 -> 3
    assert downsampling_plan(3, 3) == [(4, 2), (3, 1), (3, 1)]  # 3 -> 1, then it stays


def test_projection_discriminator_adds_the_label_embedding_inner_product():
    disc = MLPDiscriminator((5,), (8,), n_classes=3, conditioning="projection")
    x = torch.randn(6, 5)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    h = disc.body(x)
    expected = disc.head(h).squeeze(1) + (disc.embed(y) * h).sum(1)
    torch.testing.assert_close(disc(x, y), expected)
    with pytest.raises(ValueError, match="conditional"):
        disc(x)


# ----------------------------------------------------------------------------------------
# Training


def _gaussian(n=2000, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, 2) * [0.5, 2.0] + [3.0, -2.0]


def test_an_mlp_gan_learns_a_gaussians_mean_and_spread():
    X = _gaussian()
    gan = GAN(8, hidden_dims=(64, 64), ema=0.99, epochs=40, batch_size=100, lr=1e-3,
              random_state=0)  # fmt: skip
    S = gan.fit(X).sample(4000, random_state=1)
    np.testing.assert_allclose(S.mean(0), [3.0, -2.0], atol=0.25)
    np.testing.assert_allclose(S.std(0), [0.5, 2.0], rtol=0.3)
    assert gan.output_ == "linear"


def test_wgan_gp_takes_five_critic_steps_on_fresh_batches_per_generator_step(tmp_path):
    X = _gaussian(400)
    gan = GAN(4, hidden_dims=(16,), loss="wgan-gp", epochs=2, batch_size=40,
              checkpoint_dir=str(tmp_path), random_state=0).fit(X)  # fmt: skip
    progress = ckpt.load_checkpoint(tmp_path, owner=gan._checkpoint_owner())["progress"]
    assert progress["group_step"] == {"discriminator": 20, "generator": 4}
    h = gan.history_
    assert {"discriminator_gp", "discriminator_wasserstein", "generator_loss"} <= set(h)
    assert gan._betas() == (0.0, 0.9) and gan._discriminator_norm() == "none"


def test_the_moving_average_is_what_samples_come_from():
    X = _gaussian(300)
    gan = GAN(4, hidden_dims=(16,), ema=0.9, epochs=2, batch_size=50, random_state=0).fit(X)
    net = gan.module_
    ema = dict(net.generator_ema.named_parameters())
    live = dict(net.generator.named_parameters())
    assert any(not torch.equal(ema[k], live[k]) for k in live)
    z = np.random.RandomState(0).randn(5, 4)
    with torch.no_grad():
        x = net.generator_ema(torch.as_tensor(z, dtype=torch.float32))
    expected = x.numpy() * gan.data_scale_ + gan.data_offset_
    np.testing.assert_allclose(gan.decode(z), expected, rtol=1e-6)
    # one update: ema <- d ema + (1 - d) live
    before = {k: v.clone() for k, v in ema.items()}
    net.update_ema(0.75)
    for k in live:
        torch.testing.assert_close(ema[k], 0.75 * before[k] + 0.25 * live[k])


def test_resumed_training_gives_the_uninterrupted_run(tmp_path):
    X = load_digits().data[:300]
    kw = dict(latent_dim=8, image_shape=(8, 8), generator_channels=(16, 8),
              discriminator_channels=(8, 16), ema=0.99, batch_size=50, random_state=3)  # fmt: skip
    straight = GAN(epochs=2, **kw).fit(X)
    half = GAN(epochs=1, checkpoint_dir=str(tmp_path), **kw).fit(X)
    resumed = half.set_params(epochs=2).fit(X, resume=True)
    np.testing.assert_array_equal(
        resumed.sample(6, random_state=1), straight.sample(6, random_state=1)
    )
    assert resumed.history_["generator_loss"] == straight.history_["generator_loss"]


def test_dcgan_samples_images_in_the_datas_range_and_saves_batch_norm_state(tmp_path):
    X = load_digits().data[:200]  # 0..16
    gan = GAN(8, architecture="dcgan", generator_channels=(16, 8), discriminator_channels=(8, 16),
              epochs=1, batch_size=50, random_state=0).fit(X)  # fmt: skip
    assert gan.feature_shape_ == (1, 8, 8) and gan.output_ == "tanh"
    S = gan.sample(50, random_state=0)
    assert S.shape == (50, 64) and S.min() >= 0.0 and S.max() <= 16.0
    gan.save(tmp_path / "g.safetensors")
    again = genmodels.load(tmp_path / "g.safetensors")
    np.testing.assert_array_equal(again.sample(5, random_state=2), gan.sample(5, random_state=2))


def test_spectral_norm_keeps_the_discriminators_layers_at_unit_norm():
    gan = GAN(4, hidden_dims=(32, 32), loss="hinge", spectral_norm=True, epochs=3,
              batch_size=50, random_state=0).fit(_gaussian(500))  # fmt: skip
    layers = [m for m in gan.module_.discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert len(layers) == 3
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach(), 2).item()
        assert sigma == pytest.approx(1.0, abs=0.05)


# ----------------------------------------------------------------------------------------
# Conditioning and the latent space


@pytest.mark.parametrize("conditioning", ["projection", "concat"])
def test_a_conditional_gan_draws_each_class_where_its_data_are(conditioning):
    rng = np.random.RandomState(0)
    y = np.repeat(["left", "right"], 600)
    X = np.where(y == "left", -4.0, 4.0)[:, None] + 0.5 * rng.randn(1200, 1)
    gan = ConditionalGAN(4, conditioning=conditioning, hidden_dims=(32, 32), epochs=40,
                         batch_size=100, lr=1e-3, random_state=0).fit(X, y)  # fmt: skip
    left = gan.sample(500, y="left", random_state=1)
    right = gan.sample(500, y="right", random_state=1)
    assert left.mean() == pytest.approx(-4.0, abs=0.5) and right.mean() == pytest.approx(
        4.0, abs=0.5
    )
    mixed = gan.sample(400, random_state=2)  # labels drawn from class_prior_
    assert 0.3 < (mixed > 0).mean() < 0.7
    with pytest.raises(ValueError, match="unknown class label 'up'"):
        gan.sample(3, y="up")
    with pytest.raises(ValueError, match="pass the class label"):
        gan.interpolate(4)
    assert gan.interpolate(4, y="right").shape == (4, 1)


def test_interpolate_joins_the_two_codes():
    gan = GAN(3, hidden_dims=(8,), epochs=1, random_state=0).fit(_gaussian(100))
    a, b = np.array([1.0, 0.0, -1.0]), np.array([0.0, 2.0, 0.5])
    path = gan.interpolate(5, z_a=a, z_b=b, method="linear")
    np.testing.assert_allclose(path[[0, -1]], gan.decode(np.stack([a, b])), rtol=1e-6)
    np.testing.assert_allclose(path[2], gan.decode(((a + b) / 2)[None])[0], rtol=1e-6)
    assert gan.interpolate(6, random_state=0).shape == (6, 2)
    with pytest.raises(ValueError, match="latent_dim"):
        gan.interpolate(4, z_a=[1.0, 2.0])
    with pytest.raises(ValueError, match="steps"):
        gan.interpolate(1)


# ----------------------------------------------------------------------------------------
# What a user is told


def test_no_likelihood_and_the_errors_a_user_meets():
    X = _gaussian(100)
    gan = GAN(3, hidden_dims=(8,), epochs=1, random_state=0).fit(X)
    with pytest.raises(genmodels.NoLikelihoodError, match="genmodels evaluate"):
        gan.score_samples(X)
    with pytest.raises(ValueError, match="early_stopping"):
        GAN(early_stopping=3).fit(X)
    with pytest.raises(ValueError, match="invalid hyper-parameter loss"):
        GAN(loss="least-squares").fit(X)
    with pytest.raises(ValueError, match="image_shape"):
        GAN(image_shape=(5, 5)).fit(X)
    with pytest.raises(ValueError, match="fit needs class labels"):
        ConditionalGAN().fit(X)
    with pytest.raises(ValueError, match="NaN"):
        gan.decode(np.full((2, 3), np.nan))


def test_the_mode_collapse_monitor_records_class_coverage_of_fixed_codes():
    from genmodels.metrics import class_coverage, mnist_classifier

    digits = load_digits().data[:256] / 16.0  # 8 x 8 digits drawn 3x larger on 28 x 28
    X = np.zeros((256, 28, 28))
    X[:, 2:26, 2:26] = np.kron(digits.reshape(-1, 8, 8), np.ones((3, 3)))
    X = X.reshape(256, 784)
    gan = GAN(8, hidden_dims=(32,), epochs=4, batch_size=64, monitor_classes="mnist",
              monitor_every=2, monitor_samples=200, random_state=5).fit(X)  # fmt: skip
    h = gan.history_
    assert h["monitor_epoch"] == [2.0, 4.0] and len(h["class_coverage"]) == 2
    assert len(h["generator_loss"]) == 4
    # the last value is the coverage of the same codes under the final weights
    gen = torch.Generator().manual_seed(6)
    z = torch.randn(200, 8, generator=gen).numpy()
    probs = mnist_classifier().predict_proba(np.clip(gan.decode(z), 0, 1))
    assert h["class_coverage"][-1] == class_coverage(probs, 10)
    assert 0.0 <= h["class_tv"][-1] <= 1.0
    with pytest.raises(ValueError, match="784"):
        GAN(monitor_classes="mnist").fit(_gaussian(50))


def test_a_last_batch_of_one_row_is_dropped_and_one_row_is_refused():
    X = load_digits().data[:65]  # 64 + 1: batch norm cannot train on the lone row
    gan = GAN(4, image_shape=(8, 8), generator_channels=(8, 4), discriminator_channels=(4, 8),
              epochs=1, batch_size=64, random_state=0).fit(X)  # fmt: skip
    assert np.isfinite(gan.history_["generator_loss"]).all()
    with pytest.raises(ValueError, match="at least 2 rows"):
        GAN(epochs=1).fit(X[:1])


def test_the_command_line_fits_samples_walks_and_refuses_to_score_a_gan(tmp_path, capsys):
    from genmodels.cli import main

    path = tmp_path / "gan.safetensors"
    settings = []
    for kv in ("architecture=dcgan", "epochs=1", "latent_dim=8", "generator_channels=[16,8]",
               "discriminator_channels=[8,16]"):  # fmt: skip
        settings += ["--set", kv]
    assert main(["fit", "gan", "builtin:digits", *settings, "-o", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "log-likelihood" not in out and "nats" not in out  # no likelihood columns
    model = genmodels.load(path)
    assert isinstance(model, GAN) and model.feature_shape_ == (1, 8, 8)
    assert main(["sample", str(path), "-n", "16", "-o", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    strip = tmp_path / "path.png"
    assert main(["interpolate", str(path), "--steps", "5", "--seed", "2", "-o", str(strip)]) == 0
    assert strip.exists()
    capsys.readouterr()
    assert main(["score", str(path), "builtin:digits"]) != 0
    assert "genmodels evaluate" in capsys.readouterr().err
    assert main(["interpolate", str(path), "builtin:digits", "--rows", "0", "1"]) != 0
    assert "no encoder" in capsys.readouterr().err
    assert main(["evaluate", str(path), "-n", "20"]) != 0  # 8x8 digits are not MNIST images
    assert "784" in capsys.readouterr().err


def test_colour_rows_fold_channel_last_and_come_back_in_order():
    """image_shape (H, W, C): rows are (H, W, C) images flattened, as numpy lays them out;
    the networks see channels first, and the model's rows come back channel-last."""
    rng = np.random.default_rng(0)
    images = rng.random((6, 4, 6, 3))
    rows = images.reshape(6, -1)
    gan = GAN(
        2,
        image_shape=(4, 6, 3),
        generator_channels=(4,),
        discriminator_channels=(4,),
        epochs=1,
        batch_size=3,
        random_state=0,
    ).fit(rows)
    assert gan.feature_shape_ == (3, 4, 6)
    net = gan._to_net(rows)
    expected = (images - gan.data_offset_.reshape(4, 6, 3)) / gan.data_scale_.reshape(4, 6, 3)
    np.testing.assert_allclose(net.numpy(), expected.transpose(0, 3, 1, 2), atol=1e-5)
    np.testing.assert_allclose(gan._from_net(net), rows, atol=1e-5)


# -- TabularGAN (CTGAN-like) ------------------------------------------------------------------


def _toy_table(n=600, seed=0, p=(0.8, 0.15, 0.05)):
    """One offset whose mean depends on a 3-category column with skewed frequencies."""
    rng = np.random.RandomState(seed)
    cat = rng.choice(3, size=n, p=p)
    offset = np.array([-0.6, 0.0, 0.6])[cat] + 0.05 * rng.randn(n)
    return np.column_stack([offset, np.eye(3)[cat]]), cat


_GROUPS = (("gaussian", 1), ("categorical", 3))


def test_pac_gradient_penalty_matches_its_closed_form():
    """A linear critic on packs of ``pac`` rows, D(pack) = sum_i w . x_i, has the gradient w
    in every row of a pack, so the pack's norm is sqrt(pac) |w| and the penalty
    (sqrt(pac) |w| - 1)^2 exactly, whatever the interpolation."""
    from genmodels.gan import _losses

    torch.manual_seed(0)
    w = torch.randn(5)
    for pac in (1, 2, 5):

        def critic(x, pac=pac):
            return (x @ w).reshape(-1, pac).sum(1)

        real, fake = torch.randn(20, 5), torch.randn(20, 5)
        gp = _losses.gradient_penalty(critic, real, fake, pac=pac)
        expected = (math.sqrt(pac) * w.norm() - 1.0) ** 2
        assert float(gp) == pytest.approx(float(expected), rel=1e-5)


def test_training_by_sampling_draws_log_frequencies_and_matching_rows():
    from genmodels.gan import TabularGAN

    X, cat = _toy_table()
    model = TabularGAN(_GROUPS, epochs=1, batch_size=100, pac=5, random_state=0).fit(X)
    counts = np.bincount(cat, minlength=3)
    np.testing.assert_allclose(model.condition_frequency_, counts / counts.sum())
    gen = torch.Generator().manual_seed(1)
    codes, cond = model._draw_conditions(60_000, model._train_prob, gen, torch.device("cpu"))
    share = np.bincount(codes.numpy(), minlength=3) / 60_000
    expected = np.log1p(counts) / np.log1p(counts).sum()  # the rare category drawn far more
    np.testing.assert_allclose(share, expected, atol=0.01)
    assert torch.equal(cond.argmax(1), codes) and torch.equal(cond.sum(1), torch.ones(60_000))
    rows = model._real_rows(codes[:5000], 5000, gen, torch.device("cpu"))
    assert torch.equal(rows[:, 1:].argmax(1), codes[:5000])  # each real row has its category
    # samples draw the conditions at the data's own frequencies instead
    np.testing.assert_allclose(model._sample_prob().numpy(), counts / counts.sum())


def test_tabular_gan_learns_the_conditioned_category_and_the_rare_one():
    """After a short fit the generator makes the category its conditional vector asks for
    (the cross-entropy term), and samples keep the categories' frequencies, the rare one
    (5%) included."""
    from genmodels.gan import TabularGAN

    X, cat = _toy_table()
    kw = dict(latent_dim=8, generator_dims=(32, 32), discriminator_dims=(32, 32), pac=5)
    model = TabularGAN(_GROUPS, epochs=40, batch_size=100, lr=1e-3, random_state=0, **kw)
    model.fit(X)
    condition = model.history_["generator_condition"]
    assert condition[-1] < 0.1 * condition[0]
    G = model.module_.sampler().eval()  # noqa: N806
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for k in range(3):
            cond = torch.nn.functional.one_hot(torch.full((500,), k), 3).float()
            z = torch.randn(500, 8, generator=gen)
            out = G(z, cond, gen)
            assert float((out[:, 1:].argmax(1) == k).float().mean()) > 0.95
    S = model.sample(3000, random_state=0)
    share = np.bincount(S[:, 1:].argmax(1), minlength=3) / 3000
    np.testing.assert_allclose(share, np.bincount(cat) / len(cat), atol=0.06)
    assert share[2] > 0.01


def test_tabular_gan_refuses_rows_that_do_not_fit_its_groups():
    from genmodels.gan import TabularGAN

    X, _ = _toy_table(n=50)
    with pytest.raises(ValueError, match="feature_groups cover 4 features, X has 3"):
        TabularGAN(_GROUPS, epochs=1).fit(X[:, :3])
    bad = X.copy()
    bad[0, 1:] = [0.5, 0.5, 0.0]
    with pytest.raises(ValueError, match="not one hot"):
        TabularGAN(_GROUPS, epochs=1).fit(bad)
    with pytest.raises(ValueError, match="conditional_groups must index categorical"):
        TabularGAN(_GROUPS, conditional_groups=(0,), epochs=1).fit(X)
    with pytest.raises(ValueError, match="feature_groups"):
        TabularGAN((("gaussian", 2),), epochs=1).fit(X[:, :2])
