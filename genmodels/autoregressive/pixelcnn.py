"""``PixelCNN``: the gated, blind-spot-free PixelCNN over grey or colour images of
discrete levels, with a categorical or a discretised logistic mixture (PixelCNN++) output,
row-cached sampling and inpainting."""

from __future__ import annotations

from typing import Any

from ..base import Capabilities
from ..registry import register
from ..validation import Interval, OneOf
from ._conditioning import LABEL_SPEC
from ._pixelcnn_net import OUTPUTS, GatedPixelCNN
from .images import IMAGE_PARAM_SPEC, ImageModel


@register()
class PixelCNN(ImageModel):
    """The gated PixelCNN (van den Oord et al. 2016): p(x) = prod over pixels in raster
    order of p(x_ij | pixels above and to the left), with a vertical and a horizontal
    stack of gated convolutions (no blind spot), over ``n_levels`` levels per sub-pixel
    (2: binary images, 256: 8-bit ones). ``score_samples`` is the exact log-likelihood of
    each image in nats; ``sample`` draws whole images and ``inpaint`` completes the lower
    rows of given ones, both with the row cache (the vertical stack once per row, the
    horizontal stack over one row per pixel) or naively (``use_cache=False``: the whole
    network over the whole image per sub-pixel); both give the same images.

    Colour: with ``image_shape=(H, W, C)`` each pixel's C channels are C tokens (channel
    innermost), and p(x_ij) = prod_c p(x_ijc | pixels before, channels < c of x_ij). The
    convolutions see every channel of the earlier pixels; the dependence on the pixel's own
    earlier channels is in the output alone.

    Output (``output``):

    * ``"categorical"`` (default): a softmax over the ``n_levels`` levels; for colour, a
      masked (channel-autoregressive) 1x1 path in the head feeds channels < c of the pixel
      into channel c's logits;
    * ``"logistic_mixture"``: PixelCNN++'s discretised logistic mixture (Salimans et al.
      2017) of ``n_mixtures`` components a pixel, on levels 0 and ``n_levels``-1 the tail
      masses; for colour one mixture over the whole pixel, the mean of channel c shifted
      linearly by the values of channels < c. The network turns it into exact
      log-probabilities of each sub-pixel's levels given the earlier channels, so scores,
      sampling, temperature, top-k and top-p treat both outputs alike. Fewer parameters
      than a 256-way softmax and smooth over neighbouring levels: the output for 8-bit
      images (for binary ones it has little to offer).

    Data: rows of ``H x W x C`` sub-pixel levels 0..``n_levels``-1, an (n, H, W, C) array
    flattened (``X.reshape(len(X), -1)``; binarized MNIST: 784 values of 0/1), folded by
    ``image_shape`` (default: square, one channel). Note the order: channel last, unlike
    the convolutional VAE's (C, H, W).

    Class conditioning (optional): ``fit(X, y)`` with one label per image makes the
    conditional PixelCNN p(x | y) of the paper (the label's learned embedding is a bias on
    the pre-gate activations of every layer of both stacks); then ``score_samples(X, y)``
    is the exact log p(x | y), and ``sample(n, y=...)`` / ``inpaint(X, n_rows, y=...)``
    draw given labels (one for all, or one per image).

    Parameters
    ----------
    n_layers : int, default 7; channels : int, default 32; kernel_size : int (odd), default 5
    head_channels : int, default 64
    n_levels : int, default 2
    image_shape : (H, W) or (H, W, C), optional
    output : "categorical" or "logistic_mixture", default "categorical"
    n_mixtures : int, default 5 (the logistic mixture's components)
    epochs, batch_size, optimizer, lr, ... : the trainer's, as on every neural model.

    Attributes
    ----------
    image_shape_ (H, W) or (H, W, C), vocab_size_ (= n_levels), n_features_in_ (H W C),
    classes_ (the labels seen in ``fit``; None when fitted without), module_,
    history_ (``loss``: nats per sub-pixel), n_epochs_.
    """

    _param_spec = {
        **IMAGE_PARAM_SPEC,
        "output": [OneOf(OUTPUTS)],
        "n_mixtures": [Interval(int, 1, None)],
    }
    _colour = True

    capabilities = Capabilities(
        likelihood="exact",
        input_kind="binary",
        neural=True,
        resumable=True,
        conditional_sampling=True,
    )
    _label_conditioning = True
    _fitted_spec = LABEL_SPEC

    def __init__(
        self,
        n_layers: int = 7,
        channels: int = 32,
        *,
        kernel_size: int = 5,
        head_channels: int = 64,
        n_levels: int = 2,
        image_shape: tuple[int, ...] | None = None,
        output: str = "categorical",
        n_mixtures: int = 5,
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
        self.output = output
        self.n_mixtures = n_mixtures
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

    def _build_module(self):
        return GatedPixelCNN(
            self.vocab_size_,
            tuple(self.image_shape_),
            n_layers=self.n_layers,
            channels=self.channels,
            kernel_size=self.kernel_size,
            head_channels=self.head_channels,
            n_classes=self._n_classes,
            output=self.output,
            n_mixtures=self.n_mixtures,
        )
