"""The SRResNet generator (Ledig et al. 2017) in its EDSR form (Lim et al. 2017).

LR image (B, 3, h, w) in [0, 1]
  -> conv 3x3 (3 -> C)                                   the head, features F0
  -> n_blocks x [conv 3x3 -> ReLU -> conv 3x3] + skip     residual blocks
  -> conv 3x3, + F0                                       the global skip
  -> log2(scale) x [conv 3x3 (C -> 4C) -> PixelShuffle(2) -> ReLU]
  -> conv 3x3 (C -> 3)                                    the residual image (B, 3, sh, sw)
  + bicubic(LR)                                           residual learning

Without batch norm, as EDSR: batch statistics of 16 small patches are noisy, the network
then behaves differently in training and evaluation mode, and Lim et al. found that
removing it improves PSNR and saves memory; a super-resolution network must also keep the
range of its input, which normalisation throws away. Every layer is a 3x3 convolution with
zero padding, so an output pixel depends on input pixels at most :meth:`SRResNet.halo`
low-resolution pixels away: tiles cut with that much overlap upscale exactly as the whole
image does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, res_scale: float):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, h, w)
        return x + self.res_scale * self.conv2(F.relu(self.conv1(x)))


class SRResNet(nn.Module):
    """See the module docstring. ``scale`` is 2 or 4; the input is shifted by ``mean``
    (per channel) before the head and the output shifted back."""

    def __init__(self, scale: int, n_blocks: int, channels: int, res_scale: float = 1.0):
        super().__init__()
        if scale not in (2, 4):
            raise ValueError(f"scale must be 2 or 4, got {scale}")
        self.scale, self.n_blocks = scale, n_blocks
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[ResidualBlock(channels, res_scale) for _ in range(n_blocks)])
        self.body_end = nn.Conv2d(channels, channels, 3, padding=1)
        self.upsample = nn.ModuleList(
            nn.Conv2d(channels, 4 * channels, 3, padding=1) for _ in range(scale.bit_length() - 1)
        )
        self.tail = nn.Conv2d(channels, 3, 3, padding=1)
        self.register_buffer("mean", torch.full((1, 3, 1, 1), 0.5))

    @classmethod
    def halo(cls, scale: int, n_blocks: int) -> int:
        """Low-resolution pixels of context an output pixel needs on each side: one per
        convolution at low resolution, half (rounded up) per convolution after each
        doubling, and two for the bicubic base."""
        low = 2 + 2 * n_blocks + 1  # head, blocks, body_end, first upsampling conv
        high = 0
        factor = 2
        for _ in range(scale.bit_length() - 1):  # the convolutions after each doubling
            high += -(-1 // factor)  # ceil(1 / factor) low-resolution pixels
            factor *= 2
        return low + high + 2

    def forward(self, lr: torch.Tensor) -> torch.Tensor:  # (B, 3, h, w) -> (B, 3, sh, sw)
        base = F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False)
        f0 = self.head(lr - self.mean)  # (B, C, h, w)
        f = self.body_end(self.blocks(f0)) + f0  # (B, C, h, w)
        for conv in self.upsample:
            f = F.relu(F.pixel_shuffle(conv(f), 2))  # (B, C, 2h, 2w)
        return base + self.tail(f)  # (B, 3, sh, sw)
