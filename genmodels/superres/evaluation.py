"""The standard super-resolution protocol (SRCNN, VDSR, EDSR, SRResNet tables).

From a high-resolution image ``hr`` (uint8 RGB): crop it to a multiple of the scale, make
the low-resolution input with MATLAB's antialiased bicubic ``imresize`` (rounded to uint8),
upscale it, then compare on the luma channel (BT.601 as MATLAB's ``rgb2ycbcr``) with a
border of ``scale`` pixels cropped: PSNR and SSIM from scikit-image (SSIM with Wang et al.'s
Gaussian window, sigma 1.5, and population covariances, as their MATLAB code). Papers
report bicubic at 28.42-28.43 dB on Set5 x4 with this protocol (SSIM 0.8104 in the EDSR and
RCAN tables; Ledig et al. print 0.8211, from another SSIM implementation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._resize import imresize, rgb_to_y


def _skimage_metrics():
    try:
        from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "super-resolution metrics need scikit-image: pip install 'genmodels[image]'"
        ) from None
    return peak_signal_noise_ratio, structural_similarity


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """``image`` cropped (bottom and right) to a height and width divisible by ``scale``."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """The low-resolution input of the protocol: MATLAB bicubic by ``1 / scale``."""
    return imresize(modcrop(hr, scale), 1.0 / scale)


def bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """The bicubic baseline: MATLAB bicubic ``imresize`` by ``scale``."""
    return imresize(lr, float(scale))


def _y_cropped(image: np.ndarray, border: int) -> np.ndarray:
    y = rgb_to_y(image)
    return y[border : y.shape[0] - border, border : y.shape[1] - border] if border else y


def psnr_y(reference: np.ndarray, estimate: np.ndarray, border: int) -> float:
    """PSNR (dB, peak 255) of the luma channels with ``border`` pixels cropped."""
    psnr, _ = _skimage_metrics()
    a, b = _check_pair(reference, estimate, border)
    return float(psnr(a, b, data_range=255.0))


def ssim_y(reference: np.ndarray, estimate: np.ndarray, border: int) -> float:
    """SSIM of the luma channels with ``border`` pixels cropped (Wang et al.'s settings)."""
    _, ssim = _skimage_metrics()
    a, b = _check_pair(reference, estimate, border)
    return float(
        ssim(a, b, data_range=255.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    )


def _check_pair(reference, estimate, border):
    if np.shape(reference) != np.shape(estimate):
        raise ValueError(f"images differ in shape: {np.shape(reference)} and {np.shape(estimate)}")
    return _y_cropped(reference, border), _y_cropped(estimate, border)


@dataclass(frozen=True)
class Scores:
    """One image's scores under the protocol."""

    name: str
    psnr: float
    ssim: float


def evaluate(
    images: dict[str, np.ndarray],
    scale: int,
    upscale: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Scores]:
    """PSNR and SSIM (Y, border ``scale``) of ``upscale`` (uint8 LR -> uint8 HR; bicubic
    when None) on each uint8 RGB image of ``images``."""
    up = upscale if upscale is not None else (lambda lr: bicubic_upscale(lr, scale))
    out = []
    for name, hr in images.items():
        hr = modcrop(np.asarray(hr), scale)
        sr = up(downscale(hr, scale))
        out.append(Scores(name, psnr_y(hr, sr, scale), ssim_y(hr, sr, scale)))
    return out
