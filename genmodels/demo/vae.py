"""The variational autoencoder section: VAEs on the binarised 8x8 digits — a 2-D latent
space mapped with the digits' classes, a 16-D one scored on held-out digits by importance
sampling beside the other models of the same binary images, samples, reconstructions and
an interpolation between two real digits."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from .. import figures
from ..naive_bayes import BernoulliNB
from ..vae import VAE
from .boltzmann import RBM_SCORES, THRESHOLD
from .core import Context, FigureRef, Section, Table, fit_timed
from .data import digits

logger = logging.getLogger("genmodels")

ENDPOINTS = (0, 6)  # the classes of the two test digits the interpolation joins
STEPS = 10  # decoded points on the interpolation path


@dataclass(frozen=True)
class Settings:
    hidden_dims: tuple[int, ...]
    epochs_2d: int
    epochs_big: int
    latent_big: int
    n_importance: int


FULL = Settings(
    hidden_dims=(256, 128), epochs_2d=200, epochs_big=250, latent_big=16, n_importance=500
)
QUICK = Settings(
    hidden_dims=(128, 64), epochs_2d=25, epochs_big=30, latent_big=16, n_importance=100
)


def vae_section(ctx: Context) -> Section:
    s = QUICK if ctx.quick else FULL
    data = digits(ctx)
    Xtr = (data.X_train > THRESHOLD).astype(float)
    Xte = (data.X_test > THRESHOLD).astype(float)
    n_tr, n_te = len(Xtr), len(Xte)
    seed = 0 if ctx.random_state is None else ctx.random_state

    def vae(latent_dim: int, epochs: int) -> VAE:
        return VAE(
            latent_dim,
            s.hidden_dims,
            likelihood="bernoulli",
            epochs=epochs,
            batch_size=100,
            lr=1e-3,
            n_importance=s.n_importance,
            random_state=seed,
        )

    flat, big = vae(2, s.epochs_2d), vae(s.latent_big, s.epochs_big)
    t_flat = fit_timed(flat, Xtr)
    t_big = fit_timed(big, Xtr)

    # held-out log p(x) of the same binary test images, beside the other models of them
    p = np.clip(Xtr.mean(0), 1e-3, 1 - 1e-3)  # independent pixels, as the Boltzmann section
    nb = BernoulliNB(binarize=None).fit(Xtr, data.y_train)
    table = Table(
        name="vae-loglik",
        caption=(
            f"Held-out log-likelihood of the {n_te} binarised test digits (pixel > "
            f"{THRESHOLD:g}), in nats per digit (higher is better): every row is a "
            "probability over the same 2^64 binary images. A VAE's log p(x) is estimated by "
            f"importance sampling from its encoder (IWAE, K = {s.n_importance:,} samples per "
            "digit; a lower bound in expectation), next to its ELBO (one sample per digit). "
            "Fit: seconds, one thread."
        ),
        columns=["model", "how", "log p(x), nats per digit", "fit (s)"],
        formats=[None, None, "{:.2f}", "{:.2f}"],
    )
    table.add(
        "independent pixels (base rates)",
        "exact",
        float(np.mean(Xte @ np.log(p) + (1 - Xte) @ np.log1p(-p))),
        None,
    )
    table.add("BernoulliNB (uses the labels)", "exact", float(nb.score(Xte)), None)
    for name, (value, how) in ctx.cached(RBM_SCORES, dict).items():
        table.add(f"{name} (Boltzmann section)", how, value, None)
    scores = {}
    for label, model, seconds in (
        (f"VAE, 2-D latent, {_dims(s.hidden_dims)}", flat, t_flat),
        (f"VAE, {s.latent_big}-D latent, {_dims(s.hidden_dims)}", big, t_big),
    ):
        start = time.perf_counter()
        iwae = float(np.mean(model.score_samples(Xte, random_state=seed)))
        elbo = float(np.mean(model.score_samples(Xte, n_importance=1, random_state=seed)))
        logger.info(
            "demo: %s: held-out IWAE-%d %.2f, ELBO %.2f nats (scored in %.1f s)",
            label,
            s.n_importance,
            iwae,
            elbo,
            time.perf_counter() - start,
        )
        table.add(label, "ELBO", elbo, None)
        table.add(label, f"IWAE, K = {s.n_importance:,}", iwae, seconds)
        scores[model.latent_dim] = (elbo, iwae)

    # pictures: samples, reconstructions, an interpolation, the 2-D latent map
    shape = data.image_shape
    S, Z = big.sample(32, random_state=ctx.rng(41), return_latent=True)
    figures.image_grid_panels(
        [
            ("test digits (binarised)", Xte[:32]),
            ("samples x ~ p(x | z), z ~ N(0, I)", S),
            ("their means E[x | z]", big.decode(Z)),
        ],
        ctx.figure_path("vae-samples.png"),
        image_shape=shape,
        vmin=0.0,
        vmax=1.0,
        panel_width=3.2,
    )
    shown = Xte[32:64]
    figures.image_grid_panels(
        [
            ("test digits", shown),
            ("reconstructed, 2-D latent", flat.reconstruct(shown)),
            (f"reconstructed, {s.latent_big}-D latent", big.reconstruct(shown)),
        ],
        ctx.figure_path("vae-reconstructions.png"),
        image_shape=shape,
        vmin=0.0,
        vmax=1.0,
        panel_width=3.2,
    )
    a, b = (int(np.flatnonzero(data.y_test == c)[0]) for c in ENDPOINTS)
    figures.interpolation_strip(
        big.interpolate(Xte[a], Xte[b], STEPS),
        ctx.figure_path("vae-interpolation.png"),
        image_shape=shape,
        start=Xte[a],
        end=Xte[b],
        vmin=0.0,
        vmax=1.0,
    )
    figures.latent_map(
        flat.decode,
        flat.transform(Xte),
        data.y_test,
        ctx.figure_path("vae-latent-map.png"),
        image_shape=shape,
        vmin=0.0,
        vmax=1.0,
    )

    elbo_big, iwae_big = scores[s.latent_big]
    rbm = ctx.cached(RBM_SCORES, dict).get("BernoulliRBM, 64 hidden")
    beside = (
        ""
        if rbm is None
        else f" The Boltzmann section's 64-hidden RBM gives the same images {rbm[0]:.2f} nats."
    )
    body = (
        "<p><b>Variational autoencoders</b> (Kingma &amp; Welling 2014) pair a decoder "
        "network p(x | z), here independent Bernoulli pixels given a latent vector z ~ N(0, "
        "I), with an encoder q(z | x) that guesses which z produced an image. They are "
        "trained on the evidence lower bound (ELBO) on log p(x); the same encoder then "
        "serves as the proposal of an importance-sampling estimate of log p(x) itself "
        "(IWAE, Burda et al. 2016), which <code>score_samples</code> returns, so a VAE sits "
        "in the same table as models with an exact likelihood.</p>"
        f"<p><b>Data.</b> The binarised digits of the Boltzmann section: {n_tr:,} training "
        f"and {n_te} test images of 64 pixels, each pixel on when its value is above "
        f"{THRESHOLD:g} of 16 (half intensity). Two VAEs with MLP encoders and decoders "
        f"({_dims(s.hidden_dims)} hidden units) are trained by Adam: one with a 2-D latent "
        f"space, for {s.epochs_2d} epochs, which can be drawn, and one with a "
        f"{s.latent_big}-D latent space, for {s.epochs_big} epochs. On the test digits the "
        f"{s.latent_big}-D VAE's IWAE estimate ({iwae_big:.2f} nats) lies "
        f"{iwae_big - elbo_big:.2f} nats above its ELBO: part of the bound's gap, which "
        f"importance sampling narrows.{beside}</p>"
    )
    figs = [
        FigureRef(
            "vae-latent-map.png",
            "The 2-D VAE's latent space. Left: E[x | z] decoded on a 15×15 grid of latent "
            "points spanning the prior's central 96% in each coordinate. Right: the posterior "
            "means E[z | x] of the test digits on the same axes, coloured by their true "
            "class, which the VAE never saw: the classes fall into regions of the map that "
            "decode to their shapes.",
            alt="A grid of decoded digits over the 2-D latent plane beside the encoded test "
            "digits coloured by class",
        ),
        FigureRef(
            "vae-samples.png",
            f"Left: binarised test digits. Middle: samples from the {s.latent_big}-D VAE, z "
            "from the prior and then every pixel drawn from its Bernoulli. Right: the same "
            "z's decoded to pixel probabilities E[x | z] (dark is ink).",
            alt="Test digits beside digits sampled from the VAE and their means",
        ),
        FigureRef(
            "vae-reconstructions.png",
            "32 test digits (left) and their reconstructions E[x | z = E[z | x]] by the 2-D "
            f"(middle) and {s.latent_big}-D (right) VAEs: two latent numbers keep the rough "
            "shape, not always the class; sixteen keep most strokes.",
            alt="Test digits beside their reconstructions by the two VAEs",
        ),
        FigureRef(
            "vae-interpolation.png",
            f"From a test {ENDPOINTS[0]} (A, framed) to a test {ENDPOINTS[1]} (B, framed): "
            f"E[x | z] at {STEPS} evenly spaced points on the straight line between their "
            f"codes E[z | x] in the {s.latent_big}-D VAE (t = 0 and t = 1 are the "
            "reconstructions of A and B).",
            alt="An interpolation strip between two test digits",
        ),
    ]
    return Section(
        title="Variational autoencoders on binarised digits",
        body=body,
        figures=figs,
        tables=[table],
        slug="vae",
    )


def _dims(hidden: tuple[int, ...]) -> str:
    return "–".join(str(h) for h in hidden)
