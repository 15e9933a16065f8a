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


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip): big-endian magic (0, 0, type 0x08 = uint8, ndim), then the sizes."""
    import gzip

    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} bytes of data for dimensions {tuple(dims)}")
    return data.reshape(tuple(dims))


def mnist() -> dict[str, np.ndarray]:
    """MNIST (LeCun et al.), the official split: ``{"train_images": (60000, 28, 28),
    "train_labels": (60000,), "test_images": (10000, 28, 28), "test_labels": (10000,)}``,
    images as uint8 grey levels 0-255 (white digit on black), labels as int64 0-9."""
    out = {}
    for part, stem in (("train", "train"), ("test", "t10k")):
        out[f"{part}_images"] = _read_idx(dataset_path("mnist", f"{stem}-images-idx3-ubyte.gz"))
        labels = _read_idx(dataset_path("mnist", f"{stem}-labels-idx1-ubyte.gz"))
        out[f"{part}_labels"] = labels.astype(np.int64)
    return out


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
    """An ODDS outlier-detection benchmark (e.g. ``"thyroid"``, ``"mnist"``; the 22 names
    are :data:`ODDS`): ``(X, y)``, ``X`` float64 (n, d) and ``y`` int 1 for outliers.
    ``smtp`` is a MATLAB v7.3 (HDF5) file, read with h5py (``pip install
    'genmodels[bench]'``; its arrays are stored transposed); the others are MATLAB v5."""
    if name == "smtp":
        return _odds_hdf5(dataset_path("odds", "smtp.mat"))
    from scipy.io import loadmat

    mat = loadmat(dataset_path("odds", f"{name}.mat"))
    return np.asarray(mat["X"], dtype=np.float64), np.asarray(mat["y"]).ravel().astype(int)


#: The 22 ODDS datasets of ../shared/datasets/odds (PyOD's benchmark files), smallest first.
ODDS = (
    "lympho", "glass", "vertebral", "wbc", "ionosphere", "arrhythmia", "pima", "breastw",
    "vowels", "letter", "cardio", "musk", "thyroid", "optdigits", "satimage-2", "satellite",
    "pendigits", "annthyroid", "mnist", "mammography", "shuttle", "smtp",
)  # fmt: skip


def _odds_hdf5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``y`` of a MATLAB v7.3 file (HDF5: MATLAB writes arrays column-major, so
    h5py sees them transposed)."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{path.name} is a MATLAB v7.3 (HDF5) file, read with h5py: "
            "pip install 'genmodels[bench]'"
        ) from None
    with h5py.File(path, "r") as f:
        X = np.asarray(f["X"], dtype=np.float64).T
        y = np.asarray(f["y"]).T.ravel().astype(int)
    return X, y


def _read_image(path: Path) -> np.ndarray:
    """A PNG/BMP file as a uint8 (H, W, 3) RGB array (Pillow, plain pixel data)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise ImportError("reading images needs Pillow: pip install 'genmodels[image]'") from None
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def set5() -> dict[str, np.ndarray]:
    """Set5 (Bevilacqua et al. 2012), the super-resolution test set: ``{name: image}``
    for baby, bird, butterfly, head and woman, uint8 (H, W, 3) RGB arrays."""
    folder = dataset_path("set5")
    return {p.stem: _read_image(p) for p in sorted(folder.glob("*.png"))}


def sr_train() -> dict[str, np.ndarray]:
    """T91 (Yang et al. 2010), the 91 training images of ScSR and SRCNN (none in Set5):
    ``{name: image}``, uint8 (H, W, 3) RGB arrays of 78 to 508 pixels a side. ``t65`` is
    byte-identical to ``t36`` (the same zebra) and is left out, so 90 distinct images."""
    folder = dataset_path("sr_train", "T91")
    return {p.stem: _read_image(p) for p in sorted(folder.glob("*.bmp")) if p.stem != "t65"}


def jsb_chorales(resolution: str = "quarter") -> dict[str, list[np.ndarray]]:
    """The JSB chorales (382 Bach chorales) with the train/valid/test split of
    Boulanger-Lewandowski et al. (2012), 229/76/77 pieces: ``{"train": [...], "valid":
    [...], "test": [...]}``, one array per piece.

    ``resolution="quarter"`` (the literature's protocol: steps of a quarter note), ``"8th"``
    or ``"16th"``: piano rolls, (T, 128) float64 arrays of 0/1 whose column p is MIDI pitch
    p (:class:`~genmodels.autoregressive.PianoRollRNN` data). ``"separated"``: the same
    chorales at sixteenth-note steps as four voices (Coconet's ``Jsb16thSeparated``), (T, 4)
    float64 arrays of MIDI pitches for soprano, alto, tenor and bass, -1 where a voice is
    silent (:class:`~genmodels.autoregressive.VoicesRNN` data)."""
    import json

    from .music import pieces_to_rolls

    files = {
        "quarter": "jsb-chorales-quarter.json",
        "8th": "jsb-chorales-8th.json",
        "16th": "jsb-chorales-16th.json",
        "separated": "Jsb16thSeparated.json",
    }
    if resolution not in files:
        raise ValueError(f"unknown JSB resolution {resolution!r}: use one of {sorted(files)}")
    path = dataset_path("jsb_chorales", files[resolution])
    data = json.loads(path.read_text(encoding="utf-8"))
    splits = ("train", "valid", "test")
    if resolution == "separated":
        return {k: [np.asarray(p, np.float64).reshape(-1, 4) for p in data[k]] for k in splits}
    return {k: pieces_to_rolls(data[k]) for k in splits}


#: The columns of UCI Adult's ``adult.data``, in file order (``adult.names``).
ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)


def uci_adult():
    """UCI Adult (Kohavi 1996), the training file ``adult.data``: a pandas DataFrame of
    32,561 rows and the 15 columns of :data:`ADULT_COLUMNS` (6 integer, 9 string columns,
    ``income`` the label ``"<=50K"`` / ``">50K"``), spaces after the commas stripped and
    ``?`` read as missing (NaN; in workclass, occupation and native-country). Needs pandas
    (``pip install 'genmodels[tabular]'``)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "reading UCI Adult needs pandas: pip install 'genmodels[tabular]'"
        ) from None
    path = dataset_path("uci_adult", "adult.data")
    return pd.read_csv(
        path,
        header=None,
        names=list(ADULT_COLUMNS),
        skipinitialspace=True,
        na_values="?",
        keep_default_na=False,
        skip_blank_lines=True,
    )


def movielens_ratings() -> np.ndarray:
    """All 100,000 MovieLens 100K ratings (ml-100k/u.data): an (n, 3) int64 array of
    (user, item, rating) with 0-based user and item ids (943 users, 1,682 items) and
    ratings 1-5, in the file's order. Research use only: never copy this data into a
    repository (its licence forbids redistribution)."""
    path = dataset_path("movielens_100k", "ml-100k", "u.data")
    rows = np.loadtxt(path, dtype=np.int64, usecols=(0, 1, 2))
    rows[:, :2] -= 1
    return rows


def movielens_items() -> list[str]:
    """The titles of the 1,682 MovieLens 100K movies (ml-100k/u.item, latin-1,
    ``|``-separated, e.g. ``"Toy Story (1995)"``): entry ``i`` is 0-based item ``i``."""
    path = dataset_path("movielens_100k", "ml-100k", "u.item")
    with open(path, encoding="latin-1") as fh:
        return [line.split("|")[1] for line in fh if line.strip()]


def _read_smiles_csv(path: Path) -> list[str]:
    """The ``SMILES`` column of a gzip CSV with that one-column header, in file order."""
    import gzip

    with gzip.open(path, "rt", encoding="ascii") as f:
        lines = f.read().split()
    if not lines or lines[0] != "SMILES":
        raise ValueError(f"{path}: expected a CSV with the one column 'SMILES'")
    return lines[1:]


def moses_smiles(seed: int = 0, train_fraction: float = 0.9) -> dict[str, list[str]]:
    """The MOSES benchmark molecules (Polykovskiy et al. 2020) that are stored here: its
    official test set (176,074 canonical SMILES) split by molecule, with a fixed seed, into
    ``"train"`` (90%, 158,467 molecules) and ``"test"`` (the other 10%), plus its scaffold
    test set ``"test_scaffolds"`` (176,225 molecules whose Bemis-Murcko scaffolds appear in
    none of MOSES's training molecules: a harder test). MOSES's own 1.58-million-molecule
    training file is not available, so a model trained on ``"train"`` has seen a tenth of
    the data MOSES's baselines saw. Lists of ``str``, in the files' SMILES."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    test = _read_smiles_csv(dataset_path("moses_smiles", "test.csv.gz"))
    scaffolds = _read_smiles_csv(dataset_path("moses_smiles", "test_scaffolds.csv.gz"))
    order = np.random.RandomState(seed).permutation(len(test))
    cut = int(round(train_fraction * len(test)))
    return {
        "train": [test[i] for i in order[:cut]],
        "test": [test[i] for i in order[cut:]],
        "test_scaffolds": scaffolds,
    }
