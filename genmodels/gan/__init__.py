"""Generative adversarial networks: ``GAN`` (MLP or DCGAN networks; non-saturating, hinge or
WGAN-GP losses; spectral normalisation; a moving average of the generator) and
``ConditionalGAN``, on the shared trainer."""

from .model import GAN, BaseGAN, ConditionalGAN

__all__ = ["GAN", "BaseGAN", "ConditionalGAN"]
