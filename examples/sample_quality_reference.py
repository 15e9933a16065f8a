"""Reference values of the sample-quality metrics on MNIST (docs/results.md, "Sample-quality
metrics (MNIST)"): the test set as reference, scored against sets that are real, degraded
or not digits at all, so that a model's numbers can be read against them.

    python examples/sample_quality_reference.py            # n = 10000, seed 0, 1 thread

Rows: MNIST training images (real data the classifier was trained on, the same number as
the reference); the same images blurred (Gaussian, sigma = 1 pixel); the same images with
Gaussian noise (standard deviation 0.3, clipped to [0, 1]); uniform noise images.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from genmodels.datasets import mnist
from genmodels.metrics import evaluate_samples, mnist_classifier


def degraded_sets(images: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The sets scored: ``images`` (uint8, (n, 28, 28)) as they are, blurred, noisy, and
    uniform noise of the same shape, all in [0, 1]."""
    rng = np.random.default_rng(seed)
    x = images.astype(np.float64) / 255.0
    return {
        "MNIST train": x,
        "train, blurred (sigma 1)": gaussian_filter(x, sigma=(0, 1, 1)),
        "train + noise (sd 0.3)": np.clip(x + rng.normal(0, 0.3, x.shape), 0, 1),
        "uniform noise": rng.random(x.shape),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=10000, help="images per set (reference: MNIST test)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = mnist()
    rng = np.random.default_rng(args.seed)
    test = data["test_images"]
    reference = test[np.sort(rng.choice(len(test), min(args.n, len(test)), replace=False))]
    train = data["train_images"]
    chosen = train[np.sort(rng.choice(len(train), args.n, replace=False))]
    acc = mnist_classifier().score(data["test_images"], data["test_labels"])
    print(f"classifier test accuracy {acc:.4f}; reference: {len(reference)} MNIST test images")
    results = {}
    keys = None
    for name, images in degraded_sets(chosen, args.seed).items():
        t0 = time.perf_counter()
        r = evaluate_samples(images, reference, seed=args.seed)
        results[name] = r
        keys = list(r)
        print(
            f"{name:<26} "
            + "  ".join(f"{k} {v:.4g}" for k, v in r.items())
            + f"  ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    print("\n| set | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for name, r in results.items():
        print(f"| {name} | " + " | ".join(f"{r[k]:.4g}" for k in keys) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": args.n, "seed": args.seed, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
