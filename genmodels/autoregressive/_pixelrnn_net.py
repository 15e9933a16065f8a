"""PixelRNN's Row LSTM (van den Oord et al. 2016, "Pixel recurrent neural networks") as a
pure torch module, with row-cached generation.

As in the paper, a k x k convolution with mask A comes first (pixel (i, j) sees the k // 2
rows above within k // 2 columns, and row i's pixels left of j). Then each layer is an
LSTM that runs down the rows, all columns of a row at once: the gates of row i are an
input-to-state convolution along row i of the layer's input (mask B: columns <= j) plus a
state-to-state 1 x k convolution of the previous row's hidden state, so the context grows
by a triangle of the rows above. Layers are residual; a ReLU-1x1-ReLU-1x1 head gives
``n_levels`` logits a pixel.

The token protocol as PixelCNN's (``_pixelcnn_net``): a stream (BOS, x_1, ...) in raster
order. The row cache keeps every layer's hidden and cell state of the last finished row;
each new pixel runs the layers over its own row only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class MaskedConv(nn.Module):
    """A k x k convolution with mask A: output (i, j) sees the rows above (within k // 2)
    and row i's columns < j. ``forward`` takes rows i - k // 2 .. i of the image with
    their columns and returns all of them (the last is row i's)."""

    def __init__(self, c_in: int, c_out: int, k: int):
        super().__init__()
        self.k = k
        self.conv = nn.Conv2d(c_in, c_out, (k // 2 + 1, k))
        mask = torch.ones(k // 2 + 1, k)
        mask[-1, k // 2 :] = 0  # the centre pixel and those right of it
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.k // 2
        return F.conv2d(F.pad(x, (h, h, h, 0)), self.conv.weight * self.mask, self.conv.bias)


class RowConv(nn.Module):
    """A 1 x k convolution along rows with mask B: column j sees columns j - k // 2 .. j."""

    def __init__(self, c_in: int, c_out: int, k: int):
        super().__init__()
        self.width = k // 2 + 1
        self.conv = nn.Conv2d(c_in, c_out, (1, self.width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.width - 1, 0, 0, 0)))


@dataclass
class LSTMCache:
    """The image so far, the next pixel ``p``, and per layer the hidden and cell states
    (n, C, 1, W) of the last finished row (zeros above the image)."""

    image: torch.Tensor
    p: int
    states: list[tuple[torch.Tensor, torch.Tensor]]
    row: int = 0


class ImageLSTMNet(nn.Module):
    """What the PixelRNN networks share: the input scaling, the LSTM cell, the output head
    and the token protocol over images (``forward``, ``forward_embeddings``); a subclass
    supplies ``image_logits`` and the cache (``prefill`` / ``step``)."""

    def __init__(self, n_levels: int, shape: tuple[int, int], channels: int):
        super().__init__()
        self.n_levels = n_levels
        self.vocab_size = n_levels
        self.shape = tuple(shape)
        self.channels = channels

    def _make_head(self, c: int, head_channels: int, n_levels: int) -> nn.Module:
        return nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, head_channels, 1),
            nn.ReLU(),
            nn.Conv2d(head_channels, n_levels, 1),
        )

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return x / (self.n_levels - 1)

    def _cell(self, gates: torch.Tensor, cell: torch.Tensor):
        i, f, o, g = gates.chunk(4, dim=1)
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(cell), cell

    def image_logits(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _image(self, tokens: torch.Tensor) -> torch.Tensor:
        n, length = tokens.shape
        h, w = self.shape
        flat = torch.zeros(n, h * w, dtype=torch.float32, device=tokens.device)
        flat[:, : length - 1] = tokens[:, 1:].float()
        return flat.view(n, 1, h, w)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        length = tokens.shape[1]
        logits = self.image_logits(self._image(tokens))
        return logits.flatten(2).transpose(1, 2)[:, :length]

    def forward_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.shape
        img = x.view(-1, 1, h, w) * (self.n_levels - 1)
        return self.image_logits(img).flatten(2).transpose(1, 2)


class RowLSTMNet(ImageLSTMNet):
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
        c, k = channels, kernel_size
        self.first = MaskedConv(1, c, k)
        self.input_to_state = nn.ModuleList(RowConv(c, 4 * c, k) for _ in range(n_layers))
        self.state_to_state = nn.ModuleList(
            nn.Conv2d(c, 4 * c, (1, k), padding=(0, k // 2)) for _ in range(n_layers)
        )
        self.head = self._make_head(c, head_channels, n_levels)

    def _row(self, image: torch.Tensor, i: int, states):
        """Row ``i`` of ``image`` (n, 1, H, W) through the first convolution and every LSTM
        layer from the previous row's ``states``: (the top layer's output (n, C, 1, W),
        the new states)."""
        top = max(0, i - self.first.k // 2)
        x = self.first(self._input(image[:, :, top : i + 1]))[:, :, -1:]
        new = []
        for layer, (h_prev, c_prev) in enumerate(states):
            gates = self.input_to_state[layer](x) + self.state_to_state[layer](h_prev)
            h, c = self._cell(gates, c_prev)
            new.append((h, c))
            x = x + h
        return x, new

    def _zero_states(self, n: int, like: torch.Tensor):
        w = self.shape[1]
        z = like.new_zeros(n, self.channels, 1, w)
        return [(z, z) for _ in self.input_to_state]

    def image_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (n, V, H, W) of every pixel of images ``x`` (n, 1, H, W)."""
        states = self._zero_states(x.shape[0], x)
        rows = []
        for i in range(x.shape[2]):
            out, states = self._row(x, i, states)
            rows.append(out)
        return self.head(torch.cat(rows, dim=2))

    # -- the row cache ----------------------------------------------------------------------

    def prefill(self, tokens: torch.Tensor) -> tuple[torch.Tensor, LSTMCache]:
        image = self._image(tokens)
        p = tokens.shape[1] - 1
        row = p // self.shape[1]
        states = self._zero_states(image.shape[0], image)
        for i in range(row):  # the finished rows above the next pixel
            _, states = self._row(image, i, states)
        cache = LSTMCache(image, p, states, row)
        return self._next(cache), cache

    def step(self, token: torch.Tensor, cache: LSTMCache) -> tuple[torch.Tensor, LSTMCache]:
        w = self.shape[1]
        p = cache.p
        cache.image[:, 0, p // w, p % w] = token.float()
        cache.p = p + 1
        if cache.p // w != cache.row:  # row p // w is finished: keep its states
            i = cache.row
            _, cache.states = self._row(cache.image, i, cache.states)
            cache.row = i + 1
        return self._next(cache), cache

    def _next(self, cache: LSTMCache) -> torch.Tensor:
        i, j = divmod(cache.p, self.shape[1])
        out, _ = self._row(cache.image, i, cache.states)
        return self.head(out)[:, :, 0, j]
