"""Polyphonic music models: ``PianoRollRNN`` (RNN-NADE over binary piano rolls) and
``VoicesRNN`` (a four-voice chorale model, one categorical per voice), both
p(x) = prod_t p(x_t | x_<t) with an autoregressive distribution *within* each step, so
notes sounding together are modelled jointly and ``score_samples`` is an exact
log-likelihood.

What the two share lives in :class:`StepSequenceModel`: the data (a set of pieces, each a
(T, D) array of steps), padded batches of whole pieces, the loss (nats per step), exact
``score_steps`` / ``score_samples`` / ``nll_per_step``, and generation (``sample`` from
the start, ``complete`` after a primer). The networks are in ``_pianoroll_net``; MIDI
files and pictures in :mod:`genmodels.music`.

**Per-step NLL as the literature reports it** (Boulanger-Lewandowski et al. 2012, Bai et
al. 2018 on the JSB chorales): the total negative log-likelihood of the test pieces
divided by their total number of steps, in nats: :meth:`StepSequenceModel.nll_per_step`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .. import attributes as A
from ..backend import to_numpy
from ..base import Capabilities
from ..hmm._sequences import check_sequences
from ..nn import NeuralModel, StepContext
from ..registry import register
from ..validation import Interval, OneOf
from ._pianoroll_net import NADEHead, StepModelNet, StepRNN, VoicesHead

_PARAM_SPEC: dict[str, list] = {
    "hidden_size": [Interval(int, 1, None)],
    "n_layers": [Interval(int, 1, None)],
    "cell": [OneOf(("gru", "lstm"))],
    "step_hidden": [Interval(int, 1, None)],
    "dropout": [Interval(float, 0.0, 1.0, closed="left")],
}
_SCORE_STEPS = 2048  # steps scored per batch (pieces of like lengths together)


class StepSequenceModel(NeuralModel):
    """Abstract base of the step models (not registered); see the module docstring.

    A subclass supplies ``_encode(frames, lens, fitting)`` (checked frames -> the network's
    step values, (N, W), setting the fitted range when ``fitting``), ``_decode(values)``
    (back to the data's (N, D) frames), ``_head()`` (the within-step distribution),
    ``_n_inputs()`` (the numbers encoding a step for the RNN), and ``_voice_sizes()`` for
    steps of categorical voices (one-hot encoded for the RNN).
    """

    _param_spec = _PARAM_SPEC
    _steps_dtype = torch.float32  # the network's step values: 0/1 floats or int64 codes

    def __init__(
        self,
        hidden_size: int = 256,
        n_layers: int = 1,
        *,
        cell: str = "gru",
        step_hidden: int = 128,
        dropout: float = 0.0,
        epochs: int = 100,
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
        mixed_precision: str = "float32",
        random_state=None,
        verbose: int = 0,
    ):
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.cell = cell
        self.step_hidden = step_hidden
        self.dropout = dropout
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
            "hidden_size": 8,
            "step_hidden": 6,
            "epochs": 2,
            "batch_size": 4,
            "random_state": 0,
        }

    # -- what a subclass supplies -------------------------------------------------------------

    @abstractmethod
    def _encode(self, frames: np.ndarray, lens: np.ndarray, *, fitting: bool) -> np.ndarray:
        """Checked frames (N, D) of pieces of ``lens`` steps -> step values (N, W)."""

    @abstractmethod
    def _decode(self, values: np.ndarray) -> np.ndarray:
        """Step values (T, W) -> the data's frames (T, D)."""

    @abstractmethod
    def _head(self):
        """The within-step distribution's network."""

    @abstractmethod
    def _n_inputs(self) -> int:
        """Numbers encoding one step for the recurrent network."""

    def _voice_sizes(self) -> list[int] | None:
        """Values of each voice, for steps of categorical voices (one-hot encoded)."""
        return None

    # -- data --------------------------------------------------------------------------------

    def fit(self, X, lengths=None, *, validation_data=None, resume: bool = False):
        """Train on pieces ``X`` (a list of (T_i, D) arrays, an (S, T, D) array, or frames
        with ``lengths``) and return ``self``. ``validation_data``: held-out pieces (or
        ``(frames, lengths)``), scored every epoch as ``val_loss`` (nats per step)."""
        return super().fit(X, lengths, validation_data=validation_data, resume=resume)

    def _pieces(self, X, lengths=None, *, fitting: bool) -> list[np.ndarray]:
        """The pieces as the network's step values: one (T_i, W) array each."""
        owner = type(self).__name__
        frames, lens = check_sequences(X, lengths, owner=owner, allow_nan=False)
        if not fitting:
            if frames.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"{owner}: X has {frames.shape[1]} features per step; the model was "
                    f"fitted on {self.n_features_in_}"
                )
        values = self._encode(frames, lens, fitting=fitting)
        if fitting:
            self.n_features_in_ = int(frames.shape[1])
        return np.split(values, np.cumsum(lens)[:-1])

    def _padded(self, pieces: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """(S, T_max, W) steps zero-padded, and the lengths (S,)."""
        t_max = max(len(p) for p in pieces)
        width = pieces[0].shape[1]
        out = np.zeros((len(pieces), t_max, width))
        for i, p in enumerate(pieces):
            out[i, : len(p)] = p
        x = torch.as_tensor(out, dtype=self._steps_dtype)
        return x, torch.as_tensor([len(p) for p in pieces], dtype=torch.int64)

    def _dataset(self, X, y=None, *, fitting: bool):
        pieces = self._pieces(X, y, fitting=fitting)  # y: the lengths (NeuralModel's 2nd arg)
        return TensorDataset(*self._padded(pieces))

    # -- the network and the loss --------------------------------------------------------------

    def _build_module(self):
        rnn = StepRNN(self._n_inputs(), self.hidden_size, self.n_layers, self.cell, self.dropout)
        return StepModelNet(rnn, self._head(), self._voice_sizes())

    def _losses(self, batch, ctx: StepContext) -> dict:
        x, lens = batch
        x = x[:, : int(lens.max())]
        logp = self.module_.step_log_probs(x, lens)  # (B, T)
        return {"loss": -logp.sum() / lens.sum()}

    # -- exact likelihood ------------------------------------------------------------------------

    @torch.no_grad()
    def score_steps(self, X, lengths=None) -> list[np.ndarray]:
        """log p(x_t | x_<t) in nats of every step of every piece: one (T_i,) array each
        (each the exact log-probability of everything the step holds, its notes together)."""
        self._check_fitted()
        pieces = self._pieces(X, lengths, fitting=False)
        net = self.module_.eval()
        dev = self._device()
        order = np.argsort([-len(p) for p in pieces], kind="stable")  # longest first
        parts: dict[int, np.ndarray] = {}
        k = 0
        while k < len(order):
            width = len(pieces[order[k]])
            idx = order[k : k + max(1, _SCORE_STEPS // width)]  # padded to at most ~_SCORE_STEPS
            k += len(idx)
            x, lens = self._padded([pieces[i] for i in idx])
            logp = to_numpy(net.step_log_probs(x.to(dev), lens.to(dev))).astype(np.float64)
            for r, i in enumerate(idx):
                parts[int(i)] = logp[r, : len(pieces[i])]
        return [parts[i] for i in range(len(pieces))]

    def score_samples(self, X, lengths=None) -> np.ndarray:
        """log p(x) of each piece in nats (exact: the sum of :meth:`score_steps`)."""
        return np.array([s.sum() for s in self.score_steps(X, lengths)])

    def nll_per_step(self, X, lengths=None) -> float:
        """The negative log-likelihood per time step in nats, as the polyphonic-music
        literature reports it: the total over the pieces divided by their total steps."""
        steps = self.score_steps(X, lengths)
        return float(-sum(s.sum() for s in steps) / sum(len(s) for s in steps))

    # -- generation ---------------------------------------------------------------------------

    @torch.no_grad()
    def _generate(self, n: int, length: int, primer: np.ndarray | None, random_state):
        """(n, length, W) step values: the primer's (P, W) first (if any), then draws."""
        net = self.module_.eval()
        dev = self._device()
        gen = self._generator(random_state)
        fixed = None if primer is None else torch.as_tensor(primer, dtype=self._steps_dtype)
        steps, prev, state = [], None, None
        for t in range(length):
            h, state = net.rnn.step(None if prev is None else net.encode(prev), n, state)
            if fixed is not None and t < len(fixed):
                v = fixed[t].to(dev).expand(n, -1).clone()
            else:
                v = net.head.sample(h, gen)
            steps.append(v)
            prev = v
        return to_numpy(torch.stack(steps, dim=1))

    def sample(
        self,
        n_samples: int = 1,
        *,
        length: int = 100,
        random_state=None,
        return_latent: bool = False,
    ) -> np.ndarray:
        """``n_samples`` pieces of ``length`` steps drawn from the model: (n_samples,
        length, D) in the data's terms (0/1 piano rolls, or voice pitches with -1 silent)."""
        self._check_fitted()
        if return_latent:
            raise ValueError(f"{type(self).__name__} has no latent variables (return_latent=True)")
        n = self._check_n(n_samples)
        length = self._check_count(length, "length")
        values = self._generate(n, length, None, random_state)
        return np.stack([self._decode(v) for v in values])

    def complete(
        self, primer, n_steps: int = 32, *, n_samples: int = 1, random_state=None
    ) -> np.ndarray:
        """Continue ``primer`` (a (P, D) piece) by ``n_steps`` drawn steps, ``n_samples``
        times: (n_samples, P + n_steps, D), the primer first."""
        self._check_fitted()
        n_steps = self._check_count(n_steps, "n_steps")
        n = self._check_count(n_samples, "n_samples")
        fixed = self._pieces([np.asarray(primer, dtype=np.float64)], fitting=False)[0]
        values = self._generate(n, len(fixed) + n_steps, fixed, random_state)
        return np.stack([self._decode(v) for v in values])


# ----------------------------------------------------------------------------------------
# Piano rolls


@register("rnn-nade", "piano-roll")
class PianoRollRNN(StepSequenceModel):
    """RNN-NADE (Boulanger-Lewandowski et al. 2012, with a GRU or LSTM for the recurrence):
    a model of binary piano rolls in which a recurrent network reads the steps so far and
    its state sets the biases of a NADE over the pitches of the next step (lowest pitch
    first), so the notes of a chord are modelled jointly and ``score_samples`` is an exact
    log-likelihood in nats.

    Data: pieces as piano rolls, (T, D) arrays of 0/1 whose column p is MIDI pitch p (D =
    128 for every MIDI pitch; :func:`genmodels.music.pieces_to_rolls`,
    :func:`genmodels.datasets.jsb_chorales`). The model covers the pitch range that sounds
    in the training pieces (``lowest_pitch_`` .. ``highest_pitch_``); outside it a pitch is
    silent with probability one, so scoring a piece that plays one is an error.
    :meth:`nll_per_step` is the literature's number (nats per step).

    Parameters
    ----------
    hidden_size : int, default 256: the recurrent state; n_layers : int, default 1
    cell : {"gru", "lstm"}, default "gru"
    step_hidden : int, default 128: the NADE's hidden units.
    dropout : float, default 0.0: on the recurrent outputs (and between layers).
    epochs, batch_size (pieces), optimizer, lr, ... : the trainer's, as on every neural model.

    Attributes
    ----------
    n_features_in_ (D), lowest_pitch_, highest_pitch_ (the modelled columns), module_,
    history_ (``loss``: nats per step), n_epochs_, best_epoch_.
    """

    capabilities = Capabilities(
        likelihood="exact", input_kind="binary", sequential=True, neural=True, resumable=True
    )
    _fitted_spec = {
        "lowest_pitch_": A.Attr((), kind="int", constraints=(A.Range(0),)),
        "highest_pitch_": A.Attr(
            (),
            kind="int",
            constraints=(
                A.Check(
                    lambda v, ctx: ctx.get("lowest_pitch_") <= v < ctx.get("n_features_in_"),
                    "lowest_pitch_ <= highest_pitch_ < n_features_in_",
                ),
            ),
        ),
    }

    def _n_inputs(self) -> int:
        return self.highest_pitch_ - self.lowest_pitch_ + 1

    def _encode(self, frames, lens, *, fitting: bool) -> np.ndarray:
        owner = type(self).__name__
        if not np.isin(frames, (0.0, 1.0)).all():
            bad = frames[~np.isin(frames, (0.0, 1.0))][0]
            raise ValueError(
                f"{owner}: a piano roll holds only 0 and 1 (a pitch sounds or not), got {bad:g}"
            )
        sounding = np.flatnonzero(frames.any(0))
        if fitting:
            if sounding.size == 0:
                raise ValueError(f"{owner}: no pitch sounds anywhere in the training pieces")
            self.lowest_pitch_, self.highest_pitch_ = int(sounding[0]), int(sounding[-1])
        lo, hi = self.lowest_pitch_, self.highest_pitch_
        outside = sounding[(sounding < lo) | (sounding > hi)]
        if outside.size:
            step = int(np.flatnonzero(frames[:, outside[0]])[0])
            piece = int(np.searchsorted(np.cumsum(lens), step, side="right"))
            raise ValueError(
                f"{owner}: pitch {int(outside[0])} sounds (piece {piece}) outside the "
                f"model's pitch range {lo}..{hi}, the training pieces' range"
            )
        return frames[:, lo : hi + 1]

    def _decode(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros((len(values), self.n_features_in_))
        out[:, self.lowest_pitch_ : self.highest_pitch_ + 1] = values
        return out

    def _head(self):
        return NADEHead(self._n_inputs(), self.hidden_size, self.step_hidden)


# ----------------------------------------------------------------------------------------
# Voices


@register("satb", "voices")
class VoicesRNN(StepSequenceModel):
    """A model of pieces for V voices (a chorale's soprano, alto, tenor and bass), each
    voice singing one pitch or nothing at each step: a recurrent network reads the steps
    so far, and its state conditions a categorical distribution per voice, in column
    order, each voice also conditioned on the voices before it in the step
    (p(S) p(A | S) p(T | S, A) p(B | S, A, T)), so ``score_samples`` is an exact
    log-likelihood of the joint step in nats.

    Data: pieces as (T, V) arrays of MIDI pitches, -1 where a voice is silent (the
    ``Jsb16thSeparated.json`` format; :func:`genmodels.datasets.jsb_chorales` with
    ``resolution="separated"``). Voice k takes the pitches it sings in the training pieces
    (``voice_low_[k]`` .. ``voice_high_[k]``) or silence; a pitch outside its range is an
    error when scoring. :func:`genmodels.music.voices_to_midi` writes one track per voice.

    Parameters
    ----------
    hidden_size, n_layers, cell, dropout : the recurrent network's, as ``PianoRollRNN``.
    step_hidden : int, default 128: the hidden units of each voice's conditional.
    epochs, batch_size (pieces), optimizer, lr, ... : the trainer's.

    Attributes
    ----------
    n_features_in_ (V), voice_low_, voice_high_ ((V,) int: each voice's range), module_,
    history_ (``loss``: nats per step), n_epochs_, best_epoch_.
    """

    capabilities = Capabilities(
        likelihood="exact", input_kind="categorical", sequential=True, neural=True, resumable=True
    )
    _steps_dtype = torch.int64
    _fitted_spec = {
        "voice_low_": A.Attr(("n_features_in_",), kind="int", constraints=(A.Range(0, 127),)),
        "voice_high_": A.Attr(
            ("n_features_in_",),
            kind="int",
            constraints=(
                A.Check(
                    lambda v, ctx: bool(
                        np.all((np.asarray(v) >= ctx.get("voice_low_")) & (np.asarray(v) <= 127))
                    ),
                    "voice_low_ <= voice_high_ <= 127",
                ),
            ),
        ),
    }

    def _voice_sizes(self) -> list[int]:
        return [int(h - lo) + 2 for lo, h in zip(self.voice_low_, self.voice_high_, strict=True)]

    def _n_inputs(self) -> int:
        return sum(self._voice_sizes())

    def _encode(self, frames, lens, *, fitting: bool) -> np.ndarray:
        owner = type(self).__name__
        if (frames != np.round(frames)).any():
            raise ValueError(f"{owner}: pitches must be whole MIDI note numbers (-1: silent)")
        if (frames < -1).any():
            raise ValueError(
                f"{owner}: negative pitch {frames.min():g}; a voice's pitch is a MIDI note "
                "0..127, or -1 where it is silent"
            )
        if (frames > 127).any():
            raise ValueError(f"{owner}: pitch {frames.max():g} is beyond MIDI's 0..127")
        codes = frames.astype(np.int64)
        if fitting:
            lows, highs = [], []
            for k in range(codes.shape[1]):
                sung = codes[:, k][codes[:, k] >= 0]
                if sung.size == 0:
                    raise ValueError(f"{owner}: voice {k} never sings in the training pieces")
                lows.append(int(sung.min()))
                highs.append(int(sung.max()))
            self.voice_low_ = np.array(lows, dtype=np.int64)
            self.voice_high_ = np.array(highs, dtype=np.int64)
        lo, hi = self.voice_low_, self.voice_high_
        outside = (codes >= 0) & ((codes < lo) | (codes > hi))
        if outside.any():
            t, k = (int(i) for i in np.argwhere(outside)[0])
            raise ValueError(
                f"{owner}: voice {k} sings pitch {codes[t, k]}, outside its range "
                f"{lo[k]}..{hi[k]} in the training pieces"
            )
        return np.where(codes >= 0, codes - lo + 1, 0)  # 0: silent, 1..: the pitches

    def _decode(self, values: np.ndarray) -> np.ndarray:
        codes = np.asarray(values, dtype=np.int64)
        return np.where(codes > 0, codes - 1 + self.voice_low_, -1).astype(np.float64)

    def _head(self):
        return VoicesHead(self._voice_sizes(), self.hidden_size, self.step_hidden)
