"""``genmodels fit MODEL DATA``: build a model from ``--set`` values, fit it, save it and
summarise the fit."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..registry import model_class
from . import audio, images, sequences, tables
from .common import (
    CommandError,
    add_column_options,
    add_sequence_column,
    add_verb,
    align_columns,
    not_sequential,
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
from .summary import audio_fit_summary, fit_summary

if TYPE_CHECKING:
    from ..base import GenerativeModel


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "fit",
        "fit a model to data and save it",
        run,
        "genmodels fit gmm data.csv --set n_components=3 --set covariance_type=diag",
    )
    p.add_argument("model", metavar="MODEL", help="model name or alias (see `genmodels models`)")
    p.add_argument(
        "data",
        metavar="DATA",
        help="CSV/.npy/.npz file, builtin:NAME, a text file (transformer), a folder of .wav "
        "files (wavenet), a folder of images (.png, .jpg, .bmp; class subfolders label them), "
        "or for the music models a JSON file of pieces (the JSB chorale files; x.json:train "
        "picks a list of an object)",
    )
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
    p.add_argument(
        "--labels",
        metavar="FILE",
        help="class labels from a file beside DATA, one per row (.npy, .txt, or a one-column "
        ".csv): for data that has no column to hold them, e.g. a sparse .npz of counts",
    )
    p.add_argument(
        "--labels-from-name",
        action="store_true",
        help="audio (a folder of .wav files, for wavenet): each file's class label is its "
        "name before the first '_' (7_jackson_0.wav: 7), for a model conditioned on it; a "
        "folder of class subfolders labels its files by subfolder without this option",
    )
    p.add_argument(
        "--pixels",
        choices=images.PIXEL_CHOICES,
        default="auto",
        help="a folder of images: how 8-bit pixels become values; levels 0..255 (0..n_levels-1), "
        "unit x/255, binary x >= 128; auto (default): levels for pixelcnn/pixelrnn with "
        "n_levels > 2, binary for models of 0/1 data (Bernoulli vae, rbm), else unit",
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
    wavs = None
    if audio.is_wav_source(args.data):
        wavs, X, params = _audio_data(cls, args, params)
        columns, lengths, y = None, None, None
        training = {**training, "sample_rate": wavs.sample_rate}
        if wavs.labels is not None:
            training["y"] = wavs.labels
    elif args.labels_from_name:
        raise CommandError(
            "--labels-from-name labels .wav files by their names; "
            f"{args.data} is not a WAV file or a folder of them"
        )
    elif images.is_image_source(args.data):
        X, y, params = _image_data(cls, args, params)
        columns, lengths = None, None
    else:
        X, columns, y, lengths = _training_data(cls, args)
    held_out = None
    if args.validation is not None:
        held_out = validation_data(cls, args, columns, labelled=y is not None, params=params)
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
        if wavs is not None:
            rows = audio_fit_summary(model, X, wavs, args.data)
        else:
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
        return (
            model.fit(X, lengths, **training) if cls.capabilities.neural else model.fit(X, lengths)
        )
    if cls.capabilities.supervised:
        return model.fit(X, y, **training)
    if y is not None:  # a model that may be conditioned on labels (e.g. pixelcnn)
        return model.fit(X, y=y, **training)
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
    if args.labels is not None and args.target is not None:
        raise CommandError("give the labels once: --target COLUMN or --labels FILE")
    given = args.target is not None or args.labels is not None
    option = "--target" if args.target is not None else "--labels"
    if caps.supervised and not given and not builtin:
        raise CommandError(
            f"{name} is supervised and needs class labels to fit: name their "
            "column with --target COLUMN, give a file of them with --labels FILE (or use a "
            "builtin: data set)"
        )
    if caps.sequential and given:
        raise CommandError(
            f"{name} is a sequence model, fitted without labels: it takes no {option} (a "
            "wavenet fitted on .wav files takes labels from their names or subfolders)"
        )
    if caps.input_kind == "tokens" and sequences.is_text_source(args.data):
        if args.sequence_column is not None:
            raise CommandError(f"{args.data}: a text file has no --sequence-column")
        return sequences.load_texts(args.data), None, None, None
    if caps.sequential and music_json(args.data):
        frames, lengths = music_pieces(cls, args.data, args)
        return frames, None, None, lengths
    if caps.sequential:
        seqs = read_sequences(args.data, args.sequence_column, args)
        return seqs.frames, seqs.columns, None, seqs.lengths
    unread = unread_columns(args.data, args, () if args.target is None else (args.target,))
    X, columns, y = tables.load_data(args.data, target=args.target, exclude=unread)
    X, columns = select_columns(X, columns, args, str(args.data))
    if args.labels is not None:
        y = tables.load_labels(args.labels, X.shape[0])
    if caps.supervised and y is None:
        raise CommandError(
            f"{name} needs class labels to fit: name their column with "
            "--target COLUMN (or use a builtin: data set)"
        )
    if not caps.supervised and not caps.conditional_sampling and given:
        raise CommandError(f"{name} is unsupervised: it takes no {option} labels")
    if not caps.supervised and not given:
        y = None  # a builtin's labels condition such a model only when asked for
    return X, columns, y, None


def _audio_data(cls: type[GenerativeModel], args: argparse.Namespace, params):
    """``(wavs, levels, params)``: the recordings of a WAV ``DATA`` mu-law encoded to the
    model's ``vocab_size`` levels, one (T, 1) sequence per file."""
    from ..autoregressive import mu_law_encode

    if "sample_rate" not in inspect.signature(cls.fit).parameters:
        raise CommandError(
            f"{cls.__name__} does not model audio: .wav data is for wavenet "
            f"({args.data} holds .wav files)"
        )
    for option, given in (
        ("--target", args.target is not None),
        ("--labels", args.labels is not None),
        ("--sequence-column", args.sequence_column is not None),
    ):
        if given:
            raise CommandError(
                f"{option} is not for .wav data: labels come from the file names "
                "(--labels-from-name) or from class subfolders"
            )
    wavs = audio.load_wavs(args.data, labels_from_name=args.labels_from_name)
    levels = cls(**params).get_params()["vocab_size"]
    X = [mu_law_encode(w, levels).astype(np.float64)[:, None] for w in wavs.waves]
    return wavs, X, params


def _image_data(cls: type[GenerativeModel], args: argparse.Namespace, params):
    """``(X, y, params)`` of a folder of images: rows of the pixels in the convention of
    ``--pixels`` (flattened channel-last), the class subfolders' labels (or None), and the
    hyper-parameters with ``image_shape`` set from the images for a model that takes one."""
    name, caps = cls.__name__, cls.capabilities
    for option, given in (
        ("--target", args.target is not None),
        ("--labels", args.labels is not None),
        ("--sequence-column", args.sequence_column is not None),
        ("--columns", getattr(args, "columns", None) is not None),
        ("--drop", bool(getattr(args, "drop", None))),
    ):
        if given:
            raise CommandError(
                f"{option} is not for a folder of images: labels come from class subfolders"
            )
    if caps.sequential or caps.input_kind == "tokens":
        raise CommandError(f"{name} does not model images ({args.data} is a folder of images)")
    data = images.load_images(args.data)
    if data.labels is not None and not (caps.supervised or caps.conditional_sampling):
        raise CommandError(
            f"{name} is unsupervised: {args.data} holds class subfolders, which label images "
            "for classifiers and conditional models; put the images in one folder"
        )
    if data.labels is None and caps.supervised:
        raise CommandError(
            f"{name} is supervised and needs class labels: put each class's images in a "
            f"subfolder of {args.data} named for the class"
        )
    params = dict(params)
    defaults = cls().get_params(deep=False)
    if "image_shape" in defaults and params.get("image_shape") is None:
        params["image_shape"] = data.image_shape
    X = _pixel_rows(cls, args, params, data)
    return X, data.labels, params


def _pixel_rows(cls, args: argparse.Namespace, params: dict, data: images.ImageData):
    """The images of ``data`` as flat rows of model values (``--pixels``)."""
    return images.rows_for(cls, params, data, args.pixels)


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
    from ..nn import checkpoint_path

    path = checkpoint_path(checkpoint_dir)
    if path.is_file():
        return f"resuming from {path}"
    return f"no checkpoint in {checkpoint_dir} yet: training from the start"


def validation_data(
    cls: type[GenerativeModel],
    args: argparse.Namespace,
    names,
    *,
    labelled: bool = False,
    params: dict | None = None,
):
    """``--validation`` data for ``fit(..., validation_data=...)``: ``X``, or ``(X, y)``
    for a supervised model or one fitted on labels (``labelled``; labels from the same
    ``--target`` column, a builtin's, or an image folder's class subfolders), its columns
    chosen as the training data's (``--columns``, ``--drop``) and matched to the training
    ``names`` by name; for a sequence model ``(frames, lengths)``."""
    supervised = cls.capabilities.supervised
    source = str(args.validation)
    if images.is_image_source(source):
        data = images.load_images(source)
        X = _pixel_rows(cls, args, params or {}, data)
        if not (supervised or labelled):
            return X
        if data.labels is None:
            raise CommandError(
                f"{cls.__name__} was fitted on class labels: the --validation images need "
                "them too (class subfolders)"
            )
        return _with_labels(cls, X, data.labels)
    if audio.is_wav_source(source):
        from ..autoregressive import mu_law_encode

        wavs = audio.load_wavs(source, labels_from_name=args.labels_from_name)
        default = cls().get_params().get("vocab_size", 256)
        levels = parse_settings(args.settings).get("vocab_size", default)
        X = [mu_law_encode(w, levels).astype(np.float64)[:, None] for w in wavs.waves]
        return {"X": X, "y": wavs.labels}
    if cls.capabilities.input_kind == "tokens" and sequences.is_text_source(source):
        return sequences.load_texts(source)
    if cls.capabilities.sequential and music_json(source):
        return music_pieces(cls, source, args)
    if cls.capabilities.sequential:  # held-out sequences, for --select val
        seqs = read_sequences(source, args.sequence_column, args)
        return align_columns(seqs.frames, seqs.columns, names, source, cls.__name__), seqs.lengths
    target = args.target if supervised or labelled else None
    unread = unread_columns(source, args, () if target is None else (target,))
    X, columns, y = tables.load_data(source, target=target, exclude=unread)
    X, columns = select_columns(X, columns, args, source)
    X = align_columns(X, columns, names, source, cls.__name__)
    if not (supervised or labelled):
        return X
    if y is None:
        how = "the --target column" if args.target is not None else "a --target column"
        raise CommandError(
            f"{cls.__name__} was fitted on class labels: the --validation data need them "
            f"too ({how}; labels from --labels FILE reach the training data only)"
        )
    return _with_labels(cls, X, y)


def _with_labels(cls: type[GenerativeModel], X, y):
    """Labelled validation data in the form the model's ``fit`` takes: ``(X, y)``, or
    ``{"X": X, "y": y}`` for an autoregressive model (whose pairs are (X, lengths))."""
    from ..autoregressive.base import AutoregressiveModel

    return {"X": X, "y": y} if issubclass(cls, AutoregressiveModel) else (X, y)


def music_json(source) -> bool:
    """Whether ``source`` is a JSON file of music pieces (``x.json`` or ``x.json:KEY``)."""
    from ..music import is_pieces_json

    return is_pieces_json(source)


def music_pieces(cls: type[GenerativeModel], source, args: argparse.Namespace):
    """``(frames, lengths)`` of the pieces of a JSON file for a music model: piano rolls for
    ``rnn-nade``, voice pitches for ``satb``."""
    from ..autoregressive.pianoroll import StepSequenceModel
    from ..music import read_pieces_json

    if not issubclass(cls, StepSequenceModel):
        raise CommandError(
            f"{source}: a JSON file of pieces is for the music models (rnn-nade, satb), "
            f"not {cls.__name__}"
        )
    if args.sequence_column is not None:
        raise CommandError(f"{source}: a JSON file of pieces has no --sequence-column")
    pieces = read_pieces_json(source, voices=cls.capabilities.input_kind == "categorical")
    return np.concatenate(pieces), np.array([len(p) for p in pieces], dtype=np.int64)
