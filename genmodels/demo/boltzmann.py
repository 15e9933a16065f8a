"""The Boltzmann machine section: RBMs on the binarised 8x8 digits — learned filters, Gibbs
samples, and held-out log-likelihoods (exact, and AIS checked against exact) beside the
other models that give a probability to the same binary images."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .. import figures
from ..boltzmann import BernoulliRBM
from ..naive_bayes import BernoulliNB
from .core import Context, FigureRef, Section, Table, fit_timed
from .data import digits

logger = logging.getLogger("genmodels")

THRESHOLD = 8.0  # a pixel is "on" when its value is above this (as the naive Bayes section)
#: ``ctx.cached`` key of the RBMs' held-out log p(x) on the binarised test digits, for
#: later sections that score the same images: {row name: (nats per digit, how Z was found)}.
RBM_SCORES = "binarised-digits-rbm-heldout"


@dataclass(frozen=True)
class Settings:
    epochs: int
    ais_betas: int
    burn_in: int


FULL = Settings(epochs=200, ais_betas=10000, burn_in=1000)
QUICK = Settings(epochs=40, ais_betas=1000, burn_in=200)


def boltzmann_section(ctx: Context) -> Section:
    s = QUICK if ctx.quick else FULL
    data = digits(ctx)
    Xtr = (data.X_train > THRESHOLD).astype(float)
    Xte = (data.X_test > THRESHOLD).astype(float)
    n_tr, n_te = len(Xtr), len(Xte)
    seed = 0 if ctx.random_state is None else ctx.random_state

    def rbm(hidden: int) -> BernoulliRBM:
        return BernoulliRBM(
            hidden,
            learning_rate=0.05,
            batch_size=20,
            n_iter=s.epochs,
            momentum=0.5,
            learning_rate_schedule="linear",
            ais_betas=s.ais_betas,
            random_state=seed,
        )

    small, big = rbm(16), rbm(64)
    t_small = fit_timed(small, Xtr)
    t_big = fit_timed(big, Xtr)
    nb = BernoulliNB(binarize=None).fit(Xtr, data.y_train)
    p = np.clip(Xtr.mean(0), 1e-3, 1 - 1e-3)  # independent pixels, the base-rate model

    exact_small = small.log_partition("exact")
    ais_small = small.log_partition("ais", n_betas=s.ais_betas, random_state=seed)
    ais_big = big.log_partition("ais", n_betas=s.ais_betas, random_state=seed)
    neg_f_small = float(-small.free_energy(Xte).mean())
    neg_f_big = float(-big.free_energy(Xte).mean())

    table = Table(
        name="rbm-loglik",
        caption=(
            f"Held-out log-likelihood of the {n_te} binarised test digits (pixel > "
            f"{THRESHOLD:g}), in nats per digit (higher is better); every row is a "
            f"probability over the same 2^64 binary images. The RBMs' log Z: exact by "
            f"summing over all 2^16 hidden states, or annealed importance sampling (100 runs, "
            f"{s.ais_betas:,} temperatures; ± is 3 standard errors). Fit: seconds, one thread."
        ),
        columns=["model", "log Z", "log p(x), nats per digit", "±", "fit (s)"],
        formats=[None, None, "{:.2f}", "{:.2f}", "{:.2f}"],
    )
    table.add(
        "independent pixels (base rates)",
        "—",
        float(np.mean(Xte @ np.log(p) + (1 - Xte) @ np.log1p(-p))),
        None,
        None,
    )
    table.add("BernoulliNB (uses the labels)", "—", float(nb.score(Xte)), None, None)
    table.add("BernoulliRBM, 16 hidden", "exact", neg_f_small - exact_small.value, None, t_small)
    table.add(
        "BernoulliRBM, 16 hidden",
        "AIS",
        neg_f_small - ais_small.value,
        0.5 * (ais_small.upper - ais_small.lower),
        None,
    )
    table.add(
        "BernoulliRBM, 64 hidden",
        "AIS",
        neg_f_big - ais_big.value,
        0.5 * (ais_big.upper - ais_big.lower),
        t_big,
    )
    ctx.cached(RBM_SCORES, dict).update(
        {
            "BernoulliRBM, 16 hidden": (neg_f_small - exact_small.value, "exact log Z"),
            "BernoulliRBM, 64 hidden": (neg_f_big - ais_big.value, "AIS log Z"),
        }
    )
    logger.info(
        "demo: RBM 16 hidden: exact log Z %.3f, AIS %.3f; 64 hidden: log p(x) %.2f",
        exact_small.value,
        ais_small.value,
        neg_f_big - ais_big.value,
    )

    samples = big.sample(32, burn_in=s.burn_in, random_state=ctx.rng(31))
    filters = big.components_
    scale = float(np.abs(filters).max())
    figures.image_grid_panels(
        [("test digits (binarised)", Xte[:32]), (f"Gibbs samples ({s.burn_in:,} sweeps)", samples)],
        ctx.figure_path("rbm-samples.png"),
        image_shape=data.image_shape,
        vmin=0.0,
        vmax=1.0,
    )
    figures.image_grid_panels(
        [("filters (weights of 32 hidden units)", filters[:32])],
        ctx.figure_path("rbm-filters.png"),
        image_shape=data.image_shape,
        vmin=-scale,
        vmax=scale,
        cmap="RdBu_r",
    )
    gap = abs(ais_small.value - exact_small.value)
    body = (
        "<p><b>Restricted Boltzmann machines</b> model binary images with a layer of binary "
        "hidden units: p(v, h) ∝ exp(b·v + c·h + hᵀWv). Their likelihood needs the partition "
        "function Z, a sum over every joint state, which is why most libraries report a "
        "pseudo-likelihood instead. genmodels computes log Z exactly when a layer has at most "
        "20 units and otherwise estimates it by annealed importance sampling "
        "(Salakhutdinov &amp; Murray 2008), with its uncertainty, so <code>score_samples"
        "</code> is an honest log p(x).</p>"
        f"<p><b>Data.</b> The digits of the other sections, binarised: {n_tr:,} training "
        f"and {n_te} test images of 64 pixels. Both RBMs are trained by persistent CD for "
        f"{s.epochs} epochs. On the 16-hidden RBM, AIS lands {gap:.3f} nats from the exact "
        f"log Z.</p>"
    )
    figs = [
        FigureRef(
            "rbm-samples.png",
            f"Left: binarised test digits. Right: samples from the 64-hidden RBM, each the "
            f"state of a Gibbs chain after {s.burn_in:,} sweeps (started from the training "
            f"chains' states). Dark is ink.",
            alt="Binarised test digits beside digits sampled from the RBM",
        ),
        FigureRef(
            "rbm-filters.png",
            "The weights from 32 of the 64 hidden units to the 8×8 pixels (red positive, "
            "blue negative): most units respond to a stroke-shaped region of the image.",
            alt="RBM weight filters as 8x8 images",
        ),
    ]
    return Section(
        title="Boltzmann machines on binarised digits",
        body=body,
        figures=figs,
        tables=[table],
        slug="boltzmann",
    )
