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

The kernel computes in the dtype of its inputs (float64 or float32). Whatever that dtype,
what grows with a sequence's length is float64: the log-likelihoods, the max-plus products'
scores chained from segment to segment (the differences that decide the path do not grow),
and in float32 a Viterbi path's log-probability, scored from the path itself. A sequence
whose float32 messages underflow is run again in float64 (``forward_backward``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..backend import cpu_threads, threads_for

# Segments shorter than this are not worth a second level.
_MIN_SEGMENT = 256
_TINY = 1e-300  # a scale this small means an impossible observation (log-likelihood -inf)


def _tiny(dtype: torch.dtype) -> float:
    """The smallest scale taken as possible: ``_TINY`` in float64, and the smallest normal
    number of a narrower dtype (1.2e-38 in float32)."""
    return _TINY if dtype == torch.float64 else float(torch.finfo(dtype).tiny)


@dataclass
class Layout:
    """Where every frame of the concatenated sequences sits in the padded segment batch.

    The forward-backward pass keeps its (L, B, K) tensors *time-major* with the segments
    sorted by decreasing length ("sorted" below): step t then reads and writes one
    contiguous (B, K) block, of which the segments still running are the first rows.
    """

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
    inv: torch.Tensor  # (B,) sorted position of every segment
    frame_tm: torch.Tensor  # (N,) flat index into the time-major sorted (L * B) frames
    mask_tm: torch.Tensor  # (L, B) True on real frames, time-major sorted
    seq_of_frame: torch.Tensor  # (N,) sequence of every frame
    # Level 2 runs along the segments of each sequence: chain_index[g, j] is segment g of the
    # j-th sequence by decreasing segment count (0 where it has none), chain_active[g] how
    # many sequences have a segment g (the first rows of chain_index[g]).
    chain_index: torch.Tensor  # (G, S) long
    chain_valid: torch.Tensor  # (G, S) bool
    chain_active: list[int]
    # Every sequence is one full segment (equal lengths, no second level): the time-major
    # layout is then a plain transpose of the (S, L) frames and needs no index or padding.
    dense: bool

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
    pos = f % seg_len
    frame_index = seg * seg_len + pos
    n_batch = int(seg_count.sum())
    mask = np.zeros(n_batch * seg_len, dtype=bool)
    mask[frame_index] = True
    mask = mask.reshape(n_batch, seg_len)
    seg_frames = mask.sum(1)
    order = np.argsort(-seg_frames, kind="stable")
    inv = np.empty_like(order)
    inv[order] = np.arange(n_batch)
    active = (seg_frames[None, :] > np.arange(seg_len)[:, None]).sum(1).tolist()
    n_groups = int(seg_count.max())
    seq_order = np.argsort(-seg_count, kind="stable")
    g = np.arange(n_groups)[:, None]
    chain_valid = g < seg_count[seq_order][None, :]
    chain_index = np.where(chain_valid, seg_first[seq_order][None, :] + g, 0)
    dev = device
    return Layout(
        lengths=lengths,
        seg_len=int(seg_len),
        seg_seq=torch.as_tensor(seg_seq, device=dev),
        seg_pos=torch.as_tensor(seg_pos, device=dev),
        seg_count=seg_count,
        seg_first=seg_first,
        frame_index=torch.as_tensor(frame_index, device=dev),
        mask=torch.as_tensor(mask, device=dev),
        n_segments_max=n_groups,
        order=torch.as_tensor(order, device=dev),
        active=active,
        inv=torch.as_tensor(inv, device=dev),
        frame_tm=torch.as_tensor(pos * n_batch + inv[seg], device=dev),
        mask_tm=torch.as_tensor(np.ascontiguousarray(mask[order].T), device=dev),
        seq_of_frame=torch.as_tensor(seq_of_frame, device=dev),
        chain_index=torch.as_tensor(chain_index, device=dev),
        chain_valid=torch.as_tensor(chain_valid, device=dev),
        chain_active=chain_valid.sum(1).tolist(),
        dense=bool(n_groups == 1 and (lengths == seg_len).all()),
    )


def viterbi_seg_len(lengths: np.ndarray) -> int:
    """Segment length for Viterbi: shorter than the forward pass's, because its segments
    talk through one batched step (``_viterbi_sweeps``) rather than a chain of steps;
    about sqrt(T / 6) (129 frames for 10^5, 408 for 10^6), measured best at 10^5."""
    t_max = int(np.max(lengths))
    return t_max if t_max <= _MIN_SEGMENT else max(64, math.isqrt(t_max // 6))


def _pad(layout: Layout, frames: torch.Tensor, fill: float) -> torch.Tensor:
    """(N, K) per-frame values -> (B, L, K) padded segments."""
    k = frames.shape[1]
    out = torch.full(
        (layout.n_batch * layout.seg_len, k), fill, dtype=frames.dtype, device=frames.device
    )
    out[layout.frame_index] = frames
    return out.view(layout.n_batch, layout.seg_len, k)


def _pad_tm(layout: Layout, frames: torch.Tensor, fill: float) -> torch.Tensor:
    """(N, K) per-frame values -> (L, B, K) time-major, segments sorted."""
    k = frames.shape[1]
    if layout.dense:
        return frames.view(layout.n_batch, layout.seg_len, k).transpose(0, 1).contiguous()
    if len(layout.lengths) == 1:
        # one sequence: its segments are in order, all full but the last, so the layout is
        # a transpose of the frames' (B, L) view, padded at the end of the last segment
        L, B = layout.seg_len, layout.n_batch
        out = torch.empty(L, B, k, dtype=frames.dtype, device=frames.device)
        full = (B - 1) * L
        out[:, : B - 1] = frames[:full].view(B - 1, L, k).transpose(0, 1)
        rest = frames.shape[0] - full
        out[:rest, B - 1] = frames[full:]
        out[rest:, B - 1] = fill
        return out
    out = torch.full(
        (layout.seg_len * layout.n_batch, k), fill, dtype=frames.dtype, device=frames.device
    )
    out[layout.frame_tm] = frames
    return out.view(layout.seg_len, layout.n_batch, k)


def _unpad_tm(layout: Layout, padded: torch.Tensor) -> torch.Tensor:
    """(L, B, K) time-major sorted -> (N, K) per-frame values."""
    if layout.dense:
        return padded.transpose(0, 1).reshape(-1, padded.shape[-1])
    return padded.reshape(-1, padded.shape[-1])[layout.frame_tm]


def _scaled_emissions(layout: Layout, log_b: torch.Tensor):
    """exp(log b - per-frame max), time-major sorted (L, B, K) with ones on padding, and
    the maxima (N,)."""
    shift = log_b.max(dim=1).values
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    b = torch.sub(log_b, shift[:, None]).exp_()
    return _pad_tm(layout, b, 1.0), shift


def _normalise(v: torch.Tensor, dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    s = v.sum(dim, keepdim=True)
    safe = torch.where(s > 0, s, torch.ones_like(s))
    return torch.where(s > 0, v / safe, torch.zeros_like(v)), s.squeeze(dim)


# ----------------------------------------------------------------------------------------
# Level 2: messages into every segment


def _segment_products(layout: Layout, b: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Per segment, diag(b_first) prod_t A diag(b_t), scaled to sum 1: (B, K, K) in the
    segments' own order (``b`` is time-major sorted)."""
    B, tiny = b.shape[1], _tiny(b.dtype)
    Q = torch.diag_embed(b[0])
    Q.div_(Q.sum((1, 2), keepdim=True).clamp_min_(tiny))
    tmp = torch.empty_like(Q)
    s = torch.empty(B, 1, 1, dtype=b.dtype, device=b.device)
    for t in range(1, layout.seg_len):
        n = layout.active[t]
        q, w, st = (Q, tmp, s) if n == B else (Q[:n], tmp[:n], s[:n])
        torch.matmul(q, A, out=w)
        w.mul_(b[t, :n, None, :])
        torch.sum(w, (1, 2), keepdim=True, out=st).clamp_min_(tiny)
        torch.div(w, st, out=q)
    return Q[layout.inv]


def _chain_to_segments(layout: Layout, chained: torch.Tensor) -> torch.Tensor:
    """(G, S, ...) values along the chains -> (B, ...) in the segments' order."""
    out = torch.empty(
        (layout.n_batch, *chained.shape[2:]), dtype=chained.dtype, device=chained.device
    )
    out[layout.chain_index[layout.chain_valid]] = chained[layout.chain_valid]
    return out


def _incoming_messages(
    layout: Layout, b, A, log_start, need_end: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised predictive distribution of each segment's first state given everything
    before it (``init``, (B, K)) and backward message into its last frame (``end``, (B, K),
    only with ``need_end``), in the segments' own order.

    Along each sequence, init_{g+1} ∝ init_g Q_g A and end_{g-1} ∝ A Q_g end_g: the
    products Q_g A and A Q_g are formed for all segments at once, then each step is one
    batched vector-matrix product over the sequences that have a segment g.
    """
    B, K, tiny = layout.n_batch, A.shape[0], _tiny(A.dtype)
    start = torch.exp(log_start)
    init = start.expand(B, K).clone()
    end = torch.ones(B, K, dtype=A.dtype, device=A.device)
    if layout.n_segments_max == 1:
        return init, end
    Q = _segment_products(layout, b, A)
    ci, act = layout.chain_index, layout.chain_active
    G, S = ci.shape
    QA = (Q @ A)[ci]  # (G, S, K, K)
    msg = torch.empty(G, S, 1, K, dtype=A.dtype, device=A.device)
    msg[0] = start
    for g in range(G - 1):
        n = act[g + 1]
        v = msg[g + 1, :n]
        torch.bmm(msg[g, :n], QA[g, :n], out=v)
        v.div_(v.sum(2, keepdim=True).clamp_min_(tiny))
    init = _chain_to_segments(layout, msg.squeeze(2))
    if not need_end:
        return init, end
    del QA
    AQ = (A @ Q)[ci]
    msg = torch.ones(G, S, K, 1, dtype=A.dtype, device=A.device)
    for g in range(G - 1, 0, -1):
        n = act[g]
        v = msg[g - 1, :n]
        torch.bmm(AQ[g, :n], msg[g, :n], out=v)
        v.div_(v.sum(1, keepdim=True).clamp_min_(tiny))
    return init, _chain_to_segments(layout, msg.squeeze(3))


# ----------------------------------------------------------------------------------------
# Forward-backward


@dataclass
class Posteriors:
    log_likelihood: torch.Tensor  # (S,) per sequence, float64
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

    In float32 the scaled messages underflow where a frame is about 87 nats less likely in
    every state it can reach than in its best one (float64 holds 690): a sequence that comes
    out impossible in float32 is therefore run again in float64 (the log-emissions
    themselves are fine in float32), and the posteriors cast back.
    """
    with cpu_threads(threads_for(layout.n_batch * log_trans.shape[0] ** 2)):
        return _forward_backward_checked(layout, log_b, log_start, log_trans, weights, posteriors)


def _forward_backward_checked(layout, log_b, log_start, log_trans, weights, posteriors):
    post = _forward_backward(layout, log_b, log_start, log_trans, weights, posteriors)
    if log_b.dtype == torch.float64 or bool(torch.isfinite(post.log_likelihood).all()):
        return post
    f64, dt = torch.float64, log_b.dtype
    w = None if weights is None else weights.to(f64)
    again = _forward_backward(
        layout, log_b.to(f64), log_start.to(f64), log_trans.to(f64), w, posteriors
    )
    if not posteriors:
        return again
    return Posteriors(
        again.log_likelihood, again.gamma.to(dt), again.start.to(dt), again.trans.to(dt)
    )


def _forward_backward(layout: Layout, log_b, log_start, log_trans, weights, posteriors):
    """``forward_backward`` in ``log_b``'s dtype. Everything (L, B, K) below is time-major
    with the segments sorted (see ``Layout``)."""
    A = torch.exp(log_trans)
    b, shift = _scaled_emissions(layout, log_b)
    init, end = _incoming_messages(layout, b, A, log_start, need_end=posteriors)
    order = layout.order
    alpha, scale, beta = _time_loops(layout, b, A, init[order], end[order], posteriors)
    L, B, K = b.shape
    tiny = _tiny(b.dtype)
    log_s = torch.log(scale)
    # (B,) sorted; summed in float64, as are the sequences' totals below
    log_scale = torch.where(scale <= tiny, -math.inf, log_s).to(torch.float64).sum(0)
    seq = layout.seg_seq[order]  # sequence of each sorted segment
    n_seq = len(layout.lengths)
    ll = torch.zeros(n_seq, dtype=torch.float64, device=b.device).index_add_(0, seq, log_scale)
    ll = ll.index_add_(0, layout.seq_of_frame, shift.to(torch.float64))
    if not posteriors:
        return Posteriors(ll, None, None, None)
    # Per segment, alpha_t . beta_t is one constant kappa (1 without a second level).
    kappa = (alpha[0] * beta[0]).sum(1)  # (B,)
    safe_kappa = torch.where(kappa > 0, kappa, torch.ones_like(kappa))
    w_seg = torch.ones(B, dtype=b.dtype, device=b.device) if weights is None else weights[seq]
    w_seg = torch.where(kappa > 0, w_seg, torch.zeros_like(w_seg))
    # Expected transitions inside segments: sum_t alpha_{t-1}^T (b_t beta_t / c_t) * A / kappa
    # (``b`` already holds b_t / c_t; padding frames get weight 0).
    coef = layout.mask_tm[1:] * (w_seg / safe_kappa)  # (L-1, B)
    right = torch.mul(b[1:], beta[1:]).mul_(coef[:, :, None])
    trans = (alpha[:-1].reshape(-1, K).T @ right.reshape(-1, K)) * A
    del right
    # Across segment boundaries: xi ∝ alpha_last(g)[i] A_ij b_first(g+1)[j] beta_first(g+1)[j].
    inv = layout.inv
    if layout.n_segments_max > 1:
        last_pos = layout.mask.sum(1) - 1
        cont = layout.seg_pos[1:] == layout.seg_pos[:-1] + 1  # segment g+1 follows g
        g_idx = torch.nonzero(cont).squeeze(1)
        cur, nxt = inv[g_idx], inv[g_idx + 1]
        a_last = alpha[last_pos[g_idx], cur]  # (M, K)
        nb = b[0, nxt] * beta[0, nxt]  # (M, K) (b_t / c_t: a constant factor per row)
        xi = a_last[:, :, None] * A[None] * nb[:, None, :]
        xi, _ = _normalise(xi.flatten(1))
        trans = trans + (xi.view(-1, K, K) * w_seg[nxt, None, None]).sum(0)
    # State posteriors: alpha_t * beta_t normalised per frame (0 on padding), in alpha's place.
    gamma_pad = alpha.mul_(beta)
    gamma_pad.div_(gamma_pad.sum(2, keepdim=True).clamp_min_(tiny))
    gamma = _unpad_tm(layout, gamma_pad)
    first = inv[torch.as_tensor(layout.seg_first, device=b.device)]
    w_seq = torch.ones(n_seq, dtype=b.dtype, device=b.device) if weights is None else weights
    start = (gamma_pad[0, first] * w_seq[:, None]).sum(0)
    return Posteriors(ll, gamma, start, trans)


def _time_loops(layout: Layout, b, A, init, end, posteriors: bool):
    """Scaled forward (and backward) passes inside all segments at once, time-major sorted:
    alpha (L, B, K), scales (L, B) and beta (L, B, K) (None without ``posteriors``).

    Step t touches only the first ``active[t]`` rows (the segments still running), one
    contiguous block, written in place (``out=``): the loops are a few small kernels per
    step. Padding keeps alpha 0, scale 1 and beta = end. With ``posteriors``, ``b`` is
    divided in place by the scales (what the backward pass and the transitions use).
    """
    L, B, K = b.shape
    tiny = _tiny(b.dtype)
    # (padding must read alpha 0; a dense layout has none)
    alpha = torch.empty_like(b) if layout.dense else torch.zeros_like(b)
    scale = torch.ones(L, B, 1, dtype=b.dtype, device=b.device)
    al, sc, bl = alpha.unbind(0), scale.unbind(0), b.unbind(0)
    active = layout.active
    mm, sm = torch.mm, torch.sum
    torch.mul(init, bl[0], out=al[0])
    sm(al[0], 1, keepdim=True, out=sc[0]).clamp_min_(tiny)
    al[0].div_(sc[0])
    for t in range(1, L):
        n = active[t]
        a, s = (al[t], sc[t]) if n == B else (al[t][:n], sc[t][:n])
        mm(al[t - 1][:n], A, out=a)
        a.mul_(bl[t][:n])
        sm(a, 1, keepdim=True, out=s).clamp_min_(tiny)
        a.div_(s)
    scale = scale.squeeze(2)
    if not posteriors:
        return alpha, scale, None
    if layout.dense:
        beta = torch.empty_like(b)
        beta[L - 1] = end
    else:
        beta = end.expand(L, B, K).clone()
    betal = beta.unbind(0)
    AT = A.T.contiguous()
    b.div_(scale[:, :, None])
    tmp = torch.empty(B, K, dtype=b.dtype, device=b.device)
    for t in range(L - 2, -1, -1):
        n = active[t + 1]
        if n == B:
            mm(torch.mul(bl[t + 1], betal[t + 1], out=tmp), AT, out=betal[t])
        else:
            w = torch.mul(bl[t + 1][:n], betal[t + 1][:n], out=tmp[:n])
            mm(w, AT, out=betal[t][:n])
    return alpha, scale, beta


# ----------------------------------------------------------------------------------------
# Viterbi


#: Jacobi sweeps tried before falling back to max-plus segment products (see ``viterbi``)
_VITERBI_SWEEPS = 3

#: steps between the checks of a repeated sweep for having settled, and the frames it
#: checks before running to the end (see ``_viterbi_inside``)
_SETTLE_CHECK = 4
_SETTLE_FRAMES = 64


def _settle_rtol(dtype: torch.dtype) -> float:
    """How far from constant (relative to the scores' size) a segment's change of incoming
    scores may be and still count as settled: far above rounding in float64, and about
    eighty float32 epsilons (the rounding of a segment's recursion) in float32."""
    return 1e-9 if dtype == torch.float64 else 1e-5


def _constant_shift(new: torch.Tensor, old: torch.Tensor, rtol: float):
    """Per row of (M, K) scores: whether ``new - old`` is one constant over the finite
    entries (and both are finite in the same places, at least one), and that constant."""
    fin = torch.isfinite(new)
    d = new - old
    hi = torch.where(fin, d, -math.inf).amax(1)
    lo = torch.where(fin, d, math.inf).amin(1)
    size = torch.where(fin, new.abs(), 0.0).amax(1)
    same = (fin == torch.isfinite(old)).all(1) & fin.any(1)
    return same & ((hi - lo) <= rtol * (1.0 + size)), 0.5 * (hi + lo)


def _viterbi_inside(layout: Layout, lb, log_trans, init_sorted, back, memo=None, rerun=False):
    """Viterbi recursion inside all segments at once (time-major sorted) from the scores
    ``init_sorted`` (B, K) into their first frames, writing the back-pointers into ``back``
    (L, B, K; row 0 unused); returns the final scores (B, K). Padding keeps a segment's
    scores and maps a state to itself.

    ``memo`` (H + 1, B, K) receives the scores of the first H frames and the final ones.
    With ``rerun``, it and ``back`` hold an earlier run from other incoming scores: once
    this run's scores at some frame differ from that run's by one constant per segment
    (its best paths from every start state have merged), every later back-pointer is the
    earlier run's (argmax ignores a constant) and the final scores are the earlier ones
    plus the constant, so the run stops there, usually after a few frames (checked every
    ``_SETTLE_CHECK`` steps). Past H frames it runs to the end without checks.
    """
    L, B, K = lb.shape
    H = 0 if memo is None else memo.shape[0] - 1
    rtol = _settle_rtol(lb.dtype)
    states = torch.arange(K, device=lb.device)
    cand = torch.empty(B, K, K, dtype=lb.dtype, device=lb.device)
    vals = torch.empty(B, K, dtype=lb.dtype, device=lb.device)
    bufs = (torch.empty_like(vals), torch.empty_like(vals))
    prev = None
    for t in range(L):
        out = bufs[t % 2]
        if t == 0:
            torch.add(init_sorted, lb[0], out=out)
        else:
            n = layout.active[t]
            torch.add(prev[:n, :, None], log_trans, out=cand[:n])
            torch.max(cand[:n], 1, out=(vals[:n], back[t, :n]))
            torch.add(vals[:n], lb[t, :n], out=out[:n])
            if n < B:
                out[n:] = prev[n:]
                back[t, n:] = states
        if t < H:
            if rerun and (t % _SETTLE_CHECK == 0 or t == H - 1):
                settled, shift = _constant_shift(out, memo[t], rtol)
                if bool(settled.all()):
                    memo[t:].add_(shift[:, None])  # the earlier run's scores, made this one's
                    return memo[H].clone()
            memo[t].copy_(out)
        prev = out
    if memo is not None:
        memo[H].copy_(prev)
    return prev


def _viterbi_sweeps(layout: Layout, lb, log_start, log_trans):
    """Segments' incoming scores by Jacobi iteration, or None if it does not settle.

    Every segment runs the recursion from a guess of its incoming scores; the next guess
    for segment g+1 is max_i(final_g[i] + log A[i, j]). Max-plus recursions are invariant
    to adding a constant, so once a segment's new incoming scores differ from those it ran
    with by a constant d (its best paths from every start state have merged, which takes a
    few frames on most models), its back-pointers are exact and its scores are off by the
    sum of the d's before it along its sequence. The first sweep costs T·K², each later one
    only the frames until its segments' paths merge (``_viterbi_inside``'s ``rerun``),
    against T·K³ for the segment products; models whose paths never merge (e.g. a
    near-identity transition matrix) fall back to those.
    """
    L, B, K = lb.shape
    rtol = _settle_rtol(lb.dtype)
    has_pred = layout.seg_pos > 0
    seg = torch.nonzero(has_pred).squeeze(1)
    pred = seg - 1
    cur = log_start.expand(B, K).clone()
    cur[seg] = 0.0  # a flat guess
    order, inv = layout.order, layout.inv
    memo = torch.empty(min(L, _SETTLE_FRAMES) + 1, B, K, dtype=lb.dtype, device=lb.device)
    back = torch.empty(L, B, K, dtype=torch.long, device=lb.device)
    for sweep in range(_VITERBI_SWEEPS):
        final = _viterbi_inside(layout, lb, log_trans, cur[order], back, memo, sweep > 0)[inv]
        new, arg = (final[pred][:, :, None] + log_trans).max(1)  # (M, K)
        settled, d = _constant_shift(new, cur[seg], rtol)
        if bool(settled.all()):
            bp_in = torch.zeros(B, K, dtype=torch.long, device=lb.device)
            bp_in[seg] = arg
            shift = torch.zeros(B, dtype=lb.dtype, device=lb.device)
            shift[seg] = d
            along = torch.where(layout.chain_valid, shift[layout.chain_index], 0.0).cumsum(0)
            return final[order], back, bp_in, _chain_to_segments(layout, along)
        cur[seg] = new
    return None


def _viterbi_products(layout: Layout, lb, log_start, log_trans):
    """Segments' exact incoming scores (float64) and argmax predecessors from the max-plus
    product of each segment's transfer matrices (T·K³ work).

    The products are in ``lb``'s dtype (their scores are a segment's size); the chain along
    each sequence, whose scores grow to the whole sequence's size, is in float64.
    """
    B, L, K = layout.n_batch, layout.seg_len, log_trans.shape[0]
    dev, dt = lb.device, lb.dtype
    act, ci, cact = layout.active, layout.chain_index, layout.chain_active
    G, S = ci.shape
    V = torch.full((B, K, K), -math.inf, dtype=dt, device=dev)
    V[:, torch.arange(K), torch.arange(K)] = lb[0]
    buf = torch.empty(B, K, K, K, dtype=dt, device=dev)
    for t in range(1, L):
        n = act[t]
        torch.add(V[:n, :, :, None], log_trans, out=buf[:n])
        torch.amax(buf[:n], 2, out=V[:n])
        V[:n].add_(lb[t, :n, None, :])
    del buf
    f64 = torch.float64
    Vc = V[layout.inv][ci].to(f64)  # (G, S, K, K) along the chains
    log_trans = log_trans.to(f64)
    best = torch.empty(G, S, K, dtype=f64, device=dev)
    arg = torch.zeros(G, S, K, dtype=torch.long, device=dev)
    best[0] = log_start
    d_last = torch.empty(S, K, dtype=f64, device=dev)
    cand = torch.empty(S, K, K, dtype=f64, device=dev)
    for g in range(G - 1):
        n = cact[g + 1]
        torch.add(best[g, :n, :, None], Vc[g, :n], out=cand[:n])
        torch.amax(cand[:n], 1, out=d_last[:n])
        torch.add(d_last[:n, :, None], log_trans, out=cand[:n])
        torch.max(cand[:n], 1, out=(best[g + 1, :n], arg[g + 1, :n]))
    return _chain_to_segments(layout, best), _chain_to_segments(layout, arg)


def viterbi(
    layout: Layout, log_b: torch.Tensor, log_start: torch.Tensor, log_trans: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The most probable state path (N,) and its joint log-probability per sequence (S,).

    Inside all segments at once, the usual recursion with back-pointers; the scores into
    each segment's first frame come from the segments before it, by Jacobi sweeps
    (``_viterbi_sweeps``) or, when those do not settle, by max-plus products of the
    segments' transfer matrices. Back-tracking first follows, for every segment and every
    possible end state, the back-pointers to the segment's start, then chains segments
    from each sequence's end. In a dtype narrower than float64, the log-probabilities are
    the path's own (``path_log_prob``), in float64.
    """
    with cpu_threads(threads_for(layout.n_batch * log_trans.shape[0] ** 2)):
        return _viterbi(layout, log_b, log_start, log_trans)


def _viterbi(layout: Layout, log_b, log_start, log_trans):
    B, L, K = layout.n_batch, layout.seg_len, log_trans.shape[0]
    dev = log_b.device
    lb = _pad_tm(layout, log_b, 0.0)  # (L, B, K) time-major sorted
    inv, order = layout.inv, layout.order
    ci = layout.chain_index
    G, S = ci.shape
    offset = None
    swept = _viterbi_sweeps(layout, lb, log_start, log_trans) if G > 1 else None
    if swept is not None:
        delta, back, bp_in, offset = swept
    else:
        if G > 1:
            init, bp_in = _viterbi_products(layout, lb, log_start, log_trans)
            if lb.dtype != init.dtype:
                # float32 cannot hold scores of a long sequence's size finely enough to
                # tell its paths apart: each segment runs from its scores less their
                # maximum (max-plus is shift-invariant; logp is scored afresh below).
                top = init.amax(1, keepdim=True)
                init = (init - torch.where(torch.isfinite(top), top, 0.0)).to(lb.dtype)
        else:
            init = log_start.expand(B, K)
            bp_in = torch.zeros(B, K, dtype=torch.long, device=dev)
        back = torch.empty(L, B, K, dtype=torch.long, device=dev)
        delta = _viterbi_inside(layout, lb, log_trans, init[order], back)
    delta = delta[inv]
    last_seg = torch.as_tensor(layout.seg_first + layout.seg_count - 1, device=dev)
    logp, end_state = delta[last_seg].max(1)  # (S,)
    if offset is not None:
        logp = logp + offset[last_seg]
    # Chain the segments back from each sequence's end: given segment g ends in k, the
    # previous one ends in prev[g, k] = bp_in[g, paths[0, g, k]].
    if G == 1:
        chosen = end_state  # one segment per sequence, in sequence order
    else:
        # first[i, k]: the state in which segment i's best path that ends in k starts.
        first = torch.arange(K, device=dev).expand(B, K).contiguous()
        for t in range(L - 1, 0, -1):
            first = torch.gather(back[t], 1, first)
        prev = torch.gather(bp_in, 1, first[inv])  # (B, K)
        seq_order = ci[0]  # (S,) first segments, in chain order
        ends = end_state[layout.seg_seq[seq_order]]  # each chain's end state
        # state[g] = step[g](state[g + 1]) along each chain, where step[g] is prev of
        # segment g + 1, the constant map to the chain's end state on its last segment
        # (and the identity past it): the composed suffixes step[g] o ... o step[G - 1],
        # by doubling, give every state in log2(G) batched gathers instead of G steps.
        valid = layout.chain_valid
        nxt = torch.zeros_like(valid)
        nxt[:-1] = valid[1:]
        ident = torch.arange(K, device=dev).expand(G, S, K)
        step = ident.clone()
        step[:-1] = torch.where(nxt[:-1, :, None], prev[ci[1:]], ident[:-1])
        step = torch.where((valid & ~nxt)[:, :, None], ends[None, :, None].expand(G, S, K), step)
        span = 1
        while span < G:
            step[:-span] = torch.gather(step[:-span], 2, step[span:])
            span *= 2
        state = step[:, :, 0]
        chosen = _chain_to_segments(layout, state)
    # Back-track every segment from its chosen end state.
    path_pad = torch.empty(L, B, 1, dtype=torch.long, device=dev)
    path_pad[L - 1] = chosen[order][:, None]
    for t in range(L - 1, 0, -1):
        torch.gather(back[t], 1, path_pad[t], out=path_pad[t - 1])
    path = _unpad_tm(layout, path_pad).squeeze(1)
    if lb.dtype != torch.float64:
        # The recursion's float32 rounding adds up along a long sequence, and with a bias
        # (the same terms are added again and again): score the path itself, in float64.
        logp = path_log_prob(layout, path, log_b, log_start, log_trans)
    return path, logp


def path_log_prob(
    layout: Layout,
    path: torch.Tensor,
    log_b: torch.Tensor,
    log_start: torch.Tensor,
    log_trans: torch.Tensor,
) -> torch.Tensor:
    """log p(x, z) of the state path ``path`` (N,) of every sequence (S,), summed in
    float64: log start + log transitions + log emissions along the path."""
    f64 = torch.float64
    emit = log_b.gather(1, path[:, None]).squeeze(1).to(f64)  # (N,)
    first = torch.zeros_like(path, dtype=torch.bool)
    first[torch.as_tensor(np.cumsum(layout.lengths) - layout.lengths, device=path.device)] = True
    step = torch.where(first, log_start[path], log_trans[path.roll(1), path]).to(f64)
    out = torch.zeros(len(layout.lengths), dtype=f64, device=path.device)
    return out.index_add_(0, layout.seq_of_frame, emit + step)
