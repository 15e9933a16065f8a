"""Autoregressive models: p(x) = prod_t p(x_t | x_<t), exact likelihoods and cached generation.

``_sampling`` (temperature, top-k, top-p draws), ``base.AutoregressiveModel`` (tokens in,
training windows, exact ``score_samples``, ``sample`` / ``complete`` with the network's
cache or the naive loop), and the models: ``Transformer`` (a GPT-style decoder with a
key/value cache, ``_transformer_net``) and ``WaveNet`` (dilated causal convolutions with
fast-generation queues, ``_wavenet_net``; mu-law companding of audio) and ``PixelCNN``
(the gated PixelCNN with row-cached sampling and inpainting, ``_pixelcnn_net``) and
``PixelRNN`` (the Row LSTM, ``_pixelrnn_net``), both on ``images.ImageModel``; and the
polyphonic step models of ``pianoroll`` (``PianoRollRNN``, RNN-NADE over piano rolls, and
``VoicesRNN``, one categorical per voice; ``_pianoroll_net``), which factorise within each
time step too.
"""

from .pianoroll import PianoRollRNN, VoicesRNN
from .pixelcnn import PixelCNN
from .pixelrnn import PixelRNN
from .transformer import Transformer
from .wavenet import WaveNet, mu_law_decode, mu_law_encode

__all__ = [
    "PianoRollRNN",
    "PixelCNN",
    "PixelRNN",
    "Transformer",
    "VoicesRNN",
    "WaveNet",
    "mu_law_decode",
    "mu_law_encode",
]
