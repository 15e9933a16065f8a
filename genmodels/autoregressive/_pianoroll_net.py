"""The networks of the polyphonic step models (``pianoroll``): a recurrent network over
time steps whose state conditions an autoregressive distribution over what sounds in the
next step.

* :class:`StepRNN`: a GRU or LSTM reading the steps so far; its output at step t (having
  read steps 1..t-1, and a start flag at t = 1) is the state h_t that conditions step t.
* :class:`NADEHead` (RNN-NADE, Boulanger-Lewandowski et al. 2012): a NADE over the P
  pitches of a step, lowest first, whose biases are affine in h_t:
  ``p(v_i = 1 | v_<i, h) = sigmoid(b_i(h) + V_i . sigmoid(c(h) + sum_{j<i} v_j W_j))``.
* :class:`VoicesHead`: a categorical per voice (soprano first), each conditioned on h_t
  and on the voices before it in the step:
  ``p(v_k | v_<k, h) = softmax(O_k tanh(A_k h + sum_{j<k} E_kj[v_j]))``.

Both heads give ``log_prob(h, v)`` (N,) for N steps at once (the training pass) and
``sample(h, generator)`` (one step of n sequences, drawing in the factorisation's order).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class StepRNN(nn.Module):
    """A recurrent network over steps encoded as ``n_in`` numbers each (plus a start flag)."""

    def __init__(self, n_in: int, hidden: int, n_layers: int, cell: str, dropout: float):
        super().__init__()
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.n_in = n_in
        self.rnn = rnn(
            n_in + 1, hidden, n_layers, batch_first=True, dropout=dropout if n_layers > 1 else 0.0
        )
        self.drop = nn.Dropout(dropout)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, n_in) encoded steps -> h (B, T, hidden): h[:, t] has read x[:, :t]."""
        b, t, _ = x.shape
        start = torch.zeros(b, t, 1, dtype=x.dtype, device=x.device)
        start[:, 0] = 1.0
        prev = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)  # (B, T, n_in)
        out, _ = self.rnn(torch.cat([prev, start], dim=-1))  # (B, T, hidden)
        return self.drop(out)

    def step(self, x_prev: torch.Tensor | None, n: int, state):
        """The state for the next step after ``x_prev`` (n, n_in) (None: the first step):
        ``(h (n, hidden), recurrent state)``."""
        dev = next(self.parameters()).device
        inp = torch.zeros(n, 1, self.n_in + 1, device=dev)
        if x_prev is None:
            inp[:, 0, -1] = 1.0
        else:
            inp[:, 0, :-1] = x_prev
        out, state = self.rnn(inp, state)
        return out[:, 0], state


class NADEHead(nn.Module):
    """A NADE over ``n_pitches`` binary units with ``hidden`` hidden units, its biases set
    by a conditioning vector of ``n_cond`` numbers."""

    def __init__(self, n_pitches: int, n_cond: int, hidden: int):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_pitches, hidden) * 0.05)  # pitch j -> hidden
        self.V = nn.Parameter(torch.randn(n_pitches, hidden) * 0.05)  # hidden -> pitch i
        self.to_c = nn.Linear(n_cond, hidden)  # hidden biases c(h)
        self.to_b = nn.Linear(n_cond, n_pitches)  # output biases b(h)

    def logits(self, h: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """h (N, n_cond), v (N, P) -> (N, P): the logit of p(v_i = 1 | v_<i, h)."""
        contrib = v[..., None] * self.W  # (N, P, H)
        a = self.to_c(h)[:, None] + contrib.cumsum(1) - contrib  # (N, P, H), sum over j < i
        return self.to_b(h) + (torch.sigmoid(a) * self.V).sum(-1)  # (N, P)

    def log_prob(self, h: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """log p(v | h) (N,) of steps v (N, P) of 0/1."""
        z = self.logits(h, v)
        return -F.binary_cross_entropy_with_logits(z, v, reduction="none").sum(-1)

    def sample(self, h: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One step (n, P) of 0/1 per row of h (n, n_cond), pitch by pitch."""
        n, p = h.shape[0], self.W.shape[0]
        a = self.to_c(h)  # (n, H)
        b = self.to_b(h)  # (n, P)
        u = torch.rand(n, p, generator=generator, device=h.device)
        v = torch.zeros(n, p, device=h.device)
        for i in range(p):
            prob = torch.sigmoid(b[:, i] + torch.sigmoid(a) @ self.V[i])  # (n,)
            v[:, i] = (u[:, i] < prob).float()
            a = a + v[:, i : i + 1] * self.W[i]
        return v


class VoicesHead(nn.Module):
    """A categorical per voice, voice k having ``sizes[k]`` values, each conditioned on a
    vector of ``n_cond`` numbers and on the values of the voices before it."""

    def __init__(self, sizes: list[int], n_cond: int, hidden: int):
        super().__init__()
        self.sizes = list(sizes)
        self.cond = nn.ModuleList(nn.Linear(n_cond, hidden) for _ in sizes)
        self.prev = nn.ModuleList(
            nn.ModuleList(nn.Embedding(sizes[j], hidden) for j in range(k))
            for k in range(len(sizes))
        )
        self.out = nn.ModuleList(nn.Linear(hidden, s) for s in sizes)

    def _logits(self, h: torch.Tensor, codes: torch.Tensor, k: int) -> torch.Tensor:
        """(N, sizes[k]) logits of voice k given h (N, n_cond) and codes[:, :k]."""
        a = self.cond[k](h)  # (N, hidden)
        for j in range(k):
            a = a + self.prev[k][j](codes[:, j])
        return self.out[k](torch.tanh(a))

    def log_prob(self, h: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """log p(codes | h) (N,) of steps of voice codes (N, V)."""
        total = torch.zeros(h.shape[0], device=h.device)
        for k in range(len(self.sizes)):
            logp = torch.log_softmax(self._logits(h, codes, k), dim=-1)
            total = total + logp.gather(1, codes[:, k : k + 1])[:, 0]
        return total

    def sample(self, h: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One step (n, V) of voice codes per row of h, voice by voice."""
        n = h.shape[0]
        codes = torch.zeros(n, len(self.sizes), dtype=torch.int64, device=h.device)
        for k in range(len(self.sizes)):
            cdf = torch.softmax(self._logits(h, codes, k), dim=-1).cumsum(-1)
            u = torch.rand(n, 1, generator=generator, device=h.device)
            codes[:, k] = torch.searchsorted(cdf, u * cdf[:, -1:])[:, 0].clamp(max=cdf.shape[1] - 1)
        return codes


class StepModelNet(nn.Module):
    """A :class:`StepRNN` and a head: ``log_prob`` of padded batches, ``sample`` of steps.
    ``encode`` turns a step's values (0/1 pitches, or voice codes) into the RNN's input."""

    def __init__(self, rnn: StepRNN, head: nn.Module, sizes: list[int] | None = None):
        super().__init__()
        self.rnn = rnn
        self.head = head
        self.sizes = sizes  # voice sizes: steps are one-hot encoded per voice

    def encode(self, v: torch.Tensor) -> torch.Tensor:
        """(..., P) 0/1 pitches, or (..., V) voice codes -> (..., n_in) float inputs."""
        if self.sizes is None:
            return v
        return torch.cat(
            [F.one_hot(v[..., k], s).float() for k, s in enumerate(self.sizes)], dim=-1
        )

    def step_log_probs(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, T, W) padded steps, lengths (B,) -> (B, T) log p(x_t | x_<t), 0 past the end."""
        b, t = x.shape[:2]
        h = self.rnn.states(self.encode(x))  # (B, T, hidden)
        mask = torch.arange(t, device=x.device)[None] < lengths[:, None]  # (B, T)
        out = torch.zeros(b, t, device=x.device)
        out[mask] = self.head.log_prob(h[mask], x[mask])
        return out
