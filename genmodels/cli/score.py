"""``genmodels score MODEL_FILE DATA``: per-sample (per-sequence) log-likelihoods in nats,
optionally to CSV, and their summary."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import numpy as np

from . import tables
from .common import (
    LIKELIHOOD_LABEL,
    CommandError,
    add_column_options,
    add_data_argument,
    add_sequence_column,
    add_verb,
    class_label,
    likelihood_method,
    load_model,
    model_rows,
    model_sequences,
    not_sequential,
    num,
    print_rows,
)

if TYPE_CHECKING:
    from ..base import GenerativeModel


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "score",
        "per-sample (HMMs: per-sequence) log-likelihoods (nats) of data under a saved model",
        run,
        "genmodels score gmm.safetensors data.csv -o scores.csv",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    add_data_argument(p)
    add_sequence_column(p)
    add_column_options(p)
    p.add_argument(
        "-o",
        "--output",
        help="write the scores to this CSV (column log_likelihood; one row per sequence for "
        "sequence models, after a column 'sequence' when DATA names the sequences)",
    )
    p.add_argument(
        "--target",
        metavar="COLUMN",
        help="models fitted on class labels (cvae, a conditional pixelcnn): the column of "
        "DATA holding each row's class, to score log p(x | class)",
    )
    p.add_argument(
        "--labels",
        metavar="FILE",
        help="models fitted on class labels: each row's class from a file beside DATA (.npy, "
        ".txt, one-column .csv)",
    )
    p.add_argument(
        "--class",
        dest="label",
        metavar="LABEL",
        help="models fitted on class labels: score every row given this class",
    )
    p.add_argument(
        "--importance",
        type=int,
        metavar="K",
        help="for models whose log-likelihood is an importance-sampling estimate (VAEs): "
        "samples per row (default: the model's n_importance); more is slower and tighter",
    )


def run(args: argparse.Namespace) -> int:
    """Score every row of DATA, print the summary, write the scores if asked."""
    model = load_model(args.model_file)
    caps = model.capabilities
    kind = caps.likelihood
    if kind == "none":
        raise CommandError(
            f"{type(model).__name__} has no likelihood to score data with; judge its samples "
            f"with `genmodels evaluate {args.model_file}` (sample-quality metrics) instead"
        )
    importance = caps.estimator == "importance"
    if args.importance is not None:
        if not importance:
            raise CommandError(
                f"--importance is for models whose log-likelihood is an importance-sampling "
                f"estimate (e.g. vae); {type(model).__name__}'s log-likelihood is {kind}"
            )
        if args.importance < 1:
            raise CommandError(f"--importance must be at least 1 sample, got {args.importance}")
        model.set_params(**{caps.estimator_params[0]: args.importance})
    if caps.sequential:
        return _score_sequences(model, args)
    if args.sequence_column is not None:
        raise CommandError(not_sequential(type(model).__name__, "--sequence-column"))
    X, y = model_rows(model, args.data, args, args.target)
    ll = np.asarray(model.score_samples(X, **_given_classes(model, args, X, y)), dtype=np.float64)
    if args.output:
        tables.save_table(args.output, ll.reshape(-1, 1), ["log_likelihood"])
    label, kind, note = likelihood_method(model)  # after scoring: log Z is known
    print(f"{label} per sample, in nats ({kind})")
    rows = score_summary(ll, kind)
    if importance:
        rows.append(("estimator", importance_note(model)))
    elif caps.estimator == "ais":
        rows.append(("log Z", note))
    print_rows(rows)
    if args.output:
        print(f"wrote {ll.size} scores to {args.output}")
    return 0


def _given_classes(model: GenerativeModel, args: argparse.Namespace, X, y) -> dict:
    """``{"y": labels}`` for a model fitted on class labels (not a classifier, whose
    log p(x) sums over the classes): from ``--target``, ``--labels`` or ``--class``."""
    name = type(model).__name__
    given = [
        o
        for o, v in (("--target", args.target), ("--labels", args.labels), ("--class", args.label))
        if v is not None
    ]
    if len(given) > 1:
        raise CommandError(f"give the classes once: {' and '.join(given)} were both given")
    conditioned = getattr(model, "classes_", None) is not None and not model.capabilities.supervised
    if not conditioned:
        if given and given[0] != "--target":
            raise CommandError(
                f"{given[0]} is for models fitted on class labels; {name} scores log p(x) "
                "without them"
            )
        return {}
    if args.label is not None:
        label = class_label(model, args.label)
        y = np.full(X.shape[0], label, dtype=np.asarray(model.classes_).dtype)
    elif args.labels is not None:
        y = tables.load_labels(args.labels, X.shape[0])
    if y is None:
        known = ", ".join(str(c) for c in model.classes_)
        raise CommandError(
            f"{name} was fitted on class labels and scores log p(x | class): give each row's "
            f"class with --target COLUMN or --labels FILE, or one for all with --class LABEL "
            f"(classes: {known})"
        )
    return {"y": _as_classes(model, y)}


def _as_classes(model: GenerativeModel, y) -> np.ndarray:
    """Labels read from a file as the model's classes (a file's "3" is the class 3)."""
    classes = np.asarray(model.classes_)
    y = np.asarray(y)
    if y.dtype.kind != classes.dtype.kind:
        by_text = {str(c): c for c in classes}
        unknown = sorted({str(v) for v in y} - set(by_text))
        if unknown:
            raise CommandError(
                f"{type(model).__name__} has no class {unknown[0]!r}; classes: "
                + ", ".join(by_text)
            )
        y = np.asarray([by_text[str(v)] for v in y], dtype=classes.dtype)
    return y


def _score_sequences(model: GenerativeModel, args: argparse.Namespace) -> int:
    """``score`` for a sequence model: one log-likelihood per sequence."""
    kind = model.capabilities.likelihood
    seqs = model_sequences(model, args.data, args)
    ll = np.asarray(model.score_samples(seqs.frames, seqs.lengths), dtype=np.float64)
    if args.output:
        if seqs.ids is None:
            tables.save_records(args.output, ["log_likelihood"], [ll])
        else:
            tables.save_records(args.output, ["sequence", "log_likelihood"], [seqs.ids, ll])
    n_frames = int(seqs.lengths.sum())
    print(f"{LIKELIHOOD_LABEL.get(kind, kind)} per sequence, in nats ({kind})")
    print_rows(
        [
            *score_summary(ll, kind),
            ("frames", f"{n_frames} ({num(ll.sum() / n_frames)} nats/frame)"),
        ]
    )
    if args.output:
        print(f"wrote {ll.size} scores to {args.output}")
    return 0


def importance_note(model: GenerativeModel) -> str:
    """How an importance-weighted log-likelihood estimate was made (VAEs)."""
    k = model.get_params(deep=False)[model.capabilities.estimator_params[0]]
    return (
        f"IWAE with {k} importance samples per row: a lower bound on log p(x) in expectation, "
        "tighter as the samples grow (--importance K)"
    )


def score_summary(ll: np.ndarray, kind: str) -> list[tuple[str, str]]:
    """Rows n, mean, std, min, median, max of per-sample scores, and the likelihood kind."""
    if ll.size == 0:
        return [("n", "0"), ("likelihood", kind)]
    stats = [
        ("mean", np.mean(ll)),
        ("std", np.std(ll)),
        ("min", np.min(ll)),
        ("median", np.median(ll)),
        ("max", np.max(ll)),
    ]
    return [("n", str(ll.size)), *((k, num(v)) for k, v in stats), ("likelihood", kind)]
