"""Train the MNIST domain classifier that genmodels ships for its sample-quality metrics
(``genmodels.metrics.mnist_classifier``) and write it as a safetensors file.

    python examples/train_mnist_classifier.py            # writes the shipped file
    python examples/train_mnist_classifier.py --epochs 2 -o /tmp/clf.safetensors

Trains on the 60,000 official MNIST training images only (Adam, cosine learning rate, random
shifts of up to 2 pixels), then measures accuracy on the 10,000 test images and records it,
the command and the input convention in the file's JSON metadata. One thread by default.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np
import torch
from torch import nn

from genmodels.datasets import mnist
from genmodels.metrics._classifier import WEIGHTS, MnistNet, load_classifier, save_classifier


def shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Every image of ``x`` (B, 1, 28, 28) translated by its own random offset of up to
    ``max_shift`` pixels in each direction (zeros shifted in)."""
    if max_shift == 0:
        return x
    b = x.shape[0]
    p = max_shift
    padded = nn.functional.pad(x, (p, p, p, p))  # (B, 1, 28 + 2p, 28 + 2p)
    dx = torch.randint(0, 2 * p + 1, (b,), generator=gen)
    dy = torch.randint(0, 2 * p + 1, (b,), generator=gen)
    rows = (dy[:, None] + torch.arange(28)[None, :])[:, :, None]  # (B, 28, 1)
    cols = (dx[:, None] + torch.arange(28)[None, :])[:, None, :]  # (B, 1, 28)
    idx_b = torch.arange(b)[:, None, None]  # (B, 1, 1)
    return padded[:, 0][idx_b, rows, cols].unsqueeze(1)  # (B, 1, 28, 28)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-shift", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("-o", "--output", default=str(WEIGHTS))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    data = mnist()
    x_train = torch.from_numpy(np.array(data["train_images"])).float().div_(255).unsqueeze(1)
    y_train = torch.from_numpy(data["train_labels"]).long()
    n = len(x_train)
    net = MnistNet()
    steps = args.epochs * ((n + args.batch_size - 1) // args.batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, args.batch_size):
            idx = perm[i : i + args.batch_size]
            xb = shift(x_train[idx], args.max_shift, gen)
            loss = loss_fn(net(xb), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(
            f"epoch {epoch + 1}/{args.epochs}: train loss {total / n:.4f} "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    seconds = time.perf_counter() - t0
    net.eval()
    from genmodels.metrics._classifier import MnistClassifier

    acc = MnistClassifier(net, {}).score(data["test_images"], data["test_labels"])
    command = "python examples/train_mnist_classifier.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    meta = {
        "test_accuracy": acc,
        "test_set": "MNIST official test split (10000 images)",
        "train_set": "MNIST official training split (60000 images)",
        "training_command": command.strip(),
        "training_seconds": round(seconds, 1),
        "threads": args.threads,
        "epochs": args.epochs,
        "seed": args.seed,
        "torch_version": torch.__version__,
    }
    save_classifier(net, args.output, meta)
    check = load_classifier(args.output)  # the file reads back and agrees
    agree = np.mean(
        check.predict(data["test_images"][:2000])
        == net(torch.from_numpy(data["test_images"][:2000]).float().div(255).unsqueeze(1))
        .argmax(1)
        .numpy()
    )
    print(f"test accuracy {acc:.4f}; training {seconds:.0f} s on {args.threads} thread(s)")
    print(f"wrote {args.output} (reload agrees on {agree:.4f} of 2000 test images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
