"""``PixelRNN``: PixelRNN's Row LSTM over images of discrete levels, with row-cached
sampling and inpainting."""

from __future__ import annotations

from typing import Any

from ..base import Capabilities
from ..registry import register
from ._pixelrnn_net import RowLSTMNet
from .images import ImageModel


@register()
class PixelRNN(ImageModel):
    """PixelRNN's Row LSTM (van den Oord et al. 2016): p(x) = prod over pixels in raster
    order of p(x_ij | pixels before), with ``n_layers`` residual LSTM layers that run down
    the rows, all columns of a row at once (a masked input-to-state convolution along the
    row, a state-to-state convolution of the row above), and a categorical output over
    ``n_levels`` levels a pixel. Each pixel sees the pixels to its left and a triangle of
    the rows above. ``score_samples`` is the exact log-likelihood of each image in nats;
    ``sample`` and ``inpaint`` generate with the row cache (every layer's LSTM state of the
    last finished row; one row through the layers per pixel) or naively
    (``use_cache=False``). The paper's Diagonal BiLSTM is not implemented.

    Data, attributes and the trainer's parameters: as :class:`PixelCNN`.

    Parameters
    ----------
    n_layers : int, default 4; channels : int, default 32 (LSTM state channels);
    kernel_size : int (odd, >= 3), default 3; head_channels : int, default 64
    n_levels : int, default 2; image_shape : (H, W), optional
    """

    capabilities = Capabilities(
        likelihood="exact", input_kind="binary", neural=True, resumable=True
    )

    def __init__(
        self,
        n_layers: int = 4,
        channels: int = 32,
        *,
        kernel_size: int = 3,
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

    def _build_module(self):
        return RowLSTMNet(
            self.vocab_size_,
            tuple(self.image_shape_),
            n_layers=self.n_layers,
            channels=self.channels,
            kernel_size=self.kernel_size,
            head_channels=self.head_channels,
        )
