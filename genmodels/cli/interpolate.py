"""``genmodels interpolate MODEL_FILE A [B]``: decode the path through a latent space
between the codes of two rows, as an image strip (.png) or as rows (.csv, .npy)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import tables
from .common import (
    CommandError,
    add_column_options,
    add_verb,
    class_label,
    feature_names,
    load_model,
    model_rows,
)

if TYPE_CHECKING:
    from ..base import GenerativeModel


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "interpolate",
        "decode the path through a latent space between the codes of two rows (VAEs)",
        run,
        "genmodels interpolate vae.safetensors digits01.npy --rows 0 7 -o strip.png",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument(
        "a",
        metavar="A",
        nargs="?",
        help="data (CSV/.npy/.npz or builtin:NAME) holding the first row: its only row, or "
        "row I of --rows (not for a GAN, which has no encoder: its path runs between two "
        "latent codes drawn with --seed)",
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
        "--seed",
        type=int,
        default=0,
        help="GANs: the seed of the two latent codes the path joins (default 0)",
    )
    add_column_options(p)
    p.add_argument(
        "-o",
        "--output",
        help=".png (image rows: 64 or 784 features; the two real rows framed at the ends), "
        ".csv or .npy (the decoded points, one per row) (default interpolation.png for "
        "images, else interpolation.csv)",
    )


def run(args: argparse.Namespace) -> int:
    """Decode ``--steps`` points on the path between the latent codes of two rows."""
    model = load_model(args.model_file)
    name = type(model).__name__
    caps = model.capabilities
    if caps.latent and caps.likelihood == "none":  # a generator: codes in, no encoder
        return _walk_generator(model, args)
    if caps.prediction != "embedding":
        raise CommandError(
            f"{name} has no continuous latent space to interpolate in: interpolate needs a "
            "model that encodes rows to latent codes and decodes them (e.g. vae)"
        )
    if args.steps < 2:
        raise CommandError(f"--steps must be at least 2 (the two ends), got {args.steps}")
    if args.a is None:
        raise CommandError(f"{name} interpolates between two rows: give the data A they are in")
    if args.b is None and args.rows is None:
        raise CommandError(
            "name the two rows: --rows I J (rows of A), or two files A B of one row each"
        )
    i, j = args.rows if args.rows is not None else (None, None)
    source_b = args.a if args.b is None else args.b
    x_a, y_a, where_a = pick_row(model, args.a, i, args)
    x_b, _, where_b = pick_row(model, source_b, j, args)
    out, suffix, shape = _output(args, x_a.shape[0])
    extra = _decoding_class(model, args.label, y_a)
    path = np.asarray(
        model.interpolate(x_a, x_b, args.steps, method=args.method, **extra), dtype=np.float64
    )
    if suffix == ".png":
        from ..figures import interpolation_strip

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
        tables.save_table(out, path, feature_names(model))
    print(f"decoded {args.steps} points on the {args.method} path from {where_a} to {where_b}")
    print(f"wrote {path.shape[0]} rows x {path.shape[1]} features to {out}")
    return 0


def _output(args: argparse.Namespace, n_features: int) -> tuple[Path, str, Any]:
    """Where the path goes (``-o``, else a PNG for image rows, a CSV otherwise), its suffix,
    and the image shape of the rows (None when they are not images)."""
    shape = tables.image_shape_for(n_features)
    out = Path(args.output or ("interpolation.png" if shape else "interpolation.csv"))
    suffix = out.suffix.lower()
    if suffix not in (*tables.WRITE_SUFFIXES, ".png"):
        raise CommandError(f"cannot write the path to {out}: use a .png, .csv or .npy file")
    if suffix == ".png" and shape is None:
        raise CommandError(
            f"cannot draw {out}: the rows have {n_features} features, which is not an image "
            "size genmodels knows (64 = 8x8, 784 = 28x28); write .csv or .npy instead"
        )
    return out, suffix, shape


def _walk_generator(model: GenerativeModel, args: argparse.Namespace) -> int:
    """``interpolate`` for a model that generates from latent codes but encodes nothing (a
    GAN): the path between two codes drawn from the prior with ``--seed``."""
    name = type(model).__name__
    if args.a is not None or args.rows is not None:
        raise CommandError(
            f"{name} has no encoder, so it cannot start a path from data rows; give no data "
            "and choose the two latent codes with --seed"
        )
    if args.steps < 2:
        raise CommandError(f"--steps must be at least 2 (the two ends), got {args.steps}")
    out, suffix, shape = _output(args, int(model.fitted_attributes()["n_features_in_"]))
    extra = _decoding_class(model, args.label, None)
    path = np.asarray(
        model.interpolate(args.steps, method=args.method, random_state=args.seed, **extra),
        dtype=np.float64,
    )
    if suffix == ".png":
        from ..figures import interpolation_strip

        label = f", class {extra['y']}" if "y" in extra else ""
        title = f"{name}: {args.steps} points on the {args.method} latent path{label}"
        interpolation_strip(path, out, image_shape=shape, title=title)
    else:
        tables.save_table(out, path, feature_names(model))
    print(f"generated {args.steps} points on the {args.method} path between two latent codes")
    print(f"wrote {path.shape[0]} rows x {path.shape[1]} features to {out}")
    return 0


def _decoding_class(model: GenerativeModel, label: str | None, y_a: Any) -> dict[str, Any]:
    """``{"y": class}`` for a conditional model (``--class``, else row A's label)."""
    name = type(model).__name__
    if not model.capabilities.supervised:
        if label is not None:
            raise CommandError(f"{name} is not conditioned on classes: it takes no --class")
        return {}
    if label is not None:
        return {"y": class_label(model, label)}
    if y_a is not None:
        return {"y": class_label(model, str(y_a))}
    raise CommandError(
        f"{name} decodes with a class: choose it with --class LABEL (or name the "
        "labels' column with --target COLUMN)"
    )


def pick_row(
    model: GenerativeModel, source: str, index: int | None, args: argparse.Namespace
) -> tuple[np.ndarray, Any, str]:
    """Row ``index`` of the data ``source`` (its only row when ``index`` is None; a 1-D
    ``.npy`` of the model's ``n_features_in_`` values is one row), its label when the data
    carry labels (else None), and words saying which row it is."""
    X, y = model_rows(model, source, args, args.target)
    d = int(model.fitted_attributes().get("n_features_in_", 0))
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
