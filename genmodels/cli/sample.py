"""``genmodels sample MODEL_FILE``: draw from a saved model into .csv, .npy, .npz
(sequences) or a .png image grid."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import audio, sequences, tables
from .common import CommandError, add_verb, class_label, feature_names, load_model, not_sequential

if TYPE_CHECKING:
    from ..base import GenerativeModel

DEFAULT_LENGTH = 100  # frames per sequence drawn from a sequence model
DEFAULT_N = 100  # samples drawn when -n is not given (one recording for a .wav file)


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "sample",
        "draw samples from a saved model",
        run,
        "genmodels sample gmm.safetensors -n 100 -o samples.csv --seed 0",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument(
        "-n",
        "--n-samples",
        type=int,
        default=None,
        help="how many samples (sequences, for sequence models) (default 100; one recording "
        "for a .wav file)",
    )
    p.add_argument(
        "-o",
        "--output",
        default="samples.csv",
        help=".csv, .npy, or .png (an image grid: models fitted with image_shape, or 64 or "
        "784 features); for sequence "
        "models .npz (X and lengths), .csv (a sequence column) or .npy (n, T, D); for text "
        "models .txt; for audio models (wavenet fitted on .wav files) .wav: one mono 16-bit "
        "file, or with -n > 1 the files NAME_0.wav, NAME_1.wav, ... (default samples.csv)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed of the draw")
    p.add_argument(
        "--length",
        type=int,
        default=None,
        metavar="T",
        help=f"frames per sequence, for sequence models (default {DEFAULT_LENGTH}; one "
        "second of audio for a .wav file)",
    )
    p.add_argument(
        "--draws",
        action="store_true",
        help="models with a decoder (VAEs): draw the pixels x ~ p(x | z) into a .png too; by "
        "default an image grid shows each sample's mean E[x | z], which is what a digit "
        "looks like (a 0/1 draw of it is speckled)",
    )
    p.add_argument(
        "--class",
        dest="label",
        metavar="LABEL",
        help="draw from this class only (models with class-conditional sampling, e.g. naive "
        "Bayes; a pixelcnn or wavenet fitted on class labels needs one)",
    )


def run(args: argparse.Namespace) -> int:
    """Draw ``-n`` samples and write them where ``-o`` says."""
    out = Path(args.output)
    suffix = out.suffix.lower()
    if args.n_samples is None:
        args.n_samples = 1 if suffix == audio.WAV_SUFFIX else DEFAULT_N
    if suffix == sequences.TEXT_SUFFIX:
        return _sample_text(args, out)
    if suffix == audio.WAV_SUFFIX:
        return _sample_audio(args, out)
    if suffix not in (*sequences.SEQUENCE_WRITE_SUFFIXES, ".png"):
        raise CommandError(
            f"cannot write samples to {out}: use a .csv, .npy or .png (image grid) file "
            "(or .npz, for sequence models)"
        )
    model = load_model(args.model_file)
    if model.capabilities.sequential:
        return _sample_sequences(model, args, out)
    if args.length is not None:
        raise CommandError(not_sequential(type(model).__name__, "--length"))
    if suffix == ".npz":
        raise CommandError(
            f"cannot write samples of {type(model).__name__} to {out}: .npz is for "
            "sequences; use .csv, .npy or .png (image grid)"
        )
    name = type(model).__name__
    extra = {}
    if args.label is not None:
        if not model.capabilities.conditional_sampling:
            raise CommandError(f"{name} cannot sample from a given class")
        extra["y"] = class_label(model, args.label)
    else:
        _check_no_class_needed(model)
    decodes = model.capabilities.prediction == "embedding"  # it decodes codes: E[x | z]
    if args.draws and not decodes:
        raise CommandError(f"--draws is for models with a decoder (e.g. vae); {name} has none")
    if suffix == ".png" and decodes and not args.draws:
        _, Z = model.sample(args.n_samples, random_state=args.seed, return_latent=True, **extra)
        labels = {"y": np.full(len(Z), extra["y"])} if "y" in extra else {}
        X = np.asarray(model.decode(Z, **labels), dtype=np.float64)
    else:
        X = model.sample(args.n_samples, random_state=args.seed, **extra)
        X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        X = X.reshape(X.shape[0], -1)
    if suffix == ".png":
        _image_grid(model, X, out, args.label, means=decodes and not args.draws)
    else:
        tables.save_table(out, X, feature_names(model))
    print(f"wrote {X.shape[0]} samples x {X.shape[1]} features to {out}")
    return 0


def model_image_shape(model: GenerativeModel, n_features: int) -> tuple[int, ...] | None:
    """How the model's rows fold into images, (H, W) or (H, W, C): its fitted
    ``image_shape_`` (PixelCNN, PixelRNN) or ``image_shape`` (VAEs, GANs), else by the row
    size (64 = 8x8 like builtin:digits, 784 = 28x28), else None."""
    for name in ("image_shape_", "image_shape"):
        shape = getattr(model, name, None)
        if shape is not None and int(np.prod(shape)) == n_features:
            return tuple(int(s) for s in shape)
    return tables.image_shape_for(n_features)


def _image_grid(model: GenerativeModel, X: np.ndarray, out: Path, label, means: bool) -> None:
    shape = model_image_shape(model, X.shape[1])
    if shape is None or (len(shape) == 3 and shape[2] not in (1, 3)):
        raise CommandError(
            f"cannot draw {out}: the model's data have {X.shape[1]} features, which is "
            "not an image size genmodels knows (64 = 8x8 like builtin:digits, 784 = "
            "28x28, or a model fitted with image_shape); write .csv or .npy instead"
        )
    from ..figures import save_image_grid

    title = f"{X.shape[0]} samples from {type(model).__name__}" + (" (E[x | z])" if means else "")
    if label is not None:
        title += f", class {label}"
    images = X.reshape(-1, *shape)
    if len(shape) == 3 and shape[2] == 1:
        images = images[..., 0]
    if images.ndim == 4:  # colour: levels 0..n_levels-1, or values in [0, 1]
        top = float(model.n_levels) - 1 if hasattr(model, "n_levels") else 1.0
        save_image_grid(images, out, title=title, vmin=0.0, vmax=top)
    else:
        save_image_grid(images, out, title=title)


def _sample_text(args: argparse.Namespace, out: Path) -> int:
    """``sample`` of a text model into a .txt file: ``-n`` texts of ``--length``
    characters, separated by blank lines."""
    model = load_model(args.model_file)
    if getattr(model, "vocabulary_", None) is None:
        raise CommandError(
            f"cannot write samples of {type(model).__name__} to {out}: a .txt file is for "
            "models fitted on text (e.g. genmodels fit transformer input.txt); use .csv, "
            ".npy or .png (or .npz, for sequence models)"
        )
    length = DEFAULT_LENGTH if args.length is None else args.length
    if length < 1:
        raise CommandError(f"--length must be a positive number of characters, got {length}")
    texts = model.sample_text(args.n_samples, length=length, random_state=args.seed)
    out.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    print(f"wrote {len(texts)} texts x {length} characters to {out}")
    return 0


def _sample_sequences(model: GenerativeModel, args: argparse.Namespace, out: Path) -> int:
    """``sample`` for a sequence model: ``-n`` sequences of ``--length`` frames."""
    name = type(model).__name__
    if out.suffix.lower() == ".png":
        raise CommandError(
            f"cannot draw {out}: {name} samples sequences; write .npz, .csv or .npy instead"
        )
    length = DEFAULT_LENGTH if args.length is None else args.length
    if length < 1:
        raise CommandError(f"--length must be a positive number of frames, got {length}")
    X = np.asarray(
        model.sample(
            args.n_samples, length=length, random_state=args.seed, **_sequence_class(model, args)
        ),
        dtype=np.float64,
    )
    X = X.reshape(X.shape[0], X.shape[1], -1)
    sequences.save_sequences(out, X, feature_names(model))
    print(f"wrote {X.shape[0]} sequences x {X.shape[1]} frames x {X.shape[2]} features to {out}")
    return 0


def _check_no_class_needed(model: GenerativeModel) -> None:
    """A model fitted conditioned on class labels (not a classifier, which draws them)
    samples given one: ask for ``--class``."""
    classes = getattr(model, "classes_", None)
    if classes is not None and not model.capabilities.supervised:
        known = ", ".join(str(c) for c in classes)
        raise CommandError(
            f"{type(model).__name__} was fitted on class labels: choose one with --class "
            f"LABEL (classes: {known})"
        )


def _sequence_class(model: GenerativeModel, args: argparse.Namespace) -> dict:
    """``{"y": label}`` of ``--class`` for a sequence model (one fitted on labels)."""
    name = type(model).__name__
    if not model.capabilities.conditional_sampling:
        if args.label is not None:
            raise CommandError(f"{name} cannot sample from a given class")
        return {}
    if getattr(model, "n_local_features_", 0):
        raise CommandError(
            f"{name} is conditioned on local features, which the command line cannot give: "
            "sample it from Python (model.sample(n, features=...))"
        )
    if args.label is None:
        _check_no_class_needed(model)
        return {}
    return {"y": class_label(model, args.label)}


def _sample_audio(args: argparse.Namespace, out: Path) -> int:
    """``sample`` of a model of audio into .wav files: ``-n`` recordings of ``--length``
    samples at the model's ``sample_rate_``, mu-law decoded, 16-bit; one file ``out``, or
    ``out``'s stem with ``_0``, ``_1``, ... for several."""
    from ..autoregressive import mu_law_decode

    model = load_model(args.model_file)
    name = type(model).__name__
    rate = getattr(model, "sample_rate_", None)
    if rate is None:
        raise CommandError(
            f"cannot write {out}: {name} was not fitted on .wav files, so it has no sample "
            "rate (sample_rate_); write .npz, .csv or .npy instead"
        )
    length = int(rate) if args.length is None else args.length  # default: one second
    if length < 1:
        raise CommandError(f"--length must be a positive number of samples, got {length}")
    if args.n_samples < 1:
        raise CommandError(f"-n must be a positive number of recordings, got {args.n_samples}")
    codes = model.sample(
        args.n_samples, length=length, random_state=args.seed, **_sequence_class(model, args)
    )[..., 0]
    waves = mu_law_decode(codes, model.vocab_size_)
    paths = (
        [out]
        if len(waves) == 1
        else [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(len(waves))]
    )
    for path, wave in zip(paths, waves, strict=True):
        audio.write_wav(path, wave, rate)
    where = str(out) if len(paths) == 1 else f"{paths[0]} .. {paths[-1].name}"
    print(f"wrote {len(paths)} recording(s) x {length} samples at {rate} Hz to {where}")
    return 0
