"""``genmodels anomalies DATA --model gmm --contamination 0.05 -o flagged.csv``: fit a
density to the rows of DATA and flag the unlikely ones, in one go.

A :class:`~genmodels.anomaly.DensityDetector` is fitted on DATA (unlabelled) and scores
the same rows: the output holds each row's score (-log p(x) in nats, higher = more
abnormal) and its 0/1 flag; the summary says how many rows were flagged and at which
threshold. With ``--target COLUMN`` a column of known 0/1 outlier labels is set aside
and the summary adds the ROC AUC and average precision of the scores and the precision
and recall of the flags. No model file is written: the detector is a density plus a
standardisation and a threshold, and it is refitted from the data each time.
"""

from __future__ import annotations

import argparse

import numpy as np

from . import tables
from .common import (
    CommandError,
    add_column_options,
    add_data_argument,
    add_verb,
    num,
    print_rows,
    select_columns,
    unread_columns,
)
from .settings import check_param_names, match_tuple_settings, parse_settings

#: The density class each ``--model`` name builds, for checking ``--set`` names.
DENSITIES = {
    "gmm": ("mixture", "GaussianMixture"),
    "vae": ("vae", "VAE"),
    "nb": ("naive_bayes", "GaussianNB"),
    "rbm": ("boltzmann", "GaussianBernoulliRBM"),
}


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "anomalies",
        "fit a density to the rows of DATA and flag the unlikely ones (outliers)",
        run,
        "genmodels anomalies data.csv --model gmm --contamination 0.05 -o flagged.csv",
    )
    add_data_argument(p)
    add_column_options(p)
    p.add_argument(
        "--model",
        choices=list(DENSITIES),
        default="gmm",
        help="the density: gmm (Gaussian mixture, K and covariance type by BIC), vae, nb "
        "(independent Gaussian features), rbm (Gaussian-Bernoulli RBM); default gmm",
    )
    p.add_argument(
        "--contamination",
        default="0.1",
        metavar="SHARE|auto",
        help="the share of rows to flag, in (0, 0.5] (default 0.1); 'auto': flag the rows "
        "whose score is above Tukey's fence Q3 + 1.5 IQR of the scores",
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hyper-parameter of the density (e.g. --set epochs=20 for vae)",
    )
    p.add_argument(
        "--target",
        metavar="COLUMN",
        help="a CSV column of known 0/1 outlier labels: set aside, and used to report the "
        "ROC AUC and average precision of the scores",
    )
    p.add_argument(
        "--no-standardize",
        action="store_true",
        help="give the model the columns as they are (no scaling, constant columns kept)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "-o",
        "--output",
        help="write the rows' scores and flags: .csv (columns score, outlier) or .npy "
        "(an (n, 2) array of the same)",
    )


def _contamination(text: str):
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise CommandError(
            f"--contamination must be a share in (0, 0.5] or 'auto', got {text!r}"
        ) from None
    if not 0.0 < value <= 0.5:
        raise CommandError(f"--contamination must be a share in (0, 0.5] or 'auto', got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """Read DATA, fit the detector, write and summarise the scores and flags."""
    contamination = _contamination(args.contamination)
    if args.output and not args.output.lower().endswith((".csv", ".npy")):
        raise CommandError(f"cannot write {args.output}: use a .csv or .npy file")
    if args.target is not None and not str(args.data).lower().endswith(".csv"):
        raise CommandError("--target names a column of a CSV file")
    params = _density_params(args.model, args.settings)
    set_aside = () if args.target is None else (args.target,)
    unread = unread_columns(args.data, args, set_aside)
    X, columns, y = tables.load_data(args.data, target=args.target, exclude=unread)
    X, columns = select_columns(X, columns, args, str(args.data))
    # builtin:NAME data come with class labels, which are not outlier labels
    y = None if args.target is None else _binary_labels(y, args.target)

    from ..anomaly import DensityDetector

    detector = DensityDetector(
        args.model,
        contamination,
        standardize=not args.no_standardize,
        model_params=params or None,
        random_state=args.seed,
    ).fit(X)
    scores, flags = detector.decision_scores_, detector.labels_
    if args.output:
        values = [scores, flags]
        if args.output.lower().endswith(".npy"):
            tables.save_table(args.output, np.column_stack(values), ["score", "outlier"])
        else:
            tables.save_records(args.output, ["score", "outlier"], values)
    kept = int(detector.keep_.sum())
    dropped = "" if kept == X.shape[1] else ", constant ones dropped"
    rule = (
        f"auto (Tukey's fence: Q3 + {detector.fence:g} IQR of the scores)"
        if contamination == "auto"
        else f"{contamination:g} of the rows"
    )
    rows = [
        ("rows", str(X.shape[0])),
        ("features", f"{kept} of {X.shape[1]}{dropped}"),
        ("model", detector.describe_model()),
        ("score", "-log p(x) in nats (higher = more abnormal)"),
        ("contamination", rule),
        ("threshold", f"{num(detector.threshold_)} nats"),
        ("flagged", f"{int(flags.sum())} ({100 * flags.mean():.2f}%)"),
        ("scores", f"{num(scores.min())} .. {num(scores.max())}, median {num(np.median(scores))}"),
    ]
    if y is not None:
        rows += _against_labels(y, scores, flags)
    print_rows(rows)
    if args.output:
        print(f"wrote {scores.size} scores and flags to {args.output}")
    return 0


def _density_params(model: str, settings: list[str]) -> dict:
    """``--set`` values, checked against the density's hyper-parameters."""
    params = parse_settings(settings)
    if not params:
        return {}
    import importlib

    module, name = DENSITIES[model]
    cls = getattr(importlib.import_module(f"genmodels.{module}"), name)
    defaults = cls().get_params(deep=False)
    check_param_names(name, defaults, params)
    return match_tuple_settings(defaults, params)


def _binary_labels(y: np.ndarray, column: str) -> np.ndarray:
    values = {str(v) for v in np.unique(y)}
    if not values <= {"0", "1", "0.0", "1.0"}:
        raise CommandError(f"--target {column}: outlier labels must be 0/1, got {sorted(values)}")
    return np.asarray([float(v) for v in y]).astype(np.int64)


def _against_labels(y: np.ndarray, scores: np.ndarray, flags: np.ndarray):
    from sklearn.metrics import average_precision_score, roc_auc_score

    if y.min() == y.max():
        return [("labels", f"all {int(y[0])}: no ROC AUC")]
    hit = int((flags & y).sum())
    precision = hit / flags.sum() if flags.sum() else float("nan")
    return [
        ("true outliers", f"{int(y.sum())} ({100 * y.mean():.2f}%)"),
        ("ROC AUC", f"{roc_auc_score(y, scores):.4f}"),
        ("average precision", f"{average_precision_score(y, scores):.4f}"),
        ("flags", f"precision {precision:.3f}, recall {hit / y.sum():.3f}"),
    ]
