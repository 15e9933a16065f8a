"""``PixelCNN``: the gated, blind-spot-free PixelCNN over images of discrete levels, with
row-cached sampling and inpainting."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .. import attributes as A
from ..backend import to_numpy
from ..base import Capabilities
from ..registry import register
from ..validation import NONE, Interval, Satisfies, check_array, check_n_features
from ._pixelcnn_net import GatedPixelCNN
from ._sampling import check_sampling
from .base import AutoregressiveModel


def _is_shape(v: Any) -> bool:
    return (
        isinstance(v, tuple | list)
        and len(v) == 2
        and all(isinstance(s, int | np.integer) and s > 0 for s in v)
    )


@register()
class PixelCNN(AutoregressiveModel):
    """The gated PixelCNN (van den Oord et al. 2016): p(x) = prod over pixels in raster
    order of p(x_ij | pixels above and to the left), with a vertical and a horizontal
    stack of gated convolutions (no blind spot) and a categorical output over
    ``n_levels`` levels per pixel (2: binary images). ``score_samples`` is the exact
    log-likelihood of each image in nats; ``sample`` draws whole images and ``inpaint``
    completes the lower rows of given ones, both with the row cache (the vertical stack
    once per row, the horizontal stack over one row per pixel) or naively
    (``use_cache=False``: the whole network over the whole image per pixel).

    Data: rows of ``H x W`` pixel levels 0..``n_levels``-1 (binarized MNIST: 784 values of
    0/1), folded by ``image_shape`` (default: square).

    Parameters
    ----------
    n_layers : int, default 7; channels : int, default 32; kernel_size : int (odd), default 5
    head_channels : int, default 64
    n_levels : int, default 2
    image_shape : (H, W), optional
    epochs, batch_size, optimizer, lr, ... : the trainer's, as on every neural model.

    Attributes
    ----------
    image_shape_ (H, W), vocab_size_ (= n_levels), n_features_in_ (H W), module_,
    history_ (``loss``: nats per pixel), n_epochs_.
    """

    capabilities = Capabilities(
        likelihood="exact", input_kind="binary", neural=True, resumable=True
    )

    _param_spec = {
        "n_layers": [Interval(int, 1, None)],
        "channels": [Interval(int, 1, None)],
        "kernel_size": [
            Satisfies(lambda v: isinstance(v, int) and v >= 1 and v % 2, "an odd integer >= 1")
        ],
        "head_channels": [Interval(int, 1, None)],
        "n_levels": [Interval(int, 2, None)],
        "image_shape": [NONE, Satisfies(_is_shape, "(height, width)")],
    }
    _fitted_spec = {
        "image_shape_": A.Attr(
            (2,),
            kind="int",
            constraints=(
                A.Range(1),
                A.Check(
                    lambda v, ctx: int(np.prod(v)) == ctx.get("n_features_in_"),
                    "its product is n_features_in_",
                ),
            ),
        ),
    }

    def __init__(
        self,
        n_layers: int = 7,
        channels: int = 32,
        *,
        kernel_size: int = 5,
        head_channels: int = 64,
        n_levels: int = 2,
        image_shape: tuple[int, int] | None = None,
        epochs: int = 10,
        batch_size: int = 64,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_schedule: str = "constant",
        warmup_steps: int = 0,
        grad_clip: float | None = 1.0,
        early_stopping: int | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        device: str = "cpu",
        mixed_precision: str = "auto",
        random_state=None,
        verbose: int = 0,
    ):
        self.n_layers = n_layers
        self.channels = channels
        self.kernel_size = kernel_size
        self.head_channels = head_channels
        self.n_levels = n_levels
        self.image_shape = image_shape
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.grad_clip = grad_clip
        self.early_stopping = early_stopping
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {
            "n_layers": 2,
            "channels": 8,
            "head_channels": 8,
            "kernel_size": 3,
            "image_shape": (1, 3),
            "epochs": 2,
            "batch_size": 16,
            "random_state": 0,
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

    def _shape(self, n_features: int) -> tuple[int, int]:
        owner = type(self).__name__
        if self.image_shape is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(f"{owner}: rows of {n_features} pixels need image_shape=(H, W)")
            return (side, side)
        h, w = (int(s) for s in self.image_shape)
        if h * w != n_features:
            raise ValueError(
                f"{owner}: image_shape={self.image_shape} holds {h * w} pixels but the data "
                f"have {n_features} features"
            )
        return (h, w)

    # -- the context: the whole image ---------------------------------------------------------

    @property
    def _n_pixels(self) -> int:
        return int(np.prod(self.image_shape_))

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

    def _build_module(self):
        return GatedPixelCNN(
            self.vocab_size_,
            tuple(self.image_shape_),
            n_layers=self.n_layers,
            channels=self.channels,
            kernel_size=self.kernel_size,
            head_channels=self.head_channels,
        )

    # -- images out --------------------------------------------------------------------------

    def sample(
        self,
        n_samples: int = 1,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        random_state=None,
        return_latent: bool = False,
        use_cache: bool = True,
    ) -> np.ndarray:
        """``n_samples`` images, (n_samples, H W) pixel levels as floats."""
        X = super().sample(
            n_samples,
            length=self._n_pixels if hasattr(self, "image_shape_") else 1,
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
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        random_state=None,
        use_cache: bool = True,
    ) -> np.ndarray:
        """Keep the first ``n_rows`` rows of each image of ``X`` and draw the rest from
        the model given them: (n, H W)."""
        self._check_fitted()
        owner = type(self).__name__
        h, w = (int(s) for s in self.image_shape_)
        if not isinstance(n_rows, int | np.integer) or not 0 <= n_rows < h:
            raise ValueError(f"{owner}: n_rows must be an integer in [0, {h}), got {n_rows!r}")
        t, k, p = check_sampling(temperature, top_k, top_p, owner)
        images = np.stack(self._token_lists(X, fitting=False))
        keep = int(n_rows) * w
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
        )
        return np.concatenate([images[:, :keep], to_numpy(new)], 1).astype(np.float64)
