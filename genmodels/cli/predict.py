"""``genmodels predict MODEL_FILE DATA``: what a model infers about each row, as its
capabilities declare (``prediction``): classes or mixture components with their
probabilities, hidden units' probabilities (Boltzmann machines) or latent codes (VAEs)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import tables
from .common import (
    ACTIVE_VARIANCE,
    CommandError,
    add_column_options,
    add_data_argument,
    add_verb,
    load_model,
    model_rows,
    num,
    print_rows,
)

if TYPE_CHECKING:
    from ..base import GenerativeModel


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "predict",
        "predicted classes (or components) and their probabilities for data; for Boltzmann "
        "machines the hidden units' probabilities; for VAEs the latent codes",
        run,
        "genmodels predict nb.safetensors test.csv --target label -o predictions.csv",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    add_data_argument(p)
    p.add_argument(
        "--target",
        metavar="COLUMN",
        help="a column of true labels in DATA: left out of the features, used for accuracy",
    )
    p.add_argument(
        "--labels",
        metavar="FILE",
        help="true labels from a file beside DATA, one per row (.npy, .txt, one-column .csv)",
    )
    add_column_options(p)
    p.add_argument(
        "-o",
        "--output",
        help="write predictions and probabilities to this CSV (Boltzmann machines: columns "
        "p_h0, p_h1, ... = p(h_j = 1 | x); VAEs: columns z0, z1, ... = E[z | x]; to a .csv "
        "or .npy)",
    )


def run(args: argparse.Namespace) -> int:
    """Classes (classifiers) or components (mixtures) with their probabilities, and accuracy
    when the true labels are given; hidden units and latent codes elsewhere."""
    model = load_model(args.model_file)
    caps = model.capabilities
    name = type(model).__name__
    if caps.sequential:
        raise CommandError(
            f"{name} is a sequence model: use genmodels decode for the hidden state of every frame"
        )
    if caps.prediction == "none":
        raise CommandError(
            f"{name} has nothing to predict: it declares no classes, mixture components, "
            "hidden units or latent codes"
        )
    if args.labels is not None and args.target is not None:
        raise CommandError("give the true labels once: --target COLUMN or --labels FILE")
    X, y = model_rows(model, args.data, args, args.target)
    if args.labels is not None:
        y = tables.load_labels(args.labels, X.shape[0])
    if caps.prediction == "hidden_units":
        return _predict_hidden_units(model, X, args)
    if caps.prediction == "embedding":
        return _predict_embedding(model, X, y, args)
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    supervised = caps.prediction == "class"
    labels = np.asarray(model.classes_) if supervised else np.arange(proba.shape[1])
    predicted = labels[proba.argmax(1)]
    what = "class" if supervised else "component"
    if args.output:
        write_predictions(args.output, what, predicted, labels, proba)
    values, counts = np.unique(predicted.astype(str), return_counts=True)
    rows = [
        (f"{what} {v}", f"{c} ({c / len(predicted):.1%})")
        for v, c in zip(values, counts, strict=True)
    ]
    if y is not None and supervised:
        rows.append(("accuracy", f"{np.mean(predicted.astype(str) == y.astype(str)):.4f}"))
    print(f"predicted {what} of {len(predicted)} samples")
    print_rows(rows)
    if args.output:
        print(f"wrote predictions to {args.output}")
    return 0


def _predict_hidden_units(model: GenerativeModel, X: np.ndarray, args: argparse.Namespace) -> int:
    """``predict`` for a model whose latent variables are binary hidden units (an RBM): no
    label per row but p(h_j = 1 | x) for every unit j, written as columns ``p_h0, p_h1, ...``
    (``model.transform``)."""
    name = type(model).__name__
    proba = np.asarray(model.transform(X), dtype=np.float64)
    n, units = proba.shape
    if units == 0:
        raise CommandError(f"{name} has no hidden units (n_components=0): nothing to predict")
    if args.output:
        tables.save_table(args.output, proba, hidden_unit_columns(units))
    print(f"hidden-unit probabilities p(h_j = 1 | x) of {n} samples x {units} hidden units")
    if n:
        means = proba.mean(0)
        hi, lo = int(means.argmax()), int(means.argmin())
        print_rows(
            [
                ("mean p(h = 1)", num(proba.mean())),
                ("most active unit", f"h{hi} (mean {num(means[hi])})"),
                ("least active unit", f"h{lo} (mean {num(means[lo])})"),
            ]
        )
    if args.output:
        print(f"wrote {n} rows x {units} columns (p_h0 .. p_h{units - 1}) to {args.output}")
    return 0


def hidden_unit_columns(n_units: int) -> list[str]:
    """Column names of hidden-unit probabilities: ``p_hJ`` is p(h_J = 1 | x)."""
    return [f"p_h{j}" for j in range(n_units)]


def _predict_embedding(
    model: GenerativeModel, X: np.ndarray, y: np.ndarray | None, args: argparse.Namespace
) -> int:
    """``predict`` for a model with a continuous latent space (a VAE): the posterior mean
    E[z | x] of every row (``model.transform``), columns ``z0, z1, ...``; a conditional
    model encodes each row with its label."""
    name = type(model).__name__
    if model.capabilities.supervised:
        if y is None:
            raise CommandError(
                f"{name} encodes each row together with its class: give the labels' column "
                "with --target COLUMN"
            )
        codes = model.transform(X, y)
    else:
        codes = model.transform(X)
    codes = np.asarray(codes, dtype=np.float64)
    n, dims = codes.shape
    if args.output:
        tables.save_table(args.output, codes, latent_columns(dims))
    print(f"latent codes E[z | x] of {n} samples x {dims} latent dimensions")
    if n:
        print_rows(_embedding_rows(codes))
    if args.output:
        print(f"wrote {n} rows x {dims} columns (z0 .. z{dims - 1}) to {args.output}")
    return 0


def _embedding_rows(codes: np.ndarray) -> list[tuple[str, str]]:
    spread = codes.var(0)
    wide, narrow = int(spread.argmax()), int(spread.argmin())
    active = int(np.sum(spread > ACTIVE_VARIANCE))
    return [
        ("mean |E[z | x]|", num(np.linalg.norm(codes, axis=1).mean())),
        ("widest dimension", f"z{wide} (std {num(np.sqrt(spread[wide]))})"),
        ("narrowest dimension", f"z{narrow} (std {num(np.sqrt(spread[narrow]))})"),
        (
            "active dimensions",
            f"{active} of {codes.shape[1]} (variance of E[z | x] over the rows > "
            f"{ACTIVE_VARIANCE:g})",
        ),
    ]


def latent_columns(dims: int) -> list[str]:
    """Column names of latent codes: ``zJ`` is E[z_J | x]."""
    return [f"z{j}" for j in range(dims)]


def write_predictions(path, what: str, predicted, labels, proba) -> None:
    """CSV: the predicted label, then one probability column ``p_<label>`` per label."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([what, *(f"p_{c}" for c in labels)])
        for label, row in zip(predicted, proba, strict=True):
            writer.writerow([label, *(f"{v:.17g}" for v in row)])
