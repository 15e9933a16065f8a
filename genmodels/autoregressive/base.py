"""``AutoregressiveModel``: what every autoregressive estimator shares.

An autoregressive model factorises p(x) = prod_t p(x_t | x_<t) over the positions of a
sequence of tokens (characters, mu-law audio levels, pixels in raster order), so its
log-likelihood is exact. Written once here: the data (sequences of integer codes, or text
through a model's tokenizer), the training windows and their cross-entropy loss, the exact
``score_samples``, and generation: ``sample`` and ``complete`` with temperature, top-k and
top-p, with the network's incremental cache or (``use_cache=False``) the naive loop that
recomputes the whole context for every new token. Both loops draw from the same
conditionals with the same random numbers, so they give the same tokens (tested).

**Context windows** (the transformer's; a convolutional model with a finite receptive
field R instead conditions each token on the R - 1 before it, scores a sequence in one
pass and generates with queues that never restart). The network sees at most B =
``block_size`` positions. Let u = (BOS, x_1, x_2, ...) be its input stream and H = B // 2;
the prediction of u_{j+1} uses the context u_{s(j)..j}, with s(j) = 0 for j < B and
s(j) = H (floor((j - B) / H) + 1) beyond. Every prediction past the first window sees
between B - H and B tokens, the windows hop by H, and each conditional is a normalised
distribution given the past, so the product over positions is a normalised distribution
over sequences of any length. Scoring runs one window per hop (about twice a single pass);
cached generation starts a new cache at each hop from the last B - H tokens.

A model supplies

* ``_build_module()`` (as every neural model): a network answering ``forward(tokens)``
  (logits (n, L, V), position i predicting the token after token i), ``prefill(tokens)``
  and ``step(token, cache)`` (see ``_transformer_net``), token id ``V`` standing for BOS;
* optionally ``_encode_text`` / ``_decode_text`` (a tokenizer, for models of text);
* optionally an ``end_token`` hyper-parameter (bool): when true, ``fit`` reserves one more
  token id, ``end_id_`` (the data's ids are 0 .. end_id_ - 1), and appends it to every
  sequence, so the model learns where sequences end and is a distribution over sequences
  of any length (many short strings: molecules, words, names). ``score_samples`` then
  includes log p(end | x); ``sample``, ``sample_text`` and ``complete`` stop at the end
  token (``stop_at_end``), every position after it holding ``end_id_``;
* optionally conditioning (``_conditioning``): ``_label_conditioning = True`` for a model
  that takes class labels (``fit(..., y=...)``, ``classes_``; its network gets labels),
  ``_local_conditioning = True`` (and ``_hop()``) for one that takes local features
  (``features=``, one (T', F) frame sequence per sequence, ``hop`` levels a frame). Such
  a network's ``forward`` / ``prefill`` / ``step`` take a ``Condition`` as their last
  argument whenever the model was fitted conditioned (never otherwise): its labels, and
  its local features aligned with the tokens given (one position for ``step``). A model
  fitted without them refuses them, and one fitted with them needs them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from .. import attributes as A
from ..backend import cpu_threads, threads_for, to_numpy
from ..hmm._sequences import check_sequences
from ..nn import NeuralModel, StepContext
from ..validation import fit_classes, label_codes
from ._conditioning import (
    Condition,
    Given,
    check_features,
    upsample,
)
from ._sampling import check_sampling, draw

_PAD = -1  # a target position outside the sequence (ignored by the loss)
SCORE_TOKENS = 1 << 15  # positions scored at a time (windows of like lengths batched)


def _padded(a: np.ndarray, length: int) -> np.ndarray:
    """``a`` cut or zero-padded along its first axis to ``length`` rows."""
    if len(a) >= length:
        return a[:length]
    return np.concatenate([a, np.zeros((length - len(a), *a.shape[1:]), dtype=a.dtype)])


def _frames_in(features) -> int:
    """Frames of the (first) feature sequence of ``features``."""
    if isinstance(features, np.ndarray):
        return features.shape[1] if features.ndim == 3 else len(features)
    return len(features[0])


def _sequences_of_ids(X, lengths):
    """``(frames, lengths)`` for the two layouts of token sequences that hmmlearn's frame
    convention would read as rows of many features: a list of 1-D sequences (equal lengths
    included), and an (n_sequences, length) array. A frame of a token model is one id, so
    neither is ambiguous. Anything else passes through unchanged."""
    if lengths is not None:
        return X, lengths
    if isinstance(X, list | tuple) and X and all(np.ndim(s) == 1 for s in X):
        seqs = [np.asarray(s).reshape(-1, 1) for s in X]
        return np.concatenate(seqs), np.array([len(s) for s in seqs])
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] != 1:
        return X.reshape(-1, 1), np.full(X.shape[0], X.shape[1])
    return X, lengths


def context_start(j: int, block_size: int) -> int:
    """s(j): where the context of the prediction after input position ``j`` starts."""
    if j < block_size:
        return 0
    hop = max(1, block_size // 2)
    return hop * ((j - block_size) // hop + 1)


def score_windows(length: int, block_size: int) -> list[tuple[int, int, int]]:
    """The windows that score a stream of ``length`` predictions: ``(start, first, stop)``
    = the window u[start : start + B] scores predictions j in [first, stop)."""
    hop = max(1, block_size // 2)
    out = [(0, 0, min(block_size, length))]
    start = hop
    while start + block_size - hop < length:
        first = start + block_size - hop
        out.append((start, first, min(start + block_size, length)))
        start += hop
    return out


class AutoregressiveModel(NeuralModel):
    """Abstract base of the autoregressive models (not registered itself); see the module
    docstring. Fitted: ``vocab_size_`` (token ids are 0..vocab_size_-1), ``n_features_in_``
    (1: one token per frame)."""

    _fitted_spec = {
        "vocab_size_": A.Attr((), kind="int", constraints=(A.Range(2),)),
        "end_id_": A.Attr((), kind="int", nullable=True, optional=True),
    }

    #: Whether the model takes class labels ``y`` (its network a label embedding).
    _label_conditioning = False
    #: Whether the model takes local features ``features`` (a frame sequence per sequence).
    _local_conditioning = False

    # -- tokens in ------------------------------------------------------------------------

    def _encode_text(self, texts: list[str], *, fitting: bool) -> list[np.ndarray]:
        raise TypeError(
            f"{type(self).__name__} models sequences of integer codes, not text: pass a list "
            "of 1-D integer arrays, a (n_sequences, length) array or frames with lengths"
        )

    def _decode_text(self, tokens: np.ndarray) -> str:
        raise TypeError(f"{type(self).__name__} has no tokenizer: it returns integer codes")

    @property
    def _has_text(self) -> bool:
        return False

    def _token_lists(self, X, lengths=None, *, fitting: bool) -> list[np.ndarray]:
        """Validated sequences of token ids, one int64 array each."""
        owner = type(self).__name__
        if isinstance(X, str) or (
            isinstance(X, list | tuple) and len(X) > 0 and all(isinstance(t, str) for t in X)
        ):
            if lengths is not None:
                raise ValueError(f"{owner}: lengths go with frames of codes, not with text")
            texts = [X] if isinstance(X, str) else list(X)
            if any(len(t) == 0 for t in texts):
                raise ValueError(f"{owner}: a text is empty (a sequence needs at least 1 token)")
            seqs = self._encode_text(texts, fitting=fitting)
        else:
            X, lengths = _sequences_of_ids(X, lengths)
            frames, lens = check_sequences(X, lengths, owner=owner, allow_nan=False)
            if frames.shape[1] != 1:
                raise ValueError(
                    f"{owner}: each frame must be one token id (1 feature), got "
                    f"{frames.shape[1]} features"
                )
            codes = frames[:, 0]
            if (codes < 0).any() or (codes != np.round(codes)).any():
                raise ValueError(f"{owner}: token ids must be non-negative integers")
            if codes.max() >= 2**31:
                raise ValueError(f"{owner}: token ids must be below 2**31")
            codes = codes.astype(np.int64)
            if fitting:
                self.vocab_size_ = (
                    int(self.vocab_size)
                    if getattr(self, "vocab_size", None)
                    else max(2, int(codes.max()) + 1)
                )
                self.n_features_in_ = 1
            n_ids = self._n_data_ids if not fitting else self.vocab_size_
            if codes.max() >= n_ids:
                raise ValueError(
                    f"{owner}: token id {int(codes.max())} is outside the vocabulary "
                    f"(ids 0..{n_ids - 1})"
                )
            seqs = np.split(codes, np.cumsum(lens)[:-1])
        if fitting:
            self.end_id_ = None
            if getattr(self, "end_token", False):
                self.end_id_ = int(self.vocab_size_)
                self.vocab_size_ += 1
        return seqs

    # -- the end-of-sequence token ----------------------------------------------------------

    @property
    def _end_id(self) -> int | None:
        """The end-of-sequence token id (``end_id_``), or None for a model without one."""
        end = getattr(self, "end_id_", None)
        return None if end is None else int(end)

    @property
    def _n_data_ids(self) -> int:
        """How many token ids the data may use (all but the end token)."""
        end = self._end_id
        return int(self.vocab_size_) if end is None else end

    def _with_end(self, seqs: list[np.ndarray]) -> list[np.ndarray]:
        """``seqs`` with the end token appended to each (unchanged without one)."""
        end = self._end_id
        if end is None:
            return seqs
        return [np.concatenate([s, [end]]).astype(np.int64) for s in seqs]

    def _until_end(self, tokens: np.ndarray) -> np.ndarray:
        """The tokens of ``tokens`` before its first end token (all without one)."""
        end = self._end_id
        tokens = np.asarray(tokens)
        if end is None:
            return tokens
        hit = np.flatnonzero(tokens == end)
        return tokens[: hit[0]] if hit.size else tokens

    def _stop_token(self, stop_at_end: bool | None) -> int | None:
        """The token generation stops at: the end token unless ``stop_at_end`` is False
        (None: stop when the model has one; True for a model without one is an error)."""
        if stop_at_end is not None and not isinstance(stop_at_end, bool | np.bool_):
            raise TypeError(f"stop_at_end must be True, False or None, got {stop_at_end!r}")
        end = self._end_id
        if stop_at_end and end is None:
            raise ValueError(
                f"{type(self).__name__} was fitted without an end token (end_token=False): "
                "it cannot stop at one"
            )
        return None if stop_at_end is False else end

    # -- training -------------------------------------------------------------------------

    # -- the context scheme (a model with a finite receptive field overrides these) ----------

    def _block(self) -> int:
        return int(self.block_size)

    def _context_start(self, j: int) -> int:
        """Where the context of the prediction after input position ``j`` starts."""
        return context_start(j, self._block())

    def _score_windows(self, length: int) -> list[tuple[int, int, int]]:
        """``(start, first, stop)``: the input u[start:stop] scores predictions [first, stop)."""
        return score_windows(length, self._block())

    def _train_window(self) -> tuple[int, int]:
        """``(L, m)``: training windows of L inputs; the first m targets of every window
        but a sequence's first are not trained (their context would be cut short)."""
        return self._block(), 0

    @property
    def _cache_restarts(self) -> bool:
        """Whether the cache starts afresh when the context start moves (a window of
        attention) or runs on for ever (a convolution's queues)."""
        return True

    def fit(
        self,
        X,
        lengths=None,
        *,
        y=None,
        features=None,
        validation_data=None,
        resume: bool = False,
    ):
        """Train on sequences ``X`` (texts for a model with a tokenizer; else sequences of
        token ids: a list of 1-D or (T, 1) arrays, an (S, T, 1) array, or frames with
        ``lengths``) and return ``self``. ``y``: one class label per sequence, for a model
        that takes them (then ``classes_``); ``features``: local features, one (T', F)
        array per sequence, for a model that takes them. ``validation_data``: held-out
        sequences, ``(X, lengths)``, or a dict of ``fit``'s arguments (``{"X": ...,
        "y": ...}``), scored every epoch as ``val_loss`` (nats per token)."""
        val = None if validation_data is None else self._validation_given(validation_data)
        return super().fit(X, Given(lengths, y, features), validation_data=val, resume=resume)

    def _validation_given(self, data) -> tuple:
        """``(X, Given)`` of ``fit``'s ``validation_data``."""
        if isinstance(data, dict):
            unknown = set(data) - {"X", "lengths", "y", "features"}
            if unknown or "X" not in data:
                raise ValueError(
                    f"{type(self).__name__}: validation_data as a dict takes the keys X, "
                    f"lengths, y, features (X required), got {sorted(data)}"
                )
            return data["X"], Given(data.get("lengths"), data.get("y"), data.get("features"))
        if isinstance(data, tuple) and len(data) == 2:
            return data[0], Given(data[1])
        return data, Given()

    # -- conditioning -------------------------------------------------------------------------

    @property
    def _n_classes(self) -> int:
        """Classes the network embeds (0: not conditioned on labels)."""
        classes = getattr(self, "classes_", None)
        return 0 if classes is None else len(classes)

    @property
    def _n_local(self) -> int:
        """Local features per frame the network takes (0: none)."""
        return int(getattr(self, "n_local_features_", 0) or 0)

    def _hop(self) -> int:
        """Levels per frame of the local features."""
        return 1

    def _label_codes(self, y, n: int, *, fitting: bool, what: str = "sequence"):
        """Class indices (n,) of the labels ``y``, or None for a model without labels."""
        owner = type(self).__name__
        if not self._label_conditioning:
            if y is not None:
                raise ValueError(f"{owner} is not conditioned on class labels: it takes no y")
            return None
        if fitting:
            self.classes_ = None if y is None else fit_classes(y, n, owner, what)
        if self.classes_ is None:
            if y is not None:
                raise ValueError(f"{owner} was fitted without class labels: it takes no y")
            return None
        if y is None:
            raise ValueError(
                f"{owner} was fitted on class labels {self.classes_.tolist()}: pass y (one "
                f"label, or one per {what})"
            )
        return label_codes(y, self.classes_, n, owner, what)

    def _local_frames(self, features, lengths: list[int], *, fitting: bool):
        """Checked local features (one (T'_i, F) float32 array per sequence), or None."""
        owner = type(self).__name__
        if not self._local_conditioning:
            if features is not None:
                raise ValueError(f"{owner} takes no local features (features=)")
            return None
        if fitting:
            self.n_local_features_ = 0
            if features is None:
                return None
            feats = check_features(features, lengths, self._hop(), None, owner)
            self.n_local_features_ = int(feats[0].shape[1])
            return feats
        if self._n_local == 0:
            if features is not None:
                raise ValueError(f"{owner} was fitted without local features: it takes none")
            return None
        if features is None:
            raise ValueError(
                f"{owner} was fitted with local features ({self._n_local} per frame of "
                f"{self._hop()} levels): pass features, one (frames, {self._n_local}) array "
                "per sequence"
            )
        return check_features(features, lengths, self._hop(), self._n_local, owner)

    def _sample_frames(self, features, n: int, length: int):
        """``features`` for ``n`` generated sequences of ``length`` levels: one (T', F)
        array for all, or one per sequence; None for a model fitted without them."""
        if features is not None and self._n_local:
            if isinstance(features, np.ndarray) and features.ndim == 2:
                features = [features] * n
        return self._local_frames(features, [length] * n, fitting=False)

    def _condition(self, codes, local, length: int) -> Condition | None:
        """The network's condition of streams of ``length`` input positions: class indices
        ``codes`` and ``local`` features at the token rate (one array per stream, cut or
        zero-padded to ``length``); None when the model is not conditioned."""
        if codes is None and local is None:
            return None
        dev = self._device()
        labels = None if codes is None else torch.as_tensor(codes, device=dev)
        if local is not None:
            local = torch.as_tensor(np.stack([_padded(f, length) for f in local]), device=dev)
        return Condition(labels, local)

    def _upsampled(self, frames, length: int):
        """Local features at the token rate, (length, F) per sequence (None: none)."""
        if frames is None:
            return None
        return [upsample(f, self._hop(), length) for f in frames]

    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        given = y if isinstance(y, Given) else Given(y)  # y: NeuralModel's second argument
        seqs = self._token_lists(X, given.lengths, fitting=fitting)
        codes = self._label_codes(given.y, len(seqs), fitting=fitting)
        frames = self._local_frames(given.features, [len(s) for s in seqs], fitting=fitting)
        seqs = self._with_end(seqs)
        rows, which, starts = self._window_rows(seqs)
        tensors = [torch.as_tensor(np.stack(rows), dtype=torch.int64)]
        if codes is not None:
            tensors.append(torch.as_tensor(codes[which]))
        if frames is not None:  # each window's frames, and where its first position falls
            hop = self._hop()
            b = self._train_window()[0]
            k = (b - 1) // hop + 2
            per = [
                _padded(frames[i][st // hop : st // hop + k], k)
                for i, st in zip(which, starts, strict=True)
            ]
            tensors.append(torch.as_tensor(np.stack(per)))
            tensors.append(torch.as_tensor(np.asarray(starts) % hop, dtype=torch.int64))
        return TensorDataset(*tensors)

    def _window_rows(self, seqs: list[np.ndarray]):
        """Training windows of the input streams (BOS, x_1, ...), each L + 1 tokens padded
        with -1, with the sequence and the start of each: (rows, sequence indices, starts).
        Windows start every L / 2 positions (every L - m, with m masked context targets:
        each target once)."""
        b, m = self._train_window()
        hop = max(1, b - m if m else b // 2)
        bos = self.vocab_size_
        rows, which, where = [], [], []
        for i, s in enumerate(seqs):
            u = np.concatenate([[bos], s])
            n_pred = len(s)
            starts = range(0, max(1, n_pred - b + hop), hop) if n_pred > b else [0]
            for st in starts:
                w = u[st : st + b + 1].copy()
                if st > 0 and m:
                    w[1 : m + 1] = _PAD  # targets whose context this window cuts short
                if len(w) < b + 1:
                    w = np.concatenate([w, np.full(b + 1 - len(w), _PAD)])
                rows.append(w)
                which.append(i)
                where.append(st)
        return rows, np.asarray(which, dtype=np.int64), where

    def _windows(self, seqs: list[np.ndarray]) -> torch.Tensor:
        """Training windows (n_windows, L + 1): inputs ``w[:, :-1]``, targets ``w[:, 1:]``."""
        return torch.as_tensor(np.stack(self._window_rows(seqs)[0]), dtype=torch.int64)

    def _batch_condition(self, batch) -> Condition | None:
        """The condition of a batch of training windows (labels, then frames and phases)."""
        rest = list(batch[1:])
        if not rest:
            return None
        labels = rest.pop(0) if self._n_classes else None
        local = None
        if rest:
            frames, phase = rest
            hop, length = self._hop(), batch[0].shape[1] - 1
            idx = (phase[:, None] + torch.arange(length, device=phase.device)) // hop
            local = frames.gather(1, idx[..., None].expand(-1, -1, frames.shape[-1]))
        return Condition(labels, local)

    def _losses(self, batch, ctx: StepContext) -> dict:
        w = batch[0]
        # windows of short sequences end in padding: drop the columns no target uses (the
        # networks are causal, so the other positions' logits are unchanged)
        used = (w[:, 1:] != _PAD).any(0).nonzero()
        if len(used) and int(used[-1]) + 2 < w.shape[1]:
            w = w[:, : int(used[-1]) + 2]
            batch = (w, *batch[1:])
        inputs = w[:, :-1].clamp(min=0)
        targets = w[:, 1:]
        cond = self._batch_condition(batch)
        logits = self.module_(inputs) if cond is None else self.module_(inputs, cond)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=_PAD)
        return {"loss": loss}

    # -- exact likelihood -------------------------------------------------------------------

    @torch.no_grad()
    def score_samples(self, X, lengths=None, *, y=None, features=None) -> np.ndarray:
        """log p(x) of each sequence in nats (exact: the sum over its tokens of
        log p(x_t | context), with the context windows of the module docstring); for a
        model fitted conditioned, log p(x | y, features) given each sequence's label ``y``
        (one for all, or one each) and local ``features``."""
        self._check_fitted()
        seqs = self._token_lists(X, lengths, fitting=False)
        given = self._given_condition(seqs, y, features)
        return self._score_token_lists(self._with_end(seqs), *given)

    def _given_condition(self, seqs, y, features):
        codes = self._label_codes(y, len(seqs), fitting=False)
        frames = self._local_frames(features, [len(s) for s in seqs], fitting=False)
        return codes, frames

    def _score_token_lists(self, seqs: list[np.ndarray], codes=None, frames=None) -> np.ndarray:
        net = self.module_.eval()
        dev = self._device()
        bos = self.vocab_size_
        out = np.zeros(len(seqs))
        local = (
            None
            if frames is None
            else [self._upsampled([f], len(s))[0] for f, s in zip(frames, seqs, strict=True)]
        )
        # every (sequence, window) pair as one row of a batch of windows
        jobs = []  # (sequence index, window tokens, targets, first, stop, start) per window
        for i, s in enumerate(seqs):
            u = np.concatenate([[bos], s])
            for start, first, stop in self._score_windows(len(s)):
                jobs.append(
                    (i, u[start:stop], u[start + 1 : stop + 1], first - start, stop - start, start)
                )
        jobs.sort(key=lambda job: len(job[1]))  # batch windows of like lengths together
        k = 0
        while k < len(jobs):
            width = len(jobs[k][1])
            rows = max(1, SCORE_TOKENS // width)
            part = jobs[k : k + rows]
            k += len(part)
            width = max(len(j[1]) for j in part)
            inp = np.zeros((len(part), width), dtype=np.int64)
            tgt = np.full((len(part), width), _PAD, dtype=np.int64)
            for r, (_, ins, tg, first, stop, _start) in enumerate(part):
                inp[r, : len(ins)] = ins
                tgt[r, first:stop] = tg[first:stop]
            cond = self._condition(
                None if codes is None else codes[[j[0] for j in part]],
                None if local is None else [local[j[0]][j[5] :] for j in part],
                width,
            )
            tokens = torch.as_tensor(inp, device=dev)
            logits = (net(tokens) if cond is None else net(tokens, cond)).float()
            t = torch.as_tensor(tgt, device=dev)
            picked = logits.gather(-1, t.clamp(min=0)[..., None])[..., 0]
            logp = picked.double() - torch.logsumexp(logits, dim=-1).double()
            per_row = to_numpy(logp.masked_fill(t == _PAD, 0.0).sum(1))
            for r, job in enumerate(part):
                out[job[0]] += per_row[r]
        return out

    def bits_per_token(self, X, lengths=None, *, y=None, features=None) -> float:
        """The mean negative log-likelihood per token in bits (bits per character for a
        character model, bits per dimension for images; with an end token, each sequence's
        end counts as one more token)."""
        self._check_fitted()
        seqs = self._token_lists(X, lengths, fitting=False)
        given = self._given_condition(seqs, y, features)
        seqs = self._with_end(seqs)
        total = self._score_token_lists(seqs, *given).sum()
        return float(-total / sum(len(s) for s in seqs) / math.log(2))

    # -- generation -------------------------------------------------------------------------

    @torch.no_grad()
    def _generate(
        self,
        prefixes: torch.Tensor,
        n_new: int,
        *,
        temperature: float,
        top_k: int | None,
        top_p: float | None,
        generator: torch.Generator,
        use_cache: bool,
        cond: Condition | None = None,
        stop: int | None = None,
    ) -> torch.Tensor:
        """``n_new`` tokens after each row of ``prefixes`` (n, P) (input streams starting
        with BOS, equal lengths): (n, n_new). ``cond``: the condition of the input
        positions 0 .. P + n_new - 2 (labels, local features), for a conditioned model.
        ``stop``: a token id that ends a row: every later position of the row holds it,
        and generation ends early once every row has stopped."""
        net = self.module_.eval()
        n, p = prefixes.shape
        u = torch.empty(n, p + n_new, dtype=prefixes.dtype, device=prefixes.device)
        u[:, :p] = prefixes
        done = torch.zeros(n, dtype=torch.bool, device=prefixes.device)
        width = self._step_width()
        cache, cache_start = None, -1
        for j in range(p - 1, p - 1 + n_new):  # predict the token after input position j
            s = self._context_start(j)
            # one new row per sequence is a few small kernels: on one thread unless the
            # batch is wide (a second thread would wait at every barrier; backend.threads_for)
            extra = () if cond is None else (cond.window(s, j + 1),)
            if not use_cache:
                with cpu_threads(threads_for(n * (j + 1 - s) * width)):
                    logits = net(u[:, s : j + 1], *extra)[:, -1]
            elif cache is None or (s != cache_start and self._cache_restarts):
                with cpu_threads(threads_for(n * (j + 1 - s) * width)):
                    logits, cache = net.prefill(u[:, s : j + 1], *extra)
                cache_start = s
            else:
                extra = () if cond is None else (cond.window(j, j + 1),)
                with cpu_threads(threads_for(n * width)):
                    logits, cache = net.step(u[:, j], cache, *extra)
            u[:, j + 1] = draw(logits, temperature, top_k, top_p, generator)
            if stop is not None:
                u[:, j + 1] = u[:, j + 1].masked_fill(done, stop)
                done |= u[:, j + 1] == stop
                if bool(done.all()):
                    u[:, j + 2 :] = stop
                    break
        return u[:, p:]

    def _step_width(self) -> int:
        """Values of the widest activation one position makes (for the thread choice)."""
        return 4 * int(getattr(self, "d_model", 256))

    def sample(
        self,
        n_samples: int = 1,
        *,
        length: int | None = None,
        y=None,
        features=None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        random_state=None,
        return_latent: bool = False,
        use_cache: bool = True,
        stop_at_end: bool | None = None,
    ):
        """``n_samples`` sequences of ``length`` tokens (default 100, or all the frames of
        ``features``), (n_samples, length, 1) integer codes (as floats, like every sequence
        model's frames); ``sample_text`` gives strings. For a model fitted with an end
        token, a sequence stops at its first end token (``end_id_``), which then fills the
        rest of its row, and ``length`` is the most tokens a sequence may have
        (``stop_at_end=False``: draw on past it). ``y``: the class label of every
        sample or one per sample, for a model fitted on labels; ``features``: local
        features, one (frames, F) array for all or one per sample, for a model fitted with
        them. ``temperature`` 0 decodes greedily; ``top_k`` / ``top_p`` filter each draw.
        ``use_cache=False`` runs the naive loop (the same tokens, slower)."""
        self._check_fitted()
        owner = type(self).__name__
        if return_latent:
            raise ValueError(f"{owner} has no latent variables (return_latent=True)")
        if not isinstance(n_samples, int | np.integer) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        n = int(n_samples)
        if length is None:
            length = 100
            if features is not None and self._n_local:
                length = _frames_in(features) * self._hop()
        length = self._check_count(length, "length")
        t, k, p = check_sampling(temperature, top_k, top_p, owner)
        stop = self._stop_token(stop_at_end)
        codes = self._label_codes(y, n, fitting=False, what="sample")
        frames = self._sample_frames(features, n, length)
        dev = self._device()
        start = torch.full((n, 1), self.vocab_size_, dtype=torch.int64, device=dev)
        gen = self._generator(random_state)
        cond = self._condition(codes, self._upsampled(frames, length), length)
        toks = self._generate(
            start,
            length,
            temperature=t,
            top_k=k,
            top_p=p,
            generator=gen,
            use_cache=use_cache,
            cond=cond,
            stop=stop,
        )
        return to_numpy(toks).astype(np.float64)[..., None]

    def complete(
        self,
        prefix,
        n_tokens: int = 100,
        *,
        n_samples: int = 1,
        y=None,
        features=None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        random_state=None,
        use_cache: bool = True,
        stop_at_end: bool | None = None,
    ):
        """Continue ``prefix`` (a text for a model with a tokenizer, else a 1-D array of
        token ids) by ``n_tokens`` tokens, ``n_samples`` times: a list of strings (prefix
        included) for text, else an (n_samples, len(prefix) + n_tokens) int array. ``y``
        and ``features`` (covering the prefix and the new tokens) as in ``sample``; a
        model with an end token stops there as in ``sample`` (a text ends before it)."""
        self._check_fitted()
        owner = type(self).__name__
        n_tokens = self._check_count(n_tokens, "n_tokens")
        n = self._check_count(n_samples, "n_samples")
        t, k, p = check_sampling(temperature, top_k, top_p, owner)
        stop = self._stop_token(stop_at_end)
        text = isinstance(prefix, str)
        if text:
            ids = self._encode_text([prefix], fitting=False)[0] if prefix else np.zeros(0, np.int64)
        else:
            arr = np.asarray(prefix)
            if arr.ndim != 1:
                raise ValueError(f"{owner}: prefix must be a 1-D array of token ids (or a text)")
            ids = (
                self._token_lists([arr[:, None]], fitting=False)[0]
                if arr.size
                else np.zeros(0, np.int64)
            )
        dev = self._device()
        u = torch.as_tensor(
            np.concatenate([[self.vocab_size_], ids]), dtype=torch.int64, device=dev
        )
        u = u[None].repeat(n, 1)
        total = len(ids) + n_tokens
        codes = self._label_codes(y, n, fitting=False, what="sample")
        frames = self._sample_frames(features, n, total)
        cond = self._condition(codes, self._upsampled(frames, total), total)
        gen = self._generator(random_state)
        new = to_numpy(
            self._generate(
                u,
                n_tokens,
                temperature=t,
                top_k=k,
                top_p=p,
                generator=gen,
                use_cache=use_cache,
                cond=cond,
                stop=stop,
            )
        )
        full = np.concatenate([np.repeat(ids[None], n, 0), new], axis=1)
        if text:
            return [self._decode_text(row) for row in full]
        return full

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"epochs": 2, "batch_size": 16, "random_state": 0}
