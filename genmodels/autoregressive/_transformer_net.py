"""A GPT-style decoder (pre-LayerNorm blocks of causal self-attention and an MLP) with a
key/value cache, as a pure torch module.

The network sees windows of at most ``block_size`` tokens whose positions count from 0 at
the window's start; the first token of a sequence is a learned BOS vector, so p(x_1) is
modelled too. It answers the incremental protocol every autoregressive network here has:

* ``forward(tokens)`` -> logits (n, L, V): position i predicts the token after token i;
* ``prefill(tokens)`` -> (logits of the last position (n, V), cache): the window so far;
* ``step(token, cache)`` -> (logits (n, V), cache): one more token, O(layers) matrix
  products of one row (plus attention over the cached keys), no recomputation.

A token id ``vocab_size`` (one past the data's) stands for BOS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def rotary_tables(block_size: int, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (block_size, head_dim / 2) of RoFormer's rotary position embedding."""
    inv = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = torch.arange(block_size, dtype=torch.float64)[:, None] * inv[None]
    return angles.cos().float(), angles.sin().float()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs of channels of ``x`` (n, h, L, hd) by the angles of its L positions."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


@dataclass
class KVCache:
    """Keys and values of every layer for the tokens of the current window:
    ``keys[l]``/``values[l]`` (n, heads, block_size, head_dim), filled up to ``length``."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    length: int = 0


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float, rotary: bool):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.dropout = dropout
        self.rotary = rotary
        self.resid_drop = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor, pos: slice, tables):
        n, length, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        shape = (n, length, self.n_heads, d // self.n_heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        if self.rotary:
            cos, sin = tables[0][pos], tables[1][pos]
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        return q, k, v

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        n, h, length, hd = y.shape
        return self.resid_drop(self.proj(y.transpose(1, 2).reshape(n, length, h * hd)))

    def forward(self, x, tables, cache: KVCache | None = None, layer: int = 0):
        """Causal attention over ``x`` (n, L, d) at positions 0..L-1; with ``cache``, also
        store the keys and values (a prefill)."""
        q, k, v = self._heads(x, slice(0, x.shape[1]), tables)
        if cache is not None:
            cache.keys[layer][:, :, : x.shape[1]] = k
            cache.values[layer][:, :, : x.shape[1]] = v
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
        return self._out(y)

    def step(self, x, tables, cache: KVCache, layer: int):
        """Attention of one new token ``x`` (n, 1, d) at position ``cache.length`` over the
        cached keys and itself."""
        t = cache.length
        q, k, v = self._heads(x, slice(t, t + 1), tables)
        keys, values = cache.keys[layer], cache.values[layer]
        keys[:, :, t] = k[:, :, 0]
        values[:, :, t] = v[:, :, 0]
        y = F.scaled_dot_product_attention(q, keys[:, :, : t + 1], values[:, :, : t + 1])
        return self._out(y)


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float, rotary: bool):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads, dropout, rotary)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model),
            nn.GELU(),
            nn.Linear(4 * d_model, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x, tables, cache=None, layer=0):
        x = x + self.attn(self.ln1(x), tables, cache, layer)
        return x + self.mlp(self.ln2(x))

    def step(self, x, tables, cache, layer):
        x = x + self.attn.step(self.ln1(x), tables, cache, layer)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """The decoder; see the module docstring. ``positions``: ``"learned"`` (an embedding
    per window position, GPT-2) or ``"rotary"`` (RoPE on queries and keys)."""

    def __init__(
        self,
        vocab_size: int,
        *,
        n_layers: int,
        n_heads: int,
        d_model: int,
        block_size: int,
        dropout: float = 0.0,
        positions: str = "learned",
    ):
        super().__init__()
        self.vocab_size = vocab_size
        self.block_size = block_size
        self.n_heads = n_heads
        self.tok = nn.Embedding(vocab_size, d_model)
        self.bos = nn.Parameter(torch.zeros(d_model))
        self.rotary = positions == "rotary"
        self.pos = None if self.rotary else nn.Embedding(block_size, d_model)
        cos, sin = rotary_tables(block_size, d_model // n_heads)
        self.register_buffer("rot_cos", cos, persistent=False)
        self.register_buffer("rot_sin", sin, persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads, dropout, self.rotary) for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok.weight  # tied input and output embeddings (GPT-2)
        self._init_weights(n_layers)

    def _init_weights(self, n_layers: int) -> None:
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * n_layers) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.startswith("bos"):
                nn.init.normal_(p, 0.0, 0.02)

    # -- embeddings -------------------------------------------------------------------------

    def token_embeddings(self, tokens: torch.Tensor) -> torch.Tensor:
        """(n, L) ids (``vocab_size`` = BOS) -> (n, L, d) vectors, before positions."""
        is_bos = tokens == self.vocab_size
        e = self.tok(tokens.masked_fill(is_bos, 0))
        return torch.where(is_bos[..., None], self.bos.to(e.dtype), e)

    def _positions(self, e: torch.Tensor, start: int) -> torch.Tensor:
        if self.pos is not None:
            idx = torch.arange(start, start + e.shape[1], device=e.device)
            e = e + self.pos(idx)
        return self.drop(e)

    @property
    def _tables(self):
        return self.rot_cos, self.rot_sin

    # -- the protocol -----------------------------------------------------------------------

    def forward_embeddings(self, e: torch.Tensor) -> torch.Tensor:
        """Logits (n, L, V) from token vectors ``e`` (n, L, d) at positions 0..L-1."""
        x = self._positions(e, 0)
        for block in self.blocks:
            x = block(x, self._tables)
        return self.head(self.ln_f(x))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.forward_embeddings(self.token_embeddings(tokens))

    def empty_cache(self, n: int, device, dtype) -> KVCache:
        hd = self.tok.embedding_dim // self.n_heads
        shape = (n, self.n_heads, self.block_size, hd)
        keys = [torch.empty(shape, device=device, dtype=dtype) for _ in self.blocks]
        values = [torch.empty(shape, device=device, dtype=dtype) for _ in self.blocks]
        return KVCache(keys, values, 0)

    def prefill(self, tokens: torch.Tensor) -> tuple[torch.Tensor, KVCache]:
        e = self.token_embeddings(tokens)
        cache = self.empty_cache(tokens.shape[0], tokens.device, e.dtype)
        x = self._positions(e, 0)
        for i, block in enumerate(self.blocks):
            x = block(x, self._tables, cache, i)
        cache.length = tokens.shape[1]
        return self.head(self.ln_f(x[:, -1])), cache

    def step(self, token: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        if cache.length >= self.block_size:
            raise ValueError("the window is full: start a new one with prefill")
        x = self._positions(self.token_embeddings(token[:, None]), cache.length)
        for i, block in enumerate(self.blocks):
            x = block.step(x, self._tables, cache, i)
        cache.length += 1
        return self.head(self.ln_f(x[:, -1])), cache
