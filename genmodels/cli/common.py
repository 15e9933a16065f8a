"""What the verbs of the ``genmodels`` command share: the error a command line can cause,
the way a verb declares its parser, reading a saved model's data the way it was trained,
and printing rows of results."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..base import Capabilities, GenerativeModel
from . import sequences, tables

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


# -- a saved model's data ------------------------------------------------------------------


def feature_names(model: GenerativeModel) -> list[str] | None:
    """The training column names a model remembers, if any."""
    names = model.fitted_attributes().get("feature_names_in_")
    return None if names is None else [str(n) for n in np.asarray(names).ravel()]


def _extra_column(model: GenerativeModel, data: str) -> str | None:
    """The one column of the CSV ``data`` that is not among the model's named features,
    when the file holds exactly those features and one more; else None."""
    names = feature_names(model)
    header = tables.csv_header(data)
    if names is None or header is None:
        return None
    extra = [c for c in header if c not in names]
    if len(extra) == 1 and len(header) == len(names) + 1:
        return extra[0]
    return None


def load_model_sequences(
    model: GenerativeModel, data: str, column: str | None
) -> sequences.SequenceData:
    """The sequences of ``data`` for a fitted sequence model. For a CSV without
    ``--sequence-column``, a model fitted on named columns takes the one column of the file
    that is not a feature as the sequence ids (so its training file reads as it is)."""
    if column is None:
        column = _extra_column(model, data)
    return sequences.load_sequences(data, column)


def label_column(model: GenerativeModel, data: str, target: str | None) -> str | None:
    """The label column of a CSV to set aside: ``--target`` if given; else, for a classifier
    fitted on named columns, the one column of the file that is not a feature (so the
    labelled file a model was trained on can be scored and predicted as it is)."""
    if target is not None or not model.capabilities.supervised:
        return target
    return _extra_column(model, data)


def class_label(model: GenerativeModel, text: str):
    """The element of ``model.classes_`` written as ``text`` on the command line."""
    classes = np.asarray(model.classes_)
    matches = [c for c in classes if str(c) == text]
    if not matches:
        known = ", ".join(str(c) for c in classes)
        raise CommandError(f"{type(model).__name__} has no class {text!r}; classes: {known}")
    return matches[0]


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
