"""Model files: round trips, and every kind of bad file refused with a reason."""

from __future__ import annotations

import json
import os
import pickle
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

import genmodels
from genmodels import GaussianMixture, ModelFileError
from genmodels.persistence import FORMAT_VERSION


@pytest.fixture
def saved(tmp_path):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(60, 2), rng.randn(60, 2) + 5])
    model = GaussianMixture(2, covariance_type="diag", random_state=0, means_init=[[0, 0], [5, 5]])
    model.fit(X)
    path = tmp_path / "gmm.safetensors"
    model.save(path)
    return model, path, X


def test_round_trip_keeps_params_and_attributes(saved):
    model, path, X = saved
    loaded = genmodels.load(path)
    assert isinstance(loaded, GaussianMixture)
    assert loaded.get_params().keys() == model.get_params().keys()
    np.testing.assert_array_equal(loaded.means_init, model.means_init)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    assert loaded.converged_ == model.converged_ and loaded.n_iter_ == model.n_iter_
    assert loaded.lower_bounds_ == model.lower_bounds_
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_tuple_and_string_array_values_survive(tmp_path):
    from genmodels.persistence import from_json_value, to_json_value

    value = {"a": (1, 2.5, "x"), "b": [None, True], "c": np.array(["u", "v"], dtype=object)}
    back = from_json_value(json.loads(json.dumps(to_json_value(value))))
    assert back["a"] == (1, 2.5, "x") and back["b"] == [None, True]
    assert list(back["c"]) == ["u", "v"]


def test_saving_is_atomic_no_temp_left(saved, tmp_path):
    _, path, _ = saved
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_truncated_file_is_refused(saved, tmp_path):
    _, path, _ = saved
    data = path.read_bytes()
    for cut in (len(data) - 10, 100, 4):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="truncated|not a genmodels"):
            genmodels.load(bad)


def test_corrupt_header_is_refused(saved, tmp_path):
    _, path, _ = saved
    data = bytearray(path.read_bytes())
    data[10:20] = b"\xff" * 10  # inside the JSON header
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="not JSON|corrupt"):
        genmodels.load(bad)


def test_trailing_garbage_is_refused(saved, tmp_path):
    _, path, _ = saved
    bad = tmp_path / "extra.safetensors"
    bad.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(ModelFileError, match="trailing"):
        genmodels.load(bad)


def test_random_bytes_are_refused(tmp_path):
    bad = tmp_path / "random.safetensors"
    bad.write_bytes(np.random.RandomState(0).bytes(4096))
    with pytest.raises(ModelFileError, match="not a genmodels model file"):
        genmodels.load(bad)


class _Payload:
    """Unpickling this would create a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps(_Payload(str(marker))))
    # Sanity: the payload is live, unpickling it really would create the marker.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(str(probe))))
    assert probe.exists()
    with pytest.raises(ModelFileError, match="pickle"):
        genmodels.load(bad)
    assert not marker.exists()


def test_torch_save_archive_is_refused(tmp_path):
    import torch

    bad = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, bad)
    with pytest.raises(ModelFileError, match="zip archive"):
        genmodels.load(bad)


def test_foreign_safetensors_file_is_refused(tmp_path):
    bad = tmp_path / "weights.safetensors"
    save_file({"w": np.zeros(3)}, str(bad))
    with pytest.raises(ModelFileError, match="not a genmodels model file"):
        genmodels.load(bad)


def _rewrite_metadata(path, out, **changes):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"].update(changes)
    raw = json.dumps(header).encode()
    out.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])


def test_valid_file_starting_like_a_pickle_loads(saved, tmp_path):
    # The header length is little-endian: lengths of 128 mod 256 make a valid model file
    # start with 0x80, the pickle PROTO opcode (a length of 0x480 even reads as protocol 4).
    model, path, X = saved
    for pad in range(0, 300):
        out = tmp_path / "pad.safetensors"
        _rewrite_metadata(path, out, padding="x" * pad)
        if out.read_bytes()[:1] == b"\x80":
            break
    else:  # pragma: no cover
        pytest.fail("could not build a header of length 128 mod 256")
    np.testing.assert_array_equal(genmodels.load(out).score_samples(X), model.score_samples(X))


def test_newer_format_is_refused(saved, tmp_path):
    _, path, _ = saved
    bad = tmp_path / "newer.safetensors"
    _rewrite_metadata(path, bad, format_version=str(FORMAT_VERSION + 1))
    with pytest.raises(ModelFileError, match="newer genmodels"):
        genmodels.load(bad)


def test_unknown_class_is_refused(saved, tmp_path):
    _, path, _ = saved
    bad = tmp_path / "unknown.safetensors"
    _rewrite_metadata(path, bad, **{"class": "os.system"})
    with pytest.raises(ModelFileError, match="unknown model class 'os.system'"):
        genmodels.load(bad)


def test_unknown_hyper_parameter_is_refused(saved, tmp_path):
    _, path, _ = saved
    bad = tmp_path / "params.safetensors"
    _rewrite_metadata(path, bad, params=json.dumps({"evil": 1}))
    with pytest.raises(ModelFileError, match="hyper-parameters"):
        genmodels.load(bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        genmodels.load(tmp_path / "nope.safetensors")


def test_file_is_plain_safetensors_readable_elsewhere(saved):
    from safetensors.numpy import load_file

    model, path, _ = saved
    tensors = load_file(str(path))
    np.testing.assert_array_equal(tensors["attr/means_"], model.means_)
    assert os.path.getsize(path) < 10_000


def test_file_with_the_old_precision_name_loads_as_mixed_precision(tmp_path):
    # Neural models' ``precision`` hyper-parameter is now ``mixed_precision``: files written
    # under the old name still load, with the value carried over.
    from safetensors import safe_open

    from genmodels import VAE

    X = (np.random.default_rng(0).random((40, 6)) > 0.5).astype(float)
    model = VAE(
        latent_dim=2,
        hidden_dims=(8,),
        epochs=1,
        n_importance=4,
        mixed_precision="bfloat16",
        random_state=0,
    ).fit(X)
    path = tmp_path / "new.safetensors"
    model.save(path)
    with safe_open(str(path), "np") as f:
        params = json.loads(f.metadata()["params"])
    params["precision"] = params.pop("mixed_precision")
    old = tmp_path / "old.safetensors"
    _rewrite_metadata(path, old, params=json.dumps(params))
    loaded = genmodels.load(old)
    assert loaded.mixed_precision == "bfloat16"
    np.testing.assert_allclose(loaded.score_samples(X), model.score_samples(X))
