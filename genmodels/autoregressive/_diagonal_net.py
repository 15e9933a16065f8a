"""PixelRNN's Diagonal BiLSTM (van den Oord et al. 2016, section 3.2) as a pure torch
module, with an exact pixel-by-pixel cache for generation.

A k x k convolution with mask A comes first (as the Row LSTM's, ``_pixelrnn_net``). Each
layer then runs two LSTMs along the diagonals of its input map. The map (n, C, H, W) is
**skewed** to (n, C, H, W + H - 1), row i shifted right by i, so that a diagonal of the
image is a column of the skewed map; the LSTM walks the columns left to right, all rows of
a column at once. Its gates at skewed column k are an input-to-state 1 x 1 convolution of
the input (mask B: with one colour channel a 1 x 1 convolution needs no mask) plus a
state-to-state 2 x 1 convolution of the hidden state of column k - 1 (rows i - 1 and i).
In image coordinates the state of pixel (i, j) follows from those of (i - 1, j) and
(i, j - 1) (and the cell state of (i, j - 1)), so it sees the whole quadrant above and to
the left. The second direction runs on the map flipped left to right (its state at (i, j)
follows (i - 1, j) and (i, j + 1), which would see the future of row i); its output map
is therefore **shifted down by one row** before it is added to the first direction's, so
pixel (i, j) gets it from (i - 1, j): the quadrant above and to the right, rows < i only.
Together one layer already sees every pixel before (i, j) in raster order but one, the
last pixel of the row above, (i - 1, W - 1), unless the first convolution reaches it
(j >= W - 1 - k // 2): a causal map's position (i - 1, W - 1) sees only the pixels before
it, and row i's left-to-right direction runs away from it, at any depth (the paper's
design; tests/test_autoregressive.py checks this field exactly). States outside
the image (the skewed map's padding) are held at zero, so the boundary is the zeros a
pixel-by-pixel cache would use. Layers are residual; the head is the Row LSTM's.

Both directions run in one loop over the W + H - 1 skewed columns (their state-to-state
convolutions as one grouped convolution).

The cache, exact and in raster order: per layer, the hidden states of the row above of
both directions, and of the current row, the left-to-right hidden and cell states and the
layer inputs so far. A new pixel (i, j) costs one position through every layer (its
left-to-right state from (i - 1, j) and (i, j - 1); the right-to-left state of (i - 1, j)
is cached); when a row is finished its right-to-left states are run along it once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._pixelrnn_net import ImageLSTMNet, MaskedConv


def skew(x: torch.Tensor) -> torch.Tensor:
    """(n, C, H, W) -> (n, C, H, W + H - 1): row i shifted right by i (zeros elsewhere)."""
    n, c, h, w = x.shape
    flat = F.pad(x, (0, h)).flatten(2)  # rows of W + H, read back as rows of W + H - 1
    return flat[:, :, : h * (w + h - 1)].view(n, c, h, w + h - 1)


def unskew(x: torch.Tensor, w: int) -> torch.Tensor:
    """The inverse of :func:`skew`: (n, C, H, W + H - 1) -> (n, C, H, W)."""
    n, c, h, _ = x.shape
    flat = F.pad(x.flatten(2), (0, h))
    return flat.view(n, c, h, w + h)[..., :w]


@dataclass
class DiagonalCache:
    """The image so far and the next pixel ``p``; per layer: ``above`` (n, 2, C, W) the
    hidden states of row ``row - 1`` (left-to-right, right-to-left; zeros above the image),
    and of row ``row``: ``h`` and ``c`` (n, C, W) the left-to-right states and ``inputs``
    (n, C, W) the layer's inputs, all filled up to column ``p % W - 1``."""

    image: torch.Tensor
    p: int
    row: int
    above: list[torch.Tensor]
    h: list[torch.Tensor]
    c: list[torch.Tensor]
    inputs: list[torch.Tensor]


class DiagonalBiLSTMNet(ImageLSTMNet):
    def __init__(
        self,
        n_levels: int,
        shape: tuple[int, int],
        *,
        n_layers: int,
        channels: int,
        kernel_size: int = 3,
        head_channels: int = 64,
    ):
        super().__init__(n_levels, shape, channels)
        c = channels
        self.first = MaskedConv(1, c, kernel_size)
        # gates of both directions: output channels [0, 4C) left-to-right, [4C, 8C) right-
        # to-left; the state-to-state kernel's index 0 is the row above, 1 the same row
        self.input_to_state = nn.ModuleList(nn.Conv2d(c, 8 * c, 1) for _ in range(n_layers))
        self.state_to_state = nn.ModuleList(
            nn.Conv1d(2 * c, 8 * c, 2, groups=2, bias=False) for _ in range(n_layers)
        )
        self.head = self._make_head(c, head_channels, n_levels)
        h, w = self.shape
        self.register_buffer("inside", skew(torch.ones(1, 1, h, w))[0, 0], persistent=False)

    def _cells(self, gates: torch.Tensor, cell: torch.Tensor):
        """Both directions' LSTM cells: gates (n, 8C, ...), cell (n, 2C, ...)."""
        n, c = cell.shape[0], self.channels
        g = gates.view(n, 2, 4, c, *gates.shape[2:])
        i, f, o, gg = g.unbind(2)
        cell = torch.sigmoid(f) * cell.view(n, 2, c, *cell.shape[2:]) + torch.sigmoid(
            i
        ) * torch.tanh(gg)
        hidden = torch.sigmoid(o) * torch.tanh(cell)
        return hidden.flatten(1, 2), cell.flatten(1, 2)

    def _layer(self, layer: int, x: torch.Tensor):
        """One Diagonal BiLSTM layer over the map ``x`` (n, C, H, W): the left-to-right
        hidden and cell states and the right-to-left hidden states, (n, C, H, W) each, in
        image coordinates (the latter not yet shifted)."""
        n, c, h, w = x.shape
        gates = self.input_to_state[layer](x)
        # the right-to-left half on the flipped map
        gates = torch.cat([gates[:, : 4 * c], gates[:, 4 * c :].flip(-1)], 1)
        # one (n, 8C, H) tensor per diagonal (unbind: indexing one at a time would cost a
        # full-size gradient each in the backward pass)
        gates = skew(gates).unbind(-1)
        conv = self.state_to_state[layer]
        hid = x.new_zeros(n, 2 * c, h)
        cell = x.new_zeros(n, 2 * c, h)
        hs, cs = [], []
        for k in range(len(gates)):
            g = gates[k] + conv(F.pad(hid, (1, 0)))
            hid, cell = self._cells(g, cell)
            inside = self.inside[:, k]
            hid, cell = hid * inside, cell * inside  # zero states outside the image
            hs.append(hid)
            cs.append(cell[:, :c])
        hid = unskew(torch.stack(hs, -1), w)
        cell = unskew(torch.stack(cs, -1), w)
        return hid[:, :c], cell, hid[:, c:].flip(-1)

    def image_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (n, V, H, W) of every pixel of images ``x`` (n, 1, H, W)."""
        x = self.first(self._input(x))
        for layer in range(len(self.input_to_state)):
            left, _, right = self._layer(layer, x)
            x = x + left + F.pad(right, (0, 0, 1, 0))[:, :, :-1]  # right-to-left one row down
        return self.head(x)

    # -- the cache --------------------------------------------------------------------------

    def prefill(self, tokens: torch.Tensor) -> tuple[torch.Tensor, DiagonalCache]:
        image = self._image(tokens)
        p = tokens.shape[1] - 1
        i, j = divmod(p, self.shape[1])
        # the whole pass over the image so far (later pixels zero): the states of the
        # positions before p are exact, and those are the ones the cache keeps
        x = self.first(self._input(image))
        above, hs, cs, inputs = [], [], [], []
        for layer in range(len(self.input_to_state)):
            left, cell, right = self._layer(layer, x)
            if i > 0:
                above.append(torch.stack([left[:, :, i - 1], right[:, :, i - 1]], 1))
            else:
                above.append(x.new_zeros(x.shape[0], 2, self.channels, self.shape[1]))
            keep = torch.arange(self.shape[1], device=x.device) < j
            hs.append(left[:, :, i] * keep)
            cs.append(cell[:, :, i] * keep)
            inputs.append(x[:, :, i] * keep)
            x = x + left + F.pad(right, (0, 0, 1, 0))[:, :, :-1]
        cache = DiagonalCache(image, p, i, above, hs, cs, inputs)
        return self._next(cache), cache

    def step(self, token: torch.Tensor, cache: DiagonalCache):
        w = self.shape[1]
        p = cache.p
        cache.image[:, 0, p // w, p % w] = token.float()
        cache.p = p + 1
        if cache.p // w != cache.row:  # row p // w is finished: its right-to-left states
            self._finish_row(cache)
        return self._next(cache), cache

    def _weights(self, layer: int, direction: int):
        """(input-to-state (4C, C), its bias, from the row above (4C, C), from the
        neighbour in the row (4C, C)) of one direction (0 left-to-right, 1 right-to-left)."""
        c = self.channels
        rows = slice(4 * c * direction, 4 * c * (direction + 1))
        its = self.input_to_state[layer]
        sts = self.state_to_state[layer].weight[rows]
        return its.weight[rows, :, 0, 0], its.bias[rows], sts[..., 0], sts[..., 1]

    def _next(self, cache: DiagonalCache) -> torch.Tensor:
        """The logits of pixel ``cache.p``: its left-to-right states through every layer
        (kept in the cache), the right-to-left states of the pixel above from the cache."""
        i, j = divmod(cache.p, self.shape[1])
        top = max(0, i - self.first.k // 2)
        x = self.first(self._input(cache.image[:, :, top : i + 1]))[:, :, -1, j]
        for layer in range(len(self.input_to_state)):
            w_in, b, w_up, w_side = self._weights(layer, 0)
            above = cache.above[layer]
            gates = F.linear(x, w_in, b) + F.linear(above[:, 0, :, j], w_up)
            if j > 0:
                gates = gates + F.linear(cache.h[layer][:, :, j - 1], w_side)
                prev = cache.c[layer][:, :, j - 1]
            else:
                prev = torch.zeros_like(x)
            h, c = self._cell(gates, prev)
            cache.h[layer][:, :, j] = h
            cache.c[layer][:, :, j] = c
            cache.inputs[layer][:, :, j] = x
            x = x + h + above[:, 1, :, j]
        return self.head(x[:, :, None, None])[:, :, 0, 0]

    def _finish_row(self, cache: DiagonalCache) -> None:
        """Row ``cache.row`` is finished: run its right-to-left states along it and make
        it the row above."""
        w = self.shape[1]
        for layer in range(len(self.input_to_state)):
            w_in, b, w_up, w_side = self._weights(layer, 1)
            above = cache.above[layer]
            x = cache.inputs[layer]
            right = torch.zeros_like(x)
            h = c = torch.zeros_like(x[:, :, 0])
            for j in range(w - 1, -1, -1):
                gates = F.linear(x[:, :, j], w_in, b) + F.linear(above[:, 1, :, j], w_up)
                gates = gates + F.linear(h, w_side)
                h, c = self._cell(gates, c)
                right[:, :, j] = h
            cache.above[layer] = torch.stack([cache.h[layer], right], 1)
            cache.h[layer] = torch.zeros_like(x)
            cache.c[layer] = torch.zeros_like(x)
            cache.inputs[layer] = torch.zeros_like(x)
        cache.row += 1
