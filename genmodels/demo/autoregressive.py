"""The autoregressive section: PixelCNN and PixelRNN on the binarised 8x8 digits (exact
held-out log-likelihoods beside the other models of the same images, samples, and the
lower halves of test digits inpainted given their upper halves), and a character
transformer on a sonnet (completions at two temperatures)."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

import numpy as np

from .. import figures
from ..autoregressive import PixelCNN, PixelRNN, Transformer
from .boltzmann import RBM_SCORES, THRESHOLD
from .core import Context, FigureRef, Section, Table, fit_timed
from .data import digits

logger = logging.getLogger("genmodels")

#: Shakespeare's Sonnet 18 (1609, public domain): the transformer's text.
SONNET = """Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.
"""

PROMPT = "Shall I compare thee"


@dataclass(frozen=True)
class Settings:
    pixel_epochs: int
    channels: int
    text_epochs: int


FULL = Settings(pixel_epochs=60, channels=32, text_epochs=150)
QUICK = Settings(pixel_epochs=4, channels=16, text_epochs=15)


def autoregressive_section(ctx: Context) -> Section:
    s = QUICK if ctx.quick else FULL
    data = digits(ctx)
    Xtr = (data.X_train > THRESHOLD).astype(float)
    Xte = (data.X_test > THRESHOLD).astype(float)
    seed = 0 if ctx.random_state is None else ctx.random_state
    common = dict(
        channels=s.channels, kernel_size=3, epochs=s.pixel_epochs, batch_size=64, random_state=seed
    )
    pcnn = PixelCNN(n_layers=5, head_channels=2 * s.channels, **common)
    prnn = PixelRNN(n_layers=2, head_channels=2 * s.channels, **common)
    seconds = {m: fit_timed(m, Xtr) for m in (pcnn, prnn)}

    table = Table(
        name="autoregressive-loglik",
        caption=(
            f"Held-out log-likelihood of the {len(Xte)} binarised test digits, in nats per "
            "digit (higher is better), exact for both models (a product of 64 conditionals), "
            "with bits per pixel; the Boltzmann section's models of the same images beside "
            "them. Fit: seconds, one thread."
        ),
        columns=["model", "log p(x), nats per digit", "bits per pixel", "fit (s)"],
        formats=[None, "{:.2f}", "{:.3f}", "{:.1f}"],
    )
    for label, model in (
        (f"PixelCNN, 5 gated layers x {s.channels}", pcnn),
        (f"PixelRNN, 2 Row LSTM layers x {s.channels}", prnn),
    ):
        ll = float(np.mean(model.score_samples(Xte)))
        table.add(label, ll, -ll / 64 / np.log(2), seconds[model])
        logger.info("demo: %s: held-out %.2f nats per digit", label, ll)
    for name, (value, how) in ctx.cached(RBM_SCORES, dict).items():
        table.add(f"{name} (Boltzmann section, {how})", value, -value / 64 / np.log(2), None)

    shape = data.image_shape
    figures.image_grid_panels(
        [
            ("test digits (binarised)", Xte[:32]),
            ("PixelCNN samples", pcnn.sample(32, random_state=ctx.rng(51).randint(2**31))),
            ("PixelRNN samples", prnn.sample(32, random_state=ctx.rng(52).randint(2**31))),
        ],
        ctx.figure_path("autoregressive-samples.png"),
        image_shape=shape,
        vmin=0.0,
        vmax=1.0,
        panel_width=3.2,
    )
    shown = Xte[:16]
    top = shown.copy()
    top[:, 32:] = 0.5  # the hidden lower half, drawn grey
    figures.image_grid_panels(
        [
            ("test digits", shown),
            ("the top halves given", top),
            ("PixelCNN's lower halves", pcnn.inpaint(shown, 4, random_state=seed)),
            ("again, other draws", pcnn.inpaint(shown, 4, random_state=seed + 1)),
        ],
        ctx.figure_path("autoregressive-inpainting.png"),
        image_shape=shape,
        ncols=4,
        vmin=0.0,
        vmax=1.0,
        panel_width=2.2,
    )

    gpt = Transformer(
        n_layers=2,
        n_heads=4,
        d_model=64,
        block_size=64,
        epochs=s.text_epochs,
        batch_size=8,
        lr=3e-3,
        warmup_steps=10,
        random_state=seed,
    )
    t_gpt = fit_timed(gpt, SONNET)
    texts = {t: gpt.complete(PROMPT, 160, temperature=t, random_state=seed)[0] for t in (0.5, 1.0)}
    bpc = gpt.bits_per_token(SONNET)
    samples = "".join(
        f"<p>temperature {t:g}:</p><pre>{html.escape(text)}</pre>" for t, text in texts.items()
    )
    body = (
        "<p><b>Autoregressive models</b> write p(x) as a product of one conditional per "
        "pixel (or character) given those before it, so the log-likelihood is exact and "
        "sampling draws one pixel at a time. <b>PixelCNN</b> (van den Oord et al. 2016, "
        "the gated version with a vertical and a horizontal stack, so no pixel above or to "
        "the left is missed) computes every conditional with masked convolutions; "
        "<b>PixelRNN</b>'s Row LSTM runs an LSTM down the rows. Both sample with a row "
        "cache that gives the same images as recomputing the whole network per pixel.</p>"
        f"<p><b>Data.</b> The binarised digits of the Boltzmann section ({len(Xtr):,} "
        f"training and {len(Xte)} test images of 8 x 8 pixels), trained by Adam for "
        f"{s.pixel_epochs} epochs.</p>"
        "<p><b>Text.</b> A 2-layer character transformer trained on Shakespeare's Sonnet "
        f"18 ({len(SONNET)} characters, {s.text_epochs} epochs, {t_gpt:.0f} s) gives the "
        f"sonnet {bpc:.2f} bits per character{_reading(bpc)} (a model of English needs a "
        "corpus: examples/shakespeare_transformer.py trains on tiny Shakespeare). Its "
        f"completions of “{PROMPT}”:</p>{samples}"
    )
    figs = [
        FigureRef(
            "autoregressive-samples.png",
            "Binarised test digits (left) beside 32 digits drawn from the PixelCNN (middle) "
            "and the PixelRNN (right), pixel by pixel in raster order.",
            alt="Test digits beside digits sampled from PixelCNN and PixelRNN",
        ),
        FigureRef(
            "autoregressive-inpainting.png",
            "Inpainting: the top four rows of 16 test digits are given (second panel; the "
            "hidden half grey), and the PixelCNN draws the lower four rows given them, twice "
            "(third and fourth panels).",
            alt="Test digits, their top halves, and lower halves completed by PixelCNN",
        ),
    ]
    return Section(
        title="Autoregressive models: PixelCNN, PixelRNN and a character transformer",
        body=body,
        figures=figs,
        tables=[table],
        slug="autoregressive",
    )


def _reading(bits_per_character: float) -> str:
    if bits_per_character < 0.5:
        return ": it has learnt the poem by heart, not English"
    if bits_per_character < 2.0:
        return ": it has learnt much of the poem, and no English beyond it"
    return ": too little training to learn even the poem"
