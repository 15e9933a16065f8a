"""A VAE on the fixed binarized-MNIST split, scored as Burda et al. (2016) score theirs:
test negative log-likelihood from 5,000 importance samples per image.

The network is theirs for one stochastic layer: 784-200-200-50, tanh, Bernoulli pixels
(they report 86.76 nats for the VAE trained on the ELBO, after 3,280 passes with
batches of 20). Trains on the 50,000 training images with Adam and a cosine learning-rate
schedule, watches the ELBO of the 10,000 validation images every epoch (early stopping
keeps the best weights), checkpoints every 10 epochs (kill it and run the same command
with --resume to carry on), then reports train/valid/test IWAE NLLs and writes samples,
reconstructions and an interpolation strip as pictures.

Data come from $GENMODELS_DATASETS (default ../shared/datasets). Run:

    .venv/bin/python examples/vae_mnist.py --epochs 600 --threads 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import genmodels
from genmodels import VAE
from genmodels.datasets import DatasetNotFound, binarized_mnist
from genmodels.figures import image_grid_panels, save_image_grid


def pictures(model: VAE, test: np.ndarray, out: Path, seed: int) -> None:
    """Samples, reconstructions and an interpolation strip. The split's test images are
    ordered by class, so the pictures take them spread over the split."""
    z = np.random.RandomState(seed).randn(64, model.latent_dim)
    save_image_grid(
        model.decode(z).reshape(-1, 28, 28),
        out / "samples.png",
        ncols=8,
        vmin=0,
        vmax=1,
        title="VAE: decoded prior samples (pixel means)",
    )
    spread = test[:: len(test) // 32][:32]
    image_grid_panels(
        [("test digits", spread), ("reconstructions", model.reconstruct(spread))],
        out / "reconstructions.png",
        image_shape=(28, 28),
        vmin=0,
        vmax=1,
    )
    a, b = spread[3], spread[-3]
    strip = model.interpolate(a, b, steps=10)
    save_image_grid(
        np.concatenate([a[None], strip, b[None]]).reshape(-1, 28, 28),
        out / "interpolation.png",
        ncols=12,
        vmin=0,
        vmax=1,
        title="two test digits (ends) and the decoded path between their latent means",
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--latent", type=int, default=50)
    p.add_argument("--hidden", type=int, nargs="+", default=[200, 200])
    p.add_argument("--activation", default="tanh")
    p.add_argument("--objective", choices=("elbo", "iwae"), default="elbo")
    p.add_argument("--k", type=int, default=1, help="samples per row in training")
    p.add_argument("--patience", type=int, default=100, help="early stopping, in epochs")
    p.add_argument("--importance", type=int, default=5000, help="IWAE samples for the NLL")
    p.add_argument(
        "--test-rows", type=int, default=10000, help="test images scored with --importance"
    )
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--pictures-only", action="store_true", help="redraw the pictures of OUT/vae.safetensors"
    )
    p.add_argument("--out", default="vae-mnist", help="folder for model, checkpoint, pictures")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        data = binarized_mnist()
    except DatasetNotFound as e:
        print(e, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.pictures_only:
        pictures(genmodels.load(out / "vae.safetensors"), data["test"], out, args.seed)
        return 0
    model = VAE(
        latent_dim=args.latent,
        hidden_dims=tuple(args.hidden),
        activation=args.activation,
        objective=args.objective,
        n_train_samples=args.k,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule=args.schedule,
        early_stopping=args.patience,
        checkpoint_dir=str(out / "checkpoint"),
        checkpoint_every=10,
        random_state=args.seed,
        verbose=1,
    )
    t0 = time.perf_counter()
    model.fit(data["train"], validation_data=data["valid"], resume=args.resume)
    train_s = time.perf_counter() - t0
    model.save(out / "vae.safetensors")
    h = model.history_
    print(
        f"\n{model.n_epochs_} epochs in {train_s / 60:.1f} min this run "
        f"({np.median(h['epoch_time']):.1f} s/epoch); best validation ELBO "
        f"{-min(h['val_loss']):.2f} at epoch {model.best_epoch_}"
    )
    results = {
        "epochs": model.n_epochs_,
        "best_epoch": model.best_epoch_,
        "train_s_this_run": train_s,
        "train_s_all_runs": float(sum(h["epoch_time"])),  # resumed runs included
    }
    # The test NLL with the paper's 5,000 samples; train and valid with fewer (cheaper).
    for split, k, n in (
        ("test", args.importance, args.test_rows),
        ("valid", 500, 10000),
        ("train", 500, 10000),
    ):
        t0 = time.perf_counter()
        rows = data[split][:n]
        ll = model.score_samples(rows, n_importance=k, random_state=1)
        se = ll.std(ddof=1) / np.sqrt(len(ll))
        results[f"{split}_nll_k{k}"] = float(-ll.mean())
        print(
            f"{split} NLL (IWAE, k={k:,}, {len(rows):,} images): {-ll.mean():.2f} +- {se:.2f} nats "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    elbo = model.score_samples(data["test"], n_importance=1, random_state=1)
    results["test_neg_elbo"] = float(-elbo.mean())
    print(f"test -ELBO (one sample): {-elbo.mean():.2f} nats")
    (out / "results.json").write_text(json.dumps(results, indent=2))

    pictures(model, data["test"], out, args.seed)
    print(
        f"wrote {out}/vae.safetensors, results.json, samples.png, reconstructions.png, "
        "interpolation.png"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
