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
    X, _ = model_rows(model, args.data, args)
    ll = np.asarray(model.score_samples(X), dtype=np.float64)
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
