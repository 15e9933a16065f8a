"""What an autoregressive network may be conditioned on, and the checks of what a user
passes for it: class labels (global conditioning, one label per sequence or image) and
local features (a sequence of feature frames per waveform, ``hop`` positions a frame,
upsampled to the token rate by repetition).

The networks see a :class:`Condition`: ``labels`` (n,) class indices and ``local``
(n, L, F) feature vectors aligned with the L input positions they are given (the input
stream u = (BOS, x_1, ...): position i, predicting x_{i+1}, gets the feature of level
x_{i+1}'s frame, frame floor(i / hop)). A network that is not conditioned is never
passed one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .. import attributes as A


class Condition(NamedTuple):
    """Global and local conditioning of a batch of input streams: ``labels`` (n,) int64
    class indices or None; ``local`` (n, L, F) float32, aligned with the tokens, or None."""

    labels: torch.Tensor | None = None
    local: torch.Tensor | None = None

    def window(self, start: int, stop: int) -> Condition:
        """The condition of input positions ``start:stop``."""
        local = None if self.local is None else self.local[:, start:stop]
        return Condition(self.labels, local)


class Given(NamedTuple):
    """What ``fit`` hands the dataset besides ``X``: the frames' lengths, labels, features."""

    lengths: object = None
    y: object = None
    features: object = None


#: Fitted attributes of a model that takes class labels (``classes_`` None: fitted without).
LABEL_SPEC = {
    "classes_": A.Attr(
        ("n_classes",),
        kind=("int", "float", "str", "bool"),
        constraints=(A.SORTED_UNIQUE,),
        nullable=True,
    ),
}


def n_frames(length: int, hop: int) -> int:
    """Feature frames a sequence of ``length`` levels needs: ceil(length / hop)."""
    return math.ceil(length / hop)


def check_features(
    features, lengths: list[int], hop: int, n_features: int | None, owner: str
) -> list[np.ndarray]:
    """Local features, one (T'_i, F) float array per sequence with T'_i = ceil(T_i / hop):
    a list of 2-D arrays or an (S, T', F) array; ``n_features`` F when known."""
    if isinstance(features, np.ndarray) and features.ndim == 3:
        feats = list(features)
    elif isinstance(features, list | tuple):
        feats = list(features)
    else:
        raise ValueError(
            f"{owner}: features must be a list of (frames, n_features) arrays, one per "
            "sequence, or an (n_sequences, frames, n_features) array"
        )
    if len(feats) != len(lengths):
        raise ValueError(
            f"{owner}: {len(feats)} feature sequences for {len(lengths)} sequences; give one each"
        )
    out = []
    for i, (f, t) in enumerate(zip(feats, lengths, strict=True)):
        arr = np.asarray(f, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"{owner}: features[{i}] must be 2-D (frames, n_features)")
        want = n_frames(t, hop)
        if arr.shape[0] != want:
            raise ValueError(
                f"{owner}: features[{i}] has {arr.shape[0]} frames, but {t} levels at "
                f"hop_length={hop} need ceil({t} / {hop}) = {want}"
            )
        if n_features is not None and arr.shape[1] != n_features:
            raise ValueError(
                f"{owner}: features[{i}] has {arr.shape[1]} features per frame; the model "
                f"was fitted with {n_features}"
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"{owner}: features[{i}] holds NaN or infinity")
        out.append(arr.astype(np.float32))
    if len({a.shape[1] for a in out}) > 1:
        raise ValueError(f"{owner}: every feature sequence must have the same n_features")
    return out


def upsample(frames: np.ndarray, hop: int, length: int) -> np.ndarray:
    """``frames`` (T', F) at the token rate: (length, F), position i taking frame i // hop."""
    return np.repeat(frames, hop, axis=0)[:length]
