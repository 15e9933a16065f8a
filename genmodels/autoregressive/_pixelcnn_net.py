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
  (ReLU, 1x1, ReLU, 1x1) gives each pixel's output distribution.

Images of C channels: the stacks take all C channels of a pixel as its input, so the
trunk's features at pixel p see every channel of the pixels before p and nothing of p.
The tokens are sub-pixels (channel innermost), and channel c of pixel p may also see
channels < c of p; that dependence is in the output only:

* ``output="categorical"``: the head's hidden layer has a group of units per channel, and
  group c adds a masked 1x1 map of the values of channels < c of the same pixel
  (``channel_path``, channel-autoregressive); a grouped 1x1 gives each channel its
  ``n_levels`` logits;
* ``output="logistic_mixture"``: the head gives each pixel a PixelCNN++ mixture (weights,
  means, scales, coefficients), and ``_logistic_mixture.mixture_log_probs`` turns it into
  log-probabilities of each channel's levels given the earlier channels' values.

The token protocol of the autoregressive base: the stream is (BOS, x_1, ..., x_{HWC-1})
in raster order; ``forward(tokens)`` rebuilds the image from it (sub-pixels not yet given
are zeros, which no prediction sees) and returns logits (n, L, V), position p predicting
sub-pixel p. ``prefill`` / ``step`` cache by rows: the vertical stack is computed once per
row, each new pixel runs the horizontal stack over its row only (W positions instead of
H x W), and its later channels only the head at that pixel.

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

from . import _logistic_mixture as mixture

OUTPUTS = ("categorical", "logistic_mixture")


def _gate(a: torch.Tensor) -> torch.Tensor:
    f, g = a.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


@dataclass
class RowCache:
    """The image so far (n, C, H, W) as floats, the next sub-pixel's index ``p``, the
    vertical stack's features of row ``row`` (one (n, 2C, 1, W) tensor per layer, the
    input the horizontal stack takes from it), or None before it is computed, and the
    trunk's features (n, channels, 1, 1) of the pixel being drawn (its later channels
    need only the head)."""

    image: torch.Tensor
    p: int
    row: int = -1
    v_to_h: list[torch.Tensor] | None = None
    bias: torch.Tensor | None = None  # the label's biases (n, n_layers, 2, 2C, 1, 1), or None
    trunk: torch.Tensor | None = None


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
        output: str = "categorical",
        n_mixtures: int = 5,
        n_classes: int = 0,
    ):
        """``shape``: (H, W) or (H, W, C)."""
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.n_levels = n_levels
        self.vocab_size = n_levels
        self.shape = tuple(shape[:2])
        self.n_channels = nc = int(shape[2]) if len(shape) == 3 else 1
        self.output, self.n_mixtures = output, n_mixtures
        c, k = channels, kernel_size
        self.kh, self.kw = k // 2 + 1, k // 2 + 1  # vertical rows; horizontal columns
        self.k = k
        self.v_convs = nn.ModuleList(
            nn.Conv2d(nc if i == 0 else c, 2 * c, (self.kh, k)) for i in range(n_layers)
        )
        self.h_convs = nn.ModuleList(
            nn.Conv2d(nc if i == 0 else c, 2 * c, (1, self.kw)) for i in range(n_layers)
        )
        self.v_to_h = nn.ModuleList(nn.Conv2d(2 * c, 2 * c, 1) for _ in range(n_layers))
        self.h_res = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(n_layers))
        self.channel_path = None
        if output == "categorical":  # a group of hidden units and of logits per channel
            hidden, n_out, groups = nc * head_channels, nc * n_levels, nc
            if nc > 1:
                self.channel_path = nn.Conv2d(nc, hidden, 1, bias=False)
                # group c of the hidden units reads channels < c only
                below = torch.arange(nc)[None, :] < torch.arange(nc)[:, None]
                self.register_buffer(
                    "channel_mask",
                    below.repeat_interleave(head_channels, 0)[..., None, None].float(),
                    persistent=False,
                )
        else:
            hidden, n_out, groups = head_channels, mixture.n_params(nc, n_mixtures), 1
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, hidden, 1),
            nn.ReLU(),
            nn.Conv2d(hidden, n_out, 1, groups=groups),
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
        """The trunk's features (n, channels, R, W) of the rows ``x_rows`` (n, C, R, W)
        given the vertical links of the same rows: pixel (r, j) sees pixels < j only."""
        h = self._input(x_rows)
        for i in range(len(self.h_convs)):
            a = self.h_convs[i](F.pad(h, (self.kw - 1, 0, 0, 0)))
            if i == 0:  # only pixels to the left: shift right by one column
                a = F.pad(a, (1, 0, 0, 0))[..., :-1]
            if bias is not None:
                a = a + bias[:, i, 1]
            g = self.h_res[i](_gate(a + links[i]))
            h = g if i == 0 else h + g
        return h

    def output_logits(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits (n, R, W, C, V) of the sub-pixels from the trunk's features ``h``
        (n, channels, R, W) and the pixels' own values ``x`` (n, C, R, W) (channel c
        reads channels < c only)."""
        a = self.head[1](self.head[0](h))
        if self.channel_path is not None:
            weight = self.channel_path.weight * self.channel_mask
            a = a + F.conv2d(self._input(x), weight)
        if self.output == "categorical":
            out = self.head[3](self.head[2](a)).permute(0, 2, 3, 1)  # (n, R, W, C V)
            return out.unflatten(-1, (self.n_channels, self.n_levels))
        # the mixture's means need more than bfloat16's 3 digits (a level of 256 is 0.8%)
        with torch.autocast(a.device.type, enabled=False):
            out = self.head[3](self.head[2](a.float())).permute(0, 2, 3, 1)
        levels = x.permute(0, 2, 3, 1)
        return mixture.mixture_log_probs(
            out, levels, self.n_levels, self.n_channels, self.n_mixtures
        )

    def image_logits(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Logits (n, H, W, C, V) of every sub-pixel of images ``x`` (n, C, H, W) of
        levels."""
        bias = self._bias(cond)
        return self.output_logits(self.horizontal(x, self.vertical(x, bias), bias), x)

    # -- the token protocol --------------------------------------------------------------------

    def _fold(self, flat: torch.Tensor) -> torch.Tensor:
        """Images (n, C, H, W) from rows (n, H W C) of sub-pixels in raster order."""
        h, w = self.shape
        return flat.view(-1, h, w, self.n_channels).permute(0, 3, 1, 2).contiguous()

    def _image(self, tokens: torch.Tensor) -> torch.Tensor:
        """The image (n, C, H, W) whose raster sub-pixels 0..L-2 are ``tokens[:, 1:]``."""
        n, length = tokens.shape
        h, w = self.shape
        flat = torch.zeros(n, h * w * self.n_channels, dtype=torch.float32, device=tokens.device)
        flat[:, : length - 1] = tokens[:, 1:].float()
        return self._fold(flat)

    def forward(self, tokens: torch.Tensor, cond=None) -> torch.Tensor:
        length = tokens.shape[1]
        logits = self.image_logits(self._image(tokens), cond)  # (n, H, W, C, V)
        return logits.flatten(1, 3)[:, :length]

    def forward_embeddings(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Logits (n, HWC, V) from a real-valued image input ``x`` (n, HWC) (already
        scaled as the network scales levels): for gradient checks."""
        img = self._fold(x * (self.n_levels - 1))
        return self.image_logits(img, cond).flatten(1, 3)

    def prefill(self, tokens: torch.Tensor, cond=None) -> tuple[torch.Tensor, RowCache]:
        cache = RowCache(self._image(tokens), tokens.shape[1] - 1, bias=self._bias(cond))
        return self._next(cache), cache

    def step(
        self, token: torch.Tensor, cache: RowCache, cond=None
    ) -> tuple[torch.Tensor, RowCache]:
        h, w = self.shape
        pixel, c = divmod(cache.p, self.n_channels)
        cache.image[:, c, pixel // w, pixel % w] = token.float()
        cache.p += 1
        return self._next(cache), cache

    def _next(self, cache: RowCache) -> torch.Tensor:
        """Logits (n, V) of sub-pixel ``cache.p`` from the image so far."""
        h, w = self.shape
        pixel, c = divmod(cache.p, self.n_channels)
        i, j = divmod(pixel, w)
        if cache.row != i:  # a new row: its vertical features, once
            links = self.vertical_row(cache.image, i, cache.bias)
            cache.row, cache.v_to_h = i, links
        if c == 0:  # a new pixel: the trunk over its row (its later channels reuse it)
            row = cache.image[:, :, i : i + 1]
            cache.trunk = self.horizontal(row, cache.v_to_h, cache.bias)[..., j : j + 1]
        here = cache.image[:, :, i : i + 1, j : j + 1]
        return self.output_logits(cache.trunk, here)[:, 0, 0, c]

    def vertical_row(
        self, x: torch.Tensor, i: int, bias: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """The vertical links of row ``i`` only, from the rows of ``x`` above it: the
        receptive field of row i of layer l is rows i - l (kh - 1) - 1 .. i - 1."""
        n_layers = len(self.v_convs)
        top = max(0, i - n_layers * (self.kh - 1) - 1)
        links = self.vertical(x[:, :, top : i + 1], bias)
        return [link[:, :, -1:] for link in links]
