"""WaveNet (van den Oord et al. 2016) as a pure torch module, with fast generation by
per-layer queues of past activations (Paine et al. 2016, "Fast Wavenet generation").

Stacks of dilated causal convolutions of kernel 2 (dilations 1, 2, ..., 2^(L-1), repeated
``n_blocks`` times), gated units tanh(W_f * x) * sigmoid(W_g * x), residual and skip 1x1
convolutions, and a ReLU-1x1-ReLU-1x1 head giving logits over the ``vocab_size`` levels
(mu-law audio: 256). Token id ``vocab_size`` is BOS; positions before it are zeros, so
every output sees exactly its receptive field (``receptive_field`` inputs, itself included).

The incremental protocol (as the transformer's): ``forward(tokens)`` -> logits (n, L, V);
``prefill(tokens)`` -> (last logits, queues); ``step(token, queues)`` -> (logits, queues),
where layer l's queue holds its inputs at the last ``dilation_l`` positions, so a step is
one small matrix product per layer whatever the receptive field.

Conditioning (van den Oord et al. 2016, section 2.5): with ``n_classes`` > 0 a class
label adds a learned bias per layer to the pre-gate activations (global conditioning:
an embedding of the label into every layer's filter and gate, V^T h); with ``n_local`` >
0 a feature vector per position adds a 1x1 convolution of it into every layer's filter
and gate (local conditioning; the features come upsampled to one vector per position,
aligned with the tokens). Both enter as a ``Condition`` (``_conditioning``), the last
argument of ``forward`` / ``prefill`` / ``step``; the queues keep the label's biases, and
a step takes its own position's features, so generation stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._conditioning import Condition


@dataclass
class Queues:
    """Layer l's inputs at the last ``dilations[l]`` positions: ``buffers[l]`` (d_l, n, C),
    slot ``t % d_l`` holding position t; ``t`` is the next position."""

    buffers: list[torch.Tensor]
    t: int = 0
    weights: list[tuple[torch.Tensor, ...]] | None = None  # per layer, laid out for a step
    skip_bias: torch.Tensor | None = None
    label_bias: torch.Tensor | None = None  # (n_layers, n, 2C): the label's gate biases


class WaveNetNet(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        *,
        layers_per_block: int,
        n_blocks: int,
        residual_channels: int,
        skip_channels: int,
        n_classes: int = 0,
        n_local: int = 0,
    ):
        super().__init__()
        self.vocab_size = vocab_size
        c, s = residual_channels, skip_channels
        self.dilations = [2**i for i in range(layers_per_block)] * n_blocks
        self.receptive_field = sum(self.dilations) + 1
        self.embed = nn.Embedding(vocab_size + 1, c)  # + BOS; equivalent to one-hot + 1x1
        # per layer: [x_{t-d}, x_t] -> (filter, gate), then gated -> (residual, skip)
        self.dilated = nn.ModuleList(nn.Linear(2 * c, 2 * c) for _ in self.dilations)
        self.out = nn.ModuleList(nn.Linear(c, c + s) for _ in self.dilations)
        self.head1 = nn.Linear(s, s)
        self.head2 = nn.Linear(s, vocab_size)
        self.channels = c
        n = len(self.dilations)
        # conditioning: per layer a (filter, gate) bias of the label, and a 1x1 convolution
        # of the local features, each one table / matrix for all the layers
        self.label_embed = nn.Embedding(n_classes, n * 2 * c) if n_classes else None
        self.local_proj = nn.Linear(n_local, n * 2 * c, bias=False) if n_local else None

    def _cond_biases(self, cond) -> torch.Tensor | float:
        """The conditioning's pre-gate biases (n_layers, n, L or 1, 2C), or 0.0."""
        out = 0.0
        if cond is None:
            return out
        n_layers, c2 = len(self.dilations), 2 * self.channels
        if cond.labels is not None and self.label_embed is not None:
            lab = self.label_embed(cond.labels).view(-1, n_layers, c2)
            out = out + lab.transpose(0, 1)[:, :, None]
        if cond.local is not None and self.local_proj is not None:
            n, length, _ = cond.local.shape
            loc = self.local_proj(cond.local).view(n, length, n_layers, c2)
            out = out + loc.permute(2, 0, 1, 3)
        return out

    def _gate(self, fg: torch.Tensor) -> torch.Tensor:
        f, g = fg.chunk(2, dim=-1)
        return torch.tanh(f) * torch.sigmoid(g)

    def _head(self, skip: torch.Tensor) -> torch.Tensor:
        return self.head2(F.relu(self.head1(F.relu(skip))))

    def forward(self, tokens: torch.Tensor, cond=None) -> torch.Tensor:
        """Logits (n, L, V): position i predicts the token after token i."""
        return self.forward_embeddings(self.embed(tokens), cond)

    def forward_embeddings(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Logits (n, L, V) from the input vectors ``x`` (n, L, C) of the tokens."""
        skip = 0.0
        bias = self._cond_biases(cond)
        for i, d in enumerate(self.dilations):
            past = F.pad(x, (0, 0, d, 0))[:, : x.shape[1]]  # x_{t-d}, zeros before the start
            fg = self.dilated[i](torch.cat([past, x], dim=-1))
            if not isinstance(bias, float):
                fg = fg + bias[i]
            rs = self.out[i](self._gate(fg))
            x = x + rs[..., : self.channels]
            skip = skip + rs[..., self.channels :]
        return self._head(skip)

    def prefill(self, tokens: torch.Tensor, cond=None) -> tuple[torch.Tensor, Queues]:
        n, length = tokens.shape
        x = self.embed(tokens)
        skip = 0.0
        bias = self._cond_biases(cond)
        buffers = []
        for i, d in enumerate(self.dilations):
            buf = x.new_zeros(d, n, self.channels)
            k = min(d, length)
            pos = torch.arange(length - k, length, device=x.device)
            buf[pos % d] = x[:, length - k :].transpose(0, 1)
            buffers.append(buf)
            past = F.pad(x, (0, 0, d, 0))[:, :length]
            fg = self.dilated[i](torch.cat([past, x], dim=-1))
            if not isinstance(bias, float):
                fg = fg + bias[i]
            rs = self.out[i](self._gate(fg))
            x = x + rs[..., : self.channels]
            skip = skip + rs[..., self.channels :]
        queues = Queues(buffers, length)
        if cond is not None and cond.labels is not None and self.label_embed is not None:
            queues.label_bias = self._cond_biases(Condition(cond.labels))[:, :, 0]
        return self._head(skip[:, -1]), queues

    def _step_weights(self) -> list[tuple[torch.Tensor, ...]]:
        """Each layer's weights laid out for one position: (W_past^T, W_now^T, b, W_res^T,
        b_res, W_skip^T), so a step calls matrix products directly (no module dispatch per
        layer); the skip biases are summed once (``_skip_bias``)."""
        c = self.channels
        out = []
        for dil, o in zip(self.dilated, self.out, strict=True):
            w, wo = dil.weight.detach(), o.weight.detach()
            out.append(
                (
                    w[:, :c].t(),
                    w[:, c:].t(),
                    dil.bias.detach(),
                    wo[:c].t(),
                    o.bias.detach()[:c],
                    wo[c:].t(),
                )
            )
        return out

    def _skip_bias(self) -> torch.Tensor:
        return sum(o.bias.detach()[self.channels :] for o in self.out)

    def step(self, token: torch.Tensor, queues: Queues, cond=None) -> tuple[torch.Tensor, Queues]:
        if queues.weights is None:
            queues.weights = self._step_weights()
            queues.skip_bias = self._skip_bias()
        t, c = queues.t, self.channels
        x = self.embed(token)  # (n, C)
        skip = queues.skip_bias.expand(x.shape[0], -1).clone()
        bias = queues.label_bias  # (n_layers, n, 2C) or None
        if cond is not None and cond.local is not None and self.local_proj is not None:
            local = self._cond_biases(Condition(None, cond.local))[:, :, 0]
            bias = local if bias is None else bias + local
        for i, ((w_past, w_now, b, w_res, b_res, w_skip), d, buf) in enumerate(
            zip(queues.weights, self.dilations, queues.buffers, strict=True)
        ):
            past = buf[t % d]  # x_{t-d} (zeros while t < d)
            fg = (
                torch.addmm(b, past, w_past)
                if bias is None
                else torch.addmm(b + bias[i], past, w_past)
            )
            fg.addmm_(x, w_now)
            past.copy_(x)
            gated = torch.tanh(fg[:, :c]).mul_(torch.sigmoid(fg[:, c:]))
            skip.addmm_(gated, w_skip)
            x = torch.addmm(x, gated, w_res).add_(b_res)
        queues.t = t + 1
        return self._head(skip), queues
