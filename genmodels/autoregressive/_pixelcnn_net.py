"""The gated PixelCNN (van den Oord et al. 2016, "Conditional image generation with PixelCNN
decoders") as a pure torch module, blind-spot free (a vertical and a horizontal stack),
with row-cached generation.

Pixel (i, j) is predicted from the rows above it and the pixels to its left:

* the vertical stack ``V_l(i, j)`` holds information from rows < i only: its first layer
  is a (kh x k) convolution over rows i-kh+1..i shifted down by one row, the next ones
  (kh x k) convolutions over rows <= i of the layer below, kh = k // 2 + 1;
* the horizontal stack ``H_l(i, j)`` holds row i's pixels left of j (its first layer a
  1 x (k // 2 + 1) convolution over columns <= j shifted right by one), and each layer
  adds ``V_{l-1}(i, j)`` through a 1x1 convolution, so the union of the two receptive
  fields is everything above and to the left (no blind spot);
* every layer is gated, tanh(a) * sigmoid(b); the horizontal stack is residual; the head
  (ReLU, 1x1, ReLU, 1x1) gives ``n_levels`` logits per pixel.

The token protocol of the autoregressive base: the stream is (BOS, x_1, ..., x_{HW-1})
in raster order; ``forward(tokens)`` rebuilds the image from it (pixels not yet given are
zeros, which no prediction sees) and returns logits (n, L, V), position p predicting pixel
p. ``prefill`` / ``step`` cache by rows: the vertical stack is computed once per row, and
each new pixel runs the horizontal stack over its row only (W positions instead of H x W).

Class conditioning (the paper's conditional PixelCNN): with ``n_classes`` > 0 the label's
learned embedding gives every layer of both stacks a bias on its pre-gate activations
(V^T h, the same at every pixel). It comes as a ``Condition`` (``_conditioning``), the last
argument of ``forward`` / ``prefill``; the row cache keeps the biases, so cached
generation stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def _gate(a: torch.Tensor) -> torch.Tensor:
    f, g = a.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


@dataclass
class RowCache:
    """The image so far (n, 1, H, W) as floats, the next pixel's index ``p``, and the
    vertical stack's features of row ``row`` (one (n, 2C, 1, W) tensor per layer, the
    input the horizontal stack takes from it), or None before it is computed."""

    image: torch.Tensor
    p: int
    row: int = -1
    v_to_h: list[torch.Tensor] | None = None
    bias: torch.Tensor | None = None  # the label's biases (n, n_layers, 2, 2C, 1, 1), or None


class GatedPixelCNN(nn.Module):
    def __init__(
        self,
        n_levels: int,
        shape: tuple[int, int],
        *,
        n_layers: int,
        channels: int,
        kernel_size: int = 5,
        head_channels: int = 64,
        n_classes: int = 0,
    ):
        super().__init__()
        self.n_levels = n_levels
        self.vocab_size = n_levels
        self.shape = tuple(shape)
        c, k = channels, kernel_size
        self.kh, self.kw = k // 2 + 1, k // 2 + 1  # vertical rows; horizontal columns
        self.k = k
        self.v_convs = nn.ModuleList(
            nn.Conv2d(1 if i == 0 else c, 2 * c, (self.kh, k)) for i in range(n_layers)
        )
        self.h_convs = nn.ModuleList(
            nn.Conv2d(1 if i == 0 else c, 2 * c, (1, self.kw)) for i in range(n_layers)
        )
        self.v_to_h = nn.ModuleList(nn.Conv2d(2 * c, 2 * c, 1) for _ in range(n_layers))
        self.h_res = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(n_layers))
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, head_channels, 1),
            nn.ReLU(),
            nn.Conv2d(head_channels, n_levels, 1),
        )
        # per class, per layer, a pre-gate bias of the vertical and of the horizontal stack
        self.label_bias = nn.Embedding(n_classes, n_layers * 2 * 2 * c) if n_classes else None

    def _bias(self, cond) -> torch.Tensor | None:
        """The label's pre-gate biases (n, n_layers, 2 (vertical, horizontal), 2C, 1, 1)."""
        if cond is None or cond.labels is None or self.label_bias is None:
            return None
        n_layers = len(self.v_convs)
        return self.label_bias(cond.labels).view(
            -1, n_layers, 2, self.v_convs[0].out_channels, 1, 1
        )

    # -- the two stacks --------------------------------------------------------------------------

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return x / (self.n_levels - 1)

    def _v_layer(self, i: int, v: torch.Tensor) -> torch.Tensor:
        """Pre-gate vertical features (n, 2C, H, W) of layer i from ``v`` (its input)."""
        out = self.v_convs[i](F.pad(v, (self.k // 2, self.k // 2, self.kh - 1, 0)))
        if i == 0:  # only rows above: shift down by one row
            out = F.pad(out, (0, 0, 1, 0))[:, :, :-1]
        return out

    def vertical(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> list[torch.Tensor]:
        """What each layer's horizontal stack takes from the vertical one: (n, 2C, H, W)."""
        v = self._input(x)
        links = []
        for i in range(len(self.v_convs)):
            a = self._v_layer(i, v)
            if bias is not None:
                a = a + bias[:, i, 0]
            links.append(self.v_to_h[i](a))
            v = _gate(a)
        return links

    def horizontal(
        self, x_rows: torch.Tensor, links: list[torch.Tensor], bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits (n, V, R, W) of the rows ``x_rows`` (n, 1, R, W) given the vertical
        links of the same rows."""
        h = self._input(x_rows)
        for i in range(len(self.h_convs)):
            a = self.h_convs[i](F.pad(h, (self.kw - 1, 0, 0, 0)))
            if i == 0:  # only pixels to the left: shift right by one column
                a = F.pad(a, (1, 0, 0, 0))[..., :-1]
            if bias is not None:
                a = a + bias[:, i, 1]
            g = self.h_res[i](_gate(a + links[i]))
            h = g if i == 0 else h + g
        return self.head(h)

    def image_logits(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Logits (n, V, H, W) of every pixel of images ``x`` (n, 1, H, W) of levels."""
        bias = self._bias(cond)
        return self.horizontal(x, self.vertical(x, bias), bias)

    # -- the token protocol --------------------------------------------------------------------

    def _image(self, tokens: torch.Tensor) -> torch.Tensor:
        """The image (n, 1, H, W) whose raster pixels 0..L-2 are ``tokens[:, 1:]``."""
        n, length = tokens.shape
        h, w = self.shape
        flat = torch.zeros(n, h * w, dtype=torch.float32, device=tokens.device)
        flat[:, : length - 1] = tokens[:, 1:].float()
        return flat.view(n, 1, h, w)

    def forward(self, tokens: torch.Tensor, cond=None) -> torch.Tensor:
        length = tokens.shape[1]
        logits = self.image_logits(self._image(tokens), cond)  # (n, V, H, W)
        return logits.flatten(2).transpose(1, 2)[:, :length]

    def forward_embeddings(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Logits (n, HW, V) from a real-valued image input ``x`` (n, HW) (already scaled
        as the network scales levels): for gradient checks."""
        h, w = self.shape
        img = x.view(-1, 1, h, w) * (self.n_levels - 1)
        return self.image_logits(img, cond).flatten(2).transpose(1, 2)

    def prefill(self, tokens: torch.Tensor, cond=None) -> tuple[torch.Tensor, RowCache]:
        cache = RowCache(self._image(tokens), tokens.shape[1] - 1, bias=self._bias(cond))
        return self._next(cache), cache

    def step(
        self, token: torch.Tensor, cache: RowCache, cond=None
    ) -> tuple[torch.Tensor, RowCache]:
        h, w = self.shape
        p = cache.p
        cache.image[:, 0, p // w, p % w] = token.float()
        cache.p = p + 1
        return self._next(cache), cache

    def _next(self, cache: RowCache) -> torch.Tensor:
        """Logits (n, V) of pixel ``cache.p`` from the image so far."""
        h, w = self.shape
        i, j = divmod(cache.p, w)
        if cache.row != i:  # a new row: its vertical features, once
            links = self.vertical_row(cache.image, i, cache.bias)
            cache.row, cache.v_to_h = i, links
        row = cache.image[:, :, i : i + 1]
        return self.horizontal(row, cache.v_to_h, cache.bias)[:, :, 0, j]

    def vertical_row(
        self, x: torch.Tensor, i: int, bias: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """The vertical links of row ``i`` only, from the rows of ``x`` above it: the
        receptive field of row i of layer l is rows i - l (kh - 1) - 1 .. i - 1."""
        n_layers = len(self.v_convs)
        top = max(0, i - n_layers * (self.kh - 1) - 1)
        links = self.vertical(x[:, :, top : i + 1], bias)
        return [link[:, :, -1:] for link in links]
