"""``genmodels fit MODEL DATA``: build a model from ``--set`` values, fit it, save it and
summarise the fit."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..base import GenerativeModel
from ..nn import checkpoint_path
from ..registry import model_class
from . import tables
from .common import (
    ACTIVE_VARIANCE,
    LIKELIHOOD_LABEL,
    CommandError,
    add_column_options,
    add_sequence_column,
    add_verb,
    align_columns,
    feature_names,
    likelihood_method,
    not_sequential,
    num,
    print_rows,
    read_sequences,
    select_columns,
    unread_columns,
)
from .select import (
    CRITERIA,
    best_index,
    check_criterion,
    criterion_value,
    default_criterion,
    report,
    sweep_setting,
)
from .settings import check_param_names, match_tuple_settings, parse_settings


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "fit",
        "fit a model to data and save it",
        run,
        "genmodels fit gmm data.csv --set n_components=3 --set covariance_type=diag",
    )
    p.add_argument("model", metavar="MODEL", help="model name or alias (see `genmodels models`)")
    p.add_argument("data", metavar="DATA", help="CSV/.npy/.npz file, or builtin:NAME")
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a hyper-parameter; VALUE is read as JSON when it parses (5, 1e-3, true, "
        "null, [1,2]), as a tuple for comma-separated numbers (hidden_dims=256,128), else as "
        "a string (repeatable)",
    )
    p.add_argument(
        "--target",
        metavar="COLUMN",
        help="the CSV column (or .npz array) holding class labels, for supervised models "
        "(classifiers, cvae)",
    )
    add_sequence_column(p, saved_model=False)
    add_column_options(p)
    p.add_argument("-o", "--output", help="model file to write (default: MODEL.safetensors)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--select",
        choices=CRITERIA,
        help="with one setting given as a range (--set n_components=1..10): fit each value "
        "and keep the best by BIC, AIC or the held-out log-likelihood of --validation "
        "(val); prints the table and writes MODEL.selection.png (default: bic where the "
        "model has it, else val)",
    )
    neural = p.add_argument_group("neural models (e.g. vae), trained by epochs")
    neural.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="save a training checkpoint into DIR every checkpoint_every epochs (sets the "
        "hyper-parameter checkpoint_dir)",
    )
    neural.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --checkpoint-dir (same model and settings; "
        "epochs may be raised); without one there, train from the start",
    )
    neural.add_argument(
        "--validation",
        metavar="FILE",
        help="held-out data scored every epoch (val_* metrics; used by early_stopping)",
    )


def run(args: argparse.Namespace) -> int:
    """Build the model from ``--set`` values, fit, save, summarise."""
    cls = model_class(args.model)
    params = parse_settings(args.settings)
    defaults = cls().get_params(deep=False)
    check_param_names(cls.__name__, defaults, params)
    params = match_tuple_settings(defaults, params)
    sweep = sweep_setting(params)
    if args.select is not None and sweep is None:
        raise CommandError(
            "--select chooses among the values of a swept setting: give one as A..B, "
            "e.g. --set n_components=1..10"
        )
    params, training = training_options(cls, args, params, sweeping=sweep is not None)
    restore: dict[str, Any] = {}  # what the CLI chose for display only, not saved
    caps = cls.capabilities
    if (caps.iterative or caps.neural) and "verbose" not in params:  # both take `verbose`
        params["verbose"] = 0 if args.quiet else 1
        restore["verbose"] = defaults["verbose"]
    X, columns, y, lengths = _training_data(cls, args)
    held_out = None
    if args.validation is not None:
        held_out = validation_data(cls, args, columns)
        if caps.neural:
            training["validation_data"] = held_out
    if training.get("resume"):
        print(resume_message(params["checkpoint_dir"]), flush=True)
    if sweep is None:
        model = fit_one(cls, params, X, y, lengths, training)
    else:
        model = _fit_sweep(cls, params, sweep, (X, y, lengths), held_out, training, args)
    model.set_params(**restore)
    if columns is not None and "feature_names_in_" not in model.fitted_attributes():
        model.feature_names_in_ = np.asarray(columns, dtype=object)
    out = _output(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Save after the summary: scoring the training data may compute what the model caches
    # in its file (a Boltzmann machine's log Z, by AIS for large ones), so that a later
    # `genmodels score` reuses it. The model is saved even if the summary fails.
    try:
        rows = fit_summary(model, X, args.data, y, lengths=lengths)
    finally:
        model.save(out)
    print_rows(rows)
    print(f"saved to {out}")
    return 0


def fit_one(cls: type[GenerativeModel], params, X, y, lengths, training) -> GenerativeModel:
    """A new ``cls(**params)`` fitted to the rows ``X`` (labels ``y``) or the sequences of
    ``lengths``, with the fit keywords ``training``."""
    model = cls(**params)
    if cls.capabilities.sequential:
        return model.fit(X, lengths)
    if cls.capabilities.supervised:
        return model.fit(X, y, **training)
    return model.fit(X, **training)


def _fit_sweep(cls, params, sweep, data, held_out, training, args) -> GenerativeModel:
    """One fit per value of the swept hyper-parameter; the best by ``--select``."""
    key, grid = sweep
    criterion = args.select or default_criterion(cls, held_out is not None)
    check_criterion(cls, criterion, held_out is not None)
    if held_out is not None and not cls.capabilities.sequential:
        held_out = (held_out[0] if isinstance(held_out, tuple) else held_out, None)
    X, y, lengths = data
    models, values = [], []
    for value in grid:
        model = fit_one(cls, {**params, key: value}, X, y, lengths, training)
        models.append(model)
        values.append(criterion_value(model, criterion, (X, lengths), held_out))
    best = best_index(values, criterion)
    report(key, grid, values, criterion, best, _output(args))
    return models[best]


def _output(args: argparse.Namespace) -> Path:
    return Path(args.output or f"{args.model}.safetensors")


def _training_data(cls: type[GenerativeModel], args: argparse.Namespace):
    """``(X, columns, y, lengths)`` of ``fit``'s DATA, after checking that the options
    (``--target``, ``--sequence-column``) suit the model."""
    name, caps = cls.__name__, cls.capabilities
    builtin = str(args.data).lower().startswith(tables.BUILTIN_PREFIX)
    if args.sequence_column is not None and not caps.sequential:
        raise CommandError(not_sequential(name, "--sequence-column"))
    if caps.supervised and args.target is None and not builtin:
        raise CommandError(
            f"{name} is supervised and needs class labels to fit: name their "
            "column with --target COLUMN (or use a builtin: data set)"
        )
    if caps.sequential and args.target is not None:
        raise CommandError(
            f"{name} is a sequence model, fitted without labels: it takes no --target"
        )
    if caps.sequential:
        seqs = read_sequences(args.data, args.sequence_column, args)
        return seqs.frames, seqs.columns, None, seqs.lengths
    unread = unread_columns(args.data, args, () if args.target is None else (args.target,))
    X, columns, y = tables.load_data(args.data, target=args.target, exclude=unread)
    X, columns = select_columns(X, columns, args, str(args.data))
    if caps.supervised and y is None:
        raise CommandError(
            f"{name} needs class labels to fit: name their column with "
            "--target COLUMN (or use a builtin: data set)"
        )
    if not caps.supervised and args.target is not None:
        raise CommandError(f"{name} is unsupervised: it takes no --target labels")
    return X, columns, y, None


def training_options(
    cls: type[GenerativeModel],
    args: argparse.Namespace,
    params: dict[str, Any],
    *,
    sweeping: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(params, fit keywords)`` for ``fit``'s training options: ``--checkpoint-dir`` sets
    the ``checkpoint_dir`` hyper-parameter and ``--resume`` becomes ``resume=True`` for a
    model that checkpoints (``capabilities.resumable``); ``--validation`` is for neural
    models (``capabilities.neural``). Other models refuse them."""
    caps = cls.capabilities
    flags = {
        "--checkpoint-dir": (args.checkpoint_dir is not None, caps.resumable),
        "--resume": (args.resume, caps.resumable),
        "--validation": (args.validation is not None, caps.neural or sweeping),
    }
    for flag, (given, allowed) in flags.items():
        if given and not allowed:
            raise CommandError(
                f"{flag} is for neural models trained by epochs (e.g. vae)"
                + (" and models that checkpoint their training" if flag != "--validation" else "")
                + f"; {cls.__name__} is not one"
            )
    if not caps.resumable:
        return params, {}
    params = dict(params)
    if args.checkpoint_dir is not None:
        chosen = params.get("checkpoint_dir")
        if chosen is not None and chosen != args.checkpoint_dir:
            raise CommandError(
                f"--checkpoint-dir {args.checkpoint_dir} and --set checkpoint_dir={chosen} "
                "disagree: give the folder once"
            )
        params["checkpoint_dir"] = str(args.checkpoint_dir)
    if not args.resume:
        return params, {}
    if params.get("checkpoint_dir") is None:
        raise CommandError(
            "--resume continues from a checkpoint: name its folder with --checkpoint-dir DIR"
        )
    return params, {"resume": True}


def resume_message(checkpoint_dir: str) -> str:
    """What ``fit --resume`` is about to do: continue from the checkpoint, or start."""
    path = checkpoint_path(checkpoint_dir)
    if path.is_file():
        return f"resuming from {path}"
    return f"no checkpoint in {checkpoint_dir} yet: training from the start"


def validation_data(cls: type[GenerativeModel], args: argparse.Namespace, names):
    """``--validation`` data for ``fit(..., validation_data=...)``: ``X``, or ``(X, y)``
    for a supervised model (labels from the same ``--target`` column, or a builtin's), its
    columns chosen as the training data's (``--columns``, ``--drop``) and matched to the
    training ``names`` by name; for a sequence model ``(frames, lengths)``."""
    supervised = cls.capabilities.supervised
    source = str(args.validation)
    if cls.capabilities.sequential:  # held-out sequences, for --select val
        seqs = read_sequences(source, args.sequence_column, args)
        return align_columns(seqs.frames, seqs.columns, names, source, cls.__name__), seqs.lengths
    target = args.target if supervised else None
    unread = unread_columns(source, args, () if target is None else (target,))
    X, columns, y = tables.load_data(source, target=target, exclude=unread)
    X, columns = select_columns(X, columns, args, source)
    X = align_columns(X, columns, names, source, cls.__name__)
    if not supervised:
        return X
    if y is None:
        raise CommandError(
            f"{cls.__name__} needs class labels in the --validation data too: the --target column"
        )
    return X, y


# -- the summary ---------------------------------------------------------------------------


def fit_summary(
    model: GenerativeModel,
    X: np.ndarray,
    source: str,
    y: np.ndarray | None = None,
    *,
    lengths: np.ndarray | None = None,
) -> list[tuple[str, str]]:
    """Rows describing a just-fitted model on its training data ``X`` (labels ``y``; for a
    sequence model, ``X`` holds the frames of sequences of ``lengths``)."""
    caps = model.capabilities
    if caps.sequential:
        return _sequence_fit_summary(model, X, lengths, source)
    rows = [
        ("model", type(model).__name__),
        ("data", f"{X.shape[0]} samples x {X.shape[1]} features ({source})"),
        *feature_rows(model, X),
        *iteration_rows(model),
    ]
    if caps.neural:
        rows.extend(training_summary(model))
    if caps.prediction == "embedding":
        rows.extend(active_dimension_rows(model, X, y))
    kind = caps.likelihood
    if kind != "none":
        rows.extend(likelihood_rows(model, X))
    if caps.supervised and y is not None:
        rows.append(("classes", ", ".join(str(c) for c in model.classes_)))
        if caps.prediction == "class":
            rows.append(("train accuracy", f"{np.mean(model.predict(X) == y):.4f}"))
    if kind == "exact" and caps.information_criteria:
        rows.append(("BIC", num(model.bic(X))))
    return rows


def active_dimension_rows(model: GenerativeModel, X, y) -> list[tuple[str, str]]:
    """How many latent dimensions the encoder uses on the training data (the variance of
    E[z | x] over the rows above ``ACTIVE_VARIANCE``), with a warning when none is: the
    posterior has collapsed onto the prior and every decoded code looks the same."""
    codes = model.transform(X, y) if model.capabilities.supervised else model.transform(X)
    codes = np.asarray(codes, dtype=np.float64)
    active = int(np.sum(codes.var(0) > ACTIVE_VARIANCE))
    dims = codes.shape[1]
    if active == 0:
        kl = model.fitted_attributes().get("history_", {}).get("kl", [])
        at = f" (KL {num(kl[-1])} nats in the last epoch)" if kl else ""
        warnings.warn(
            f"no latent dimension of {type(model).__name__} is active{at}: the posterior has "
            "collapsed onto the prior, so samples and interpolations ignore the data's "
            "variety; train longer (--set epochs=...), or anneal the KL term "
            "(--set kl_anneal_steps=...)",
            UserWarning,
            stacklevel=2,
        )
    note = f"variance of E[z | x] over the rows > {ACTIVE_VARIANCE:g}"
    return [("active latent dimensions", f"{active} of {dims} ({note})")]


def likelihood_rows(model: GenerativeModel, X) -> list[tuple[str, str]]:
    """The mean training log-likelihood, named for how it was made (see
    :func:`~genmodels.cli.common.likelihood_method`); for AIS models the log Z too."""
    mean = num(model.score(X))  # first: it computes (and caches) what the method reports
    label, _, note = likelihood_method(model)
    if model.capabilities.estimator == "ais":
        return [(f"train {label}", f"{mean} nats/sample (mean)"), ("log Z", note)]
    inline = f"; {note}" if note else ""
    return [(f"train {label}", f"{mean} nats/sample (mean{inline})")]


def feature_rows(model: GenerativeModel, X) -> list[tuple[str, str]]:
    """Which columns were the features, and how many of their cells were missing."""
    rows = []
    names = feature_names(model)
    if names is not None:
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
        rows.append(("features", shown))
    if isinstance(X, np.ndarray) and X.size:
        missing = int(np.isnan(X).sum())
        rows.append(("missing cells", f"{missing} of {X.size} ({missing / X.size:.1%})"))
    return rows


def iteration_rows(model: GenerativeModel) -> list[tuple[str, str]]:
    """``iterations  N (converged)`` for an iterative model (``capabilities.iterative``)."""
    if not model.capabilities.iterative:
        return []
    state = model.fitted_attributes()
    converged = state.get("converged_")  # the models with a convergence test have it
    note = "" if converged is None else (" (converged)" if converged else " (NOT converged)")
    return [("iterations", f"{state['n_iter_']}{note}")]


def training_summary(model: GenerativeModel) -> list[tuple[str, str]]:
    """Rows on a neural model's training: epochs, the last epoch's losses, the checkpoint."""
    state = model.fitted_attributes()
    history = state.get("history_", {})
    epochs = f"{state.get('n_epochs_', 0)}"
    if state.get("stopped_early_"):
        epochs += f" (stopped early; weights of epoch {state.get('best_epoch_')})"
    rows = [("epochs", epochs)]
    n = len(history.get("epoch_time", []))
    terms = (
        ("loss", "training loss"),
        ("recon", "reconstruction -log p(x|z)"),
        ("kl", "KL to the prior"),
        ("val_loss", "validation loss"),
    )
    for key, label in terms:
        values = history.get(key, [])
        if values and len(values) == n:  # scored every epoch, the last one included
            rows.append((f"{label} (last epoch)", num(values[-1])))
        elif values:  # e.g. validation data in an earlier run of a resumed fit only
            rows.append((f"{label} (last scored epoch)", num(values[-1])))
    folder = model.checkpoint_dir  # a neural model is resumable: it has checkpoint_dir
    if folder is not None:
        rows.append(("checkpoint", str(checkpoint_path(folder))))
    return rows


def _sequence_fit_summary(
    model: GenerativeModel, frames: np.ndarray, lengths: np.ndarray, source: str
) -> list[tuple[str, str]]:
    n_seq, n_frames = len(lengths), int(np.sum(lengths))
    rows = [
        ("model", type(model).__name__),
        (
            "data",
            f"{n_seq} sequences, {n_frames} frames x {frames.shape[1]} features "
            f"(frames per sequence {int(np.min(lengths))}..{int(np.max(lengths))}; {source})",
        ),
        *feature_rows(model, frames),
        *iteration_rows(model),
    ]
    kind = model.capabilities.likelihood
    if kind != "none":
        ll = np.asarray(model.score_samples(frames, lengths), dtype=np.float64)
        label = LIKELIHOOD_LABEL.get(kind, kind)
        rows.append(
            (
                f"train {label}",
                f"{num(ll.mean())} nats/sequence (mean); {num(ll.sum() / n_frames)} nats/frame",
            )
        )
    if kind == "exact" and model.capabilities.information_criteria:
        rows.append(("BIC", num(model.bic(frames, lengths))))
    return rows
