"""Drawing the next token from a model's logits: temperature, top-k and top-p (nucleus)
filtering, and greedy decoding, as pure torch functions shared by every autoregressive
model."""

from __future__ import annotations

import math

import torch

from ..validation import NONE, Interval


def check_sampling(
    temperature: float, top_k: int | None, top_p: float | None, owner: str
) -> tuple[float, int | None, float | None]:
    """The sampling settings, checked: ``temperature`` >= 0 (0 is greedy decoding),
    ``top_k`` a positive integer or None, ``top_p`` in (0, 1] or None."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: temperature must be a number, got {temperature!r}") from None
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"{owner}: temperature must be finite and >= 0 (0: greedy), got {t}")
    if not (NONE.accepts(top_k) or Interval(int, 1, None).accepts(top_k)):
        raise ValueError(f"{owner}: top_k must be a positive integer or None, got {top_k!r}")
    if not (NONE.accepts(top_p) or Interval(float, 0.0, 1.0, closed="right").accepts(top_p)):
        raise ValueError(f"{owner}: top_p must be in (0, 1] or None, got {top_p!r}")
    return t, (None if top_k is None else int(top_k)), (None if top_p is None else float(top_p))


def filter_logits(
    logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None
) -> torch.Tensor:
    """``logits`` (n, V) scaled by 1/``temperature`` with every token outside the ``top_k``
    most likely, and outside the smallest set whose probability reaches ``top_p``, set to
    -inf. The most likely token always survives. (``temperature`` > 0 here.)"""
    out = logits.float() / temperature
    v = out.shape[-1]
    if top_k is not None and top_k < v:
        kth = torch.topk(out, top_k, dim=-1).values[..., -1:]
        out = out.masked_fill(out < kth, -math.inf)
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(out, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        # drop a token when the tokens ranked above it already reach top_p
        before = torch.cumsum(probs, dim=-1) - probs
        drop_sorted = before >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        out = out.masked_fill(drop, -math.inf)
    return out


def draw(
    logits: torch.Tensor,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """One token per row of ``logits`` (n, V): the most likely at ``temperature=0``, else a
    draw from the filtered distribution (one uniform per row from ``generator``, so the
    same generator state gives the same tokens whatever computed the logits)."""
    if temperature == 0.0:
        return logits.argmax(-1)
    if temperature == 1.0 and top_k is None and top_p is None:
        filtered = logits.float()
    else:
        filtered = filter_logits(logits, temperature, top_k, top_p)
    cdf = torch.softmax(filtered, dim=-1).cumsum_(-1)
    u = torch.rand(cdf.shape[0], 1, generator=generator, device=cdf.device)
    idx = torch.searchsorted(cdf, u.mul_(cdf[:, -1:]))[:, 0]
    return idx.clamp_(max=cdf.shape[-1] - 1)
