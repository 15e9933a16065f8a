"""``genmodels upscale MODEL IMAGE -o OUT``: an image (PNG, any size, RGB or grey, or a
``.npy`` array) upscaled by a saved :class:`~genmodels.superres.SuperResolution` model.

Training stays in Python (``SuperResolution(...).fit(images)``, or
``examples/superres_set5.py``): ``genmodels fit`` trains registered density models on
tables, and a folder of training images is another kind of input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import CommandError, add_verb
from .npfiles import open_numpy

IMAGE_SUFFIXES = (".png",)
SUFFIXES = (*IMAGE_SUFFIXES, ".npy")


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "upscale",
        "upscale an image with a saved super-resolution model",
        run,
        "genmodels upscale superres_x4.safetensors small.png -o big.png",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument(
        "image",
        metavar="IMAGE",
        help="a .png (RGB, grey, palette; an alpha channel is upscaled bicubically) or a "
        ".npy array: (H, W) or (H, W, 3), uint8 or float in [0, 1], or a batch of those",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help=".png (8-bit, grey or RGB as the input) or .npy (the dtype of the input)",
    )
    p.add_argument(
        "--tile-size",
        type=int,
        default=None,
        metavar="PIXELS",
        help="process low-resolution tiles of this side (less memory; the same result)",
    )
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (default: saved)")


def run(args: argparse.Namespace) -> int:
    """Read the image, upscale it, write it where ``-o`` says."""
    src, out = Path(args.image), Path(args.output)
    for path, what in ((src, "read"), (out, "write")):
        if path.suffix.lower() not in SUFFIXES:
            raise CommandError(f"cannot {what} {path}: use a .png image or a .npy array")
    if args.tile_size is not None and args.tile_size < 8:
        raise CommandError(f"--tile-size must be at least 8 pixels, got {args.tile_size}")
    from ..superres import SuperResolution

    model = SuperResolution.load(args.model_file, device=args.device)
    if args.tile_size is not None:
        model.set_params(tile_size=args.tile_size)
    image, alpha = _read(src)
    big = model.upscale(image)
    if alpha is not None:
        from ..superres import imresize

        alpha = imresize(alpha, float(model.scale))
    _write(out, big, alpha)
    h, w = image.shape[-3:-1] if image.ndim >= 3 and image.shape[-1] == 3 else image.shape[-2:]
    print(f"{src} ({w}x{h}) -> {out} ({model.scale * w}x{model.scale * h}), x{model.scale}")
    return 0


def _read(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """The pixels (uint8 grey or RGB, or the .npy array as it is) and the alpha channel."""
    if not path.is_file():
        raise FileNotFoundError(f"no image at {path}")
    if path.suffix.lower() == ".npy":
        arr = open_numpy(path)
        if not isinstance(arr, np.ndarray):
            raise CommandError(f"{path}: expected a .npy array")
        return arr, None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif mode in ("1", "I;16", "I;16B", "I"):
                if mode != "1":
                    raise CommandError(
                        f"{path}: a {mode} (16/32-bit) PNG; save it as 8-bit grey or RGB, "
                        "or pass the pixels as a float .npy in [0, 1]"
                    )
                im = im.convert("L")
            elif mode not in ("L", "LA", "RGB", "RGBA"):
                im = im.convert("RGB")
            arr = np.asarray(im, dtype=np.uint8)
    except UnidentifiedImageError:
        raise CommandError(f"{path}: not a readable image") from None
    if arr.ndim == 3 and arr.shape[-1] in (2, 4):  # LA, RGBA
        return np.ascontiguousarray(
            arr[..., :-1].squeeze(-1) if arr.shape[-1] == 2 else arr[..., :3]
        ), arr[..., -1]
    return arr, None


def _write(path: Path, big: np.ndarray, alpha: np.ndarray | None) -> None:
    if path.suffix.lower() == ".npy":
        np.save(path, big, allow_pickle=False)
        return
    from PIL import Image

    if big.dtype != np.uint8:
        big = np.clip(np.round(big * 255.0), 0, 255).astype(np.uint8)
    is_rgb = big.ndim == 3 and big.shape[-1] == 3
    if big.ndim != (3 if is_rgb else 2):
        raise CommandError(
            f"cannot write a batch of {big.shape[0]} images to one PNG {path}; use a .npy output"
        )
    if alpha is not None:
        big = np.dstack([big, alpha])
    Image.fromarray(big).save(path)
