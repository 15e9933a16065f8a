"""The one inference kernel every HMM shares: forward-backward (state posteriors, expected
transition counts, log-likelihoods) and Viterbi, for any emission type.

Emissions only supply per-frame log-likelihoods ``log p(x_t | z_t = k)``. The kernel works on
*segments*: every sequence is cut into pieces of at most ``L`` frames, and the pieces of all
sequences form one padded batch ``(B, L, K)``. The time loop then runs ``L`` steps, each a
batched matrix product over all segments at once, so many short sequences cost as few steps
as one, and one very long sequence costs about ``3 sqrt(T)`` steps instead of ``T``:

1. per segment, the product of its scaled transfer matrices ``diag(b_first) prod A diag(b_t)``
   (``L`` batched steps);
2. the exact forward and backward messages *into* every segment, by chaining those products
   along each sequence (one step per segment);
3. forward-backward (or Viterbi) inside all segments in parallel, each starting from its
   incoming messages (``L`` batched steps).

This is the two-level form of the parallel-scan idea (Hassan, Särkkä & García-Fernández,
2021) with sequential levels of size sqrt(T). Messages are normalised at every step
(Rabiner's scaling) and emission terms are shifted by their per-frame maximum, so nothing
underflows however long the sequence is; the log-likelihood is the sum of the log-scales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

# Segments shorter than this are not worth a second level.
_MIN_SEGMENT = 256
_TINY = 1e-300  # a scale this small means an impossible observation (log-likelihood -inf)


@dataclass
class Layout:
    """Where every frame of the concatenated sequences sits in the padded segment batch."""

    lengths: np.ndarray  # (S,) frames per sequence
    seg_len: int  # L
    seg_seq: torch.Tensor  # (B,) sequence of each segment
    seg_pos: torch.Tensor  # (B,) index of the segment within its sequence
    seg_count: np.ndarray  # (S,) segments per sequence
    seg_first: np.ndarray  # (S,) index of each sequence's first segment
    frame_index: torch.Tensor  # (N,) flat index into the (B * L) padded frames
    mask: torch.Tensor  # (B, L) True on real frames
    n_segments_max: int
    order: torch.Tensor  # (B,) segments by decreasing length (the time loops' order)
    active: list[int]  # active[t]: segments (in that order) with a real frame t

    @property
    def n_batch(self) -> int:
        return int(self.seg_seq.shape[0])


def make_layout(lengths: np.ndarray, device, seg_len: int | None = None) -> Layout:
    """Cut sequences of ``lengths`` into segments of ``seg_len`` frames (default: the longest
    sequence when it is short, else about sqrt of it)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    t_max = int(lengths.max())
    if seg_len is None:
        seg_len = t_max if t_max <= _MIN_SEGMENT else max(_MIN_SEGMENT, math.isqrt(t_max) + 1)
    seg_count = -(-lengths // seg_len)  # ceil
    seg_first = np.concatenate([[0], np.cumsum(seg_count)[:-1]])
    seg_seq = np.repeat(np.arange(len(lengths)), seg_count)
    seg_pos = np.arange(seg_count.sum()) - seg_first[seg_seq]
    # frame f of sequence s -> segment seg_first[s] + f // L, position f % L
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    seq_of_frame = np.repeat(np.arange(len(lengths)), lengths)
    f = np.arange(lengths.sum()) - starts[seq_of_frame]
    seg = seg_first[seq_of_frame] + f // seg_len
    frame_index = seg * seg_len + f % seg_len
    n_batch = int(seg_count.sum())
    mask = np.zeros(n_batch * seg_len, dtype=bool)
    mask[frame_index] = True
    mask = mask.reshape(n_batch, seg_len)
    seg_frames = mask.sum(1)
    order = np.argsort(-seg_frames, kind="stable")
    active = (seg_frames[None, :] > np.arange(seg_len)[:, None]).sum(1).tolist()
    return Layout(
        lengths=lengths,
        seg_len=int(seg_len),
        seg_seq=torch.as_tensor(seg_seq, device=device),
        seg_pos=torch.as_tensor(seg_pos, device=device),
        seg_count=seg_count,
        seg_first=seg_first,
        frame_index=torch.as_tensor(frame_index, device=device),
        mask=torch.as_tensor(mask, device=device),
        n_segments_max=int(seg_count.max()),
        order=torch.as_tensor(order, device=device),
        active=active,
    )


def _pad(layout: Layout, frames: torch.Tensor, fill: float) -> torch.Tensor:
    """(N, K) per-frame values -> (B, L, K) padded segments."""
    k = frames.shape[1]
    out = torch.full(
        (layout.n_batch * layout.seg_len, k), fill, dtype=frames.dtype, device=frames.device
    )
    out[layout.frame_index] = frames
    return out.view(layout.n_batch, layout.seg_len, k)


def _unpad(layout: Layout, padded: torch.Tensor) -> torch.Tensor:
    return padded.reshape(-1, padded.shape[-1])[layout.frame_index]


def _scaled_emissions(layout: Layout, log_b: torch.Tensor):
    """exp(log b - per-frame max) padded (B, L, K) (ones on padding), and the maxima (N,)."""
    shift = log_b.max(dim=1).values
    finite = torch.isfinite(shift)
    shift = torch.where(finite, shift, torch.zeros_like(shift))
    b = torch.exp(log_b - shift[:, None])
    return _pad(layout, b, 1.0), shift


def _normalise(v: torch.Tensor, dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    s = v.sum(dim, keepdim=True)
    safe = torch.where(s > 0, s, torch.ones_like(s))
    return torch.where(s > 0, v / safe, torch.zeros_like(v)), s.squeeze(dim)


# ----------------------------------------------------------------------------------------
# Level 2: messages into every segment


def _segment_products(layout: Layout, b: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Per segment, diag(b_first) prod_t A diag(b_t), scaled to sum 1: (B, K, K)."""
    Q = torch.diag_embed(b[:, 0])
    Q, _ = _normalise(Q.flatten(1))
    Q = Q.view_as(A.expand(b.shape[0], -1, -1))
    mask = layout.mask
    for t in range(1, layout.seg_len):
        nxt = (Q @ A) * b[:, t, None, :]
        nxt, _ = _normalise(nxt.flatten(1))
        Q = torch.where(mask[:, t, None, None], nxt.view_as(Q), Q)
    return Q


def _incoming_messages(layout: Layout, b, A, log_start) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised predictive distribution of each segment's first state given everything
    before it (``init``, (B, K)) and backward message into its last frame (``end``, (B, K))."""
    B, K = layout.n_batch, A.shape[0]
    start = torch.exp(log_start)
    init = start.expand(B, K).clone()
    end = torch.ones(B, K, dtype=A.dtype, device=A.device)
    if layout.n_segments_max == 1:
        return init, end
    Q = _segment_products(layout, b, A)
    first = torch.as_tensor(layout.seg_first, device=A.device)
    count = torch.as_tensor(layout.seg_count, device=A.device)
    for g in range(layout.n_segments_max - 1):  # forward along each sequence
        has_next = count > g + 1
        cur = (first + g)[has_next]
        alpha_last, _ = _normalise((init[cur, None, :] @ Q[cur]).squeeze(1))
        init[cur + 1], _ = _normalise(alpha_last @ A)
    for g in range(layout.n_segments_max - 1, 0, -1):  # backward along each sequence
        has = count > g
        cur = (first + g)[has]
        msg = (A @ (Q[cur] @ end[cur, :, None])).squeeze(-1)
        end[cur - 1], _ = _normalise(msg)
    return init, end


# ----------------------------------------------------------------------------------------
# Forward-backward


@dataclass
class Posteriors:
    log_likelihood: torch.Tensor  # (S,) per sequence
    gamma: torch.Tensor | None  # (N, K) state posteriors per frame
    start: torch.Tensor | None  # (K,) weighted sum of first-frame posteriors
    trans: torch.Tensor | None  # (K, K) weighted expected transition counts


def forward_backward(
    layout: Layout,
    log_b: torch.Tensor,
    log_start: torch.Tensor,
    log_trans: torch.Tensor,
    *,
    weights: torch.Tensor | None = None,
    posteriors: bool = True,
) -> Posteriors:
    """Log-likelihood of every sequence and (if ``posteriors``) the E-step quantities.

    ``log_b`` (N, K): per-frame emission log-likelihoods of the concatenated sequences (0 on
    a frame that is missing). ``weights`` (S,): per-sequence weights of the counts.
    """
    A = torch.exp(log_trans)
    b, shift = _scaled_emissions(layout, log_b)
    init, end = _incoming_messages(layout, b, A, log_start)
    alpha, scale, beta = _time_loops(layout, b, A, init, end, posteriors)
    B, L, K = b.shape
    mask = layout.mask
    log_s = torch.log(scale)
    log_scale = torch.where(scale <= _TINY, -math.inf, log_s).sum(1)  # (B,)
    seq = layout.seg_seq
    n_seq = len(layout.lengths)
    ll = torch.zeros(n_seq, dtype=b.dtype, device=b.device).index_add_(0, seq, log_scale)
    seq_of_frame = torch.repeat_interleave(
        torch.arange(n_seq, device=b.device), torch.as_tensor(layout.lengths, device=b.device)
    )
    ll = ll.index_add_(0, seq_of_frame, shift)
    if not posteriors:
        return Posteriors(ll, None, None, None)
    # Per segment, alpha_t . beta_t is one constant kappa (1 without a second level).
    g_raw = alpha * beta
    kappa = g_raw[:, 0].sum(1)  # (B,)
    safe_kappa = torch.where(kappa > 0, kappa, torch.ones_like(kappa))
    gamma_pad, _ = _normalise(g_raw)
    w_seg = torch.ones(B, dtype=b.dtype, device=b.device) if weights is None else weights[seq]
    w_seg = torch.where(kappa > 0, w_seg, torch.zeros_like(w_seg))
    # Expected transitions inside segments: sum_t alpha_{t-1}^T (b_t beta_t / c_t) * A / kappa.
    left = alpha[:, :-1] * (w_seg / safe_kappa)[:, None, None]
    right = (b[:, 1:] * beta[:, 1:]) / scale[:, 1:, None]
    right = right * mask[:, 1:, None]  # (padding: b = 1, beta = end, scale = 1)
    trans = (left.reshape(-1, K).T @ right.reshape(-1, K)) * A
    # Across segment boundaries: xi ∝ alpha_last(g)[i] A_ij b_first(g+1)[j] beta_first(g+1)[j].
    if layout.n_segments_max > 1:
        last_pos = mask.sum(1) - 1
        cont = layout.seg_pos[1:] == layout.seg_pos[:-1] + 1  # segment g+1 follows g
        g_idx = torch.nonzero(cont).squeeze(1)
        a_last = alpha[g_idx, last_pos[g_idx]]  # (M, K)
        nb = b[g_idx + 1, 0] * beta[g_idx + 1, 0]  # (M, K)
        xi = a_last[:, :, None] * A[None] * nb[:, None, :]
        xi, _ = _normalise(xi.flatten(1))
        trans = trans + (xi.view(-1, K, K) * w_seg[g_idx + 1, None, None]).sum(0)
    gamma = _unpad(layout, gamma_pad)
    first_frames = torch.as_tensor(
        layout.seg_first * layout.seg_len, device=b.device, dtype=torch.long
    )
    w_seq = torch.ones(n_seq, dtype=b.dtype, device=b.device) if weights is None else weights
    start = (gamma_pad.reshape(-1, K)[first_frames] * w_seq[:, None]).sum(0)
    return Posteriors(ll, gamma, start, trans)


def _time_loops(layout: Layout, b, A, init, end, posteriors: bool):
    """Scaled forward (and backward) passes inside all segments at once: alpha (B, L, K),
    scales (B, L) and beta (B, L, K) (None without ``posteriors``).

    The loops run over segments sorted by length, so step t touches only the segments
    still running (a slice, no masking); padding keeps alpha 0, scale 1 and beta = end.
    """
    B, L, K = b.shape
    order = layout.order
    bs = b[order]
    alpha = torch.zeros_like(bs)
    scale = torch.ones(B, L, dtype=b.dtype, device=b.device)
    a = init[order] * bs[:, 0]
    s = a.sum(1, keepdim=True).clamp_min_(_TINY)
    alpha[:, 0] = a / s
    scale[:, 0] = s[:, 0]
    active = layout.active
    for t in range(1, L):
        n = active[t]
        a = torch.mm(alpha[:n, t - 1], A).mul_(bs[:n, t])
        s = a.sum(1, keepdim=True).clamp_min_(_TINY)
        alpha[:n, t] = a.div_(s)
        scale[:n, t] = s[:, 0]
    inv = torch.empty_like(order)
    inv[order] = torch.arange(B, device=order.device)
    if not posteriors:
        return alpha[inv], scale[inv], None
    beta = end[order][:, None, :].expand(B, L, K).clone()
    AT = A.T.contiguous()
    bs.div_(scale[:, :, None])
    for t in range(L - 2, -1, -1):
        n = active[t + 1]
        beta[:n, t] = torch.mm(bs[:n, t + 1] * beta[:n, t + 1], AT)
    return alpha[inv], scale[inv], beta[inv]


# ----------------------------------------------------------------------------------------
# Viterbi


def viterbi(
    layout: Layout, log_b: torch.Tensor, log_start: torch.Tensor, log_trans: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The most probable state path (N,) and its joint log-probability per sequence (S,)."""
    B, L = layout.mask.shape
    K = log_trans.shape[0]
    dev, dt = log_b.device, log_b.dtype
    lb = _pad(layout, log_b, 0.0)
    mask = layout.mask
    n_seq = len(layout.lengths)
    first = torch.as_tensor(layout.seg_first, device=dev)
    count = torch.as_tensor(layout.seg_count, device=dev)
    init = log_start.expand(B, K).clone()
    bp_in = torch.zeros(B, K, dtype=torch.long, device=dev)  # argmax into a segment's start
    if layout.n_segments_max > 1:
        # Max-plus product of each segment's transfer matrices.
        V = torch.full((B, K, K), -math.inf, dtype=dt, device=dev)
        V[:, torch.arange(K), torch.arange(K)] = lb[:, 0]
        for t in range(1, L):
            nxt = (V[:, :, :, None] + log_trans[None, None]).amax(2) + lb[:, t, None, :]
            V = torch.where(mask[:, t, None, None], nxt, V)
        for g in range(layout.n_segments_max - 1):
            has_next = count > g + 1
            cur = (first + g)[has_next]
            d_last = (init[cur, :, None] + V[cur]).amax(1)  # (M, K)
            cand = d_last[:, :, None] + log_trans[None]  # (M, K_from, K_to)
            best, arg = cand.max(1)
            init[cur + 1] = best
            bp_in[cur + 1] = arg
    # Inside segments, sorted by length so step t is a slice of the running ones; padding
    # keeps delta and maps every state to itself.
    order = layout.order
    lbs = lb[order]
    delta = init[order] + lbs[:, 0]
    back = torch.arange(K, device=dev).expand(B, L, K).clone()
    for t in range(1, L):
        n = layout.active[t]
        best, arg = (delta[:n, :, None] + log_trans).max(1)
        delta[:n] = best + lbs[:n, t]
        back[:n, t] = arg
    inv = torch.empty_like(order)
    inv[order] = torch.arange(B, device=dev)
    delta, back = delta[inv], back[inv]
    # For every segment and every possible end state, its path back to the segment start
    # (padding maps a state to itself, so the end state is that of the last real frame).
    paths = torch.empty(B, K, L, dtype=torch.long, device=dev)
    state = torch.arange(K, device=dev).expand(B, K).clone()
    for t in range(L - 1, -1, -1):
        paths[:, :, t] = state
        state = torch.gather(back[:, t], 1, state)
    last_seg = first + count - 1
    logp = delta[last_seg].max(1).values  # (S,)
    end_state = delta[last_seg].argmax(1)  # (S,)
    chosen = torch.empty(B, dtype=torch.long, device=dev)
    seg_ids = last_seg.clone()
    cur_state = end_state
    alive = torch.ones(n_seq, dtype=torch.bool, device=dev)
    for _ in range(layout.n_segments_max):
        idx = seg_ids[alive]
        chosen[idx] = cur_state[alive]
        # the state at the segment's first frame, then the argmax into it from before
        first_state = paths[idx, cur_state[alive], 0]
        cur_state = cur_state.clone()
        cur_state[alive] = bp_in[idx, first_state]
        seg_ids = seg_ids - 1
        alive = alive & (seg_ids >= first)
        if not bool(alive.any()):
            break
    path_pad = paths[torch.arange(B, device=dev), chosen]  # (B, L)
    path = path_pad.reshape(-1)[layout.frame_index]
    return path, logp
