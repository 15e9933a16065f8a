"""The GAN section: a DCGAN and a class-conditional GAN on the 8x8 digits, judged by their
samples (a GAN has no likelihood): a Fréchet distance, precision and recall, density and
coverage against the held-out digits, beside a Gaussian mixture's samples of the same
digits and the training digits themselves; sample grids per class and a latent path."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .. import figures
from ..gan import GAN, ConditionalGAN
from ..metrics import density_coverage, frechet_distance, precision_recall
from ..mixture import GaussianMixture
from .core import Context, FigureRef, Section, Table, fit_timed
from .data import digits

logger = logging.getLogger("genmodels")


@dataclass(frozen=True)
class Settings:
    epochs: int
    channels: tuple[int, int]


FULL = Settings(epochs=60, channels=(64, 32))
QUICK = Settings(epochs=3, channels=(16, 8))


def gan_section(ctx: Context) -> Section:
    s = QUICK if ctx.quick else FULL
    data = digits(ctx)
    Xtr, Xte, ytr = data.X_train, data.X_test, data.y_train
    n = len(Xte)
    seed = 0 if ctx.random_state is None else ctx.random_state
    common = dict(
        latent_dim=32,
        architecture="dcgan",
        generator_channels=s.channels,
        discriminator_channels=s.channels[::-1],
        ema=0.99,
        epochs=s.epochs,
        batch_size=64,
        random_state=seed,
    )
    gan = GAN(**common)
    cgan = ConditionalGAN(loss="hinge", spectral_norm=True, **common)
    gmm = GaussianMixture(10, covariance_type="diag", random_state=seed)
    seconds = {"gan": fit_timed(gan, Xtr), "cgan": fit_timed(cgan, Xtr, ytr)}
    seconds["gmm"] = fit_timed(gmm, Xtr)

    table = Table(
        name="gan-sample-quality",
        caption=(
            f"Sample quality against the {n} held-out digits, {n} samples per model, on the "
            "raw 64 pixels (the MNIST classifier's features of genmodels.metrics are for "
            "28x28 images): the Fréchet distance between Gaussians fitted to the two sets "
            "(lower is better), precision and recall of Kynkäänniemi et al. (k = 3), density "
            "and coverage of Naeem et al. (k = 5). The training digits are the ceiling. "
            "Fit: seconds, one thread."
        ),
        columns=["samples", "Fréchet", "precision", "recall", "density", "coverage", "fit (s)"],
        formats=[None, "{:.1f}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.1f}"],
    )
    rng = ctx.rng(61)
    rows = [
        ("training digits", Xtr[rng.choice(len(Xtr), n, replace=False)], None),
        ("GAN (DCGAN, non-saturating)", gan.sample(n, random_state=seed), seconds["gan"]),
        ("ConditionalGAN (hinge, spectral norm)", cgan.sample(n, random_state=seed),
         seconds["cgan"]),
        ("GaussianMixture (10, diag)", np.clip(gmm.sample(n, random_state=seed), 0, 16),
         seconds["gmm"]),
    ]  # fmt: skip
    for label, S, fit_s in rows:
        p, r = precision_recall(Xte, S, k=3)
        d, c = density_coverage(Xte, S, k=5)
        table.add(label, frechet_distance(Xte, S), p, r, d, c, fit_s)
        logger.info("demo: %s: precision %.2f recall %.2f", label, p, r)

    shape = data.image_shape
    per_class = np.concatenate([cgan.sample(8, y=k, random_state=seed + k) for k in range(10)])
    figures.image_grid_panels(
        [
            ("test digits", Xte[:40]),
            ("GAN samples", rows[1][1][:40]),
            ("ConditionalGAN, one row per class", per_class),
        ],
        ctx.figure_path("gan-samples.png"),
        image_shape=shape,
        vmin=0.0,
        vmax=16.0,
        panel_width=3.2,
    )
    figures.interpolation_strip(
        gan.interpolate(10, method="spherical", random_state=seed + 1),
        ctx.figure_path("gan-path.png"),
        image_shape=shape,
        vmin=0.0,
        vmax=16.0,
        title="GAN: 10 points on a spherical path between two latent codes",
    )
    body = (
        "<p><b>Generative adversarial networks</b> (Goodfellow et al. 2014) train a "
        "generator of images from noise against a discriminator that tells them from real "
        "ones. They have no likelihood, so they are judged by their samples: the table "
        "compares the samples' distribution with the held-out digits'. The GAN is a "
        "DCGAN (Radford et al. 2016: transposed convolutions with batch norm in the "
        "generator, LeakyReLU in the discriminator), sized for 8x8 images with nothing "
        "padded; the conditional GAN takes the digit's class, with a projection "
        "discriminator, the hinge loss and spectral normalisation. Both sample from a "
        f"moving average of the generator's weights. {s.epochs} epochs of Adam (2e-4, "
        f"betas 0.5, 0.999) on the {len(Xtr):,} training digits.</p>"
    )
    figs = [
        FigureRef(
            "gan-samples.png",
            "Test digits (left), digits drawn from the GAN (middle) and from the conditional "
            "GAN, eight of each class 0 to 9, one class per row (right).",
            alt="Test digits beside GAN and conditional GAN samples",
        ),
        FigureRef(
            "gan-path.png",
            "A path through the GAN's latent space: the generator's images of ten codes on "
            "the great circle between two codes drawn from the prior.",
            alt="Ten GAN images along a latent path",
        ),
    ]
    return Section(
        title="GANs: a DCGAN and a conditional GAN, judged by their samples",
        body=body,
        figures=figs,
        tables=[table],
        slug="gan",
    )
