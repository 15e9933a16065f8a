"""What the verbs of the ``genmodels`` command share: the error a command line can cause,
the way a verb declares its parser, reading a saved model's data the way it was trained,
and printing rows of results."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import images, sequences, tables

if TYPE_CHECKING:
    from ..base import Capabilities, GenerativeModel

PROG = "genmodels"

#: What ``score_samples`` returns, in words, by ``Capabilities.likelihood``.
LIKELIHOOD_LABEL = {
    "exact": "log-likelihood",
    "bound": "log-likelihood lower bound (ELBO)",
    "estimate": "estimated log-likelihood",
}

#: What ``genmodels predict`` writes, by ``Capabilities.prediction``.
PREDICTS = {
    "class": "classes",
    "component": "components",
    "hidden_units": "hidden-unit probabilities",
    "embedding": "latent codes",
}

#: A latent dimension whose posterior means vary less than this over the rows is unused
#: (an "inactive unit", Burda et al. 2016): its posterior is the prior.
ACTIVE_VARIANCE = 0.01

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A problem with the command line itself, reported as one line."""


def add_verb(sub, name: str, help: str, handler: Handler, example: str) -> argparse.ArgumentParser:
    """The sub-parser of verb ``name``, running ``handler(args)``; ``help`` is the one-line
    summary (also its description) and ``example`` one command line shown under it."""
    p = sub.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog="Example:\n  " + example,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(handler=handler)
    p.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help="use at most N CPU threads (-1: every core, -2: all but one; default: torch's "
        "thread count); see genmodels.set_config",
    )
    return p


def add_data_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", metavar="DATA", help="CSV/.npy/.npz file, or builtin:NAME")


def add_sequence_column(p: argparse.ArgumentParser, saved_model: bool = True) -> None:
    default = (
        " (default: the one column of DATA that is not among the model's features)"
        if saved_model
        else ""
    )
    p.add_argument(
        "--sequence-column",
        metavar="COLUMN",
        help="for sequence models (HMMs) and CSV data: the column of sequence ids; "
        "consecutive rows with the same id form one sequence" + default,
    )


def not_sequential(name: str, option: str) -> str:
    return (
        f"{option} is for sequence models (e.g. gaussian-hmm); {name} takes independent "
        "rows of data"
    )


def load_model(path) -> GenerativeModel:
    """:func:`genmodels.load`, imported when a verb needs it (``--help`` needs no torch)."""
    from ..persistence import load

    return load(path)


# -- choosing and matching columns ---------------------------------------------------------


def add_column_options(p: argparse.ArgumentParser) -> None:
    """``--columns`` and ``--drop``, for every verb that reads a table."""
    p.add_argument(
        "--columns",
        metavar="A,B,...",
        help="use only these columns of DATA as features (comma-separated names; the label "
        "and sequence-id columns are set aside first)",
    )
    p.add_argument(
        "--drop",
        metavar="A,B,...",
        help="leave these columns of DATA out of the features (comma-separated names)",
    )


def _names(text: str | None, option: str) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise CommandError(f"{option} expects comma-separated column names, got {text!r}")
    return names


def _choice(args: argparse.Namespace) -> tuple[list[str] | None, list[str] | None]:
    return (
        _names(getattr(args, "columns", None), "--columns"),
        _names(getattr(args, "drop", None), "--drop"),
    )


def _chosen(keep, drop, features: list[str], source: str) -> list[str]:
    """The features ``--columns`` keeps (in its order) less those ``--drop`` leaves out,
    after checking that every name given is a feature of ``source``."""
    for option, names in (("--columns", keep), ("--drop", drop)):
        for name in names or ():
            if name not in features:
                raise CommandError(
                    f"{option}: {source} has no feature column {name!r}; its columns: "
                    + ", ".join(features)
                )
    chosen = [c for c in (keep or features) if c not in (drop or ())]
    if not chosen:
        raise CommandError(f"--columns/--drop leave no feature columns of {source}")
    return chosen


def unread_columns(source, args: argparse.Namespace, set_aside=()) -> list[str]:
    """The columns of a CSV ``source`` that ``--columns``/``--drop`` leave out, so that
    they are not read at all (they may hold text); ``set_aside`` are the label and
    sequence-id columns, which are not features. Empty for other files."""
    keep, drop = _choice(args)
    header = tables.csv_header(source)
    if header is None or (keep is None and drop is None):
        return []
    features = [c for c in header if c not in set_aside]
    chosen = _chosen(keep, drop, features, str(source))
    return [c for c in features if c not in chosen]


def select_columns(X, columns: list[str] | None, args: argparse.Namespace, source: str):
    """``(X, columns)`` keeping the ``--columns`` (in their order) and leaving out the
    ``--drop`` features; for a CSV read with :func:`unread_columns`, the left-out ones are
    already gone."""
    keep, drop = _choice(args)
    if keep is None and drop is None:
        return X, columns
    if columns is None:
        raise CommandError(
            f"--columns and --drop choose columns by name, and {source} has no column names "
            "(a CSV with a header row has them)"
        )
    if tables.csv_header(source) is not None:  # checked and left unread already
        drop = [c for c in drop or () if c in columns] or None
    chosen = _chosen(keep, drop, columns, source)
    if chosen == columns:
        return X, columns
    return X[:, [columns.index(c) for c in chosen]], chosen


def match_columns(model: GenerativeModel, X, columns: list[str] | None, source: str):
    """``X`` with its columns in the order the model was fitted on, matched by name when
    both the model and the data name their columns (else by position, as given). A missing
    or an extra column is an error naming it."""
    return align_columns(X, columns, feature_names(model), source, type(model).__name__)


def align_columns(X, columns: list[str] | None, names: list[str] | None, source: str, name: str):
    """``X`` (named ``columns``) with its columns reordered to ``names``, those ``name``
    was fitted on; unchanged when either side has no names."""
    if names is None or columns is None:
        return X
    missing = [n for n in names if n not in columns]
    extra = [c for c in columns if c not in names]
    if missing:
        also = f" (nor {', '.join(repr(m) for m in missing[1:])})" if len(missing) > 1 else ""
        raise CommandError(
            f"{source} has no column {missing[0]!r}{also}, which {name} was fitted on; "
            f"its features: {', '.join(names)}"
        )
    if extra:
        plural = len(extra) > 1
        raise CommandError(
            f"{source} has column{'s' if plural else ''} {', '.join(repr(e) for e in extra)} "
            f"that {name} was not fitted on; leave {'them' if plural else 'it'} out with "
            f"--drop {','.join(extra)}"
        )
    if X is None or columns == names:
        return X
    return X[:, [columns.index(n) for n in names]]


def model_rows(model: GenerativeModel, source: str, args: argparse.Namespace, target=None):
    """``(X, y)`` of ``source`` for a fitted model: the label column set aside (see
    :func:`label_column`), ``--columns``/``--drop`` applied, the features matched to the
    model's by name. A folder of images gives its pixels as the model takes them (the
    convention ``fit --pixels auto`` chose) and its class subfolders' labels."""
    if images.is_image_source(source):
        data = images.load_images(source)
        params = model.get_params(deep=False)
        X = images.rows_for(type(model), params, data, getattr(args, "pixels", "auto"))
        check_n = getattr(model, "n_features_in_", X.shape[1])
        if X.shape[1] != check_n:
            raise CommandError(
                f"{source}: the images have {X.shape[1]} values each ({data.image_shape}); "
                f"{type(model).__name__} was fitted on {check_n}"
            )
        return X, data.labels
    ignore = _names(getattr(args, "drop", None), "--drop") or ()
    target = label_column(model, source, target, ignore)
    set_aside = () if target is None else (target,)
    unread = unread_columns(source, args, set_aside)
    header = tables.csv_header(source)
    if header is not None:  # name a column the model does not know before parsing it
        left = [c for c in header if c not in unread and c not in set_aside]
        match_columns(model, None, left, str(source))
    X, columns, y = tables.load_data(source, target=target, exclude=unread)
    X, columns = select_columns(X, columns, args, str(source))
    return match_columns(model, X, columns, str(source)), y


# -- a saved model's data ------------------------------------------------------------------


def feature_names(model: GenerativeModel) -> list[str] | None:
    """The training column names a model remembers, if any."""
    names = model.fitted_attributes().get("feature_names_in_")
    return None if names is None else [str(n) for n in np.asarray(names).ravel()]


def _extra_column(model: GenerativeModel, data: str, ignore=()) -> str | None:
    """The one column of the CSV ``data`` that is not among the model's named features
    (nor in ``ignore``, the ``--drop`` columns), when the file holds exactly those
    features and one more; else None."""
    names = feature_names(model)
    header = tables.csv_header(data)
    if names is None or header is None:
        return None
    header = [c for c in header if c not in ignore]
    extra = [c for c in header if c not in names]
    if len(extra) == 1 and len(header) == len(names) + 1:
        return extra[0]
    return None


def load_model_sequences(
    model: GenerativeModel, data: str, column: str | None, ignore=()
) -> sequences.SequenceData:
    """The sequences of ``data`` for a fitted sequence model. For a CSV without
    ``--sequence-column``, a model fitted on named columns takes the one column of the file
    that is not a feature as the sequence ids (so its training file reads as it is)."""
    if column is None:
        column = _extra_column(model, data, ignore)
    return sequences.load_sequences(data, column)


def read_sequences(data: str, column: str | None, args: argparse.Namespace):
    """The sequences of ``data`` with the ``--columns``/``--drop`` choice of features."""
    unread = unread_columns(data, args, () if column is None else (column,))
    seqs = sequences.load_sequences(data, column, unread)
    frames, columns = select_columns(seqs.frames, seqs.columns, args, str(data))
    return seqs._replace(frames=frames, columns=columns)


def model_sequences(
    model: GenerativeModel, data: str, args: argparse.Namespace
) -> sequences.SequenceData:
    """:func:`load_model_sequences` with ``--columns``/``--drop`` applied and the features
    matched to the model's by name."""
    column = args.sequence_column
    if column is None:
        column = _extra_column(model, data, _names(args.drop, "--drop") or ())
    seqs = read_sequences(data, column, args)
    return seqs._replace(frames=match_columns(model, seqs.frames, seqs.columns, str(data)))


def label_column(model: GenerativeModel, data: str, target: str | None, ignore=()) -> str | None:
    """The label column of a CSV to set aside: ``--target`` if given; else, for a classifier
    fitted on named columns, the one column of the file that is not a feature (so the
    labelled file a model was trained on can be scored and predicted as it is)."""
    if target is not None or not model.capabilities.supervised:
        return target
    return _extra_column(model, data, ignore)


def class_label(model: GenerativeModel, text: str):
    """The element of ``model.classes_`` written as ``text`` on the command line."""
    if getattr(model, "classes_", None) is None:
        raise CommandError(
            f"{type(model).__name__} was fitted without class labels: it takes no --class"
        )
    classes = np.asarray(model.classes_)
    matches = [c for c in classes if str(c) == text]
    if not matches:
        known = ", ".join(str(c) for c in classes)
        raise CommandError(f"{type(model).__name__} has no class {text!r}; classes: {known}")
    return matches[0]


def likelihood_method(model: GenerativeModel, compute: bool = True) -> tuple[str, str, str]:
    """``(label, kind, note)`` for what ``score_samples`` gives: words for it ("log-likelihood",
    "estimated log-likelihood", ...), its kind as it is for this fitted model ("exact" for a
    Boltzmann machine whose log Z is enumerated, though its class declares "estimate"), and
    how it is made (IWAE with k samples; for AIS models the log Z, exact or by AIS with
    its spread), from the declared ``estimator``. With ``compute`` False, a log Z not yet
    computed is not."""
    caps = model.capabilities
    kind, note = caps.likelihood, ""
    if caps.estimator == "importance":
        k = model.get_params(deep=False)[caps.estimator_params[0]]
        note = f"IWAE, {k} samples per row"
    elif caps.estimator == "ais":
        lp = model.scoring_log_partition(compute=compute)
        if lp is None:
            note = "log Z not computed yet (exact when a layer can be enumerated, else AIS)"
        elif lp.method == "exact":
            kind, note = "exact", f"{num(lp.value)}, exact (enumerated)"
        else:
            note = (
                f"{num(lp.value)} ± {num(lp.std)} by AIS ({lp.n_runs} runs x "
                f"{lp.n_betas} temperatures; ±3 s.e. interval [{num(lp.lower)}, {num(lp.upper)}])"
            )
    return LIKELIHOOD_LABEL.get(kind, kind), kind, note


def format_capabilities(caps: Capabilities) -> str:
    """``likelihood=exact, latent, missing values, input=continuous, predicts=component``:
    the declared ones."""
    parts = [f"likelihood={caps.likelihood}"]
    for field in dataclasses.fields(caps):
        value = getattr(caps, field.name)
        if isinstance(value, bool) and value:
            parts.append(field.name.replace("_", " "))
    parts.append(f"input={caps.input_kind}")
    if caps.prediction != "none":
        parts.append(f"predicts={caps.prediction}")
    return ", ".join(parts)


# -- printing ------------------------------------------------------------------------------


def num(value: float) -> str:
    return f"{float(value):.6g}"


def print_rows(rows: Sequence[tuple[str, str]], indent: str = "") -> None:
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        print(f"{indent}{key:<{width}}  {value}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    for row in (headers, *rows):
        print("  ".join(f"{str(c):<{w}}" for c, w in zip(row, widths, strict=True)).rstrip())


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {category.__name__}: {message}", file=sys.stderr)


def exit_code(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
