"""The ``genmodels`` command: fit, sample, score, decode, interpolate and inspect models
from the shell.

Every verb is a small handler ``(args) -> int``; :func:`main` parses the command line,
runs the handler, and turns the errors a user can cause (bad data, bad hyper-parameters,
a file that is not a model) into one line ``genmodels: error: <message>`` on stderr with
a non-zero exit code. Set ``GENMODELS_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import data as gdata
from ._version import __version__
from .base import GenerativeModel
from .exceptions import ModelFileError, NotFittedError
from .hmm.base import BaseHMM
from .mixture import GaussianMixture
from .persistence import _read_header
from .persistence import load as load_model
from .registry import model_aliases, model_class, registered_models

PROG = "genmodels"
DEFAULT_LENGTH = 100  # frames per sequence drawn by ``sample`` from a sequence model

#: Model families offering ``bic``; no capability declares it yet. Sequence models (every
#: HMM, by its base class) take ``bic(X, lengths)``, the others ``bic(X)``.
_HAS_BIC: tuple[type, ...] = (GaussianMixture, BaseHMM)

#: Exceptions a user can cause; reported as one line (``GENMODELS_DEBUG=1``: traceback).
_USER_ERRORS = (
    ValueError,
    TypeError,
    OSError,  # FileNotFoundError, PermissionError, IsADirectoryError ...
    ModelFileError,
    NotFittedError,
)

_LIKELIHOOD_LABEL = {
    "exact": "log-likelihood",
    "bound": "log-likelihood lower bound (ELBO)",
    "estimate": "estimated log-likelihood",
}

#: What ``genmodels predict`` writes, by ``Capabilities.prediction``.
_PREDICTS = {
    "class": "classes",
    "component": "components",
    "hidden_units": "hidden-unit probabilities",
    "embedding": "latent codes",
}

#: ``predict`` for VAEs: a latent dimension whose posterior means vary less than this over
#: the rows is unused (an "inactive unit", Burda et al. 2016): its posterior is the prior.
ACTIVE_VARIANCE = 0.01

EXAMPLES = """\
Examples:
  genmodels models
      list the models, their aliases and capabilities
  genmodels fit gmm data.csv --set n_components=3 -o gmm.safetensors
      fit a 3-component Gaussian mixture to a CSV file with a header row
  genmodels fit gmm builtin:digits --set n_components=10 --set covariance_type=diag
      fit on scikit-learn's digits (also builtin:iris, builtin:wine)
  genmodels sample gmm.safetensors -n 100 -o samples.csv --seed 0
      draw 100 samples (.csv, .npy, or .png for image data such as the digits)
  genmodels score gmm.safetensors data.csv -o scores.csv
      per-sample log-likelihoods in nats, with a summary
  genmodels predict gmm.safetensors data.csv -o components.csv
      most probable component (classes, for classifiers) and the probabilities
  genmodels fit rbm binary.csv --set n_components=64 -o rbm.safetensors
      fit a restricted Boltzmann machine to 0/1 data (log-likelihood exact or by AIS)
  genmodels predict rbm.safetensors binary.csv -o hidden.csv
      Boltzmann machines: the hidden units' probabilities p(h_j = 1 | x), columns p_h0 ...
  genmodels fit multinomial-nb train.csv --target label -o nb.safetensors
      fit a classifier on the other columns, with labels from column 'label'
  genmodels sample nb.safetensors -n 5 --class spam -o spam.csv
      draw from one class of a classifier that is also a generative model
  genmodels fit gaussian-hmm seqs.npz --set n_components=3 -o hmm.safetensors
      fit a hidden Markov model to sequences: an .npz with arrays X (frames) and lengths
  genmodels fit ghmm ticks.csv --sequence-column day --set n_components=3 -o hmm.safetensors
      sequences from a CSV: consecutive rows with the same 'day' form one sequence
  genmodels decode hmm.safetensors ticks.csv -o states.csv
      the most probable hidden state of every frame (Viterbi) and its posterior probability
  genmodels sample hmm.safetensors -n 5 --length 200 -o seqs.npz
      draw 5 sequences of 200 frames (.npz with X and lengths, .csv, or (n, T, D) .npy)
  genmodels fit vae digits01.npy --set latent_dim=16 --set epochs=50 --checkpoint-dir ckpt/
      fit a variational autoencoder to 0/1 images, checkpointing every epoch into ckpt/
  genmodels fit vae digits01.npy --set latent_dim=16 --set epochs=80 --checkpoint-dir ckpt/ --resume
      continue that run from its checkpoint up to epoch 80
  genmodels score vae.safetensors test01.npy --importance 1000
      VAEs: importance-weighted (IWAE) estimates of log p(x) with 1000 samples per row
  genmodels predict vae.safetensors digits01.npy -o codes.csv
      VAEs: the latent code (posterior mean) of every row, columns z0, z1, ...
  genmodels interpolate vae.safetensors digits01.npy --rows 0 7 -o strip.png
      decode the path between the codes of rows 0 and 7 (an image strip, or .csv/.npy)
  genmodels info gmm.safetensors
      what a model file holds: class, hyper-parameters, fitted attributes
  genmodels demo --quick --output demo-report
      fit every family on built-in data and write an HTML report

Data: CSV with a header row (empty cells and NA are missing values), .npy, .npz
(array 'X'), or builtin:digits / builtin:iris / builtin:wine.
Sequences (HMMs): .npz with X (frames x features) and lengths (frames per sequence), or
X of shape (sequences, frames, features); a 3-D .npy; or a CSV with a sequence-id column
(--sequence-column; the rows of one sequence consecutive, in time order).
Set GENMODELS_DEBUG=1 to see a full traceback on errors.
"""


class CommandError(Exception):
    """A problem with the command line itself, reported as one line."""


# ----------------------------------------------------------------------------------------
# Entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``genmodels`` command with ``argv`` (default ``sys.argv[1:]``); return the
    exit code (0 on success)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return _exit_code(exc.code)
    debug = os.environ.get("GENMODELS_DEBUG", "") not in ("", "0")
    with warnings.catch_warnings():
        if not debug:
            warnings.showwarning = _show_warning
        try:
            return args.handler(args)
        except KeyboardInterrupt:
            if debug:
                raise
            _error("interrupted")
            return 130
        except (*_USER_ERRORS, CommandError) as exc:
            if debug:
                raise
            _error(_one_line(exc))
            return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb (also used to render ``--help``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fit, sample, score, decode, interpolate and inspect generative models.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (
        _add_fit,
        _add_sample,
        _add_score,
        _add_predict,
        _add_decode,
        _add_interpolate,
        _add_info,
        _add_demo,
        _add_models,
    ):
        add(sub)
    return parser


def _verb(sub, name: str, help: str, handler: Callable[[argparse.Namespace], int], epilog: str):
    p = sub.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog="Example:\n  " + epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(handler=handler)
    return p


def _add_fit(sub) -> None:
    p = _verb(
        sub,
        "fit",
        "fit a model to data and save it",
        cmd_fit,
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
    _add_sequence_column(p, saved_model=False)
    p.add_argument("-o", "--output", help="model file to write (default: MODEL.safetensors)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
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


def _add_sample(sub) -> None:
    p = _verb(
        sub,
        "sample",
        "draw samples from a saved model",
        cmd_sample,
        "genmodels sample gmm.safetensors -n 100 -o samples.csv --seed 0",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument(
        "-n",
        "--n-samples",
        type=int,
        default=100,
        help="how many samples (sequences, for sequence models) (default 100)",
    )
    p.add_argument(
        "-o",
        "--output",
        default="samples.csv",
        help=".csv, .npy, or .png (an image grid; 64 or 784 features only); for sequence "
        "models .npz (X and lengths), .csv (a sequence column) or .npy (n, T, D) "
        "(default samples.csv)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed of the draw")
    p.add_argument(
        "--length",
        type=int,
        default=None,
        metavar="T",
        help=f"frames per sequence, for sequence models (default {DEFAULT_LENGTH})",
    )
    p.add_argument(
        "--class",
        dest="label",
        metavar="LABEL",
        help="draw from this class only (models with class-conditional sampling, e.g. naive Bayes)",
    )


def _add_score(sub) -> None:
    p = _verb(
        sub,
        "score",
        "per-sample (HMMs: per-sequence) log-likelihoods (nats) of data under a saved model",
        cmd_score,
        "genmodels score gmm.safetensors data.csv -o scores.csv",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument("data", metavar="DATA", help="CSV/.npy/.npz file, or builtin:NAME")
    _add_sequence_column(p)
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


def _add_predict(sub) -> None:
    p = _verb(
        sub,
        "predict",
        "predicted classes (or components) and their probabilities for data; for Boltzmann "
        "machines the hidden units' probabilities; for VAEs the latent codes",
        cmd_predict,
        "genmodels predict nb.safetensors test.csv --target label -o predictions.csv",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument("data", metavar="DATA", help="CSV/.npy/.npz file, or builtin:NAME")
    p.add_argument(
        "--target",
        metavar="COLUMN",
        help="a column of true labels in DATA: left out of the features, used for accuracy",
    )
    p.add_argument(
        "-o",
        "--output",
        help="write predictions and probabilities to this CSV (Boltzmann machines: columns "
        "p_h0, p_h1, ... = p(h_j = 1 | x); VAEs: columns z0, z1, ... = E[z | x]; to a .csv "
        "or .npy)",
    )


def _add_decode(sub) -> None:
    p = _verb(
        sub,
        "decode",
        "hidden state of every frame of sequences under a saved HMM (state paths)",
        cmd_decode,
        "genmodels decode hmm.safetensors seqs.npz -o states.csv --algorithm viterbi",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument("data", metavar="DATA", help="sequences: .npz, 3-D .npy, or CSV")
    p.add_argument(
        "-o",
        "--output",
        default="states.csv",
        help="CSV with one row per frame: sequence, frame, state, posterior (default states.csv)",
    )
    p.add_argument(
        "--algorithm",
        choices=("viterbi", "map"),
        default=None,
        help="viterbi: the most probable path as a whole; map: each frame's most probable "
        "state (default: the model's own 'algorithm')",
    )
    _add_sequence_column(p)


def _add_interpolate(sub) -> None:
    p = _verb(
        sub,
        "interpolate",
        "decode the path through a latent space between the codes of two rows (VAEs)",
        cmd_interpolate,
        "genmodels interpolate vae.safetensors digits01.npy --rows 0 7 -o strip.png",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument(
        "a",
        metavar="A",
        help="data (CSV/.npy/.npz or builtin:NAME) holding the first row: its only row, or "
        "row I of --rows",
    )
    p.add_argument(
        "b",
        metavar="B",
        nargs="?",
        help="data holding the second row (its only row, or row J of --rows); default: A",
    )
    p.add_argument(
        "--rows",
        nargs=2,
        type=int,
        metavar=("I", "J"),
        help="row I of A and row J of B (of A when B is not given), counted from 0",
    )
    p.add_argument(
        "--steps", type=int, default=10, help="points on the path, ends included (default 10)"
    )
    p.add_argument(
        "--method",
        choices=("linear", "spherical"),
        default="linear",
        help="a straight line between the two codes, or a great-circle path (slerp) that "
        "keeps to the prior's typical radius (default linear)",
    )
    p.add_argument(
        "--class",
        dest="label",
        metavar="LABEL",
        help="conditional models (e.g. cvae): the class to decode with (default: row I's "
        "label, when A has labels)",
    )
    p.add_argument(
        "--target",
        metavar="COLUMN",
        help="a column of class labels in A and B, left out of the features",
    )
    p.add_argument(
        "-o",
        "--output",
        help=".png (image rows: 64 or 784 features; the two real rows framed at the ends), "
        ".csv or .npy (the decoded points, one per row) (default interpolation.png for "
        "images, else interpolation.csv)",
    )


def _add_sequence_column(p, saved_model: bool = True) -> None:
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


def _add_info(sub) -> None:
    p = _verb(
        sub, "info", "describe a saved model file", cmd_info, "genmodels info gmm.safetensors"
    )
    p.add_argument("model_file", metavar="MODEL_FILE")


def _add_demo(sub) -> None:
    p = _verb(
        sub,
        "demo",
        "fit every family on built-in data and write an HTML report",
        cmd_demo,
        "genmodels demo --quick --output demo-report",
    )
    p.add_argument("--output", default="demo-report", help="report folder (default demo-report)")
    p.add_argument("--quick", action="store_true", help="fewer, shorter fits (seconds)")


def _add_models(sub) -> None:
    _verb(sub, "models", "list the available models", cmd_models, "genmodels models")


# ----------------------------------------------------------------------------------------
# Verbs


def cmd_fit(args: argparse.Namespace) -> int:
    """``genmodels fit``: build the model from ``--set`` values, fit, save, summarise."""
    cls = model_class(args.model)
    params = parse_settings(args.settings)
    defaults = cls().get_params(deep=False)
    check_param_names(cls.__name__, defaults, params)
    params = match_tuple_settings(defaults, params)
    params, training = training_options(cls, args, params)
    restore: dict[str, Any] = {}  # what the CLI chose for display only, not saved
    if "verbose" in defaults and "verbose" not in params:
        params["verbose"] = 0 if args.quiet else 1
        restore["verbose"] = defaults["verbose"]
    builtin = str(args.data).lower().startswith(gdata.BUILTIN_PREFIX)
    sequential = cls.capabilities.sequential
    if args.sequence_column is not None and not sequential:
        raise CommandError(_not_sequential(cls.__name__, "--sequence-column"))
    if cls.capabilities.supervised and args.target is None and not builtin:
        raise CommandError(
            f"{cls.__name__} is supervised and needs class labels to fit: name their "
            "column with --target COLUMN (or use a builtin: data set)"
        )
    if sequential and args.target is not None:
        raise CommandError(
            f"{cls.__name__} is a sequence model, fitted without labels: it takes no --target"
        )
    lengths = None
    if sequential:
        X, columns, lengths, _ = gdata.load_sequences(args.data, args.sequence_column)
        y = None
    else:
        X, columns, y = gdata.load_data(args.data, target=args.target)
    if cls.capabilities.supervised and y is None:
        raise CommandError(
            f"{cls.__name__} needs class labels to fit: name their column with "
            "--target COLUMN (or use a builtin: data set)"
        )
    if not (sequential or cls.capabilities.supervised) and args.target is not None:
        raise CommandError(f"{cls.__name__} is unsupervised: it takes no --target labels")
    if args.validation is not None:
        training["validation_data"] = validation_data(cls, args.validation, args.target)
    if training.get("resume"):
        print(resume_message(params["checkpoint_dir"]), flush=True)
    model = cls(**params)
    if sequential:
        model.fit(X, lengths)
    elif cls.capabilities.supervised:
        model.fit(X, y, **training)
    else:
        model.fit(X, **training)
    model.set_params(**restore)
    if columns is not None and "feature_names_in_" not in vars(model):
        model.feature_names_in_ = np.asarray(columns, dtype=object)
    out = Path(args.output or f"{args.model}.safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Save after the summary: scoring the training data may compute what the model caches
    # in its file (a Boltzmann machine's log Z, by AIS for large ones), so that a later
    # `genmodels score` reuses it. The model is saved even if the summary fails.
    try:
        rows = fit_summary(model, X, args.data, y, lengths=lengths)
    finally:
        model.save(out)
    _print_rows(rows)
    print(f"saved to {out}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """``genmodels sample``: draw from a saved model into .csv, .npy or a .png grid."""
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in (*gdata.SEQUENCE_WRITE_SUFFIXES, ".png"):
        raise CommandError(
            f"cannot write samples to {out}: use a .csv, .npy or .png (image grid) file "
            "(or .npz, for sequence models)"
        )
    model = load_model(args.model_file)
    if model.capabilities.sequential:
        return _sample_sequences(model, args, out)
    if args.length is not None:
        raise CommandError(_not_sequential(type(model).__name__, "--length"))
    if suffix == ".npz":
        raise CommandError(
            f"cannot write samples of {type(model).__name__} to {out}: .npz is for "
            "sequences; use .csv, .npy or .png (image grid)"
        )
    extra = {}
    if args.label is not None:
        if not model.capabilities.conditional_sampling:
            raise CommandError(f"{type(model).__name__} cannot sample from a given class")
        extra["y"] = class_label(model, args.label)
    X = np.asarray(model.sample(args.n_samples, random_state=args.seed, **extra), dtype=np.float64)
    if X.ndim != 2:
        X = X.reshape(X.shape[0], -1)
    if suffix == ".png":
        shape = gdata.image_shape_for(X.shape[1])
        if shape is None:
            raise CommandError(
                f"cannot draw {out}: the model's data have {X.shape[1]} features, which is "
                "not an image size genmodels knows (64 = 8x8 like builtin:digits, 784 = "
                "28x28); write .csv or .npy instead"
            )
        from .figures import save_image_grid

        title = f"{X.shape[0]} samples from {type(model).__name__}"
        if args.label is not None:
            title += f", class {args.label}"
        save_image_grid(X.reshape(-1, *shape), out, title=title)
    else:
        gdata.save_table(out, X, feature_names(model))
    print(f"wrote {X.shape[0]} samples x {X.shape[1]} features to {out}")
    return 0


def _sample_sequences(model: GenerativeModel, args: argparse.Namespace, out: Path) -> int:
    """``sample`` for a sequence model: ``-n`` sequences of ``--length`` frames."""
    name = type(model).__name__
    if out.suffix.lower() == ".png":
        raise CommandError(
            f"cannot draw {out}: {name} samples sequences; write .npz, .csv or .npy instead"
        )
    if args.label is not None:
        raise CommandError(f"{name} cannot sample from a given class")
    length = DEFAULT_LENGTH if args.length is None else args.length
    if length < 1:
        raise CommandError(f"--length must be a positive number of frames, got {length}")
    X = np.asarray(
        model.sample(args.n_samples, length=length, random_state=args.seed), dtype=np.float64
    )
    X = X.reshape(X.shape[0], X.shape[1], -1)
    gdata.save_sequences(out, X, feature_names(model))
    print(f"wrote {X.shape[0]} sequences x {X.shape[1]} frames x {X.shape[2]} features to {out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """``genmodels score``: per-sample log-likelihoods, optionally to CSV, and a summary."""
    model = load_model(args.model_file)
    kind = model.capabilities.likelihood
    if kind == "none":
        raise CommandError(f"{type(model).__name__} has no likelihood to score data with")
    importance = "n_importance" in model.get_params(deep=False)
    if args.importance is not None:
        if not importance:
            raise CommandError(
                f"--importance is for models whose log-likelihood is an importance-sampling "
                f"estimate (e.g. vae); {type(model).__name__}'s log-likelihood is {kind}"
            )
        if args.importance < 1:
            raise CommandError(f"--importance must be at least 1 sample, got {args.importance}")
        model.set_params(n_importance=args.importance)
    if model.capabilities.sequential:
        return _score_sequences(model, args)
    if args.sequence_column is not None:
        raise CommandError(_not_sequential(type(model).__name__, "--sequence-column"))
    X, _, _ = gdata.load_data(args.data, target=label_column(model, args.data, None))
    ll = np.asarray(model.score_samples(X), dtype=np.float64)
    if args.output:
        gdata.save_table(args.output, ll.reshape(-1, 1), ["log_likelihood"])
    print(f"{_LIKELIHOOD_LABEL.get(kind, kind)} per sample, in nats ({kind})")
    rows = score_summary(ll, kind)
    if importance:
        rows.append(("estimator", importance_note(model)))
    _print_rows(rows)
    if args.output:
        print(f"wrote {ll.size} scores to {args.output}")
    return 0


def _score_sequences(model: GenerativeModel, args: argparse.Namespace) -> int:
    """``score`` for a sequence model: one log-likelihood per sequence."""
    kind = model.capabilities.likelihood
    seqs = load_model_sequences(model, args.data, args.sequence_column)
    ll = np.asarray(model.score_samples(seqs.frames, seqs.lengths), dtype=np.float64)
    if args.output:
        if seqs.ids is None:
            gdata.save_records(args.output, ["log_likelihood"], [ll])
        else:
            gdata.save_records(args.output, ["sequence", "log_likelihood"], [seqs.ids, ll])
    n_frames = int(seqs.lengths.sum())
    print(f"{_LIKELIHOOD_LABEL.get(kind, kind)} per sequence, in nats ({kind})")
    _print_rows(
        [
            *score_summary(ll, kind),
            ("frames", f"{n_frames} ({_num(ll.sum() / n_frames)} nats/frame)"),
        ]
    )
    if args.output:
        print(f"wrote {ll.size} scores to {args.output}")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    """``genmodels decode``: the hidden state of every frame (Viterbi or per-frame MAP), its
    posterior probability, and a summary."""
    out = Path(args.output)
    if out.suffix.lower() != ".csv":
        raise CommandError(f"cannot write states to {out}: use a .csv file")
    model = load_model(args.model_file)
    name = type(model).__name__
    caps = model.capabilities
    if not caps.sequential:
        gives = _PREDICTS.get(caps.prediction)
        raise CommandError(
            f"{name} is not a sequence model, so it has no state paths to decode; decode needs "
            "a hidden Markov model (e.g. gaussian-hmm)"
            + (f"; genmodels predict gives its {gives}" if gives else "")
        )
    if not caps.latent:
        raise CommandError(f"{name} has no hidden states to decode")
    algorithm = args.algorithm or model.get_params(deep=False).get("algorithm") or "viterbi"
    seqs = load_model_sequences(model, args.data, args.sequence_column)
    logprob, states = model.decode(seqs.frames, seqs.lengths, algorithm=algorithm)
    states = np.asarray(states, dtype=np.int64)
    proba = np.asarray(model.predict_proba(seqs.frames, seqs.lengths), dtype=np.float64)
    posterior = proba[np.arange(len(states)), states]
    lengths = seqs.lengths
    seq_index = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    frame = np.arange(len(states)) - starts[seq_index]
    sequence = seq_index if seqs.ids is None else seqs.ids[seq_index]
    gdata.save_records(
        out, ["sequence", "frame", "state", "posterior"], [sequence, frame, states, posterior]
    )
    n = len(states)
    counts = np.bincount(states, minlength=proba.shape[1])
    what = "log p(x, best path)" if algorithm == "viterbi" else "log p(x)"
    print(f"decoded {n} frames of {len(lengths)} sequences ({algorithm})")
    rows = [(f"state {k}", f"{c} frames ({c / n:.1%})") for k, c in enumerate(counts)]
    rows.append(("mean posterior", f"{posterior.mean():.4f} (of the decoded states)"))
    rows.append((what, f"{_num(logprob)} nats (all sequences)"))
    _print_rows(rows)
    print(f"wrote {n} rows to {out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``genmodels predict``: what the model infers about each row, as its capabilities
    declare (``prediction``): classes (classifiers) or components (mixtures) with their
    probabilities, and accuracy when the true labels are given; or the probabilities of
    the hidden units (Boltzmann machines)."""
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
    X, _, y = gdata.load_data(args.data, target=label_column(model, args.data, args.target))
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
    _print_rows(rows)
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
        gdata.save_table(args.output, proba, hidden_unit_columns(units))
    print(f"hidden-unit probabilities p(h_j = 1 | x) of {n} samples x {units} hidden units")
    if n:
        means = proba.mean(0)
        hi, lo = int(means.argmax()), int(means.argmin())
        _print_rows(
            [
                ("mean p(h = 1)", _num(proba.mean())),
                ("most active unit", f"h{hi} (mean {_num(means[hi])})"),
                ("least active unit", f"h{lo} (mean {_num(means[lo])})"),
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
        gdata.save_table(args.output, codes, latent_columns(dims))
    print(f"latent codes E[z | x] of {n} samples x {dims} latent dimensions")
    if n:
        spread = codes.var(0)
        wide, narrow = int(spread.argmax()), int(spread.argmin())
        active = int(np.sum(spread > ACTIVE_VARIANCE))
        _print_rows(
            [
                ("mean |E[z | x]|", _num(np.linalg.norm(codes, axis=1).mean())),
                ("widest dimension", f"z{wide} (std {_num(np.sqrt(spread[wide]))})"),
                ("narrowest dimension", f"z{narrow} (std {_num(np.sqrt(spread[narrow]))})"),
                (
                    "active dimensions",
                    f"{active} of {dims} (variance of E[z | x] over the rows > "
                    f"{ACTIVE_VARIANCE:g})",
                ),
            ]
        )
    if args.output:
        print(f"wrote {n} rows x {dims} columns (z0 .. z{dims - 1}) to {args.output}")
    return 0


def latent_columns(dims: int) -> list[str]:
    """Column names of latent codes: ``zJ`` is E[z_J | x]."""
    return [f"z{j}" for j in range(dims)]


def cmd_interpolate(args: argparse.Namespace) -> int:
    """``genmodels interpolate``: decode ``--steps`` points on the path between the latent
    codes of two rows, written as an image strip (.png) or as rows (.csv, .npy)."""
    model = load_model(args.model_file)
    name = type(model).__name__
    caps = model.capabilities
    if caps.prediction != "embedding":
        raise CommandError(
            f"{name} has no continuous latent space to interpolate in: interpolate needs a "
            "model that encodes rows to latent codes and decodes them (e.g. vae)"
        )
    if args.steps < 2:
        raise CommandError(f"--steps must be at least 2 (the two ends), got {args.steps}")
    if args.b is None and args.rows is None:
        raise CommandError(
            "name the two rows: --rows I J (rows of A), or two files A B of one row each"
        )
    i, j = args.rows if args.rows is not None else (None, None)
    source_b = args.a if args.b is None else args.b
    x_a, y_a, where_a = pick_row(model, args.a, i, args.target)
    x_b, _, where_b = pick_row(model, source_b, j, args.target)
    shape = gdata.image_shape_for(x_a.shape[0])
    out = Path(args.output or ("interpolation.png" if shape else "interpolation.csv"))
    suffix = out.suffix.lower()
    if suffix not in (*gdata.WRITE_SUFFIXES, ".png"):
        raise CommandError(f"cannot write the path to {out}: use a .png, .csv or .npy file")
    if suffix == ".png" and shape is None:
        raise CommandError(
            f"cannot draw {out}: the rows have {x_a.shape[0]} features, which is not an image "
            "size genmodels knows (64 = 8x8, 784 = 28x28); write .csv or .npy instead"
        )
    extra: dict[str, Any] = {}
    if caps.supervised:
        if args.label is not None:
            extra["y"] = class_label(model, args.label)
        elif y_a is not None:
            extra["y"] = class_label(model, str(y_a))
        else:
            raise CommandError(
                f"{name} decodes with a class: choose it with --class LABEL (or name the "
                "labels' column with --target COLUMN)"
            )
    elif args.label is not None:
        raise CommandError(f"{name} is not conditioned on classes: it takes no --class")
    path = np.asarray(
        model.interpolate(x_a, x_b, args.steps, method=args.method, **extra), dtype=np.float64
    )
    what = f"{args.method} path from {where_a} to {where_b}"
    if suffix == ".png":
        from .figures import interpolation_strip

        label = f", class {extra['y']}" if "y" in extra else ""
        interpolation_strip(
            path,
            out,
            image_shape=shape,
            start=x_a,
            end=x_b,
            title=f"{name}: {args.steps} decoded points on the {args.method} path{label}",
        )
    else:
        gdata.save_table(out, path, feature_names(model))
    print(f"decoded {args.steps} points on the {what}")
    print(f"wrote {path.shape[0]} rows x {path.shape[1]} features to {out}")
    return 0


def pick_row(
    model: GenerativeModel, source: str, index: int | None, target: str | None
) -> tuple[np.ndarray, Any, str]:
    """Row ``index`` of the data ``source`` (its only row when ``index`` is None; a 1-D
    ``.npy`` of the model's ``n_features_in_`` values is one row), its label when the data
    carry labels (else None), and words saying which row it is."""
    X, _, y = gdata.load_data(source, target=label_column(model, source, target))
    d = int(vars(model).get("n_features_in_", 0))
    if X.shape[1] == 1 and d > 1 and X.shape[0] == d:  # a vector read as a column
        X = X.T
    n = X.shape[0]
    if index is None:
        if n != 1:
            raise CommandError(
                f"{source} holds {n} rows: name the two with --rows I J (or give two files "
                "of one row each)"
            )
        return X[0], None if y is None else y[0], str(source)
    if not 0 <= index < n:
        raise CommandError(f"there is no row {index} in {source}: it has {n} rows (0..{n - 1})")
    return X[index], None if y is None else y[index], f"row {index} of {source}"


def load_model_sequences(
    model: GenerativeModel, data: str, column: str | None
) -> gdata.SequenceData:
    """The sequences of ``data`` for a fitted sequence model. For a CSV without
    ``--sequence-column``, a model fitted on named columns takes the one column of the file
    that is not a feature as the sequence ids (so its training file reads as it is)."""
    if column is None:
        names = feature_names(model)
        header = gdata.csv_header(data)
        if names is not None and header is not None:
            extra = [c for c in header if c not in names]
            if len(extra) == 1 and len(header) == len(names) + 1:
                column = extra[0]
    return gdata.load_sequences(data, column)


def label_column(model: GenerativeModel, data: str, target: str | None) -> str | None:
    """The label column of a CSV to set aside: ``--target`` if given; else, for a classifier
    fitted on named columns, the one column of the file that is not a feature (so the
    labelled file a model was trained on can be scored and predicted as it is)."""
    if target is not None or not model.capabilities.supervised:
        return target
    names = feature_names(model)
    header = gdata.csv_header(data)
    if names is None or header is None:
        return None
    extra = [c for c in header if c not in names]
    if len(extra) == 1 and len(header) == len(names) + 1:
        return extra[0]
    return None


def class_label(model: GenerativeModel, text: str):
    """The element of ``model.classes_`` written as ``text`` on the command line."""
    classes = np.asarray(model.classes_)
    matches = [c for c in classes if str(c) == text]
    if not matches:
        known = ", ".join(str(c) for c in classes)
        raise CommandError(f"{type(model).__name__} has no class {text!r}; classes: {known}")
    return matches[0]


def write_predictions(path, what: str, predicted, labels, proba) -> None:
    """CSV: the predicted label, then one probability column ``p_<label>`` per label."""
    import csv

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([what, *(f"p_{c}" for c in labels)])
        for label, row in zip(predicted, proba, strict=True):
            writer.writerow([label, *(f"{v:.17g}" for v in row)])


def cmd_info(args: argparse.Namespace) -> int:
    """``genmodels info``: what a model file holds."""
    path = Path(args.model_file)
    meta = read_file_metadata(path)
    model = load_model(path)
    cls = type(model)
    rows = [
        ("file", f"{path} ({_human_size(path.stat().st_size)})"),
        (
            "format",
            f"{meta.get('format', '?')} format {meta.get('format_version', '?')}, written by "
            f"genmodels {meta.get('library_version', '?')}",
        ),
        ("class", f"{cls.__module__.split('.')[0]}.{cls.__name__}"),
        ("capabilities", format_capabilities(model.capabilities)),
    ]
    _print_rows(rows)
    print("hyper-parameters:")
    _print_rows([(k, repr(v)) for k, v in sorted(model.get_params(deep=False).items())], "  ")
    print("fitted:")
    _print_rows(fitted_summary(model), "  ")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``genmodels demo``: write the HTML report (``genmodels.demo.run``)."""
    try:
        from .demo import run
    except ImportError as exc:
        raise CommandError(f"the demo is not available in this installation ({exc})") from None
    print(f"building the demo report in {args.output} ...", flush=True)
    index = run(args.output, quick=args.quick)
    print(f"demo report written to {index}")
    print(f"open it in a browser: {Path(index).resolve().as_uri()}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """``genmodels models``: the registered models with aliases and capabilities."""
    aliases = model_aliases()
    rows = []
    for name, cls in sorted(registered_models().items()):
        names = sorted(a for a, target in aliases.items() if target == name and a != name.lower())
        rows.append((name, ", ".join(names) or "-", format_capabilities(cls.capabilities)))
    _print_table(("MODEL", "ALIASES", "CAPABILITIES"), rows)
    return 0


# ----------------------------------------------------------------------------------------
# Pieces (pure functions, tested through the verbs)


def parse_settings(settings: Sequence[str]) -> dict[str, Any]:
    """``["n_components=3", "covariance_type=full"]`` -> ``{"n_components": 3, ...}``.

    Values are JSON when they parse (``5``, ``1e-3``, ``true``, ``null``, ``[1,2]``), tuples
    when they are comma-separated numbers (``hidden_dims=256,128`` -> ``(256, 128)``),
    otherwise strings. The last setting of a key wins.
    """
    params: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--set expects KEY=VALUE, got {item!r}")
        params[key] = _setting_value(value)
    return params


def _setting_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    parts = text.split(",")
    if len(parts) > 1:
        try:
            values = [json.loads(p) for p in parts]
        except json.JSONDecodeError:
            return text
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return tuple(values)
    return text


def match_tuple_settings(defaults: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Settings of hyper-parameters whose default is a tuple, made tuples: a JSON list
    (``[256,128]``) or one number (``hidden_dims=64`` -> ``(64,)``); others as they are."""
    out = dict(params)
    for key, value in params.items():
        if not isinstance(defaults.get(key), tuple):
            continue
        if isinstance(value, list):
            out[key] = tuple(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = (value,)
    return out


def training_options(
    cls: type[GenerativeModel], args: argparse.Namespace, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(params, fit keywords)`` for ``fit``'s options of neural models: ``--checkpoint-dir``
    sets the ``checkpoint_dir`` hyper-parameter, ``--resume`` becomes ``resume=True``; a
    model that is not neural (``capabilities.neural``) refuses them and ``--validation``."""
    flags = {
        "--checkpoint-dir": args.checkpoint_dir is not None,
        "--resume": args.resume,
        "--validation": args.validation is not None,
    }
    if not cls.capabilities.neural:
        for flag, given in flags.items():
            if given:
                raise CommandError(
                    f"{flag} is for neural models trained by epochs (e.g. vae); {cls.__name__} "
                    "is not one"
                )
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
    from .nn._checkpoint import FILENAME

    path = Path(checkpoint_dir) / FILENAME
    if path.is_file():
        return f"resuming from {path}"
    return f"no checkpoint in {checkpoint_dir} yet: training from the start"


def validation_data(cls: type[GenerativeModel], source: str, target: str | None):
    """``--validation`` data for ``fit(..., validation_data=...)``: ``X``, or ``(X, y)``
    for a supervised model (labels from the same ``--target`` column, or a builtin's)."""
    X, _, y = gdata.load_data(source, target=target if cls.capabilities.supervised else None)
    if not cls.capabilities.supervised:
        return X
    if y is None:
        raise CommandError(
            f"{cls.__name__} needs class labels in the --validation data too: the --target column"
        )
    return X, y


def importance_note(model: GenerativeModel) -> str:
    """How an importance-weighted log-likelihood estimate was made (VAEs)."""
    k = model.get_params(deep=False)["n_importance"]
    return (
        f"IWAE with {k} importance samples per row: a lower bound on log p(x) in expectation, "
        "tighter as the samples grow (--importance K)"
    )


def check_param_names(owner: str, valid: dict[str, Any], params: dict[str, Any]) -> None:
    """Refuse hyper-parameters not among ``valid`` (the model's ``get_params()``),
    suggesting the closest name."""
    for key in params:
        if key in valid:
            continue
        close = difflib.get_close_matches(key, list(valid), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CommandError(
            f"{owner} has no hyper-parameter {key!r}{hint}; it has: " + ", ".join(sorted(valid))
        )


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
    if model.capabilities.sequential:
        return _sequence_fit_summary(model, X, lengths, source)
    state = vars(model)
    rows = [
        ("model", type(model).__name__),
        ("data", f"{X.shape[0]} samples x {X.shape[1]} features ({source})"),
    ]
    if "n_iter_" in state:
        converged = state.get("converged_")
        note = "" if converged is None else (" (converged)" if converged else " (NOT converged)")
        rows.append(("iterations", f"{state['n_iter_']}{note}"))
    if model.capabilities.neural:
        rows.extend(training_summary(model))
    kind = model.capabilities.likelihood
    if kind != "none":
        label = _LIKELIHOOD_LABEL.get(kind, kind)
        note = ""
        if "n_importance" in model.get_params(deep=False):
            note = f"; IWAE, {model.n_importance} samples per row"
        rows.append((f"train {label}", f"{_num(model.score(X))} nats/sample (mean{note})"))
    if model.capabilities.supervised and y is not None:
        rows.append(("classes", ", ".join(str(c) for c in model.classes_)))
        if model.capabilities.prediction == "class":
            rows.append(("train accuracy", f"{np.mean(model.predict(X) == y):.4f}"))
    if kind == "exact" and isinstance(model, _HAS_BIC):
        rows.append(("BIC", _num(model.bic(X))))
    return rows


def training_summary(model: GenerativeModel) -> list[tuple[str, str]]:
    """Rows on a neural model's training: epochs, the last epoch's losses, the checkpoint."""
    state = vars(model)
    history = state.get("history_", {})
    epochs = f"{state.get('n_epochs_', 0)}"
    if state.get("stopped_early_"):
        epochs += f" (stopped early; weights of epoch {state.get('best_epoch_')})"
    rows = [("epochs", epochs)]
    n = len(history.get("epoch_time", []))
    for key, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        values = history.get(key, [])
        if values and len(values) == n:  # scored every epoch, the last one included
            rows.append((f"{label} (last epoch)", _num(values[-1])))
        elif values:  # e.g. validation data in an earlier run of a resumed fit only
            rows.append((f"{label} (last scored epoch)", _num(values[-1])))
    folder = model.get_params(deep=False).get("checkpoint_dir")
    if folder is not None:
        from .nn._checkpoint import FILENAME

        rows.append(("checkpoint", str(Path(folder) / FILENAME)))
    return rows


def _sequence_fit_summary(
    model: GenerativeModel, frames: np.ndarray, lengths: np.ndarray, source: str
) -> list[tuple[str, str]]:
    state = vars(model)
    n_seq, n_frames = len(lengths), int(np.sum(lengths))
    rows = [
        ("model", type(model).__name__),
        (
            "data",
            f"{n_seq} sequences, {n_frames} frames x {frames.shape[1]} features "
            f"(frames per sequence {int(np.min(lengths))}..{int(np.max(lengths))}; {source})",
        ),
    ]
    if "n_iter_" in state:
        converged = state.get("converged_")
        note = "" if converged is None else (" (converged)" if converged else " (NOT converged)")
        rows.append(("iterations", f"{state['n_iter_']}{note}"))
    kind = model.capabilities.likelihood
    if kind != "none":
        ll = np.asarray(model.score_samples(frames, lengths), dtype=np.float64)
        label = _LIKELIHOOD_LABEL.get(kind, kind)
        rows.append(
            (
                f"train {label}",
                f"{_num(ll.mean())} nats/sequence (mean); {_num(ll.sum() / n_frames)} nats/frame",
            )
        )
    if kind == "exact" and isinstance(model, _HAS_BIC):
        rows.append(("BIC", _num(model.bic(frames, lengths))))
    return rows


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
    return [("n", str(ll.size)), *((k, _num(v)) for k, v in stats), ("likelihood", kind)]


def fitted_summary(model: GenerativeModel) -> list[tuple[str, str]]:
    """One row per fitted attribute (public, ending in ``_``): shapes of arrays, values of
    scalars, lengths of lists."""
    rows = []
    for name, value in sorted(vars(model).items()):
        if name.endswith("_") and not name.startswith("_"):
            rows.append((name, _describe_value(value)))
    return rows


def format_capabilities(caps) -> str:
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


def _not_sequential(name: str, option: str) -> str:
    return (
        f"{option} is for sequence models (e.g. gaussian-hmm); {name} takes independent "
        "rows of data"
    )


def feature_names(model: GenerativeModel) -> list[str] | None:
    """The training column names a model remembers, if any."""
    names = vars(model).get("feature_names_in_")
    return None if names is None else [str(n) for n in np.asarray(names).ravel()]


def read_file_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``__metadata__`` of a genmodels model file (format and library versions, class),
    checked like :func:`genmodels.load` checks it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    return dict(_read_header(path.read_bytes(), path))


# ----------------------------------------------------------------------------------------
# Output helpers


def _describe_value(value: Any) -> str:
    from torch import nn

    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS" and value.size <= 8:
            return f"{[str(v) for v in value.ravel()]}"
        return f"array {value.shape} {value.dtype}"
    if isinstance(value, nn.Module):  # a neural model's network
        n = sum(p.numel() for p in value.parameters())
        return f"{type(value).__name__} network, {n:,} parameters"
    if isinstance(value, dict):  # e.g. a neural model's history_ of per-epoch metrics
        keys = [str(k) for k in value]
        shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
        return f"dict of {len(keys)} ({shown})"
    if isinstance(value, list | tuple):
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, float | np.floating):
        return _num(float(value))
    return repr(value)


def _num(value: float) -> str:
    return f"{float(value):.6g}"


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def _print_rows(rows: Sequence[tuple[str, str]], indent: str = "") -> None:
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        print(f"{indent}{key:<{width}}  {value}")


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    for row in (headers, *rows):
        print("  ".join(f"{str(c):<{w}}" for c, w in zip(row, widths, strict=True)).rstrip())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {category.__name__}: {message}", file=sys.stderr)


def _exit_code(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
