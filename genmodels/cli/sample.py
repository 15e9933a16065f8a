"""``genmodels sample MODEL_FILE``: draw from a saved model into .csv, .npy, .npz
(sequences) or a .png image grid."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import sequences, tables
from .common import CommandError, add_verb, class_label, feature_names, load_model, not_sequential

if TYPE_CHECKING:
    from ..base import GenerativeModel

DEFAULT_LENGTH = 100  # frames per sequence drawn from a sequence model


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
        default=100,
        help="how many samples (sequences, for sequence models) (default 100)",
    )
    p.add_argument(
        "-o",
        "--output",
        default="samples.csv",
        help=".csv, .npy, or .png (an image grid; 64 or 784 features only); for sequence "
        "models .npz (X and lengths), .csv (a sequence column) or .npy (n, T, D); for text "
        "models .txt (default samples.csv)",
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
        help="draw from this class only (models with class-conditional sampling, e.g. naive Bayes)",
    )


def run(args: argparse.Namespace) -> int:
    """Draw ``-n`` samples and write them where ``-o`` says."""
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix == sequences.TEXT_SUFFIX:
        return _sample_text(args, out)
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


def _image_grid(model: GenerativeModel, X: np.ndarray, out: Path, label, means: bool) -> None:
    shape = tables.image_shape_for(X.shape[1])
    if shape is None:
        raise CommandError(
            f"cannot draw {out}: the model's data have {X.shape[1]} features, which is "
            "not an image size genmodels knows (64 = 8x8 like builtin:digits, 784 = "
            "28x28); write .csv or .npy instead"
        )
    from ..figures import save_image_grid

    title = f"{X.shape[0]} samples from {type(model).__name__}" + (" (E[x | z])" if means else "")
    if label is not None:
        title += f", class {label}"
    save_image_grid(X.reshape(-1, *shape), out, title=title)


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
    if args.label is not None:
        raise CommandError(f"{name} cannot sample from a given class")
    length = DEFAULT_LENGTH if args.length is None else args.length
    if length < 1:
        raise CommandError(f"--length must be a positive number of frames, got {length}")
    X = np.asarray(
        model.sample(args.n_samples, length=length, random_state=args.seed), dtype=np.float64
    )
    X = X.reshape(X.shape[0], X.shape[1], -1)
    sequences.save_sequences(out, X, feature_names(model))
    print(f"wrote {X.shape[0]} sequences x {X.shape[1]} frames x {X.shape[2]} features to {out}")
    return 0
