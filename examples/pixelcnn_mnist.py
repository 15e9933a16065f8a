"""A gated PixelCNN, or a PixelRNN (``--model row-lstm|diagonal-bilstm``), on the fixed
binarized-MNIST split (issue 14), scored the way the
PixelCNN and PixelRNN papers score theirs: the exact test negative log-likelihood in nats
per image (van den Oord et al. 2016: PixelCNN 81.30, Diagonal BiLSTM 79.20; the project's
RBM 86.15 and VAE 89.56 on the same split, docs/results.md).

Trains on the 50,000 training images, reports the validation loss every epoch (nats per
pixel, x 784 for per image), checkpoints every epoch (``--out``/checkpoints, exact resume
with ``--resume``), then writes the exact test NLL, a grid of samples (row-cached
generation) and the inpainting of the lower halves of test digits.

    .venv/bin/python examples/pixelcnn_mnist.py                      # the 2-hour CPU recipe
    .venv/bin/python examples/pixelcnn_mnist.py --layers 12 --channels 64 --epochs 60
    .venv/bin/python examples/pixelcnn_mnist.py --model diagonal-bilstm --layers 2 --channels 16

Data: $GENMODELS_DATASETS (default ../shared/datasets)/binarized_mnist.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genmodels import PixelCNN, PixelRNN
from genmodels.datasets import DatasetNotFound, binarized_mnist
from genmodels.figures import save_image_grid


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model", choices=("pixelcnn", "row-lstm", "diagonal-bilstm"), default="pixelcnn"
    )
    p.add_argument("--layers", type=int, default=7)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--kernel", type=int, default=5, help="PixelCNN's (PixelRNN: 3)")
    p.add_argument("--head", type=int, default=64)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--precision", default="bfloat16", help="autocast dtype (float32 to turn off)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-rows", type=int, default=None, help="a subset, for a quick try")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--out", default="pixelcnn-mnist", help="folder for the model and pictures")
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
    train = data["train"][: args.train_rows]
    if args.model == "pixelcnn":
        arch = dict(kernel_size=args.kernel)
        cls = PixelCNN
    else:
        arch = dict(layer="row" if args.model == "row-lstm" else "diagonal", kernel_size=3)
        cls = PixelRNN
    model = cls(
        args.layers,
        args.channels,
        **arch,
        head_channels=args.head,
        image_shape=(28, 28),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule=args.schedule,
        mixed_precision=args.precision,
        checkpoint_dir=str(out / "checkpoints"),
        random_state=args.seed,
        verbose=1,
    )
    t0 = time.perf_counter()
    model.fit(train, validation_data=data["valid"][:2000], resume=args.resume)
    train_s = time.perf_counter() - t0
    model.save(out / f"{args.model}.safetensors")
    t1 = time.perf_counter()
    test_nll = -float(np.mean(model.score_samples(data["test"])))
    score_s = time.perf_counter() - t1
    train_nll = -float(np.mean(model.score_samples(train[:2000])))
    t2 = time.perf_counter()
    samples = model.sample(64, random_state=0)
    sample_s = time.perf_counter() - t2
    save_image_grid(samples.reshape(-1, 28, 28), out / "samples.png", 8, f"{args.model} samples")
    half = model.inpaint(data["test"][:16], 14, random_state=0)
    pairs = np.concatenate([data["test"][:16], half]).reshape(-1, 28, 28)
    save_image_grid(pairs, out / "inpainting.png", 16, "test digits / lower halves inpainted")
    result = {
        "recipe": {k: v for k, v in vars(args).items() if k not in ("out", "resume")},
        "n_params": sum(t.numel() for t in model.module_.parameters()),
        "train_seconds": round(train_s, 1),
        "epochs": model.n_epochs_,
        "val_nats_per_image_by_epoch": [round(v * 784, 2) for v in model.history_["val_loss"]],
        "test_nll_nats": round(test_nll, 2),
        "train_nll_nats_2000": round(train_nll, 2),
        "score_seconds_10k": round(score_s, 1),
        "sample_seconds_64": round(sample_s, 1),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result, indent=2))
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
