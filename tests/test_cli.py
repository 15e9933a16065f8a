"""The ``genmodels`` command line, run for real through ``main([...])``, and the data loading
it relies on (``genmodels.cli.tables``)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genmodels
import genmodels.demo
from genmodels.cli import main
from genmodels.cli import sequences as gseq
from genmodels.cli import tables as gdata

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GMM_SETTINGS = [
    "--set",
    "n_components=3",
    "--set",
    "covariance_type=full",
    "--set",
    "random_state=0",
]


def _blobs() -> np.ndarray:
    rng = np.random.RandomState(0)
    centres = np.array([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
    return np.vstack([c + rng.randn(100, 2) for c in centres])


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], np.array(rows[1:], dtype=float)


def _assert_one_line_error(rc: int, err: str) -> str:
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("genmodels: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def blobs_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "blobs.csv"
    gdata.save_table(path, _blobs(), ["a", "b"])
    return path


@pytest.fixture(scope="module")
def gmm_file(blobs_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "gmm.safetensors"
    assert main(["fit", "gmm", str(blobs_csv), *GMM_SETTINGS, "-o", str(out), "--quiet"]) == 0
    return out


# ----------------------------------------------------------------------------------------
# fit


def test_fit_saves_the_model_and_prints_a_summary(blobs_csv, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    rc = main(["fit", "gmm", str(blobs_csv), *GMM_SETTINGS, "-o", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 0
    assert captured.err == ""  # --quiet: no progress bar
    model = genmodels.load(out)
    assert isinstance(model, genmodels.GaussianMixture)
    assert (model.n_components, model.covariance_type, model.random_state) == (3, "full", 0)
    assert model.verbose == 0  # the progress bar is the CLI's choice, not saved
    assert list(model.feature_names_in_) == ["a", "b"]
    text = captured.out
    for expected in ("GaussianMixture", "300 samples x 2 features", "converged", "BIC"):
        assert expected in text
    assert f"{model.score(_blobs()):.6g} nats/sample" in text
    assert f"{model.bic(_blobs()):.6g}" in text
    assert f"saved to {out}" in text


def test_fit_shows_a_progress_bar_by_default_and_writes_model_safetensors(
    blobs_csv, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "gmm", str(blobs_csv), "--set", "n_components=3"]) == 0
    assert "GaussianMixture EM" in capsys.readouterr().err
    assert (tmp_path / "gmm.safetensors").is_file()
    assert main(["fit", "gmm", str(blobs_csv), "--set", "verbose=0", "-o", "q.safetensors"]) == 0
    assert capsys.readouterr().err == ""  # the user's verbose wins


def test_set_values_are_json_when_they_parse(blobs_csv, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    settings = ["tol=1e-4", "warm_start=false", "means_init=[[-10,0],[0,10]]", "n_components=2"]
    args = [a for s in settings for a in ("--set", s)]
    assert main(["fit", "gmm", str(blobs_csv), *args, "-o", str(out), "-q"]) == 0
    model = genmodels.load(out)
    assert model.tol == 1e-4 and model.warm_start is False
    np.testing.assert_array_equal(model.means_init, [[-10, 0], [0, 10]])


# ----------------------------------------------------------------------------------------
# info, sample, score


def test_info_describes_the_file(gmm_file, capsys):
    assert main(["info", str(gmm_file)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "GaussianMixture",
        "likelihood=exact",
        "n_components",
        "means_",
        "(3, 2)",
        "converged_",
        f"genmodels {genmodels.__version__}",
        "format 1",
        "KiB",
    ):
        assert expected in out, expected


def test_sample_csv_has_the_training_header_and_is_seeded(gmm_file, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["sample", str(gmm_file), "-n", "50", "-o", str(out), "--seed", "3"]) == 0
    header, X = _read_csv(out)
    assert header == ["a", "b"]
    assert X.shape == (50, 2)
    assert "wrote 50 samples" in capsys.readouterr().out
    again = tmp_path / "y.csv"
    assert main(["sample", str(gmm_file), "-n", "50", "-o", str(again), "--seed", "3"]) == 0
    np.testing.assert_array_equal(_read_csv(again)[1], X)


def test_sample_npy(gmm_file, tmp_path):
    out = tmp_path / "x.npy"
    assert main(["sample", str(gmm_file), "-n", "20", "-o", str(out)]) == 0
    X = np.load(out)
    assert X.shape == (20, 2) and X.dtype == np.float64


def test_score_writes_per_sample_log_likelihoods(gmm_file, blobs_csv, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["score", str(gmm_file), str(blobs_csv), "-o", str(out)]) == 0
    header, scores = _read_csv(out)
    assert header == ["log_likelihood"]
    expected = genmodels.load(gmm_file).score_samples(_blobs())
    np.testing.assert_allclose(scores[:, 0], expected, rtol=0, atol=1e-12)
    text = capsys.readouterr().out
    for key in ("n", "mean", "std", "min", "median", "max"):
        assert any(line.split()[:1] == [key] for line in text.splitlines()), key
    assert "300" in text and "exact" in text
    assert f"{np.median(expected):.6g}" in text


def test_score_without_output_only_prints(gmm_file, blobs_csv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["score", str(gmm_file), str(blobs_csv)]) == 0
    assert "mean" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_digits_samples_as_a_png_grid(tmp_path, capsys):
    model = tmp_path / "digits.safetensors"
    sets = ["n_components=2", "covariance_type=diag", "random_state=0"]
    settings = [a for s in sets for a in ("--set", s)]
    assert main(["fit", "gmm", "builtin:digits", *settings, "-o", str(model), "-q"]) == 0
    assert "1797 samples x 64 features" in capsys.readouterr().out
    grid = tmp_path / "grid.png"
    assert main(["sample", str(model), "-n", "30", "-o", str(grid)]) == 0
    assert grid.read_bytes()[:8] == PNG_MAGIC


def test_png_for_non_image_data_is_an_error(gmm_file, tmp_path, capsys):
    rc = main(["sample", str(gmm_file), "-o", str(tmp_path / "x.png")])
    line = _assert_one_line_error(rc, capsys.readouterr().err)
    assert "2 features" in line and ".csv" in line
    assert not (tmp_path / "x.png").exists()


# ----------------------------------------------------------------------------------------
# models, demo, version, help


def test_models_lists_aliases_and_capabilities(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "GaussianMixture" in out and "gmm" in out and "likelihood=exact" in out


def test_demo_calls_the_report_builder(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_run(output_dir, quick=False):
        calls.append((output_dir, quick))
        return Path(output_dir) / "index.html"

    monkeypatch.setattr(genmodels.demo, "run", fake_run)
    assert main(["demo", "--output", str(tmp_path / "r"), "--quick"]) == 0
    assert calls == [(str(tmp_path / "r"), True)]
    assert str(tmp_path / "r" / "index.html") in capsys.readouterr().out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert genmodels.__version__ in capsys.readouterr().out


def test_help_via_python_dash_m_lists_verbs_and_examples():
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-m", "genmodels", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for word in ("fit", "sample", "score", "info", "demo", "models", "Examples"):
        assert word in proc.stdout, word


# ----------------------------------------------------------------------------------------
# errors: one line on stderr, non-zero exit, no traceback


def test_missing_data_file(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    rc = main(["fit", "gmm", str(missing), "-q"])
    assert str(missing) in _assert_one_line_error(rc, capsys.readouterr().err)


def test_unknown_model_alias(blobs_csv, capsys):
    rc = main(["fit", "no-such-model", str(blobs_csv), "-q"])
    line = _assert_one_line_error(rc, capsys.readouterr().err)
    assert "no-such-model" in line and "gmm" in line


def test_unknown_hyper_parameter_is_named(blobs_csv, tmp_path, capsys):
    rc = main(["fit", "gmm", str(blobs_csv), "--set", "n_compnents=3", "-o", str(tmp_path / "m")])
    line = _assert_one_line_error(rc, capsys.readouterr().err)
    assert "'n_compnents'" in line and "n_components" in line
    assert not list(tmp_path.iterdir())


def test_invalid_hyper_parameter_value(blobs_csv, tmp_path, capsys):
    rc = main(["fit", "gmm", str(blobs_csv), "--set", "n_components=0", "-q"])
    assert "n_components=0" in _assert_one_line_error(rc, capsys.readouterr().err)


def test_set_without_equals(blobs_csv, capsys):
    rc = main(["fit", "gmm", str(blobs_csv), "--set", "n_components", "-q"])
    assert "KEY=VALUE" in _assert_one_line_error(rc, capsys.readouterr().err)


def test_loading_a_non_model_file(blobs_csv, capsys):
    for verb in (["info"], ["sample"], ["score"]):
        extra = [str(blobs_csv)] if verb == ["score"] else []
        rc = main([*verb, str(blobs_csv), *extra])
        assert "not a genmodels model file" in _assert_one_line_error(rc, capsys.readouterr().err)


def test_missing_model_file(tmp_path, capsys):
    rc = main(["info", str(tmp_path / "gone.safetensors")])
    assert "gone.safetensors" in _assert_one_line_error(rc, capsys.readouterr().err)


def test_unsupported_sample_output(gmm_file, tmp_path, capsys):
    rc = main(["sample", str(gmm_file), "-o", str(tmp_path / "x.txt")])
    assert ".csv, .npy or .png" in _assert_one_line_error(rc, capsys.readouterr().err)


def test_score_with_the_wrong_number_of_features(gmm_file, tmp_path, capsys):
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((5, 3)))
    rc = main(["score", str(gmm_file), str(wide)])
    assert "3 features" in _assert_one_line_error(rc, capsys.readouterr().err)


def test_debug_env_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMODELS_DEBUG", "1")
    with pytest.raises(FileNotFoundError):
        main(["info", str(tmp_path / "gone.safetensors")])


def test_usage_error_returns_argparse_code(capsys):
    assert main(["fit"]) == 2
    assert "usage:" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------
# genmodels.cli.tables


def test_csv_missing_cells_become_nan(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('x,"y, quoted"\n1,NA\n,2.5\n\n3,nan\n')
    X, columns = gdata.load_table(path)
    assert columns == ["x", "y, quoted"]
    np.testing.assert_array_equal(X, [[1, np.nan], [np.nan, 2.5], [3, np.nan]])


def test_csv_non_numeric_cell_names_column_and_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,hello\n")
    with pytest.raises(ValueError, match=r"column 'b', data row 2 .*'hello'"):
        gdata.load_table(path)


def test_csv_needs_a_header(tmp_path):
    path = tmp_path / "nohead.csv"
    path.write_text("1.5,2\n3,4\n")
    with pytest.raises(ValueError, match="header"):
        gdata.load_table(path)


def test_csv_round_trip_is_exact(tmp_path):
    X = np.random.RandomState(1).randn(7, 3) * 1e3
    X[2, 1] = np.nan
    gdata.save_table(tmp_path / "t.csv", X)
    Y, columns = gdata.load_table(tmp_path / "t.csv")
    assert columns == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(Y, X)


def test_npy_and_npz(tmp_path):
    images = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    np.save(tmp_path / "i.npy", images)
    X, columns = gdata.load_table(tmp_path / "i.npy")
    assert X.shape == (2, 12) and X.dtype == np.float64 and columns is None
    np.savez(tmp_path / "one.npz", data=np.ones((3, 2)))
    assert gdata.load_table(tmp_path / "one.npz")[0].shape == (3, 2)
    np.savez(tmp_path / "named.npz", X=np.ones((4, 2)), y=np.zeros(4))
    assert gdata.load_table(tmp_path / "named.npz")[0].shape == (4, 2)
    np.savez(tmp_path / "two.npz", a=np.ones(2), b=np.ones(2))
    with pytest.raises(ValueError, match="'X'"):
        gdata.load_table(tmp_path / "two.npz")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="never unpickles"):
        gdata.load_table(tmp_path / "obj.npy")


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv, \.npy, \.npz"):
        gdata.load_table(tmp_path / "x.parquet")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        gdata.load_table(tmp_path / "nope.csv")


def test_builtin_datasets_and_image_shapes():
    X, y = gdata.builtin_dataset("iris")
    assert X.shape == (150, 4) and X.dtype == np.float64 and y.shape == (150,)
    assert gdata.image_shape_for(64) == (8, 8)
    assert gdata.image_shape_for(784) == (28, 28)
    assert gdata.image_shape_for(10) is None
    with pytest.raises(ValueError, match="builtin:digits"):
        gdata.builtin_dataset("mnist")


# -- predict and labelled data -----------------------------------------------------------


def test_predict_writes_components_and_probabilities(gmm_file, blobs_csv, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["predict", str(gmm_file), str(blobs_csv), "-o", str(out)]) == 0
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["component", "p_0", "p_1", "p_2"]
    proba = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    model = genmodels.load(gmm_file)
    X, _ = gdata.load_table(blobs_csv)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-15)
    assert [int(r[0]) for r in rows[1:]] == list(model.predict(X))
    assert "predicted component of 300 samples" in capsys.readouterr().out


def test_target_column_with_text_labels_is_split_off(tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text("a,label,b\n1.5,spam,2\n3,ham,4\n5,spam,NA\n")
    X, columns, y = gdata.load_data(path, target="label")
    assert columns == ["a", "b"]
    np.testing.assert_array_equal(X[:2], [[1.5, 2.0], [3.0, 4.0]])
    assert np.isnan(X[2, 1])
    assert list(y) == ["spam", "ham", "spam"]
    path2 = tmp_path / "num.csv"
    path2.write_text("a,y\n1,0\n2,1\n")
    assert gdata.load_data(path2, target="y")[2].dtype == np.int64


def test_target_errors(blobs_csv, tmp_path, capsys):
    rc = main(["fit", "gmm", str(blobs_csv), "--target", "nope", "-o", str(tmp_path / "m")])
    assert "no column named 'nope'" in _assert_one_line_error(rc, capsys.readouterr().err)
    rc = main(["fit", "gmm", str(blobs_csv), "--target", "a", "-o", str(tmp_path / "m")])
    assert "unsupervised" in _assert_one_line_error(rc, capsys.readouterr().err)


# ----------------------------------------------------------------------------------------
# classifiers (naive Bayes) from the command line


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lab") / "lab.csv"
    rng = np.random.RandomState(0)
    X = _blobs()
    labels = np.repeat(["left", "top", "right"], 100)
    order = rng.permutation(300)
    rows = zip(X[order].tolist(), labels[order].tolist(), strict=True)
    lines = ["a,label,b"] + [f"{x[0]!r},{lab},{x[1]!r}" for x, lab in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_classifier_fit_predict_score_and_conditional_sample(labelled_csv, tmp_path, capsys):
    model_path = tmp_path / "nb.safetensors"
    argv = ["fit", "gaussian-nb", str(labelled_csv), "--target", "label", "-o", str(model_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"classes +left, right, top", out)
    assert re.search(r"train accuracy +1\.0000", out)
    model = genmodels.load(model_path)
    assert type(model) is genmodels.GaussianNB and list(model.feature_names_in_) == ["a", "b"]
    # The labelled training file predicts as it is: the one non-feature column is the label.
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(model_path), str(labelled_csv), "-o", str(pred)]) == 0
    assert re.search(r"accuracy +1\.0000", capsys.readouterr().out)
    with pred.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["class", "p_left", "p_right", "p_top"]
    X, _, y = gdata.load_data(labelled_csv, target="label")
    assert [r[0] for r in rows[1:]] == list(y)
    proba = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-15)
    scores = tmp_path / "scores.csv"
    assert main(["score", str(model_path), str(labelled_csv), "-o", str(scores)]) == 0
    np.testing.assert_allclose(_read_csv(scores)[1].ravel(), model.score_samples(X), rtol=1e-15)
    samples = tmp_path / "top.csv"
    argv = [
        "sample",
        str(model_path),
        "-n",
        "50",
        "--class",
        "top",
        "-o",
        str(samples),
        "--seed",
        "0",
    ]
    assert main(argv) == 0
    S = _read_csv(samples)[1]
    assert np.all(model.predict(S) == "top")


def test_classifier_errors_are_one_line(labelled_csv, tmp_path, capsys):
    rc = main(["fit", "mnb", str(labelled_csv), "-o", str(tmp_path / "m.safetensors")])
    assert "needs class labels" in _assert_one_line_error(rc, capsys.readouterr().err)
    model_path = tmp_path / "nb.safetensors"
    assert main(["fit", "gnb", str(labelled_csv), "--target", "label", "-o", str(model_path)]) == 0
    rc = main(["sample", str(model_path), "--class", "bottom", "-o", str(tmp_path / "s.csv")])
    assert "no class 'bottom'" in _assert_one_line_error(rc, capsys.readouterr().err)
    gmm = tmp_path / "gmm.safetensors"
    X = _blobs()
    genmodels.GaussianMixture(2, random_state=0).fit(X).save(gmm)
    rc = main(["sample", str(gmm), "--class", "0", "-o", str(tmp_path / "s.csv")])
    assert "cannot sample from a given class" in _assert_one_line_error(rc, capsys.readouterr().err)


# ----------------------------------------------------------------------------------------
# sequence models (hidden Markov models): fit, score, decode, sample


HMM_SETTINGS = ["--set", "n_components=3", "--set", "random_state=0", "--set", "n_iter=50"]
HMM_LENGTHS = np.array([120, 80, 150, 100])
HMM_IDS = ["mon", "tue", "wed", "thu"]


def _hmm_frames() -> np.ndarray:
    """Frames of four sequences (HMM_LENGTHS) from a sticky 3-state Gaussian HMM."""
    true = genmodels.GaussianHMM(3, covariance_type="diag")
    true.startprob_ = np.array([0.5, 0.3, 0.2])
    true.transmat_ = np.array([[0.94, 0.04, 0.02], [0.03, 0.95, 0.02], [0.02, 0.03, 0.95]])
    true.means_ = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    true.covars_ = np.array([[0.5, 0.5], [1.0, 0.6], [0.6, 1.0]])
    X = true.sample(1, length=int(HMM_LENGTHS.sum()), random_state=1)
    return X.reshape(-1, 2)


@pytest.fixture(scope="module")
def hmm_npz(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seq") / "seqs.npz"
    np.savez(path, X=_hmm_frames(), lengths=HMM_LENGTHS)
    return path


@pytest.fixture(scope="module")
def hmm_csv(tmp_path_factory) -> Path:
    """The same frames as ``hmm_npz``, with a text sequence-id column between the features."""
    path = tmp_path_factory.mktemp("seq") / "ticks.csv"
    ids = np.repeat(HMM_IDS, HMM_LENGTHS)
    lines = ["price,day,volume"]
    lines += [f"{x[0]!r},{d},{x[1]!r}" for x, d in zip(_hmm_frames().tolist(), ids, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def hmm_file(hmm_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seqmodel") / "hmm.safetensors"
    argv = ["fit", "ghmm", str(hmm_csv), "--sequence-column", "day", *HMM_SETTINGS, "-o", str(out)]
    assert main([*argv, "-q"]) == 0
    return out


def test_fit_hmm_from_npz_with_lengths(hmm_npz, tmp_path, capsys):
    out = tmp_path / "hmm.safetensors"
    assert main(["fit", "gaussian-hmm", str(hmm_npz), *HMM_SETTINGS, "-o", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    model = genmodels.load(out)
    assert type(model) is genmodels.GaussianHMM and model.n_components == 3
    assert "feature_names_in_" not in vars(model)
    frames = _hmm_frames()
    assert re.search(r"data +4 sequences, 450 frames x 2 features", text)
    ll = model.score_samples(frames, HMM_LENGTHS)
    assert f"{ll.mean():.6g} nats/sequence" in text
    assert re.search(rf"BIC +{re.escape(f'{model.bic(frames, HMM_LENGTHS):.6g}')}", text)
    # the same fit as in Python
    direct = genmodels.GaussianHMM(3, random_state=0, n_iter=50).fit(frames, HMM_LENGTHS)
    np.testing.assert_allclose(model.means_, direct.means_, rtol=1e-10)
    np.testing.assert_allclose(model.transmat_, direct.transmat_, rtol=1e-10)


def test_fit_hmm_from_csv_with_a_sequence_id_column(hmm_file, hmm_npz, tmp_path, capsys):
    model = genmodels.load(hmm_file)
    assert list(model.feature_names_in_) == ["price", "volume"]
    # the same frames and lengths as the .npz: the same model
    out = tmp_path / "npz.safetensors"
    assert main(["fit", "ghmm", str(hmm_npz), *HMM_SETTINGS, "-o", str(out), "-q"]) == 0
    np.testing.assert_allclose(model.means_, genmodels.load(out).means_, rtol=1e-10)
    assert "4 sequences, 450 frames" in capsys.readouterr().out


def test_load_sequences_from_every_format(hmm_npz, hmm_csv, tmp_path):
    frames = _hmm_frames()
    X, columns, lengths, ids = gseq.load_sequences(hmm_npz)
    np.testing.assert_array_equal(X, frames)
    assert columns is None and ids is None and list(lengths) == list(HMM_LENGTHS)
    X, columns, lengths, ids = gseq.load_sequences(hmm_csv, "day")
    np.testing.assert_array_equal(X, frames)
    assert columns == ["price", "volume"] and list(ids) == HMM_IDS
    assert list(lengths) == list(HMM_LENGTHS)
    cube = np.arange(24.0).reshape(2, 3, 4)
    np.save(tmp_path / "c.npy", cube)
    np.savez(tmp_path / "c.npz", X=cube)
    for name in ("c.npy", "c.npz"):
        X, _, lengths, _ = gseq.load_sequences(tmp_path / name)
        np.testing.assert_array_equal(X, cube.reshape(6, 4))
        assert list(lengths) == [3, 3]


def test_decode_writes_the_state_of_every_frame(hmm_file, hmm_csv, tmp_path, capsys):
    out = tmp_path / "states.csv"
    assert main(["decode", str(hmm_file), str(hmm_csv), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["sequence", "frame", "state", "posterior"]
    rows = rows[1:]
    assert len(rows) == HMM_LENGTHS.sum()
    model = genmodels.load(hmm_file)
    frames = _hmm_frames()
    logprob, states = model.decode(frames, HMM_LENGTHS)
    assert [int(r[2]) for r in rows] == list(states)
    assert [r[0] for r in rows] == list(np.repeat(HMM_IDS, HMM_LENGTHS))
    assert [int(r[1]) for r in rows] == [t for n in HMM_LENGTHS for t in range(n)]
    proba = model.predict_proba(frames, HMM_LENGTHS)
    posterior = np.array([float(r[3]) for r in rows])
    np.testing.assert_allclose(posterior, proba[np.arange(len(states)), states], rtol=1e-14)
    assert "decoded 450 frames of 4 sequences (viterbi)" in text
    assert f"{logprob:.6g} nats" in text
    for k, count in enumerate(np.bincount(states, minlength=3)):
        assert re.search(rf"state {k} +{count} frames", text)


def test_decode_map_and_npz_data_number_the_sequences(hmm_file, hmm_npz, tmp_path, capsys):
    out = tmp_path / "map.csv"
    argv = ["decode", str(hmm_file), str(hmm_npz), "-o", str(out), "--algorithm", "map"]
    assert main(argv) == 0
    assert "(map)" in capsys.readouterr().out
    header, table = _read_csv(out)
    assert header == ["sequence", "frame", "state", "posterior"]
    model = genmodels.load(hmm_file)
    _, states = model.decode(_hmm_frames(), HMM_LENGTHS, algorithm="map")
    np.testing.assert_array_equal(table[:, 2], states)
    np.testing.assert_array_equal(table[:, 0], np.repeat(np.arange(4), HMM_LENGTHS))
    assert np.all(table[:, 3] >= 1 / 3)  # the most probable state of each frame


def test_score_hmm_gives_one_log_likelihood_per_sequence(
    hmm_file, hmm_csv, hmm_npz, tmp_path, capsys
):
    model = genmodels.load(hmm_file)
    expected = model.score_samples(_hmm_frames(), HMM_LENGTHS)
    out = tmp_path / "scores.csv"
    # the sequence-id column is found without --sequence-column: the one non-feature column
    assert main(["score", str(hmm_file), str(hmm_csv), "-o", str(out)]) == 0
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["sequence", "log_likelihood"]
    assert [r[0] for r in rows[1:]] == HMM_IDS
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], expected, rtol=0, atol=1e-12)
    text = capsys.readouterr().out
    assert "per sequence" in text and re.search(r"^n +4$", text, re.M)
    plain = tmp_path / "plain.csv"
    assert main(["score", str(hmm_file), str(hmm_npz), "-o", str(plain)]) == 0
    header, scores = _read_csv(plain)
    assert header == ["log_likelihood"]
    np.testing.assert_allclose(scores[:, 0], expected, rtol=0, atol=1e-12)


def test_sample_hmm_writes_lengths(hmm_file, tmp_path, capsys):
    model = genmodels.load(hmm_file)
    npz = tmp_path / "s.npz"
    argv = ["sample", str(hmm_file), "-n", "3", "--length", "40", "-o", str(npz), "--seed", "0"]
    assert main(argv) == 0
    assert "wrote 3 sequences x 40 frames x 2 features" in capsys.readouterr().out
    with np.load(npz) as archive:
        X, lengths = archive["X"], archive["lengths"]
    assert X.shape == (120, 2) and list(lengths) == [40, 40, 40]
    np.testing.assert_array_equal(X, model.sample(3, length=40, random_state=0).reshape(-1, 2))
    npy = tmp_path / "s.npy"
    assert main(["sample", str(hmm_file), "-n", "2", "-o", str(npy)]) == 0
    assert np.load(npy).shape == (2, 100, 2)  # --length defaults to 100
    csv_out = tmp_path / "s.csv"
    assert main(["sample", str(hmm_file), "-n", "2", "--length", "5", "-o", str(csv_out)]) == 0
    header, table = _read_csv(csv_out)
    assert header == ["sequence", "price", "volume"]
    np.testing.assert_array_equal(table[:, 0], [0] * 5 + [1] * 5)
    # what sample writes, decode and score read back
    capsys.readouterr()
    assert main(["decode", str(hmm_file), str(csv_out), "-o", str(tmp_path / "st.csv")]) == 0
    assert main(["score", str(hmm_file), str(npz)]) == 0
    assert re.search(r"^n +3$", capsys.readouterr().out, re.M)


def test_sequence_errors_are_one_line(gmm_file, blobs_csv, hmm_file, hmm_csv, tmp_path, capsys):
    def error(argv) -> str:
        return _assert_one_line_error(main(argv), capsys.readouterr().err)

    npz = tmp_path / "seqs.npz"
    np.savez(npz, X=_hmm_frames(), lengths=HMM_LENGTHS)
    line = error(["decode", str(gmm_file), str(npz), "-o", str(tmp_path / "s.csv")])
    assert "GaussianMixture is not a sequence model" in line and "predict" in line
    assert not (tmp_path / "s.csv").exists()
    line = error(["fit", "ghmm", str(hmm_csv), *HMM_SETTINGS, "-q"])
    assert "--sequence-column" in line
    line = error(["fit", "ghmm", str(hmm_csv), "--sequence-column", "date", "-q"])
    assert "no column named 'date'" in line and "sequence ids" in line
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("id,x\na,1\na,2\nb,3\na,4\n")
    line = error(["fit", "ghmm", str(shuffled), "--sequence-column", "id", "-q"])
    assert "sequence 'a'" in line and "data row 4" in line and "consecutive" in line
    no_lengths = tmp_path / "nolen.npz"
    np.savez(no_lengths, X=_hmm_frames())
    assert "'lengths'" in error(["fit", "ghmm", str(no_lengths), "-q"])
    bad_sum = tmp_path / "badsum.npz"
    np.savez(bad_sum, X=_hmm_frames(), lengths=[100, 100])
    assert "sum to 200 but X has 450 frames" in error(["fit", "ghmm", str(bad_sum), "-q"])
    flat = tmp_path / "flat.npy"
    np.save(flat, _hmm_frames())
    assert "3-D" in error(["score", str(hmm_file), str(flat)])
    line = error(["fit", "gmm", str(blobs_csv), "--sequence-column", "a", "-q"])
    assert "--sequence-column is for sequence models" in line
    assert "--length" in error(["sample", str(gmm_file), "--length", "5"])
    assert "decode" in error(["predict", str(hmm_file), str(hmm_csv)])
    assert "not sequences" in error(["fit", "ghmm", "builtin:iris", "-q"])


def test_help_lists_decode_and_sequence_examples(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "decode" in out and "genmodels decode hmm.safetensors" in out
    assert "--sequence-column" in out and "lengths" in out
    assert main(["decode", "--help"]) == 0
    out = capsys.readouterr().out
    for word in ("--algorithm", "viterbi", "map", "--sequence-column", "states.csv"):
        assert word in out, word


# ----------------------------------------------------------------------------------------
# Boltzmann machines: fit, sample, score and predict (hidden-unit probabilities)


def _boltzmann_data(kind: str) -> np.ndarray:
    """120 rows of 6 features from three prototypes: 0/1, real values, or category codes
    0-2 with about 15% of the entries missing (NaN)."""
    rng = np.random.RandomState(0)
    group = np.arange(120) % 3
    if kind == "binary":
        probs = rng.uniform(0.1, 0.9, size=(3, 6))
        return (rng.uniform(size=(120, 6)) < probs[group]).astype(float)
    if kind == "continuous":
        return rng.randn(3, 6)[group] * 2 + rng.randn(120, 6)
    X = ((rng.randint(0, 2, size=(120, 6)) + group[:, None]) % 3).astype(float)
    X[rng.uniform(size=X.shape) < 0.15] = np.nan
    return X


#: alias, class, input kind, extra settings: small enough that log Z is exact (4 hidden units)
BOLTZMANN = [
    ("rbm", "BernoulliRBM", "binary", []),
    ("gaussian-rbm", "GaussianBernoulliRBM", "continuous", []),
    ("categorical-rbm", "CategoricalRBM", "categorical", []),
    ("bm", "BoltzmannMachine", "binary", ["--set", "n_components=3"]),
]


@pytest.mark.parametrize(
    ("alias", "name", "kind", "extra"), BOLTZMANN, ids=[b[1] for b in BOLTZMANN]
)
def test_boltzmann_fit_sample_score_predict(alias, name, kind, extra, tmp_path, capsys):
    X = _boltzmann_data(kind)
    columns = [f"f{j}" for j in range(X.shape[1])]
    data = tmp_path / "data.csv"
    gdata.save_table(data, X, columns)
    model_path = tmp_path / "m.safetensors"
    settings = ["--set", "n_components=4", "--set", "n_iter=3", "--set", "random_state=0"]
    argv = ["fit", alias, str(data), *settings, *extra, "-o", str(model_path), "-q"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    model = genmodels.load(model_path)
    assert type(model).__name__ == name
    assert list(model.feature_names_in_) == columns
    assert model.capabilities.prediction == "hidden_units"
    # 4 hidden units: log Z is enumerated, so the summary names the likelihood exact
    assert re.search(rf"train log-likelihood +{re.escape(f'{model.score(X):.6g}')}", text)
    assert re.search(r"^log Z +\S+, exact \(enumerated\)$", text, re.M)
    assert f"saved to {model_path}" in text

    # sample: the training header, (n, D), values of the data's kind
    samples = tmp_path / "s.csv"
    assert main(["sample", str(model_path), "-n", "20", "-o", str(samples), "--seed", "0"]) == 0
    header, S = _read_csv(samples)
    assert header == columns and S.shape == (20, 6)
    assert np.isfinite(S).all()
    if kind == "binary":
        assert set(np.unique(S)) <= {0.0, 1.0}
    elif kind == "categorical":
        assert set(np.unique(S)) <= {0.0, 1.0, 2.0}

    # score: finite per-row log-likelihoods, the model's own, and their mean in the summary
    scores = tmp_path / "scores.csv"
    assert main(["score", str(model_path), str(data), "-o", str(scores)]) == 0
    text = capsys.readouterr().out
    header, ll = _read_csv(scores)
    assert header == ["log_likelihood"] and ll.shape == (120, 1)
    assert np.isfinite(ll).all()
    expected = model.score_samples(X)
    np.testing.assert_allclose(ll[:, 0], expected, rtol=0, atol=1e-6)
    assert abs(ll.mean() - model.score(X)) < 1e-6
    assert re.search(rf"^mean +{re.escape(f'{expected.mean():.6g}')}$", text, re.M)
    assert "(exact)" in text and "(estimate)" not in text

    # predict: p(h_j = 1 | x) per hidden unit, as transform gives it
    pred = tmp_path / "hidden.csv"
    assert main(["predict", str(model_path), str(data), "-o", str(pred)]) == 0
    text = capsys.readouterr().out
    header, H = _read_csv(pred)
    assert header == ["p_h0", "p_h1", "p_h2", "p_h3"][: model.n_components]
    assert H.shape == (120, model.n_components)
    assert np.all((H >= 0) & (H <= 1))
    np.testing.assert_allclose(H, model.transform(X), rtol=0, atol=1e-15)
    assert f"of 120 samples x {model.n_components} hidden units" in text


def test_boltzmann_log_z_from_fit_is_saved_and_score_reuses_it(tmp_path, monkeypatch, capsys):
    """Both layers above 20 units: log Z is an AIS estimate, computed once by fit's summary,
    saved in the file, and read back by score (which must not run AIS again)."""
    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(60, 24)) < 0.3).astype(float)
    data = tmp_path / "bin.npy"
    np.save(data, X)
    model_path = tmp_path / "rbm.safetensors"
    sets = ["n_components=22", "n_iter=1", "random_state=0", "ais_runs=10", "ais_betas=100"]
    settings = [a for s in sets for a in ("--set", s)]
    assert main(["fit", "rbm", str(data), *settings, "-o", str(model_path), "-q"]) == 0
    model = genmodels.load(model_path)
    cached = model._log_z_cache["entries"]["all"]
    assert cached.method == "ais" and cached.n_runs == 10 and cached.n_betas == 100

    def no_ais(*args, **kwargs):
        raise AssertionError("score recomputed log Z")

    monkeypatch.setattr(genmodels.BernoulliRBM, "_log_z_rows", no_ais)
    scores = tmp_path / "scores.csv"
    assert main(["score", str(model_path), str(data), "-o", str(scores)]) == 0
    ll = _read_csv(scores)[1][:, 0]
    np.testing.assert_allclose(ll, -model.free_energy(X) - cached.value, rtol=0, atol=1e-9)


def test_boltzmann_predict_and_decode_errors(tmp_path, capsys):
    X = _boltzmann_data("binary")
    data = tmp_path / "bin.npy"
    np.save(data, X)
    visible_only = tmp_path / "ising.safetensors"
    genmodels.BoltzmannMachine(0, n_iter=2, random_state=0).fit(X).save(visible_only)
    rc = main(["predict", str(visible_only), str(data)])
    line = _assert_one_line_error(rc, capsys.readouterr().err)
    assert "no hidden units" in line
    rbm = tmp_path / "rbm.safetensors"
    genmodels.BernoulliRBM(3, n_iter=2, random_state=0).fit(X).save(rbm)
    rc = main(["decode", str(rbm), str(data), "-o", str(tmp_path / "s.csv")])
    line = _assert_one_line_error(rc, capsys.readouterr().err)
    assert "not a sequence model" in line and "hidden-unit probabilities" in line
    rc = main(["predict", str(rbm), str(data), "-o", str(tmp_path / "h.txt")])
    assert ".csv" in _assert_one_line_error(rc, capsys.readouterr().err)


# ----------------------------------------------------------------------------------------
# variational autoencoders: fit (checkpoints, resume, validation), sample, score, predict,
# interpolate


def _vae_settings(epochs: int = 2, **extra) -> list[str]:
    sets = {
        "latent_dim": 2,
        "hidden_dims": "32,16",
        "epochs": epochs,
        "batch_size": 200,
        "n_importance": 8,
        "random_state": 0,
        **extra,
    }
    return [a for k, v in sets.items() for a in ("--set", f"{k}={v}")]


def _digits01() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits binarised at half intensity (0/1 pixels), and their labels."""
    X, y = gdata.builtin_dataset("digits")
    return (X > 8).astype(float), y


@pytest.fixture(scope="module")
def digits01(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vae") / "digits01.npy"
    np.save(path, _digits01()[0])
    return path


@pytest.fixture(scope="module")
def vae_file(digits01, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vae-model") / "vae.safetensors"
    assert main(["fit", "vae", str(digits01), *_vae_settings(), "-o", str(out), "-q"]) == 0
    return out


def test_fit_vae_with_settings_checkpoint_and_progress_bar(digits01, tmp_path, capsys):
    out, ckpt = tmp_path / "vae.safetensors", tmp_path / "ckpt"
    argv = ["fit", "vae", str(digits01), *_vae_settings(), "--set", "hidden_dims=24"]
    assert main([*argv, "--checkpoint-dir", str(ckpt), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "VAE" in captured.err  # the trainer's progress bar, on by default
    assert (ckpt / "checkpoint.safetensors").is_file()
    model = genmodels.load(out)
    assert type(model) is genmodels.VAE
    assert (model.latent_dim, model.hidden_dims, model.epochs) == (2, (24,), 2)
    assert model.checkpoint_dir == str(ckpt) and model.verbose == 0
    text = captured.out
    assert re.search(r"^epochs +2$", text, re.M)
    assert re.search(r"training loss \(last epoch\) +[-0-9.]+$", text, re.M)
    assert str(ckpt / "checkpoint.safetensors") in text
    X = _digits01()[0]
    score = f"{model.score(X):.6g}"
    assert re.search(rf"train estimated log-likelihood +{re.escape(score)} nats/sample", text)
    assert "IWAE, 8 samples per row" in text
    assert main(["info", str(out)]) == 0  # the network and history in one line each
    info = capsys.readouterr().out
    assert re.search(r"^  module_ +VAENet network, [\d,]+ parameters$", info, re.M)
    assert re.search(r"^  history_ +dict of \d+ \(.*loss", info, re.M)
    assert "neural" in info and "predicts=embedding" in info


def test_set_parses_comma_separated_numbers_as_tuples():
    from genmodels.cli import match_tuple_settings, parse_settings

    params = parse_settings(["hidden_dims=64,32", "image_shape=8, 8", "name=a,b", "lr=1e-3"])
    assert params == {"hidden_dims": (64, 32), "image_shape": (8, 8), "name": "a,b", "lr": 1e-3}
    defaults = genmodels.VAE().get_params()
    assert match_tuple_settings(defaults, {"hidden_dims": 64}) == {"hidden_dims": (64,)}
    assert match_tuple_settings(defaults, {"hidden_dims": [8, 4], "epochs": 3}) == {
        "hidden_dims": (8, 4),
        "epochs": 3,
    }


def test_fit_resume_continues_from_the_checkpoint(digits01, tmp_path, capsys):
    """epochs=2 with a checkpoint, then epochs=4 --resume: the same weights as epochs=4 in
    one run."""
    ckpt, fresh = tmp_path / "ckpt", tmp_path / "fresh"
    first, resumed, straight = (tmp_path / f"{n}.safetensors" for n in ("a", "b", "c"))
    base = ["fit", "vae", str(digits01), "-q"]
    assert main([*base, *_vae_settings(2), "--checkpoint-dir", str(ckpt), "-o", str(first)]) == 0
    argv = [*base, *_vae_settings(4), "--checkpoint-dir", str(ckpt), "--resume"]
    assert main([*argv, "-o", str(resumed)]) == 0
    text = capsys.readouterr().out
    assert f"resuming from {ckpt / 'checkpoint.safetensors'}" in text
    assert re.search(r"^epochs +4$", text, re.M)
    argv = [*base, *_vae_settings(4), "--checkpoint-dir", str(fresh), "--resume"]
    assert main([*argv, "-o", str(straight)]) == 0
    assert f"no checkpoint in {fresh} yet: training from the start" in capsys.readouterr().out
    a, b, c = (genmodels.load(p) for p in (first, resumed, straight))
    assert b.n_epochs_ == c.n_epochs_ == 4 and a.n_epochs_ == 2
    weights = b.module_.state_dict()
    for key, weight in c.module_.state_dict().items():
        np.testing.assert_array_equal(weights[key].numpy(), weight.numpy(), err_msg=key)
    X = _digits01()[0][:50]
    np.testing.assert_array_equal(b.score_samples(X), c.score_samples(X))
    assert not np.array_equal(a.score_samples(X), c.score_samples(X))


def test_fit_vae_with_validation_data(digits01, tmp_path, capsys):
    X = _digits01()[0]
    val = tmp_path / "val.npy"
    np.save(val, X[:100])
    out = tmp_path / "v.safetensors"
    argv = ["fit", "vae", str(digits01), *_vae_settings(), "--validation", str(val)]
    assert main([*argv, "-o", str(out), "-q"]) == 0
    model = genmodels.load(out)
    assert len(model.history_["val_loss"]) == 2
    text = capsys.readouterr().out
    last = f"{model.history_['val_loss'][-1]:.6g}"
    assert re.search(rf"validation loss \(last epoch\) +{re.escape(last)}$", text, re.M)


def test_sample_vae_to_csv_and_png(vae_file, tmp_path, capsys):
    model = genmodels.load(vae_file)
    out = tmp_path / "s.csv"
    assert main(["sample", str(vae_file), "-n", "12", "-o", str(out), "--seed", "3"]) == 0
    header, S = _read_csv(out)
    assert header == [f"x{j}" for j in range(64)] and S.shape == (12, 64)
    assert set(np.unique(S)) <= {0.0, 1.0}  # Bernoulli pixels
    np.testing.assert_array_equal(S, model.sample(12, random_state=3))
    grid = tmp_path / "grid.png"
    assert main(["sample", str(vae_file), "-n", "16", "-o", str(grid)]) == 0
    assert grid.read_bytes()[:8] == PNG_MAGIC
    assert "wrote 16 samples x 64 features" in capsys.readouterr().out


def test_score_vae_prints_the_iwae_estimate(vae_file, digits01, tmp_path, capsys):
    model = genmodels.load(vae_file)
    X = _digits01()[0]
    out = tmp_path / "scores.csv"
    argv = ["score", str(vae_file), str(digits01), "--importance", "20", "-o", str(out)]
    assert main(argv) == 0
    header, ll = _read_csv(out)
    assert header == ["log_likelihood"]
    expected = model.score_samples(X, n_importance=20)
    np.testing.assert_allclose(ll[:, 0], expected, rtol=0, atol=1e-9)
    assert not np.allclose(expected, model.score_samples(X))  # the default K is 8
    text = capsys.readouterr().out
    assert text.startswith("estimated log-likelihood per sample")
    assert re.search(rf"^mean +{re.escape(f'{expected.mean():.6g}')}$", text, re.M)
    assert "(estimate)" in text and "IWAE with 20 importance samples per row" in text
    rc = main(["score", str(vae_file), str(digits01), "--importance", "0"])
    assert "at least 1" in _assert_one_line_error(rc, capsys.readouterr().err)


def test_predict_vae_writes_the_latent_means(vae_file, digits01, tmp_path, capsys):
    model = genmodels.load(vae_file)
    X = _digits01()[0]
    out = tmp_path / "codes.csv"
    assert main(["predict", str(vae_file), str(digits01), "-o", str(out)]) == 0
    header, Z = _read_csv(out)
    assert header == ["z0", "z1"]
    np.testing.assert_allclose(Z, model.transform(X), rtol=0, atol=1e-12)
    text = capsys.readouterr().out
    assert "latent codes E[z | x] of 1797 samples x 2 latent dimensions" in text
    assert re.search(r"active dimensions +\d of 2", text)
    npy = tmp_path / "codes.npy"
    assert main(["predict", str(vae_file), str(digits01), "-o", str(npy)]) == 0
    np.testing.assert_array_equal(np.load(npy), Z)


def test_interpolate_vae_writes_a_strip_or_the_decoded_rows(vae_file, digits01, tmp_path, capsys):
    model = genmodels.load(vae_file)
    X = _digits01()[0]
    strip = tmp_path / "strip.png"
    argv = ["interpolate", str(vae_file), str(digits01), "--rows", "0", "7"]
    assert main([*argv, "-o", str(strip)]) == 0
    assert strip.read_bytes()[:8] == PNG_MAGIC
    text = capsys.readouterr().out
    assert f"decoded 10 points on the linear path from row 0 of {digits01} to row 7" in text
    rows = tmp_path / "path.csv"
    argv += ["--steps", "5", "--method", "spherical", "-o", str(rows)]
    assert main(argv) == 0
    header, path = _read_csv(rows)
    assert header == [f"x{j}" for j in range(64)]
    expected = model.interpolate(X[0], X[7], 5, method="spherical")
    np.testing.assert_allclose(path, expected, rtol=0, atol=1e-12)
    # the two rows as two files of one row each
    a, b = tmp_path / "a.csv", tmp_path / "b.npy"
    gdata.save_table(a, X[:1])
    np.save(b, X[7])
    again = tmp_path / "again.npy"
    argv = ["interpolate", str(vae_file), str(a), str(b), "--steps", "5", "--method", "spherical"]
    assert main([*argv, "-o", str(again)]) == 0
    np.testing.assert_allclose(np.load(again), expected, rtol=0, atol=1e-12)
    # row I of A and row J of B
    argv = ["interpolate", str(vae_file), str(digits01), str(b), "--rows", "3", "0"]
    assert main([*argv, "-o", str(again)]) == 0
    np.testing.assert_allclose(np.load(again), model.interpolate(X[3], X[7], 10), atol=1e-12)


def test_interpolate_needs_a_latent_space_and_two_rows(
    gmm_file, blobs_csv, vae_file, digits01, tmp_path, capsys
):
    def error(argv) -> str:
        return _assert_one_line_error(main(argv), capsys.readouterr().err)

    line = error(["interpolate", str(gmm_file), str(blobs_csv), "--rows", "0", "1"])
    assert "GaussianMixture has no continuous latent space" in line
    line = error(["interpolate", str(vae_file), str(digits01)])
    assert "--rows I J" in line
    line = error(["interpolate", str(vae_file), str(digits01), str(digits01)])
    assert "holds 1797 rows" in line and "--rows" in line
    line = error(["interpolate", str(vae_file), str(digits01), "--rows", "0", "1797"])
    assert "no row 1797" in line and "0..1796" in line
    line = error(["interpolate", str(vae_file), str(digits01), "--rows", "0", "1", "--steps", "1"])
    assert "--steps" in line
    line = error(["interpolate", str(vae_file), str(digits01), "--rows", "0", "1", "-o", "x.txt"])
    assert ".png, .csv or .npy" in line
    line = error(["interpolate", str(vae_file), str(digits01), "--rows", "0", "1", "--class", "3"])
    assert "takes no --class" in line


def test_neural_options_are_refused_where_they_do_not_apply(
    blobs_csv, gmm_file, digits01, tmp_path, capsys
):
    def error(argv) -> str:
        return _assert_one_line_error(main(argv), capsys.readouterr().err)

    for flag in (
        ["--checkpoint-dir", str(tmp_path)],
        ["--resume"],
        ["--validation", str(blobs_csv)],
    ):
        line = error(["fit", "gmm", str(blobs_csv), *flag, "-q"])
        assert f"{flag[0]} is for neural models" in line and "GaussianMixture" in line
    line = error(["fit", "vae", str(digits01), *_vae_settings(), "--resume", "-q"])
    assert "--checkpoint-dir DIR" in line
    line = error(["score", str(gmm_file), str(blobs_csv), "--importance", "10"])
    assert "--importance" in line and "exact" in line
    assert not list(tmp_path.iterdir())


def test_conditional_vae_predicts_and_interpolates_with_labels(tmp_path, capsys):
    X, y = _digits01()
    data = tmp_path / "labelled.npz"
    np.savez(data, X=X, y=y)
    out = tmp_path / "cvae.safetensors"
    argv = ["fit", "cvae", str(data), "--target", "y", *_vae_settings(), "-o", str(out), "-q"]
    assert main(argv) == 0
    capsys.readouterr()  # a fit this short may warn of posterior collapse: not under test
    model = genmodels.load(out)
    assert type(model) is genmodels.ConditionalVAE
    codes = tmp_path / "codes.csv"
    assert main(["predict", str(out), str(data), "--target", "y", "-o", str(codes)]) == 0
    np.testing.assert_allclose(_read_csv(codes)[1], model.transform(X, y), atol=1e-12)
    rc = main(["predict", str(out), str(data)])
    assert "--target" in _assert_one_line_error(rc, capsys.readouterr().err)
    path = tmp_path / "path.csv"
    argv = ["interpolate", str(out), str(data), "--rows", "0", "5", "--steps", "4"]
    assert main([*argv, "--class", "3", "-o", str(path)]) == 0
    expected = model.interpolate(X[0], X[5], 4, y=3)
    np.testing.assert_allclose(_read_csv(path)[1], expected, atol=1e-12)
    # without --class, the label of row I (from --target) is the class
    assert main([*argv, "--target", "y", "-o", str(path)]) == 0
    np.testing.assert_allclose(
        _read_csv(path)[1], model.interpolate(X[0], X[5], 4, y=y[0]), atol=1e-12
    )
    rc = main([*argv, "-o", str(path)])
    assert "--class LABEL" in _assert_one_line_error(rc, capsys.readouterr().err)
    grid = tmp_path / "threes.png"
    assert main(["sample", str(out), "-n", "8", "--class", "3", "-o", str(grid)]) == 0
    assert grid.read_bytes()[:8] == PNG_MAGIC


def test_a_missing_optional_extra_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    """A command whose optional library is not installed says which extra to install, in
    one line and exit code 1, not a traceback (here: synth without pandas)."""
    import genmodels.tabular._columns as columns

    def no_pandas():
        raise ImportError("synthetic tables need pandas: pip install 'genmodels[tabular]'")

    monkeypatch.setattr(columns, "pandas", no_pandas)
    data = tmp_path / "t.csv"
    data.write_text("a,b\n1,x\n2,y\n")
    assert main(["synth", str(data), "-o", str(tmp_path / "out.csv")]) == 1
    err = capsys.readouterr().err
    assert "pip install 'genmodels[tabular]'" in err and "Traceback" not in err
