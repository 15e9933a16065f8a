"""Loaders for the public benchmark datasets the examples, benchmarks and slow tests use.

The data are not shipped with genmodels (some licences forbid it, e.g. MovieLens): they are
read from the folder named by the ``GENMODELS_DATASETS`` environment variable (default:
``../shared/datasets`` next to the repository). A missing dataset raises
:class:`DatasetNotFound`, a ``FileNotFoundError`` whose message says what is missing and
how to point genmodels at it, so scripts can exit cleanly and tests can skip.
Every loader reads plain files (``.npz`` without pickles, text, MATLAB v5); none runs code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

ENV = "GENMODELS_DATASETS"


class DatasetNotFound(FileNotFoundError):
    """A dataset is not where ``GENMODELS_DATASETS`` says the datasets are."""


def dataset_root() -> Path:
    """The datasets folder: ``$GENMODELS_DATASETS``, else ``../shared/datasets`` relative to
    the repository this package lives in."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def dataset_path(*parts: str) -> Path:
    """The path of a file or folder under the datasets root, or :class:`DatasetNotFound`."""
    path = dataset_root().joinpath(*parts)
    if not path.exists():
        raise DatasetNotFound(
            f"{'/'.join(parts)} not found under {dataset_root()}; set {ENV} to the folder "
            "that holds the public datasets"
        )
    return path


def tiny_shakespeare() -> tuple[str, str]:
    """Karpathy's tiny Shakespeare (1.1 million characters) split as nanoGPT splits it:
    ``(train, validation)``, the first 90% of the characters and the last 10%."""
    text = dataset_path("tiny_shakespeare", "input.txt").read_text(encoding="utf-8")
    cut = int(0.9 * len(text))
    return text[:cut], text[cut:]


def binarized_mnist() -> dict[str, np.ndarray]:
    """The fixed binarized-MNIST split of Larochelle & Murray (used by the RBM, VAE and
    PixelCNN likelihood tables): ``{"train": (50000, 784), "valid": (10000, 784),
    "test": (10000, 784)}``, float64 arrays of 0/1."""
    path = dataset_path("binarized_mnist", "binarized_mnist_uint8.npz")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k].astype(np.float64) for k in ("train", "valid", "test")}


def movielens_100k(split: str = "u1") -> tuple[np.ndarray, np.ndarray]:
    """MovieLens 100K ratings of a standard split (``"u1"``..``"u5"``, ``"ua"``, ``"ub"``):
    ``(train, test)``, each an (n, 3) int64 array of (user, item, rating) with 0-based user
    and item ids (943 users, 1,682 items) and ratings 1-5. Research use only: never copy
    this data into a repository (its licence forbids redistribution)."""
    if split not in {f"u{i}" for i in range(1, 6)} | {"ua", "ub"}:
        raise ValueError(f"unknown MovieLens split {split!r}: use u1..u5, ua or ub")
    folder = dataset_path("movielens_100k", "ml-100k")
    out = []
    for part in ("base", "test"):
        rows = np.loadtxt(folder / f"{split}.{part}", dtype=np.int64, usecols=(0, 1, 2))
        rows[:, :2] -= 1
        out.append(rows)
    return out[0], out[1]


def odds(name: str) -> tuple[np.ndarray, np.ndarray]:
    """An ODDS outlier-detection benchmark (e.g. ``"thyroid"``, ``"mnist"``): ``(X, y)``
    with ``y`` 1 for outliers. (``smtp`` is HDF5 and not supported here.)"""
    from scipy.io import loadmat

    if name == "smtp":
        raise ValueError("odds('smtp') is a MATLAB v7.3 (HDF5) file; read it with h5py")
    mat = loadmat(dataset_path("odds", f"{name}.mat"))
    return np.asarray(mat["X"], dtype=np.float64), np.asarray(mat["y"]).ravel().astype(int)
