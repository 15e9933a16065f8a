"""``ImageModel``: what the autoregressive models of images share (PixelCNN, PixelRNN):
rows of pixel levels in, folded by ``image_shape`` ((H, W), or (H, W, C) channel-last for
a model of colour images); the whole image as the context; whole images out of
``sample``; ``inpaint`` of the lower rows. The tokens are the sub-pixels in raster order,
channel innermost (pixel 0's channels, then pixel 1's, ...)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .. import attributes as A
from ..backend import to_numpy
from ..validation import NONE, Interval, Satisfies, check_array, check_n_features
from ._conditioning import Given
from ._sampling import check_sampling
from .base import AutoregressiveModel


def _is_shape(v: Any) -> bool:
    return (
        isinstance(v, tuple | list)
        and len(v) in (2, 3)
        and all(isinstance(s, int | np.integer) and s > 0 for s in v)
    )


#: The hyper-parameters every image model has.
IMAGE_PARAM_SPEC: dict[str, list] = {
    "n_layers": [Interval(int, 1, None)],
    "channels": [Interval(int, 1, None)],
    "kernel_size": [
        Satisfies(lambda v: isinstance(v, int) and v >= 3 and v % 2, "an odd integer >= 3")
    ],
    "head_channels": [Interval(int, 1, None)],
    "n_levels": [Interval(int, 2, None)],
    "image_shape": [NONE, Satisfies(_is_shape, "(height, width) or (height, width, channels)")],
}


class ImageModel(AutoregressiveModel):
    """Abstract base of the image models (not registered): pixels in raster order are the
    tokens. A subclass supplies ``_build_module`` (a network answering the token protocol
    over images: ``_pixelcnn_net``, ``_pixelrnn_net``) and its hyper-parameters, and sets
    ``_colour`` if it models images of several channels."""

    _param_spec = IMAGE_PARAM_SPEC
    _colour = False
    _fitted_spec = {
        "image_shape_": A.Attr(
            (None,),
            kind="int",
            constraints=(
                A.Range(1),
                A.Check(lambda v, ctx: len(v) in (2, 3), "(H, W) or (H, W, C)"),
                A.Check(
                    lambda v, ctx: int(np.prod(v)) == ctx.get("n_features_in_"),
                    "its product is n_features_in_",
                ),
            ),
        ),
    }

    # -- images in, as token streams --------------------------------------------------------

    def _token_lists(self, X, lengths=None, *, fitting: bool) -> list[np.ndarray]:
        owner = type(self).__name__
        if lengths is not None:
            raise ValueError(f"{owner} models images (rows of pixels): it takes no lengths")
        arr = check_array(X, owner=owner)
        if fitting:
            self._remember_features(X, arr)
            self.image_shape_ = self._shape(arr.shape[1])
            self.vocab_size_ = int(self.n_levels)
        else:
            check_n_features(arr, self.n_features_in_, owner)
        top = self.vocab_size_ - 1
        if arr.min() < 0 or arr.max() > top or (arr != np.round(arr)).any():
            what = "negative" if arr.min() < 0 else "fractional or too large"
            raise ValueError(
                f"{owner}: pixel values must be integer levels 0..{top} (n_levels="
                f"{self.vocab_size_}), got {what} values; binarize grey images first, "
                "e.g. X > 0.5"
            )
        return list(arr.astype(np.int64))

    def _shape(self, n_features: int) -> tuple[int, ...]:
        owner = type(self).__name__
        if self.image_shape is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"{owner}: rows of {n_features} pixels need image_shape=(H, W)"
                    + (" or (H, W, C)" if self._colour else "")
                )
            return (side, side)
        shape = tuple(int(s) for s in self.image_shape)
        if len(shape) == 3 and shape[2] > 1 and not self._colour:
            raise ValueError(
                f"{owner} models images of one channel: image_shape=(H, W), got "
                f"{self.image_shape} (colour images: PixelCNN)"
            )
        if math.prod(shape) != n_features:
            raise ValueError(
                f"{owner}: image_shape={self.image_shape} holds {math.prod(shape)} values but "
                f"the data have {n_features} features"
            )
        return shape

    def fit(self, X, y=None, *, validation_data=None, resume: bool = False):
        """Train on images ``X`` (rows of pixel levels) and return ``self``; ``y``: one
        class label per image, for a model that takes them (then ``classes_``: the model
        is p(x | y)). ``validation_data``: held-out images, or ``(images, labels)``."""
        return super().fit(X, y=y, validation_data=validation_data, resume=resume)

    def _validation_given(self, data) -> tuple:
        if isinstance(data, tuple) and len(data) == 2:
            return data[0], Given(None, data[1])
        return super()._validation_given(data)

    def _label_codes(self, y, n: int, *, fitting: bool, what: str = "image"):
        return super()._label_codes(y, n, fitting=fitting, what="image")

    @torch.no_grad()
    def score_samples(self, X, y=None) -> np.ndarray:
        """log p(x) of each image in nats (exact); log p(x | y) for a model fitted on
        class labels, given one label for all or one per image."""
        return super().score_samples(X, y=y)

    def bits_per_token(self, X, y=None) -> float:
        """The mean negative log-likelihood in bits per pixel (per dimension)."""
        return super().bits_per_token(X, y=y)

    # -- the context: the whole image ---------------------------------------------------------

    @property
    def _n_pixels(self) -> int:
        """Tokens an image has: its sub-pixels, H W C."""
        return int(np.prod(self.image_shape_))

    @property
    def _n_channels(self) -> int:
        return int(self.image_shape_[2]) if len(self.image_shape_) == 3 else 1

    def _block(self) -> int:
        return self._n_pixels

    def _context_start(self, j: int) -> int:
        return 0

    def _score_windows(self, length: int) -> list[tuple[int, int, int]]:
        return [(0, 0, length)]

    @property
    def _cache_restarts(self) -> bool:
        return False

    def _step_width(self) -> int:
        return 2 * int(self.channels) * int(self.image_shape_[1])

    # -- images out --------------------------------------------------------------------------

    def sample(
        self,
        n_samples: int = 1,
        *,
        y=None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        random_state=None,
        return_latent: bool = False,
        use_cache: bool = True,
    ) -> np.ndarray:
        """``n_samples`` images, (n_samples, H W C) sub-pixel levels as floats (C = 1 for
        grey images); ``y``: the class of every image, or one per image (a model fitted
        on labels)."""
        X = super().sample(
            n_samples,
            length=self._n_pixels if hasattr(self, "image_shape_") else 1,
            y=y,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            random_state=random_state,
            return_latent=return_latent,
            use_cache=use_cache,
        )
        return X[..., 0]

    @torch.no_grad()
    def inpaint(
        self,
        X,
        n_rows: int,
        *,
        y=None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        random_state=None,
        use_cache: bool = True,
    ) -> np.ndarray:
        """Keep the first ``n_rows`` rows of each image of ``X`` and draw the rest from
        the model given them (and their labels ``y``, for a model fitted on labels):
        (n, H W C)."""
        self._check_fitted()
        owner = type(self).__name__
        h, w = (int(s) for s in self.image_shape_[:2])
        if not isinstance(n_rows, int | np.integer) or not 0 <= n_rows < h:
            raise ValueError(f"{owner}: n_rows must be an integer in [0, {h}), got {n_rows!r}")
        t, k, p = check_sampling(temperature, top_k, top_p, owner)
        images = np.stack(self._token_lists(X, fitting=False))
        keep = int(n_rows) * w * self._n_channels
        codes = self._label_codes(y, len(images), fitting=False)
        bos = np.full((len(images), 1), self.vocab_size_)
        prefix = torch.as_tensor(np.concatenate([bos, images[:, :keep]], 1), device=self._device())
        new = self._generate(
            prefix,
            self._n_pixels - keep,
            temperature=t,
            top_k=k,
            top_p=p,
            generator=self._generator(random_state),
            use_cache=use_cache,
            cond=self._condition(codes, None, self._n_pixels),
        )
        return np.concatenate([images[:, :keep], to_numpy(new)], 1).astype(np.float64)
