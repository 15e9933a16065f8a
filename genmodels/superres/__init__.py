"""Single-image super-resolution: an application of generative networks, not a density
model (so not in the registry). :class:`SuperResolution` (an SRResNet) and the standard
evaluation protocol (:mod:`.evaluation`: MATLAB bicubic, Y channel, PSNR/SSIM)."""

from ._resize import imresize, rgb_to_y
from .model import SuperResolution

__all__ = ["SuperResolution", "imresize", "rgb_to_y"]
