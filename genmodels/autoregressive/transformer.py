"""``Transformer``: a GPT-style decoder over characters (or any integer codes), with a
key/value cache for generation."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import attributes as A
from ..base import Capabilities
from ..registry import register
from ..validation import BOOL, NONE, Interval, OneOf
from ._transformer_net import GPT
from .base import AutoregressiveModel

_PARAM_SPEC: dict[str, list] = {
    "n_layers": [Interval(int, 1, None)],
    "n_heads": [Interval(int, 1, None)],
    "d_model": [Interval(int, 1, None)],
    "block_size": [Interval(int, 2, None)],
    "dropout": [Interval(float, 0.0, 1.0, closed="left")],
    "positions": [OneOf(("learned", "rotary"))],
    "vocab_size": [NONE, Interval(int, 2, None)],
    "tokenizer": [OneOf(("char", "bpe"))],
    "end_token": [BOOL],
}

#: The byte-level BPE vocabulary when ``vocab_size`` is not given (256 bytes + merges).
BPE_VOCAB = 512


def _tokenizers(owner: str):
    """The ``tokenizers`` package, or a clear error naming the extra that brings it."""
    try:
        import tokenizers
    except ImportError:  # pragma: no cover - the text extra is installed by make test
        raise ImportError(
            f"{owner}(tokenizer='bpe') needs the tokenizers package: pip install 'genmodels[text]'"
        ) from None
    return tokenizers


def train_bpe(texts: list[str], vocab_size: int, owner: str = "Transformer"):
    """A byte-level BPE tokenizer (Hugging Face ``tokenizers``) trained on ``texts``: every
    string encodes (no unknown symbol), and decoding inverts encoding exactly."""
    tk = _tokenizers(owner)
    if vocab_size < 257:
        raise ValueError(
            f"{owner}: a byte-level BPE vocabulary needs vocab_size > 256 (the 256 bytes "
            f"and at least one merge), got {vocab_size}"
        )
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


@register("gpt")
class Transformer(AutoregressiveModel):
    """A GPT-style transformer language model (Radford et al. 2018/2019): token and
    position embeddings, ``n_layers`` pre-LayerNorm blocks of causal multi-head
    self-attention and a 4x MLP, tied input/output embeddings, trained by next-token
    cross-entropy on windows of ``block_size`` tokens. ``score_samples`` is the exact
    log-likelihood in nats (contexts longer than ``block_size`` are windowed as
    :mod:`genmodels.autoregressive.base` says); ``sample`` and ``complete`` generate with a
    key/value cache (each new token costs one row through each layer), or naively with
    ``use_cache=False``.

    Data: a text (``str``) or a list of texts, tokenised by characters (the vocabulary is
    the characters seen in ``fit``, ``vocabulary_``) or, with ``tokenizer="bpe"``, by a
    byte-level byte-pair encoding trained on the fit texts (Hugging Face ``tokenizers``,
    the ``genmodels[text]`` extra; any string encodes, decoding is exact); or sequences of
    integer codes (a list of 1-D arrays, an (n_sequences, length) array, or frames with
    ``lengths``). ``score_samples`` of a text is the log-likelihood of its tokens in nats
    whichever the tokenizer, so ``-score / len(text)`` (nats per character) compares the
    two.

    Parameters
    ----------
    n_layers, n_heads, d_model : int, default 4, 4, 128 (``d_model`` divisible by ``n_heads``)
    block_size : int, default 64, the longest context the network sees.
    dropout : float, default 0.0
    positions : {"learned", "rotary"}, default "learned"
    vocab_size : int, optional: the number of token ids for integer-code data (default:
        the largest id seen + 1); the BPE vocabulary for ``tokenizer="bpe"`` (default
        512); ignored for characters.
    tokenizer : {"char", "bpe"}, default "char": how text is tokenised.
    end_token : bool, default False: end every training sequence with an end-of-sequence
        token (``end_id_``, one id past the data's), so that the model learns where a
        sequence ends: fit on many short strings (``fit(["CCO", "c1ccccc1", ...])``, each
        its own sequence) and ``sample_text`` returns strings that stop where the model
        ends them (``length`` is then the most characters one may have).
        ``score_samples`` includes log p(end | text).
    epochs, batch_size, optimizer, lr, weight_decay, lr_schedule, warmup_steps, grad_clip,
    early_stopping, checkpoint_dir, checkpoint_every, device, mixed_precision, random_state,
    verbose : the trainer's, as on every neural model (see :mod:`genmodels.nn`).

    Attributes
    ----------
    vocab_size_ : int (the end token included); end_id_ : int or None (the end token);
    vocabulary_ : str (the characters, in id order) or None; tokenizer_json_ : str or None
    (the trained BPE tokenizer as its JSON, read back with ``tokenizers.Tokenizer.from_str``:
    data, never code);
    n_features_in_ : 1; module_ : the network; history_, n_epochs_, best_epoch_,
    stopped_early_ : the training record (``loss`` in nats per token).
    """

    capabilities = Capabilities(
        likelihood="exact",
        input_kind="tokens",
        sequential=True,
        neural=True,
        resumable=True,
    )

    _param_spec = _PARAM_SPEC
    _fitted_spec = {
        "vocabulary_": A.Attr((), kind="str", nullable=True),
        "tokenizer_json_": A.Attr((), kind="str", nullable=True, optional=True),
    }

    def __init__(
        self,
        n_layers: int = 4,
        n_heads: int = 4,
        d_model: int = 128,
        *,
        block_size: int = 64,
        dropout: float = 0.0,
        positions: str = "learned",
        vocab_size: int | None = None,
        tokenizer: str = "char",
        end_token: bool = False,
        epochs: int = 1,
        batch_size: int = 32,
        optimizer: str = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        lr_schedule: str = "cosine",
        warmup_steps: int = 100,
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
        self.n_heads = n_heads
        self.d_model = d_model
        self.block_size = block_size
        self.dropout = dropout
        self.positions = positions
        self.vocab_size = vocab_size
        self.tokenizer = tokenizer
        self.end_token = end_token
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
            "n_layers": 1,
            "n_heads": 2,
            "d_model": 16,
            "block_size": 8,
            "epochs": 2,
            "batch_size": 16,
            "warmup_steps": 0,
            "random_state": 0,
        }

    # -- the tokenizer (characters) ---------------------------------------------------------

    @property
    def _has_text(self) -> bool:
        return (
            getattr(self, "vocabulary_", None) is not None
            or getattr(self, "tokenizer_json_", None) is not None
        )

    def _bpe(self):
        """The fitted BPE tokenizer (built from its JSON once, then kept in memory)."""
        cached = getattr(self, "_bpe_cache", None)
        if cached is None or cached[0] is not self.tokenizer_json_:
            tk = _tokenizers(type(self).__name__)
            cached = (self.tokenizer_json_, tk.Tokenizer.from_str(self.tokenizer_json_))
            self._bpe_cache = cached
        return cached[1]

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_bpe_cache", None)  # a Rust object; rebuilt from tokenizer_json_
        return state

    def _encode_text(self, texts: list[str], *, fitting: bool) -> list[np.ndarray]:
        owner = type(self).__name__
        if fitting and self.tokenizer == "bpe":
            tok = train_bpe(texts, int(self.vocab_size or BPE_VOCAB), owner)
            self.tokenizer_json_ = tok.to_str()
            self.vocabulary_ = None
            self.vocab_size_ = int(tok.get_vocab_size())
            self.n_features_in_ = 1
        if getattr(self, "tokenizer_json_", None) is not None:
            tok = self._bpe()
            return [np.asarray(e.ids, dtype=np.int64) for e in tok.encode_batch(texts)]
        if fitting:
            chars = sorted(set().union(*map(set, texts)))
            if len(chars) < 2:
                chars = chars + ["\x00"]  # a vocabulary of one character is still a distribution
            self.vocabulary_ = "".join(chars)
            self.vocab_size_ = len(chars)
            self.n_features_in_ = 1
        elif getattr(self, "vocabulary_", None) is None:
            raise TypeError(f"{owner} was fitted on integer codes, not text: pass token ids")
        index = {c: i for i, c in enumerate(self.vocabulary_)}
        out = []
        for t in texts:
            try:
                out.append(np.fromiter((index[c] for c in t), dtype=np.int64, count=len(t)))
            except KeyError as exc:
                raise ValueError(
                    f"{owner}: the character {exc.args[0]!r} is not in the vocabulary seen in fit"
                ) from None
        return out

    def _decode_text(self, tokens: np.ndarray) -> str:
        if not self._has_text:
            return super()._decode_text(tokens)
        tokens = self._until_end(tokens)
        if getattr(self, "tokenizer_json_", None) is not None:
            return self._bpe().decode([int(i) for i in tokens], skip_special_tokens=False)
        return "".join(self.vocabulary_[int(i)] for i in tokens)

    def sample_text(self, n_samples: int = 1, *, length: int = 100, **kwargs) -> list[str]:
        """``sample`` as strings (a model fitted on text); with an end token, each string
        ends before it (``stop_at_end=True``, the default for such a model)."""
        if not self._has_text:
            raise TypeError("Transformer was fitted on integer codes: use sample()")
        toks = self.sample(n_samples, length=length, **kwargs)[..., 0].astype(np.int64)
        return [self._decode_text(row) for row in toks]

    def _token_lists(self, X, lengths=None, *, fitting: bool):
        if fitting:
            self.vocabulary_ = None
            self.tokenizer_json_ = None
        if self.d_model % self.n_heads:
            raise ValueError(
                f"Transformer: d_model={self.d_model} must be divisible by n_heads={self.n_heads}"
            )
        return super()._token_lists(X, lengths, fitting=fitting)

    # -- the network ------------------------------------------------------------------------

    def _build_module(self):
        return GPT(
            self.vocab_size_,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            d_model=self.d_model,
            block_size=self.block_size,
            dropout=self.dropout,
            positions=self.positions,
        )
