"""``WaveNet``: dilated causal convolutions over quantised audio, with fast generation, and
the mu-law companding that turns a waveform into its 256 levels and back."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import attributes as A
from ..base import Capabilities
from ..registry import register
from ..validation import NONE, Interval
from ._conditioning import LABEL_SPEC
from ._wavenet_net import WaveNetNet
from .base import AutoregressiveModel


def mu_law_encode(audio, levels: int = 256) -> np.ndarray:
    """Waveform values in [-1, 1] -> integer levels 0..levels-1 (ITU-T G.711 mu-law with
    mu = levels - 1, as WaveNet quantises audio)."""
    x = np.asarray(audio, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("mu_law_encode: the audio holds NaN or infinity")
    if np.abs(x).max(initial=0.0) > 1.0:
        raise ValueError("mu_law_encode: audio values must lie in [-1, 1]")
    mu = levels - 1
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.clip(np.floor((y + 1) / 2 * mu + 0.5), 0, mu).astype(np.int64)


def mu_law_decode(codes, levels: int = 256) -> np.ndarray:
    """Integer levels -> waveform values in [-1, 1] (the inverse of :func:`mu_law_encode`,
    up to the quantisation)."""
    mu = levels - 1
    y = 2 * np.asarray(codes, dtype=np.float64) / mu - 1
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


@register()
class WaveNet(AutoregressiveModel):
    """WaveNet (van den Oord et al. 2016): a stack of dilated causal convolutions
    (kernel 2, dilations 1 .. 2^(layers_per_block - 1), ``n_blocks`` times) with gated
    tanh/sigmoid units and residual and skip connections, predicting each level of a
    quantised waveform (mu-law, 256 levels by default) from the ``receptive_field_ - 1``
    before it. ``score_samples`` is the exact log-likelihood of the levels in nats, in one
    pass per sequence; ``sample`` and ``complete`` generate with per-layer queues of past
    activations (Paine et al. 2016: each new level costs O(layers)), or naively with
    ``use_cache=False`` (a forward pass over the receptive field per level).

    Data: sequences of integer levels 0..``vocab_size``-1 (a list of 1-D arrays, frames
    with ``lengths``, an (S, T, 1) array); :func:`mu_law_encode` makes them from audio in
    [-1, 1] and :func:`mu_law_decode` turns samples back into audio.

    Conditioning (optional, chosen by ``fit``): ``fit(X, y=labels)`` makes a model of
    p(x | y), one class label per waveform (a speaker, a word; global conditioning: the
    label's learned embedding is a bias on every layer's filter and gate), and then
    ``score_samples(X, y=...)``, ``sample(n, y=...)`` and ``complete(..., y=...)`` take
    labels; ``fit(X, features=F)`` conditions on local features, one (T', F) array per
    waveform whose frame k covers levels k ``hop_length`` .. (k + 1) ``hop_length`` - 1
    (T' = ceil(T / ``hop_length``); upsampled by repetition, then a 1x1 convolution into
    every layer's filter and gate), which ``score_samples`` / ``sample`` / ``complete``
    then need too. ``sample_rate``: the audio's rate, kept as ``sample_rate_`` (for
    writing samples as sound; the command line sets it from the WAV files).

    Parameters
    ----------
    layers_per_block : int, default 10; n_blocks : int, default 3
    residual_channels : int, default 32; skip_channels : int, default 64
    vocab_size : int, default 256 (the quantisation levels)
    chunk_length : int or None, default None: the training windows' length (None: twice
        the receptive field); windows after a sequence's first overlap by the receptive
        field and train only the levels whose whole receptive field they hold.
    hop_length : int, default 1: levels per frame of the local features (if any).
    epochs, batch_size, optimizer, lr, ... : the trainer's, as on every neural model.

    Attributes
    ----------
    vocab_size_, n_features_in_ (1), receptive_field_ (inputs each prediction sees, itself
    included), classes_ (the labels seen in ``fit``; None when fitted without),
    n_local_features_ (F; 0 without local features), sample_rate_ (Hz, or None), module_,
    history_ (``loss``: nats per level), n_epochs_.
    """

    capabilities = Capabilities(
        likelihood="exact",
        input_kind="tokens",
        sequential=True,
        neural=True,
        resumable=True,
        conditional_sampling=True,
    )
    _label_conditioning = True
    _local_conditioning = True

    _param_spec = {
        "layers_per_block": [Interval(int, 1, 20)],
        "n_blocks": [Interval(int, 1, None)],
        "residual_channels": [Interval(int, 1, None)],
        "skip_channels": [Interval(int, 1, None)],
        "vocab_size": [Interval(int, 2, None)],
        "chunk_length": [NONE, Interval(int, 2, None)],
        "hop_length": [Interval(int, 1, None)],
    }

    _fitted_spec = {
        **LABEL_SPEC,
        "n_local_features_": A.Attr((), kind="int", constraints=(A.Range(0),)),
        "sample_rate_": A.Attr((), kind="int", constraints=(A.Range(1),), nullable=True),
        "receptive_field_": A.Attr(
            (),
            kind="int",
            constraints=(
                A.Check(
                    lambda v, ctx: (
                        v == (2 ** ctx.get("layers_per_block") - 1) * ctx.get("n_blocks") + 1
                    ),
                    "(2^layers_per_block - 1) * n_blocks + 1",
                ),
            ),
        ),
    }

    def __init__(
        self,
        layers_per_block: int = 10,
        n_blocks: int = 3,
        residual_channels: int = 32,
        skip_channels: int = 64,
        *,
        vocab_size: int = 256,
        chunk_length: int | None = None,
        hop_length: int = 1,
        epochs: int = 10,
        batch_size: int = 8,
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
        self.layers_per_block = layers_per_block
        self.n_blocks = n_blocks
        self.residual_channels = residual_channels
        self.skip_channels = skip_channels
        self.vocab_size = vocab_size
        self.chunk_length = chunk_length
        self.hop_length = hop_length
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
            "layers_per_block": 3,
            "n_blocks": 1,
            "residual_channels": 8,
            "skip_channels": 8,
            "vocab_size": 4,
            "epochs": 2,
            "batch_size": 8,
            "random_state": 0,
        }

    def fit(
        self,
        X,
        lengths=None,
        *,
        y=None,
        features=None,
        sample_rate: int | None = None,
        validation_data=None,
        resume: bool = False,
    ):
        """Train on waveforms of levels ``X`` (and labels ``y``, local ``features``: see
        the class docstring) and return ``self``; ``sample_rate`` (Hz) is kept as
        ``sample_rate_``."""
        if sample_rate is not None and (
            not isinstance(sample_rate, int | np.integer)
            or isinstance(sample_rate, bool)
            or sample_rate < 1
        ):
            raise ValueError(
                f"WaveNet: sample_rate must be a positive integer, got {sample_rate!r}"
            )
        super().fit(
            X, lengths, y=y, features=features, validation_data=validation_data, resume=resume
        )
        self.sample_rate_ = None if sample_rate is None else int(sample_rate)
        return self

    def _hop(self) -> int:
        return int(self.hop_length)

    # -- the receptive field as the context --------------------------------------------------

    @property
    def _receptive_field(self) -> int:
        return (2**self.layers_per_block - 1) * self.n_blocks + 1

    def _token_lists(self, X, lengths=None, *, fitting: bool):
        if fitting and self.chunk_length is not None and self.chunk_length < self._receptive_field:
            raise ValueError(
                f"WaveNet: chunk_length={self.chunk_length} must be at least the receptive "
                f"field ({self._receptive_field} levels), or None"
            )
        seqs = super()._token_lists(X, lengths, fitting=fitting)
        if fitting:
            self.receptive_field_ = self._receptive_field
        return seqs

    def _context_start(self, j: int) -> int:
        return max(0, j + 1 - self._receptive_field)

    def _score_windows(self, length: int) -> list[tuple[int, int, int]]:
        return [(0, 0, length)]  # causal convolutions: one pass gives every conditional

    def _train_window(self) -> tuple[int, int]:
        r = self._receptive_field
        return (self.chunk_length or 2 * r), r - 1

    @property
    def _cache_restarts(self) -> bool:
        return False

    def _step_width(self) -> int:
        return 2 * int(self.residual_channels)

    def _build_module(self):
        return WaveNetNet(
            self.vocab_size_,
            layers_per_block=self.layers_per_block,
            n_blocks=self.n_blocks,
            residual_channels=self.residual_channels,
            skip_channels=self.skip_channels,
            n_classes=self._n_classes,
            n_local=self._n_local,
        )
