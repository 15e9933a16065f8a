"""The domain classifier of MNIST-shaped images whose features the sample-quality metrics
use: a small convolutional network (:class:`MnistNet`), the safetensors file it ships as,
and :func:`mnist_classifier`, the cached, validated, ready-to-use classifier.

Input convention (every public function here): images as ``(N, 28, 28)`` or ``(N, 784)``
arrays (rows in row-major pixel order, as ``images.reshape(N, 784)`` gives), white digit on
black, with pixel intensities in ``[0, 1]``. ``uint8`` arrays are read as 0-255 and divided
by 255. Float values a little outside ``[0, 1]`` (a Gaussian mixture's or a GAN's samples)
are clipped to it; a float array whose maximum exceeds 25 looks like 0-255 intensities and
is an error (divide by 255 first). The network normalises internally with MNIST's mean and
standard deviation, so callers never do.

The weights were trained by ``examples/train_mnist_classifier.py`` on the 60,000 official
training images only; its JSON metadata (``__metadata__["genmodels_classifier"]`` in the
safetensors header) records the test accuracy, the training command and this convention.
The file is read with safetensors (no pickle) after its header, tensor names and shapes are
checked; anything else is a :class:`~genmodels.exceptions.ModelFileError`.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..exceptions import ModelFileError

#: The shipped weights, inside the package.
WEIGHTS = Path(__file__).with_name("mnist_classifier.safetensors")
#: The metadata key holding the classifier's JSON description.
META_KEY = "genmodels_classifier"
FORMAT = "genmodels-mnist-classifier"
FORMAT_VERSION = 1
INPUT_CONVENTION = (
    "(N, 28, 28) or (N, 784) float in [0, 1] (uint8 0-255 divided by 255), white on black"
)
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
#: Float images above this look like 0-255 intensities (a Gaussian model's samples of [0, 1]
#: pixels overshoot 1 by a few standard deviations, never by this much).
MAX_FLOAT = 25.0


class MnistNet(nn.Module):
    """Three 3x3 convolutions (16, 32, 64 channels; ReLU; 2x2 max-pooling after each:
    28 -> 14 -> 7 -> 3), a fully connected layer of ``n_features`` ReLU units (the
    penultimate layer), dropout, and the 10 class logits.

    :meth:`features` are the penultimate layer's pre-activations (before its ReLU): after
    the ReLU, images far from any digit (uniform noise) map to small vectors with many
    zeros that land inside the k-nearest-neighbour balls of real digits, so noise got a
    precision of 0.99; the pre-activations keep the sign and send it far away (precision
    0.0; docs/results.md, "Sample-quality metrics (MNIST)")."""

    def __init__(self, n_features: int = 128, dropout: float = 0.3):
        super().__init__()
        self.n_features = n_features
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 3 * 3, n_features)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(n_features, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate pre-activations ``(B, n_features)`` of images ``x``
        ``(B, 1, 28, 28)`` in [0, 1]."""
        h = (x - MNIST_MEAN) / MNIST_STD
        h = torch.max_pool2d(torch.relu(self.conv1(h)), 2)  # (B, 16, 14, 14)
        h = torch.max_pool2d(torch.relu(self.conv2(h)), 2)  # (B, 32, 7, 7)
        h = torch.max_pool2d(torch.relu(self.conv3(h)), 2)  # (B, 64, 3, 3)
        return self.fc(h.flatten(1))  # (B, n_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(B, 10)``."""
        return self.out(self.drop(torch.relu(self.features(x))))


def as_images(images, name: str = "images") -> np.ndarray:
    """``images`` as float32 ``(N, 28, 28)`` in [0, 1], by the convention of this module;
    a clear ``ValueError`` for any other shape, NaN or infinite values, or 0-255 floats."""
    a = np.asarray(images)
    if a.ndim == 2 and a.shape[1] == 784:
        a = a.reshape(-1, 28, 28)
    elif not (a.ndim == 3 and a.shape[1:] == (28, 28)):
        raise ValueError(
            f"{name} must be MNIST-shaped images, (N, 28, 28) or (N, 784); got shape {a.shape}"
        )
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 images)")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == bool:
        return a.astype(np.float32)
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    if a.max() > MAX_FLOAT:
        raise ValueError(
            f"{name} have values up to {a.max():.4g}: pixel intensities must be in [0, 1] "
            "(divide 0-255 floats by 255, or pass uint8)"
        )
    return np.clip(a, 0.0, 1.0)


class MnistClassifier:
    """The loaded domain classifier: features, class probabilities and predictions of
    MNIST-shaped images (see the module docstring for the input convention). Inference
    only (the network is in eval mode; dropout is off); results depend on nothing random.

    Attributes: ``metadata`` (the file's JSON description: test accuracy, training command,
    input convention...), ``n_features`` (width of :meth:`features`), ``classes_``
    (``0 .. 9``).
    """

    def __init__(self, net: MnistNet, metadata: dict[str, Any], batch_size: int = 1000):
        self.net = net.eval()
        self.metadata = metadata
        self.n_features = net.n_features
        self.classes_ = np.arange(10)
        self.batch_size = batch_size

    def _run(self, images, head: bool) -> np.ndarray:
        x = as_images(images)
        out = []
        with torch.no_grad():
            for i in range(0, len(x), self.batch_size):
                xb = torch.from_numpy(x[i : i + self.batch_size]).unsqueeze(1)  # (B, 1, 28, 28)
                h = self.net.features(xb)
                out.append(
                    (torch.softmax(self.net.out(torch.relu(h)).double(), 1) if head else h).numpy()
                )
        return np.concatenate(out).astype(np.float64)

    def features(self, images) -> np.ndarray:
        """Penultimate-layer features (pre-activations, see :class:`MnistNet`),
        ``(N, n_features)`` float64."""
        return self._run(images, head=False)

    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities, ``(N, 10)`` float64 (rows sum to 1)."""
        return self._run(images, head=True)

    def predict(self, images) -> np.ndarray:
        """Most probable digit of every image, ``(N,)`` int64."""
        return self.predict_proba(images).argmax(axis=1).astype(np.int64)

    def score(self, images, labels) -> float:
        """Accuracy on ``images`` with true ``labels``."""
        return float(np.mean(self.predict(images) == np.asarray(labels)))


def save_classifier(net: MnistNet, path: str | os.PathLike, metadata: dict[str, Any]) -> None:
    """Write ``net``'s weights and ``metadata`` (JSON-able) as a safetensors file."""
    from safetensors.torch import save_file

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "n_features": net.n_features,
        "input_convention": INPUT_CONVENTION,
        **metadata,
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(tensors, str(path), metadata={META_KEY: json.dumps(meta)})


def load_classifier(path: str | os.PathLike = WEIGHTS) -> MnistClassifier:
    """Read a classifier file, checking it without unpickling anything: a safetensors
    header (via :func:`genmodels.persistence.safetensors_header`), genmodels-classifier
    metadata, and exactly the tensors :class:`MnistNet` has, with their shapes and
    float dtypes. Any mismatch is a :class:`ModelFileError` naming it."""
    from safetensors.torch import load as st_load

    from ..persistence import safetensors_header

    path = Path(path)
    data = path.read_bytes()
    header = safetensors_header(data, path, what="classifier file")
    raw = (header.get("__metadata__") or {}).get(META_KEY)
    try:
        meta = json.loads(raw) if raw is not None else None
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: a safetensors file, but not a genmodels MNIST classifier (no "
            f"{META_KEY!r} metadata of format {FORMAT!r})"
        )
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelFileError(f"{path}: classifier file format is newer than this genmodels")
    net = MnistNet(n_features=int(meta["n_features"]))
    expected = net.state_dict()
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors' own error types vary across versions
        raise ModelFileError(f"{path}: corrupt classifier file ({exc})") from None
    if set(tensors) != set(expected):
        raise ModelFileError(
            f"{path}: classifier file holds tensors {sorted(tensors)}, expected {sorted(expected)}"
        )
    for k, v in expected.items():
        t = tensors[k]
        if tuple(t.shape) != tuple(v.shape) or not t.is_floating_point():
            raise ModelFileError(
                f"{path}: tensor {k!r} has shape {tuple(t.shape)} and dtype {t.dtype}, "
                f"expected {tuple(v.shape)} float"
            )
        if not torch.isfinite(t).all():
            raise ModelFileError(f"{path}: tensor {k!r} holds NaN or infinite values")
    net.load_state_dict({k: t.to(torch.float32) for k, t in tensors.items()})
    return MnistClassifier(net, meta)


@functools.lru_cache(maxsize=1)
def mnist_classifier() -> MnistClassifier:
    """The shipped MNIST domain classifier, loaded once per process (cached)."""
    if not WEIGHTS.exists():
        raise FileNotFoundError(
            f"{WEIGHTS} is missing: the classifier weights ship with genmodels; reinstall it "
            "or retrain them with examples/train_mnist_classifier.py"
        )
    return load_classifier(WEIGHTS)
