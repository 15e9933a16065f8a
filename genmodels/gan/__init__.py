"""Generative adversarial networks: ``GAN`` (MLP or DCGAN networks; non-saturating, hinge or
WGAN-GP losses; spectral normalisation; a moving average of the generator),
``ConditionalGAN``, and ``TabularGAN`` (CTGAN-like, for encoded tables), on the shared
trainer."""

from .model import GAN, BaseGAN, ConditionalGAN
from .tabular import TabularGAN

__all__ = ["GAN", "BaseGAN", "ConditionalGAN", "TabularGAN"]
