"""Every image model of the project on the same sample-quality metrics (docs/results.md,
"Every image model on the same metrics"): each model is fitted briefly on MNIST (or
loaded from a file), draws the same number of samples, and is scored by
``genmodels.metrics.evaluate_samples`` against the MNIST test set.

    python examples/image_model_table.py --n 5000 --threads 1 \\
        --models "GAN (DCGAN, non-saturating)=/work/runs/gan-ns/gan.safetensors"

Rows: MNIST train images (the ceiling) and the binarized training split (the ceiling for
models of 0/1 pixels); ``GaussianMixture`` (diagonal covariances, on grey pixels in
[0, 1]; its samples clipped to [0, 1]); ``BernoulliRBM`` (PCD-1 on binarized MNIST,
samples by Gibbs chains); ``VAE`` (Bernoulli pixels on binarized MNIST: the likelihood's
draws, and its means as a second row); and each ``--models NAME=PATH`` (any saved model
whose ``sample(n, random_state=...)`` gives MNIST-shaped images, e.g. a GAN). Writes
OUT/table.md, OUT/metrics.json and a 64-sample grid per model (OUT/samples_*.png), and
prints the table. The PixelCNN is not fitted here (one epoch is ~17 min on one thread
and 5,000 samples another ~12 min).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import torch

import genmodels
from genmodels import VAE, BernoulliRBM, GaussianMixture
from genmodels.datasets import binarized_mnist, mnist
from genmodels.figures import image_grid_panels, save_image_grid
from genmodels.metrics import evaluate_samples, mnist_classifier

BUILTIN = ("train", "binarized", "gmm", "rbm", "vae")
COLUMNS = [
    ("fid", "FID", "{:.1f}"),
    ("kid", "KID", "{:,.0f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("density", "density", "{:.3f}"),
    ("coverage", "coverage", "{:.3f}"),
    ("class_coverage", "class coverage", "{:.1f}"),
    ("class_tv", "class TV", "{:.3f}"),
]


def fit_gmm(args, grey):
    model = GaussianMixture(
        args.gmm_components,
        covariance_type="diag",
        max_iter=args.gmm_iter,
        reg_covar=1e-3,
        random_state=args.seed,
    )
    model.fit(grey)
    settings = (
        f"{args.gmm_components} components, diagonal, reg_covar 1e-3, k-means init, "
        f"{model.n_iter_} EM iterations, on 60,000 grey images; samples clipped to [0, 1]"
    )
    return model, settings


def fit_rbm(args, binary):
    model = BernoulliRBM(
        args.rbm_hidden,
        method="pcd",
        n_gibbs_steps=1,
        n_iter=args.rbm_epochs,
        batch_size=100,
        learning_rate=0.05,
        learning_rate_schedule="linear",
        momentum=0.5,
        weight_decay=2e-4,
        dtype="float32",
        random_state=args.seed,
    )
    model.fit(binary)
    settings = (
        f"{args.rbm_hidden} hidden, PCD-1, {args.rbm_epochs} epochs, lr 0.05 linear, "
        f"momentum 0.5, weight decay 2e-4; one Gibbs chain per sample, "
        f"{args.rbm_burn_in:,} sweeps"
    )
    return model, settings


def fit_vae(args, binary):
    model = VAE(
        latent_dim=50,
        hidden_dims=(200, 200),
        activation="tanh",
        likelihood="bernoulli",
        epochs=args.vae_epochs,
        batch_size=100,
        lr=1e-3,
        lr_schedule="cosine",
        random_state=args.seed,
    )
    model.fit(binary)
    settings = (
        f"784-200-200-50 tanh, Bernoulli pixels, ELBO, {args.vae_epochs} epochs, "
        "Adam 1e-3 cosine, batch 100"
    )
    return model, settings


def vae_means(model: VAE, n: int, seed: int) -> np.ndarray:
    """The decoder's pixel means E[x | z] of n prior draws z."""
    z = np.random.default_rng(seed).standard_normal((n, model.latent_dim))
    return model.decode(z)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def markdown(rows: list[dict], n: int) -> str:
    head = "| model | fit | sample | " + " | ".join(c[1] for c in COLUMNS) + " |"
    lines = [head, "|---|---:|---:|" + "---:|" * len(COLUMNS)]
    for r in rows:
        m = r["metrics"]
        cells = [c[2].format(m[c[0]]) for c in COLUMNS]
        fit = "" if r["fit_s"] is None else f"{r['fit_s']:.0f} s"
        lines.append(f"| {r['name']} | {fit} | {r['sample_s']:.0f} s | " + " | ".join(cells) + " |")
    lines.append(
        f"\n{n:,} samples per row against {n:,} MNIST test images; lower is better for FID, "
        "KID and class TV, higher for the rest. Settings:\n"
    )
    lines += [f"* {r['name']}: {r['settings']}" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=5000, help="samples per model (and reference size)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="image-model-table")
    p.add_argument(
        "--models", nargs="*", default=[], metavar="NAME=PATH", help="saved models to sample"
    )
    p.add_argument("--skip", nargs="*", default=[], choices=BUILTIN, help="built-in rows to skip")
    p.add_argument(
        "--append",
        action="store_true",
        help="keep the rows already in OUT (same --n and --seed) and add these",
    )
    p.add_argument("--gmm-components", type=int, default=20)
    p.add_argument("--gmm-iter", type=int, default=100)
    p.add_argument("--rbm-hidden", type=int, default=500)
    p.add_argument("--rbm-epochs", type=int, default=20)
    p.add_argument("--rbm-burn-in", type=int, default=1000)
    p.add_argument("--vae-epochs", type=int, default=20)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    data = mnist()
    binary = binarized_mnist()["train"]
    grey_train = data["train_images"].reshape(-1, 784) / 255.0
    rng = np.random.default_rng(args.seed)
    test = data["test_images"]
    n_ref = min(args.n, len(test))
    reference = test[np.sort(rng.choice(len(test), n_ref, replace=False))] / 255.0
    clf = mnist_classifier()

    rows: list[dict] = []
    grids: list[tuple[str, np.ndarray]] = []
    if args.append and (out / "metrics.json").exists():
        with open(out / "metrics.json") as f:
            old = json.load(f)
        if (old["n"], old["seed"]) != (args.n, args.seed):
            raise SystemExit(f"{out}/metrics.json has n={old['n']}, seed={old['seed']}")
        rows = old["rows"]
        with np.load(out / "grids.npz") as g:
            grids = [(r.get("short") or r["name"], g[f"g{i}"]) for i, r in enumerate(rows)]

    def score(name, settings, samples, fit_s, sample_s, short=None):
        x = np.clip(np.asarray(samples, dtype=np.float64).reshape(-1, 28, 28), 0.0, 1.0)
        if len(x) != args.n:
            raise ValueError(f"{name}: {len(x)} samples, expected {args.n}")
        t0 = time.perf_counter()
        m = evaluate_samples(x, reference, seed=args.seed, classifier=clf)
        eval_s = time.perf_counter() - t0
        row = dict(
            name=name,
            short=short,
            settings=settings,
            fit_s=fit_s,
            sample_s=sample_s,
            eval_s=eval_s,
            metrics=m,
        )
        rows.append(row)
        grids.append((short or name, x[:64]))
        save_image_grid(x[:64], out / f"samples_{slug(name)}.png", ncols=8, vmin=0, vmax=1)
        print(
            f"{name}: "
            + "  ".join(f"{k} {v:.4g}" for k, v in m.items())
            + f"  (fit {fit_s or 0:.0f} s, sample {sample_s:.0f} s, scoring {eval_s:.0f} s)",
            flush=True,
        )
        np.savez_compressed(out / "grids.npz", **{f"g{i}": g for i, (_, g) in enumerate(grids)})
        with open(out / "metrics.json", "w") as f:
            json.dump(
                {"n": args.n, "seed": args.seed, "threads": args.threads, "rows": rows}, f, indent=1
            )

    def timed(fn, *a):
        t0 = time.perf_counter()
        r = fn(*a)
        return r, time.perf_counter() - t0

    pick = np.sort(rng.choice(len(grey_train), args.n, replace=False))
    if "train" not in args.skip:
        score(
            "MNIST train images", f"{args.n:,} drawn from the 60,000", grey_train[pick], None, 0.0
        )
    if "binarized" not in args.skip:
        pick_b = np.sort(rng.choice(len(binary), args.n, replace=False))
        score(
            "binarized MNIST train images",
            f"{args.n:,} drawn from the fixed 50,000-image 0/1 split",
            binary[pick_b],
            None,
            0.0,
            "binarized train",
        )
    if "gmm" not in args.skip:
        (model, settings), fit_s = timed(fit_gmm, args, grey_train)
        x, s = timed(lambda: model.sample(args.n, random_state=args.seed))
        score("GaussianMixture", settings, x, fit_s, s, "GMM")
    if "rbm" not in args.skip:
        (model, settings), fit_s = timed(fit_rbm, args, binary)
        x, s = timed(lambda: model.sample(args.n, burn_in=args.rbm_burn_in, random_state=args.seed))
        score("BernoulliRBM", settings, x, fit_s, s, "RBM")
    if "vae" not in args.skip:
        (model, settings), fit_s = timed(fit_vae, args, binary)
        x, s = timed(lambda: model.sample(args.n, random_state=args.seed))
        score(
            "VAE (pixel draws)",
            settings + "; samples: draws x ~ p(x|z), z ~ N(0, I)",
            x,
            fit_s,
            s,
            "VAE draws",
        )
        x, s = timed(vae_means, model, args.n, args.seed)
        score(
            "VAE (pixel means)",
            "the same VAE; samples: the pixel means E[x|z] (smoother, but not draws of p(x))",
            x,
            None,
            s,
            "VAE means",
        )
    for spec in args.models:
        name, sep, path = spec.partition("=")
        if not sep:
            raise SystemExit(f"--models takes NAME=PATH, got {spec!r}")
        model, load_s = timed(genmodels.load, path)
        x, s = timed(lambda m=model: m.sample(args.n, random_state=args.seed))
        score(name, f"loaded from {path} ({type(model).__name__})", x, None, s)

    table = markdown(rows, args.n)
    (out / "table.md").write_text(table)
    image_grid_panels(
        [(name, g[:16]) for name, g in grids],
        out / "samples_all.png",
        image_shape=(28, 28),
        ncols=4,
        vmin=0,
        vmax=1,
        panel_width=2.1,
    )
    total = time.perf_counter() - t_start
    print("\n" + table)
    print(f"total {total / 60:.1f} min on {args.threads} thread(s); wrote {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
