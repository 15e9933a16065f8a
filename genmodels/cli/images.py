"""Image files for the command line: a folder of PNG (or JPEG, BMP) images read into rows
for the image models, with class labels from class subfolders, and the pixel convention
each model takes. Like :mod:`.tables` and :mod:`.audio`, no printing; every problem is an
exception naming the file.

Rows are images flattened channel-last, as numpy and PIL lay them out and as every image
model of genmodels reads them with ``image_shape`` (H, W) or (H, W, C).

>>> data = load_images("digits/")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "PIXEL_CHOICES",
    "ImageData",
    "is_image_source",
    "load_images",
    "model_pixels",
    "pixels_for",
    "rows_for",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

#: ``--pixels``: how 8-bit pixels become model values. ``levels``: the integers 0..255
#: (or 0..n_levels-1, for a PixelCNN/PixelRNN with fewer levels); ``unit``: x / 255 in
#: [0, 1]; ``binary``: 1 where x >= 128. ``auto`` picks by the model (:func:`model_pixels`).
PIXEL_CHOICES = ("auto", "levels", "unit", "binary")


class ImageData(NamedTuple):
    """Images as :func:`load_images` returns them: a uint8 array (n, H, W) for grey images
    or (n, H, W, 3) for colour ones, their labels (class subfolders) or None, the files."""

    images: np.ndarray
    labels: np.ndarray | None
    files: list[Path]

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.images.shape[1:])


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def is_image_source(source: str | os.PathLike) -> bool:
    """Whether ``source`` is a folder of images (directly, or in class subfolders)."""
    path = Path(source)
    if not path.is_dir():
        return False
    return bool(_images_in(path)) or any(d.is_dir() and _images_in(d) for d in path.iterdir())


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise ImportError("reading images needs Pillow: pip install pillow") from None
    return Image


def _read(path: Path) -> tuple[np.ndarray, bool]:
    """``(pixels, grey)``: the image as uint8 RGB (H, W, 3), and whether it is grey (a
    grey mode, or a colour file whose three channels are equal everywhere)."""
    Image = _pil()
    try:
        with Image.open(path) as im:
            grey_mode = im.mode in ("1", "L", "LA", "I", "I;16", "F")
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable image ({exc})") from None
    grey = grey_mode or bool(
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
    )
    return rgb, grey


def load_images(source: str | os.PathLike) -> ImageData:
    """The images of a folder (sorted by name), or of its class subfolders (the subfolder
    names are the labels). All must have one size; they are grey (n, H, W) when every one
    is grey, else colour (n, H, W, 3). Alpha channels are dropped."""
    path = Path(source)
    if not path.is_dir():
        raise FileNotFoundError(f"no folder of images at {path}")
    files, labels = _images_in(path), None
    if not files:
        subs = sorted(d for d in path.iterdir() if d.is_dir() and _images_in(d))
        if not subs:
            raise ValueError(
                f"{path}: the folder holds no images ({', '.join(IMAGE_SUFFIXES)} files, or "
                "class subfolders of them)"
            )
        pairs = [(f, d.name) for d in subs for f in _images_in(d)]
        files, labels = [f for f, _ in pairs], np.asarray([name for _, name in pairs])
    pixels, greys = [], []
    for f in files:
        rgb, grey = _read(f)
        if pixels and rgb.shape != pixels[0].shape:
            h, w = pixels[0].shape[:2]
            raise ValueError(
                f"{f}: is {rgb.shape[1]}x{rgb.shape[0]} pixels but {files[0]} is {w}x{h}; "
                "the images of one data set must share one size (resize them first)"
            )
        pixels.append(rgb)
        greys.append(grey)
    stack = np.stack(pixels)
    images = stack[..., 0] if all(greys) else stack
    return ImageData(images, labels, list(files))


def model_pixels(cls, params: dict) -> str:
    """The pixel convention ``--pixels auto`` gives a model: ``binary`` for a Bernoulli
    VAE and ``unit`` for a Gaussian one; ``levels`` for a model of discrete levels with
    more than two (``n_levels`` > 2: PixelCNN, a categorical VAE); ``binary`` for other
    models of 0/1 data (an RBM, a binary PixelCNN); ``unit`` otherwise (GANs, mixtures,
    naive Bayes)."""
    defaults = cls().get_params(deep=False)
    merged = {**defaults, **params}
    likelihood = merged.get("likelihood")
    if likelihood in ("bernoulli", "gaussian"):  # VAEs: the likelihood says it
        return "binary" if likelihood == "bernoulli" else "unit"
    if "n_levels" in merged:
        return "levels" if int(merged["n_levels"]) > 2 else "binary"
    if cls.capabilities.input_kind == "binary":
        return "binary"
    return "unit"


def pixels_for(images: np.ndarray, how: str, n_levels: int = 256) -> np.ndarray:
    """8-bit ``images`` as float64 model values by the convention ``how``
    (:data:`PIXEL_CHOICES` without ``auto``), shape kept."""
    x = np.asarray(images, dtype=np.float64)
    if how == "unit":
        return x / 255.0
    if how == "binary":
        return (x >= 128).astype(np.float64)
    if how == "levels":
        if n_levels == 256:
            return x
        return np.floor(x * n_levels / 256.0)
    raise ValueError(f"unknown pixel convention {how!r}; use one of {', '.join(PIXEL_CHOICES)}")


def rows_for(cls, params: dict, data: ImageData, how: str = "auto") -> np.ndarray:
    """The images of ``data`` as flat channel-last rows of model values for a model of
    class ``cls`` with hyper-parameters ``params`` (``how``: a :data:`PIXEL_CHOICES`
    convention, ``auto`` choosing by :func:`model_pixels`)."""
    merged = {**cls().get_params(deep=False), **params}
    if how == "auto":
        how = model_pixels(cls, merged)
    X = pixels_for(data.images, how, int(merged.get("n_levels", 256) or 256))
    return X.reshape(X.shape[0], -1)
