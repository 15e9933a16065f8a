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
* optionally ``_encode_text`` / ``_decode_text`` (a tokenizer, for models of text).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from .. import attributes as A
from ..backend import cpu_threads, threads_for, to_numpy, torch_generator
from ..hmm._sequences import check_sequences
from ..nn import NeuralModel, StepContext
from ..validation import check_random_state
from ._sampling import check_sampling, draw

_PAD = -1  # a target position outside the sequence (ignored by the loss)
SCORE_TOKENS = 1 << 15  # positions scored at a time (windows of like lengths batched)


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
    }

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
            if codes.max() >= self.vocab_size_:
                raise ValueError(
                    f"{owner}: token id {int(codes.max())} is outside the vocabulary "
                    f"(ids 0..{self.vocab_size_ - 1})"
                )
            seqs = np.split(codes, np.cumsum(lens)[:-1])
        return seqs

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

    def fit(self, X, lengths=None, *, validation_data=None, resume: bool = False):
        """Train on sequences ``X`` (texts for a model with a tokenizer; else sequences of
        token ids: a list of 1-D or (T, 1) arrays, an (S, T, 1) array, or frames with
        ``lengths``) and return ``self``. ``validation_data``: held-out sequences (or
        ``(frames, lengths)``), scored every epoch as ``val_loss`` (nats per token)."""
        return super().fit(X, lengths, validation_data=validation_data, resume=resume)

    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        seqs = self._token_lists(X, y, fitting=fitting)  # y: the frames' lengths
        return TensorDataset(self._windows(seqs))

    def _windows(self, seqs: list[np.ndarray]) -> torch.Tensor:
        """Training windows (n_windows, L + 1) of the input streams (BOS, x_1, ...): inputs
        ``w[:, :-1]``, targets ``w[:, 1:]``, padded with -1; they start every L / 2
        positions (every L - m, with m masked context targets: each target once)."""
        b, m = self._train_window()
        hop = max(1, b - m if m else b // 2)
        bos = self.vocab_size_
        rows = []
        for s in seqs:
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
        return torch.as_tensor(np.stack(rows), dtype=torch.int64)

    def _losses(self, batch, ctx: StepContext) -> dict:
        w = batch[0]
        inputs = w[:, :-1].clamp(min=0)
        targets = w[:, 1:]
        logits = self.module_(inputs)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=_PAD)
        return {"loss": loss}

    # -- exact likelihood -------------------------------------------------------------------

    @torch.no_grad()
    def score_samples(self, X, lengths=None) -> np.ndarray:
        """log p(x) of each sequence in nats (exact: the sum over its tokens of
        log p(x_t | context), with the context windows of the module docstring)."""
        self._check_fitted()
        seqs = self._token_lists(X, lengths, fitting=False)
        return self._score_token_lists(seqs)

    def _score_token_lists(self, seqs: list[np.ndarray]) -> np.ndarray:
        net = self.module_.eval()
        dev = self._device()
        bos = self.vocab_size_
        out = np.zeros(len(seqs))
        # every (sequence, window) pair as one row of a batch of windows
        jobs = []  # (sequence index, window tokens, targets, first, stop) per window
        for i, s in enumerate(seqs):
            u = np.concatenate([[bos], s])
            for start, first, stop in self._score_windows(len(s)):
                jobs.append(
                    (i, u[start:stop], u[start + 1 : stop + 1], first - start, stop - start)
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
            for r, (_, ins, tg, first, stop) in enumerate(part):
                inp[r, : len(ins)] = ins
                tgt[r, first:stop] = tg[first:stop]
            logits = net(torch.as_tensor(inp, device=dev)).float()
            t = torch.as_tensor(tgt, device=dev)
            picked = logits.gather(-1, t.clamp(min=0)[..., None])[..., 0]
            logp = picked.double() - torch.logsumexp(logits, dim=-1).double()
            per_row = to_numpy(logp.masked_fill(t == _PAD, 0.0).sum(1))
            for r, job in enumerate(part):
                out[job[0]] += per_row[r]
        return out

    def bits_per_token(self, X, lengths=None) -> float:
        """The mean negative log-likelihood per token in bits (bits per character for a
        character model, bits per dimension for images)."""
        self._check_fitted()
        seqs = self._token_lists(X, lengths, fitting=False)
        total = self._score_token_lists(seqs).sum()
        return float(-total / sum(len(s) for s in seqs) / math.log(2))

    # -- generation -------------------------------------------------------------------------

    def _generator(self, random_state) -> torch.Generator:
        seed = self.random_state if random_state is None else random_state
        return torch_generator(check_random_state(seed), self._device())

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
    ) -> torch.Tensor:
        """``n_new`` tokens after each row of ``prefixes`` (n, P) (input streams starting
        with BOS, equal lengths): (n, n_new)."""
        net = self.module_.eval()
        n, p = prefixes.shape
        u = torch.empty(n, p + n_new, dtype=prefixes.dtype, device=prefixes.device)
        u[:, :p] = prefixes
        width = self._step_width()
        cache, cache_start = None, -1
        for j in range(p - 1, p - 1 + n_new):  # predict the token after input position j
            s = self._context_start(j)
            # one new row per sequence is a few small kernels: on one thread unless the
            # batch is wide (a second thread would wait at every barrier; backend.threads_for)
            if not use_cache:
                with cpu_threads(threads_for(n * (j + 1 - s) * width)):
                    logits = net(u[:, s : j + 1])[:, -1]
            elif cache is None or (s != cache_start and self._cache_restarts):
                with cpu_threads(threads_for(n * (j + 1 - s) * width)):
                    logits, cache = net.prefill(u[:, s : j + 1])
                cache_start = s
            else:
                with cpu_threads(threads_for(n * width)):
                    logits, cache = net.step(u[:, j], cache)
            u[:, j + 1] = draw(logits, temperature, top_k, top_p, generator)
        return u[:, p:]

    def _step_width(self) -> int:
        """Values of the widest activation one position makes (for the thread choice)."""
        return 4 * int(getattr(self, "d_model", 256))

    def _check_length(self, length, name: str = "length") -> int:
        if not isinstance(length, int | np.integer) or isinstance(length, bool) or length < 1:
            raise ValueError(
                f"{type(self).__name__}: {name} must be a positive integer, got {length!r}"
            )
        return int(length)

    def sample(
        self,
        n_samples: int = 1,
        *,
        length: int = 100,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        random_state=None,
        return_latent: bool = False,
        use_cache: bool = True,
    ):
        """``n_samples`` sequences of ``length`` tokens, (n_samples, length, 1) integer codes
        (as floats, like every sequence model's frames); ``sample_text`` gives strings.
        ``temperature`` 0 decodes greedily; ``top_k`` / ``top_p`` filter each draw.
        ``use_cache=False`` runs the naive loop (the same tokens, slower)."""
        self._check_fitted()
        owner = type(self).__name__
        if return_latent:
            raise ValueError(f"{owner} has no latent variables (return_latent=True)")
        if not isinstance(n_samples, int | np.integer) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        length = self._check_length(length)
        t, k, p = check_sampling(temperature, top_k, top_p, owner)
        dev = self._device()
        start = torch.full((int(n_samples), 1), self.vocab_size_, dtype=torch.int64, device=dev)
        gen = self._generator(random_state)
        toks = self._generate(
            start, length, temperature=t, top_k=k, top_p=p, generator=gen, use_cache=use_cache
        )
        return to_numpy(toks).astype(np.float64)[..., None]

    def complete(
        self,
        prefix,
        n_tokens: int = 100,
        *,
        n_samples: int = 1,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        random_state=None,
        use_cache: bool = True,
    ):
        """Continue ``prefix`` (a text for a model with a tokenizer, else a 1-D array of
        token ids) by ``n_tokens`` tokens, ``n_samples`` times: a list of strings (prefix
        included) for text, else an (n_samples, len(prefix) + n_tokens) int array."""
        self._check_fitted()
        owner = type(self).__name__
        n_tokens = self._check_length(n_tokens, "n_tokens")
        n = self._check_length(n_samples, "n_samples")
        t, k, p = check_sampling(temperature, top_k, top_p, owner)
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
        gen = self._generator(random_state)
        new = to_numpy(
            self._generate(
                u, n_tokens, temperature=t, top_k=k, top_p=p, generator=gen, use_cache=use_cache
            )
        )
        full = np.concatenate([np.repeat(ids[None], n, 0), new], axis=1)
        if text:
            return [self._decode_text(row) for row in full]
        return full

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"epochs": 2, "batch_size": 16, "random_state": 0}
