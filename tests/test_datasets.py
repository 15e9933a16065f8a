"""The dataset loaders: the root comes from GENMODELS_DATASETS, a missing dataset is a clear
error, and (when the shared datasets are present) the shapes and values are the documented
ones."""

from __future__ import annotations

import numpy as np
import pytest

from genmodels import datasets


def test_missing_dataset_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMODELS_DATASETS", str(tmp_path))
    assert datasets.dataset_root() == tmp_path
    with pytest.raises(FileNotFoundError, match="GENMODELS_DATASETS"):
        datasets.binarized_mnist()
    with pytest.raises(datasets.DatasetNotFound, match="movielens_100k"):
        datasets.movielens_100k()


def test_bad_split_is_refused():
    with pytest.raises(ValueError, match="unknown MovieLens split"):
        datasets.movielens_100k("u9")


def _need(*parts):
    try:
        return datasets.dataset_path(*parts)
    except datasets.DatasetNotFound as e:
        pytest.skip(str(e))


def test_binarized_mnist_split():
    _need("binarized_mnist")
    d = datasets.binarized_mnist()
    assert {k: v.shape for k, v in d.items()} == {
        "train": (50000, 784),
        "valid": (10000, 784),
        "test": (10000, 784),
    }
    assert set(np.unique(d["test"])) == {0.0, 1.0}
    assert d["train"].mean() == pytest.approx(0.1306, abs=5e-4)  # the README's pixel mean


def test_movielens_u1_split():
    _need("movielens_100k")
    train, test = datasets.movielens_100k("u1")
    assert (len(train), len(test)) == (80000, 20000)
    both = np.vstack([train, test])
    assert both[:, 0].max() == 942 and both[:, 1].max() == 1681 and both[:, :2].min() == 0
    assert set(np.unique(both[:, 2])) == {1, 2, 3, 4, 5}


def test_odds_thyroid():
    _need("odds")
    X, y = datasets.odds("thyroid")
    assert X.shape == (3772, 6) and y.sum() == 93


def test_mnist_official_split_and_idx_checks(tmp_path):
    _need("mnist")
    d = datasets.mnist()
    assert {k: v.shape for k, v in d.items()} == {
        "train_images": (60000, 28, 28),
        "train_labels": (60000,),
        "test_images": (10000, 28, 28),
        "test_labels": (10000,),
    }
    assert d["train_images"].dtype == np.uint8 and d["train_images"].max() == 255
    # the known class counts of the official test set
    assert np.bincount(d["test_labels"]).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    import gzip

    bad = tmp_path / "x.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x0d\x01\x00\x00\x00\x02ab"))
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets._read_idx(bad)


def test_set5_and_t91_images():
    _need("set5")
    _need("sr_train", "T91")
    test = datasets.set5()
    assert {k: v.shape for k, v in test.items()} == {
        "baby": (512, 512, 3),
        "bird": (288, 288, 3),
        "butterfly": (256, 256, 3),
        "head": (280, 280, 3),
        "woman": (344, 228, 3),
    }
    train = datasets.sr_train()
    assert len(train) == 90 and "t65" not in train  # t65 is a byte copy of t36
    assert all(v.dtype == np.uint8 and v.ndim == 3 and v.shape[2] == 3 for v in train.values())
    assert train["t1"].shape == (176, 197, 3)
