"""``genmodels evaluate MODEL_FILE``: sample-quality metrics of a model that samples
MNIST-shaped images (784 pixels in [0, 1]), against MNIST's test or training images or a
.npy file, through the shipped domain classifier (:mod:`genmodels.metrics`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .common import CommandError, add_verb, load_model, num, print_rows

REFERENCES = ("mnist-test", "mnist-train")

#: What each result key means, for the printed table.
DESCRIPTIONS = {
    "fid": "domain Frechet distance (classifier features; not Inception-FID), lower is better",
    "kid": "kernel distance, unbiased MMD^2 (cubic kernel), lower is better",
    "kid_std": "its standard deviation over subsets",
    "precision": "fraction of samples on the reference's manifold (k=3)",
    "recall": "fraction of the reference on the samples' manifold (k=3)",
    "density": "reference neighbourhoods per sample / k (k=5; about 1 when alike)",
    "coverage": "fraction of reference neighbourhoods with a sample (k=5)",
    "class_coverage": "fraction of the 10 digits given at least half a fair share",
    "class_tv": "total variation between the predicted-digit histograms",
}


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "evaluate",
        "sample-quality metrics (domain FID, KID, precision/recall, density/coverage, class "
        "coverage) of a model that samples 28x28 images, against MNIST",
        run,
        "genmodels evaluate gan.safetensors --metrics fid,kid,pr,coverage --reference mnist-test",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument(
        "--metrics",
        default="fid,kid,pr,dc,classes",
        metavar="M,M,...",
        help="comma-separated: fid, kid, pr (precision and recall), dc or coverage (density "
        "and coverage), classes (class coverage and histogram distance); default all",
    )
    p.add_argument(
        "--reference",
        default="mnist-test",
        metavar="REF",
        help="mnist-test (default), mnist-train, or a .npy file of (N, 28, 28) or (N, 784) "
        "images in [0, 1] (or uint8 0-255); more than -n images: -n of them at random",
    )
    p.add_argument(
        "-n", "--n-samples", type=int, default=10000, help="samples to draw (default 10000)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the draw, the reference subset and KID"
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="divide the samples by this first (255 for a model fitted on 0-255 pixels)",
    )
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")


def read_reference(text: str) -> np.ndarray:
    """The reference images named by ``--reference``."""
    if text in REFERENCES:
        from ..datasets import mnist

        return mnist()["test_images" if text == "mnist-test" else "train_images"]
    path = Path(text)
    if path.suffix.lower() != ".npy":
        raise CommandError(
            f"--reference must be {', '.join(REFERENCES)} or a .npy file, got {text!r}"
        )
    return np.load(path, allow_pickle=False)


def draw(model, n: int, seed: int) -> np.ndarray:
    """``n`` samples of ``model`` as an ``(n, D)`` array; a model fitted conditioned on
    class labels gives equal numbers (within one) of every class, in turn."""
    name = type(model).__name__
    if model.capabilities.sequential:
        raise CommandError(
            f"{name} samples sequences, not images: evaluate needs a model of 28x28 images"
        )
    width = getattr(model, "n_features_in_", None)
    if width is not None and width != 784:
        raise CommandError(
            f"{name} was fitted on {width} features per sample; evaluate scores MNIST-shaped "
            "images (784 = 28x28 pixels) with the MNIST domain classifier"
        )
    classes = getattr(model, "classes_", None)
    if classes is not None and not model.capabilities.supervised:
        counts = np.bincount(np.arange(n) % len(classes), minlength=len(classes))
        parts = [
            np.asarray(model.sample(int(c), y=label, random_state=seed + i), dtype=np.float64)
            for i, (label, c) in enumerate(zip(classes, counts, strict=True))
            if c > 0
        ]
        X = np.concatenate([p.reshape(len(p), -1) for p in parts])
    else:
        X = np.asarray(model.sample(n, random_state=seed), dtype=np.float64)
        X = X.reshape(len(X), -1)
    if X.shape[1] != 784:
        raise CommandError(
            f"{name} samples {X.shape[1]} features per sample; evaluate scores MNIST-shaped "
            "images (784 = 28x28 pixels) with the MNIST domain classifier"
        )
    return X


def run(args: argparse.Namespace) -> int:
    """Draw the samples, compute the metrics, print them (or their JSON)."""
    from ..metrics import evaluate_samples
    from ..metrics._evaluate import metric_groups

    try:
        metric_groups(args.metrics)
    except ValueError as exc:
        raise CommandError(f"--metrics: {exc}") from None
    if args.n_samples < 10:
        raise CommandError(f"-n must be at least 10 samples, got {args.n_samples}")
    if not args.scale > 0:
        raise CommandError(f"--scale must be positive, got {args.scale}")
    model = load_model(args.model_file)
    X = draw(model, args.n_samples, args.seed) / args.scale  # a wrong-shaped model first
    reference = read_reference(args.reference)
    n_ref = len(reference)
    if n_ref > args.n_samples:
        rng = np.random.default_rng(args.seed)
        reference = reference[np.sort(rng.choice(n_ref, args.n_samples, replace=False))]
    results = evaluate_samples(X, reference, args.metrics, seed=args.seed)
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(args.model_file),
                    "reference": args.reference,
                    "n_samples": len(X),
                    "n_reference": len(reference),
                    "seed": args.seed,
                    **results,
                }
            )
        )
        return 0
    print(
        f"{type(model).__name__}: {len(X)} samples against {len(reference)} images of "
        f"{args.reference} (seed {args.seed}), on the MNIST classifier's features"
    )
    width = max(len(num(v)) for v in results.values())
    print_rows([(k, f"{num(v):<{width}}  {DESCRIPTIONS[k]}") for k, v in results.items()])
    return 0
