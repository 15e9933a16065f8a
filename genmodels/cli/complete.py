"""``genmodels complete MODEL_FILE PREFIX``: continue a text (or a sequence of token ids)
with a saved autoregressive model, and print or write the completions;
``genmodels complete MODEL_FILE --image partial.png``: inpaint the lower rows of an image
with a saved image model (PixelCNN, PixelRNN) and write the completions as a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import CommandError, add_verb, class_label, load_model


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "complete",
        "continue a text with a saved autoregressive model (e.g. a transformer)",
        run,
        'genmodels complete shakespeare.safetensors "To be, or not" -n 200 --seed 0\n'
        "  genmodels complete pixelcnn.safetensors --image partial.png --keep-rows 14 "
        "--samples 8 -o inpainted.png",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument(
        "prefix",
        metavar="PREFIX",
        nargs="?",
        help="the text to continue ('' to start from nothing); for a model of token ids, "
        "the ids separated by commas or spaces",
    )
    p.add_argument(
        "--image",
        default=None,
        help="image models: a PNG of the model's image size (brightness 0..1 is the pixel "
        "level 0..n_levels-1) whose lower rows are drawn afresh",
    )
    p.add_argument(
        "--keep-rows",
        type=int,
        default=None,
        help="with --image: how many top rows to keep (default: the upper half)",
    )
    p.add_argument("-n", "--n-tokens", type=int, default=200, help="tokens to add (default 200)")
    p.add_argument("--samples", type=int, default=1, help="how many completions (default 1)")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="divides the logits; 0 decodes greedily (default 1.0)",
    )
    p.add_argument("--top-k", type=int, default=None, help="draw among the k likeliest tokens")
    p.add_argument(
        "--top-p", type=float, default=None, help="draw among the likeliest tokens of mass p"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed of the draws")
    p.add_argument(
        "--class",
        dest="label",
        metavar="LABEL",
        help="the class to complete in, for a model fitted on class labels (it needs one)",
    )
    p.add_argument("-o", "--output", default=None, help="write to this file instead of printing")


def _class_keywords(model, args: argparse.Namespace, n: int) -> dict:
    """``{"y": labels}`` of ``--class`` (one per completion), for a model fitted on class
    labels; such a model needs one, and others take none."""
    name = type(model).__name__
    conditioned = getattr(model, "classes_", None) is not None
    if args.label is None:
        if conditioned:
            known = ", ".join(str(c) for c in model.classes_)
            raise CommandError(
                f"{name} was fitted on class labels: choose the class to complete in with "
                f"--class LABEL (classes: {known})"
            )
        return {}
    label = class_label(model, args.label)
    return {"y": np.full(n, label, dtype=np.asarray(model.classes_).dtype)}


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model_file)
    name = type(model).__name__
    if args.image is not None:
        if args.prefix is not None:
            raise CommandError("give either a PREFIX or --image, not both")
        return _inpaint(model, args)
    if args.prefix is None:
        raise CommandError("give the PREFIX to continue (or --image for an image model)")
    if args.keep_rows is not None:
        raise CommandError("--keep-rows goes with --image")
    if not hasattr(model, "complete"):
        raise CommandError(f"{name} does not generate sequences token by token; it has no complete")
    if args.n_tokens < 1:
        raise CommandError(f"-n must be a positive number of tokens, got {args.n_tokens}")
    text = getattr(model, "vocabulary_", None) is not None
    prefix = args.prefix if text else _token_ids(args.prefix)
    out = model.complete(
        prefix,
        args.n_tokens,
        n_samples=args.samples,
        **_class_keywords(model, args, args.samples),
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        random_state=args.seed,
    )
    lines = list(out) if text else [" ".join(str(int(v)) for v in row) for row in out]
    body = "\n\n".join(lines) + "\n"
    if args.output is None:
        print(body, end="")
    else:
        Path(args.output).write_text(body, encoding="utf-8")
        print(f"wrote {len(lines)} completion(s) of {args.n_tokens} tokens to {args.output}")
    return 0


def _token_ids(prefix: str) -> np.ndarray:
    parts = prefix.replace(",", " ").split()
    try:
        return np.array([int(p) for p in parts], dtype=np.int64)
    except ValueError:
        raise CommandError(
            f"this model was fitted on token ids: give the prefix as integers, got {prefix!r}"
        ) from None


def _inpaint(model, args: argparse.Namespace) -> int:
    """Keep the top rows of the PNG, draw the rest ``--samples`` times, write a PNG strip:
    the given image (lower rows grey) and the completions."""
    name = type(model).__name__
    if not hasattr(model, "inpaint"):
        raise CommandError(f"{name} is not an image model; --image needs PixelCNN or PixelRNN")
    if args.samples < 1:
        raise CommandError(f"--samples must be positive, got {args.samples}")
    shape = tuple(int(s) for s in model.image_shape_)
    h, w = shape[:2]
    channels = shape[2] if len(shape) == 3 else 1
    levels = int(model.vocab_size_)
    pixels = _read_png(args.image, (h, w), channels)
    codes = np.rint(pixels * (levels - 1)).reshape(1, -1)
    keep = h // 2 if args.keep_rows is None else args.keep_rows
    if not 0 <= keep < h:
        raise CommandError(f"--keep-rows must be in [0, {h}), got {keep}")
    out = model.inpaint(
        np.repeat(codes, args.samples, 0),
        keep,
        **_class_keywords(model, args, args.samples),
        random_state=args.seed,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
    )
    given = codes.reshape(1, h, w, channels) / (levels - 1)
    given[:, keep:] = 0.5  # what was drawn afresh shows as grey
    images = np.concatenate([given, out.reshape(-1, h, w, channels) / (levels - 1)])
    path = Path(args.output or "inpainted.png")
    if path.suffix.lower() != ".png":
        raise CommandError(f"inpainted images are written as a .png, not {path.name}")
    _write_strip(images, path)
    print(f"kept {keep} of {h} rows of {args.image}; wrote {args.samples} inpainting(s) to {path}")
    return 0


def _read_png(path: str, size: tuple[int, int], channels: int) -> np.ndarray:
    """Pixels (H, W, channels) in [0, 1] of a PNG of exactly ``size``."""
    import matplotlib.image as mpimg

    p = Path(path)
    if not p.is_file():
        raise CommandError(f"no such image file: {path}")
    try:
        img = np.asarray(mpimg.imread(p, format="png"), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any unreadable file: one clear line
        raise CommandError(f"cannot read {path} as a PNG image ({exc})") from None
    if img.ndim == 3 and img.shape[2] in (2, 4):
        img = img[..., :-1]  # drop alpha
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if channels == 1 and img.ndim == 3:
        img = img @ np.array([0.299, 0.587, 0.114])  # RGB to luma
    if channels == 3 and img.ndim == 2:
        img = np.repeat(img[..., None], 3, 2)
    if img.shape[:2] != size:
        raise CommandError(
            f"{path} is {img.shape[1]}x{img.shape[0]} pixels; the model draws "
            f"{size[1]}x{size[0]} images"
        )
    return img.reshape(*size, channels)


def _write_strip(images: np.ndarray, path: Path, scale: int = 4) -> None:
    """Images (n, H, W, C) in [0, 1] side by side, each pixel ``scale`` x ``scale``."""
    import matplotlib.pyplot as plt

    n, h, w, c = images.shape
    strip = np.ones((h, n * (w + 1) - 1, c))
    for i, im in enumerate(images):
        strip[:, i * (w + 1) : i * (w + 1) + w] = im
    strip = np.kron(strip, np.ones((scale, scale, 1)))
    path.parent.mkdir(parents=True, exist_ok=True)
    if c == 1:
        plt.imsave(path, strip[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        plt.imsave(path, np.clip(strip, 0.0, 1.0))
