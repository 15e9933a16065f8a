"""A DCGAN (non-saturating loss) or WGAN-GP on MNIST (issue 13), trained epoch by epoch
with exact resumption from its checkpoint, writing after every epoch a grid of the same
64 latent codes and 1,000 samples for the coverage curve; at the end the model file,
10,000 samples and, where :mod:`genmodels.metrics` has its MNIST classifier, the sample
metrics against the MNIST test set.

    .venv/bin/python examples/gan_mnist.py --loss non-saturating --minutes 20
    .venv/bin/python examples/gan_mnist.py --loss wgan-gp --minutes 20 --out gan-wgan
    .venv/bin/python examples/gan_mnist.py --resume --epochs 12 --minutes 25  # train on

Data: $GENMODELS_DATASETS (default ../shared/datasets)/mnist, pixels / 255 in [0, 1].
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genmodels import GAN
from genmodels.datasets import DatasetNotFound, mnist
from genmodels.figures import save_image_grid


def coverage_curve(out: Path) -> None:
    """Class coverage and the class histogram's distance from uniform of each epoch's
    1,000 saved samples (the same latent codes every epoch), as coverage.png and .json."""
    from matplotlib.figure import Figure

    from genmodels.metrics import class_coverage, class_histogram_distance, mnist_classifier

    files = sorted(out.glob("samples_epoch_*.npy"))
    rows = []
    for f in files:
        probs = mnist_classifier().predict_proba(np.clip(np.load(f), 0, 1))
        rows.append((int(f.stem.rsplit("_", 1)[1]), class_coverage(probs, 10),
                     class_histogram_distance(probs, 10)))  # fmt: skip
    (out / "coverage.json").write_text(json.dumps(rows))
    fig = Figure(figsize=(5, 3), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-", label="class coverage")
    ax.plot([r[0] for r in rows], [r[2] for r in rows], "s--", label="class TV from uniform")
    ax.set(xlabel="epoch", ylim=(-0.02, 1.02), title=f"{out.name}: 1,000 samples per epoch")
    ax.legend()
    fig.savefig(out / "coverage.png", dpi=100)
    print("coverage by epoch:", rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--loss", default="non-saturating", choices=("non-saturating", "hinge", "wgan-gp")
    )
    p.add_argument("--epochs", type=int, default=30, help="at most this many epochs")
    p.add_argument("--minutes", type=float, default=20.0, help="stop after the epoch that passes")
    p.add_argument("--latent-dim", type=int, default=100)
    p.add_argument("--g-channels", type=int, nargs="+", default=[128, 64])
    p.add_argument("--d-channels", type=int, nargs="+", default=[64, 128])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--ema", type=float, default=0.999, help="0 for none")
    p.add_argument("--spectral-norm", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="gan-mnist", help="folder for model, samples, pictures")
    p.add_argument(
        "--resume",
        action="store_true",
        help="train on from the last epoch of --out (its log.json and checkpoint)",
    )
    p.add_argument(
        "--curve-only",
        action="store_true",
        help="only redraw the coverage curve from the saved per-epoch samples",
    )
    args = p.parse_args()
    if args.curve_only:
        coverage_curve(Path(args.out))
        return 0
    torch.set_num_threads(args.threads)
    try:
        data = mnist()
    except DatasetNotFound as e:
        print(e, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X = data["train_images"].reshape(-1, 784) / 255.0
    model = GAN(
        args.latent_dim,
        image_shape=(28, 28),
        generator_channels=tuple(args.g_channels),
        discriminator_channels=tuple(args.d_channels),
        loss=args.loss,
        spectral_norm=args.spectral_norm,
        ema=args.ema or None,
        monitor_classes="mnist",
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=1,
        checkpoint_dir=str(out / "checkpoints"),
        random_state=args.seed,
        verbose=1,
    )
    t0, log, first = time.perf_counter(), [], 1
    if args.resume:  # carry on after the epochs the folder's log and checkpoint hold
        log = json.loads((out / "log.json").read_text())
        first = len(log) + 1
    for epoch in range(first, args.epochs + 1):
        model.set_params(epochs=epoch)
        model.fit(X, resume=epoch > 1)
        elapsed = time.perf_counter() - t0
        grid = model.sample(64, random_state=123).reshape(-1, 28, 28)
        save_image_grid(grid, out / f"epoch_{epoch:02d}.png", 8, f"{args.loss}, epoch {epoch}",
                        vmin=0, vmax=1)  # fmt: skip
        np.save(out / f"samples_epoch_{epoch:02d}.npy", model.sample(1000, random_state=7))
        row = {k: v[-1] for k, v in model.history_.items()}
        row.update(epoch=epoch, minutes=elapsed / 60)
        log.append(row)
        print(json.dumps(row), flush=True)
        (out / "log.json").write_text(json.dumps(log, indent=1))
        if elapsed > 60 * args.minutes:
            break
    model.save(out / "gan.safetensors")
    coverage_curve(out)
    samples = model.sample(10000, random_state=2026)
    np.save(out / "samples_10000.npy", samples.astype(np.float32))
    print(f"trained {len(log)} epochs in {(time.perf_counter() - t0) / 60:.1f} min; "
          f"model and samples in {out}")  # fmt: skip
    try:
        from genmodels.metrics import evaluate_samples
    except ImportError:
        print("genmodels.metrics has no evaluate_samples here; score the samples later")
        return 0
    scores = evaluate_samples(samples, data["test_images"].reshape(-1, 784) / 255.0)
    (out / "metrics.json").write_text(json.dumps(scores, indent=1))
    print(json.dumps(scores, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
