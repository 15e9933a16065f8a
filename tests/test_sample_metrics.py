"""Sample-quality metrics (genmodels.metrics): the pure functions on feature arrays against
closed forms and hand-made point sets, the shipped MNIST classifier and its file, the
``evaluate`` command end to end; on MNIST (slow), the classifier's accuracy and the
ordering real < blurred < noise for every metric."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import scipy.linalg
from scipy.ndimage import gaussian_filter

from genmodels import datasets
from genmodels.cli import main
from genmodels.exceptions import ModelFileError
from genmodels.metrics import (
    class_coverage,
    class_histogram,
    class_histogram_distance,
    density_coverage,
    evaluate_samples,
    frechet_distance,
    frechet_distance_gaussians,
    kid,
    load_classifier,
    metric_groups,
    mnist_classifier,
    precision_recall,
)
from genmodels.metrics._classifier import WEIGHTS, MnistNet, as_images, save_classifier


def _gaussian_sets(seed=0, n=600, d=5, shift=0.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)) + shift


# -- Fréchet distance ----------------------------------------------------------------------


def test_frechet_closed_form_by_hand_for_diagonal_covariances():
    # |mu1 - mu2|^2 = 1; tr(S1 + S2 - 2 (S1 S2)^1/2) = (1 + 4 - 2*2) + (4 + 9 - 2*6) = 2
    value = frechet_distance_gaussians([0, 0], np.diag([1, 4]), [1, 0], np.diag([4, 9]))
    assert value == pytest.approx(3.0, abs=1e-12)


def test_frechet_closed_form_matches_scipy_sqrtm_for_full_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    s1, s2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    ref = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance_gaussians(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-9)


def test_frechet_of_large_gaussian_samples_approaches_the_closed_form():
    rng = np.random.default_rng(2)
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.0, -1.0])
    l1 = np.array([[1.0, 0, 0], [0.5, 1.0, 0], [0.2, -0.3, 0.7]])
    l2 = np.array([[1.5, 0, 0], [-0.4, 0.8, 0], [0.0, 0.3, 1.2]])
    x = mu1 + rng.normal(size=(200_000, 3)) @ l1.T
    y = mu2 + rng.normal(size=(200_000, 3)) @ l2.T
    exact = frechet_distance_gaussians(mu1, l1 @ l1.T, mu2, l2 @ l2.T)
    assert exact > 0.5
    assert frechet_distance(x, y) == pytest.approx(exact, rel=0.02)


def test_frechet_of_a_set_with_itself_is_zero_even_when_singular():
    x, _ = _gaussian_sets(n=20, d=50)  # 20 rows, 50 features: a singular covariance
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    relu = np.maximum(x, 0)
    relu[:, :10] = 0  # dead features
    assert frechet_distance(relu, relu) == pytest.approx(0.0, abs=1e-8)


def test_frechet_grows_with_the_shift():
    x, y1 = _gaussian_sets(shift=0.5)
    _, y2 = _gaussian_sets(shift=1.0)
    assert 0 < frechet_distance(x, y1) < frechet_distance(x, y2)


# -- KID -------------------------------------------------------------------------------------


def test_kid_of_one_distribution_is_near_zero_and_of_a_shift_is_not():
    x, y = _gaussian_sets(n=800)
    _, z = _gaussian_sets(seed=3, n=800, shift=1.0)
    same = kid(x, x, subsets=20, subset_size=200)
    alike = kid(x, y, subsets=20, subset_size=200)
    apart = kid(x, z, subsets=20, subset_size=200)
    assert abs(same[0]) < 0.05 * apart[0]
    assert abs(alike[0]) < 0.05 * apart[0]
    assert apart[0] > 3 * apart[1] / np.sqrt(20)


def test_kid_is_seeded_and_order_invariant():
    x, y = _gaussian_sets(shift=0.3)
    rng = np.random.default_rng(5)
    a = kid(x, y, subsets=10, subset_size=100, seed=7)
    assert kid(x, y, subsets=10, subset_size=100, seed=7) == a
    assert kid(x[rng.permutation(len(x))], y[rng.permutation(len(y))], 10, 100, 7) == a
    assert kid(x, y, subsets=10, subset_size=100, seed=8) != a


def test_kid_errors():
    x, y = _gaussian_sets(n=50)
    with pytest.raises(ValueError, match="subset_size"):
        kid(x, y, subset_size=51)
    with pytest.raises(ValueError, match="subsets"):
        kid(x, y, subsets=0)


# -- precision / recall, density / coverage on hand-made sets ----------------------------------


REAL = np.array([[0.0], [1.0], [2.0], [3.0]])  # k = 1: every real ball has radius 1


def test_precision_recall_known_values():
    # 0.5 is within 1 of 0 and 1, 10 is far: precision 1/2; the two fakes are 9.5 apart, so
    # each fake ball (radius 9.5 around 0.5) holds every real point: recall 1
    assert precision_recall(REAL, np.array([[0.5], [10.0]]), k=1) == (0.5, 1.0)
    # closed balls: 4.0 is exactly on the ball of 3.0
    assert precision_recall(REAL, np.array([[4.0], [10.0]]), k=1)[0] == 0.5
    # k = 2: real radii 2 for the end points, 1 for the inner ones; fake radii 1, 0.5, 1:
    # only 5.0 is within 2 of 3.0, and no real point is within 1 of 5.0 or 6.0
    assert precision_recall(REAL, np.array([[5.0], [5.5], [6.0]]), k=2) == (1 / 3, 0.0)
    # all three within 2 of 3.0; only 3.0 within 1 of 3.5
    assert precision_recall(REAL, np.array([[3.5], [4.0], [4.5]]), k=2) == (1.0, 0.25)


def test_density_coverage_known_values():
    # 0.5 lies in the balls of 0 and 1 (2 balls), 10 in none: density 2 / (k * 2) = 1;
    # balls of 0 and 1 hold a fake, those of 2 and 3 none: coverage 1/2
    assert density_coverage(REAL, np.array([[0.5], [10.0]]), k=1) == (1.0, 0.5)
    # balls are open as in Naeem et al.'s code: 4.0 on the surface of 3's ball is outside
    assert density_coverage(REAL, np.array([[4.0], [10.0]]), k=1) == (0.0, 0.0)
    # identical sets: every real point in its own ball and its k neighbours' at most
    x, _ = _gaussian_sets(n=300, d=3)
    density, coverage = density_coverage(x, x, k=5)
    assert coverage == 1.0 and 0.5 < density < 1.5


def test_knn_metrics_are_order_invariant():
    x, y = _gaussian_sets(shift=0.4, n=300)
    rng = np.random.default_rng(0)
    xp, yp = x[rng.permutation(300)], y[rng.permutation(300)]
    assert precision_recall(x, y) == precision_recall(xp, yp)
    assert density_coverage(x, y) == density_coverage(xp, yp)
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(xp, yp), rel=1e-10)


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b: frechet_distance(a, b),
        lambda a, b: kid(a, b),
        lambda a, b: precision_recall(a, b),
        lambda a, b: density_coverage(a, b),
    ],
)
def test_feature_checks(call):
    x, y = _gaussian_sets(n=30, d=4)
    bad = y.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        call(x, bad)
    with pytest.raises(ValueError, match="same number of features"):
        call(x, y[:, :3])
    with pytest.raises(ValueError, match="2-D"):
        call(x[:, 0], y)


def test_too_few_samples_for_k():
    with pytest.raises(ValueError, match="k = 3"):
        precision_recall(REAL[:3], REAL, k=3)
    with pytest.raises(ValueError, match="k = 5"):
        density_coverage(REAL, REAL, k=5)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(REAL[:1], REAL)


# -- classes ---------------------------------------------------------------------------------


def test_class_coverage_counts_classes_with_half_a_fair_share():
    labels = np.repeat(np.arange(10), 100)
    assert class_coverage(labels, 10) == 1.0
    collapsed = np.concatenate([np.zeros(955, int), np.arange(1, 10).repeat(5)])
    assert class_coverage(collapsed, 10) == 0.1  # every class present, but 9 have 5 of 100
    edge = np.concatenate([np.zeros(500, int), np.ones(50, int), np.full(450, 2)])
    assert class_coverage(edge, 10) == 0.3  # 50 = half of 1000 / 10 counts
    assert class_coverage(np.delete(edge, 500), 10) == 0.2  # 49 < 999 / 20
    probs = np.eye(10)[labels] * 0.9 + 0.01
    assert class_coverage(probs, 10) == 1.0


def test_class_histogram_distance_is_total_variation():
    a = np.array([0, 0, 1, 1])
    assert class_histogram_distance(a, 3, reference=np.array([0, 1, 1, 1])) == 0.25
    assert class_histogram_distance(a, 3, reference=np.array([2, 2])) == 1.0
    np.testing.assert_allclose(class_histogram(a, 3), [0.5, 0.5, 0])
    with pytest.raises(ValueError, match="0..2"):
        class_histogram(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="columns"):
        class_coverage(np.ones((4, 5)) / 5, 10)


# -- the shipped classifier ----------------------------------------------------------------


def test_the_shipped_file_loads_without_pickle_and_describes_itself(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the classifier file must not be unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr("torch.load", refuse)
    clf = load_classifier(WEIGHTS)
    meta = clf.metadata
    assert meta["test_accuracy"] >= 0.99
    assert "train_mnist_classifier.py" in meta["training_command"]
    assert "[0, 1]" in meta["input_convention"]
    assert WEIGHTS.stat().st_size < 2_000_000
    assert mnist_classifier() is mnist_classifier()  # cached


def test_corrupt_or_foreign_files_are_clear_errors(tmp_path):
    data = WEIGHTS.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        load_classifier(cut)
    pkl = tmp_path / "net.pt"
    pkl.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError, match="pickle"):
        load_classifier(pkl)
    from safetensors.numpy import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(foreign))
    with pytest.raises(ModelFileError, match="not a genmodels MNIST classifier"):
        load_classifier(foreign)
    wrong = tmp_path / "wrong.safetensors"
    save_classifier(MnistNet(n_features=16), wrong, {})
    raw = bytearray(wrong.read_bytes())
    wrong.write_bytes(bytes(raw).replace(b'"n_features\\": 16', b'"n_features\\": 32'))
    with pytest.raises(ModelFileError, match="shape"):
        load_classifier(wrong)


def test_input_convention():
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    clf = mnist_classifier()
    f = clf.features(u8)
    assert f.shape == (6, clf.n_features) and f.dtype == np.float64
    np.testing.assert_allclose(clf.features(u8.reshape(6, 784) / 255.0), f, rtol=1e-5, atol=1e-5)
    p = clf.predict_proba(u8)
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_array_equal(clf.predict(u8), p.argmax(1))
    np.testing.assert_array_equal(as_images(np.full((1, 784), 1.3)), np.ones((1, 28, 28)))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\) or \(N, 784\)"):
        clf.features(np.zeros((3, 64)))
    with pytest.raises(ValueError, match="divide 0-255 floats by 255"):
        clf.features(u8.astype(np.float64))
    with pytest.raises(ValueError, match="NaN"):
        clf.features(np.full((2, 784), np.nan))


# -- evaluate_samples ----------------------------------------------------------------------


def _blobs(seed, n=120):
    """Bright squares at random places on black: image-like [0, 1] data."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28))
    for i, (r, c) in enumerate(rng.integers(4, 18, size=(n, 2))):
        x[i, r : r + 8, c : c + 6] = 1.0
    return x


def test_evaluate_samples_is_seeded_order_invariant_and_zero_for_one_set():
    ref, samples = _blobs(0), _blobs(1)
    out = evaluate_samples(samples, ref, seed=3)
    assert list(out) == [
        "fid", "kid", "kid_std", "precision", "recall", "density", "coverage",
        "class_coverage", "class_tv",
    ]  # fmt: skip
    assert all(isinstance(v, float) for v in out.values())
    assert evaluate_samples(samples, ref, seed=3) == out
    perm = np.random.default_rng(0).permutation(len(samples))
    again = evaluate_samples(samples[perm], ref, seed=3)
    assert again == pytest.approx(out, rel=1e-6, abs=1e-9)  # float32 features
    self = evaluate_samples(ref, ref, ("fid", "pr", "classes"))
    assert self["fid"] == pytest.approx(0, abs=1e-6)
    assert self["precision"] == self["recall"] == 1.0 and self["class_tv"] == 0.0
    noise = evaluate_samples(np.random.default_rng(0).random((120, 784)), ref, ("fid",))
    assert noise["fid"] > out["fid"] > 0


def test_metric_names():
    assert metric_groups("fid,kid,pr,coverage") == ["fid", "kid", "pr", "dc"]
    assert metric_groups(["classes", "fid", "fid"]) == ["fid", "classes"]
    with pytest.raises(ValueError, match="unknown metric 'is'"):
        metric_groups("fid,is")


# -- genmodels evaluate ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def image_gmm(tmp_path_factory):
    d = tmp_path_factory.mktemp("evaluate")
    train = _blobs(2, n=200).reshape(200, 784)
    np.save(d / "train.npy", train)
    np.save(d / "ref.npy", _blobs(3, n=150))
    model = d / "gmm.safetensors"
    settings = ["--set", "n_components=3", "--set", "covariance_type=diag", "--set",
                "random_state=0"]  # fmt: skip
    assert main(["fit", "gmm", str(d / "train.npy"), *settings, "-o", str(model), "-q"]) == 0
    return model, d / "ref.npy"


def test_cli_evaluate_end_to_end(image_gmm, capsys):
    model, ref = image_gmm
    capsys.readouterr()
    args = ["evaluate", str(model), "--reference", str(ref), "-n", "100", "--seed", "1"]
    assert main([*args, "--metrics", "fid,kid,pr,coverage", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_samples"] == out["n_reference"] == 100
    assert set(out) >= {"fid", "kid", "kid_std", "precision", "recall", "density", "coverage"}
    assert "class_coverage" not in out
    assert main([*args, "--metrics", "fid,kid,pr,coverage", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == out  # same seed, same numbers
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "not Inception-FID" in text and "class_coverage" in text


def test_cli_evaluate_errors(image_gmm, tmp_path, capsys):
    model, ref = image_gmm
    digits = tmp_path / "digits.safetensors"
    settings = ["--set", "n_components=2", "--set", "random_state=0"]
    assert main(["fit", "gmm", "builtin:digits", *settings, "-o", str(digits), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(digits), "--reference", str(ref), "-n", "50"]) == 1
    err = capsys.readouterr().err
    assert "64 features" in err and "784 = 28x28" in err
    assert main(["evaluate", str(model), "--reference", str(ref), "--metrics", "fid,is"]) == 1
    assert "unknown metric 'is'" in capsys.readouterr().err
    assert main(["evaluate", str(model), "--reference", str(tmp_path / "r.csv")]) == 1
    assert "mnist-test, mnist-train or a .npy file" in capsys.readouterr().err


# -- on MNIST ----------------------------------------------------------------------------


def _mnist():
    try:
        return datasets.mnist()
    except datasets.DatasetNotFound as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
def test_shipped_classifier_is_at_least_99_percent_on_mnist_test():
    data = _mnist()
    assert mnist_classifier().score(data["test_images"], data["test_labels"]) >= 0.99


@pytest.mark.slow
def test_real_beats_blurred_beats_noise():
    """The ordering real < blurred < noise holds for every feature metric. The class
    metrics see digits, not sharpness (blurred digits keep their classes, so real and
    blurred tie there): for those, noise is the worst."""
    data = _mnist()
    test = data["test_images"].astype(np.float64) / 255
    ref, real = test[:5000], test[5000:]
    rng = np.random.default_rng(0)
    sets = {
        "real": real,
        "blurred": gaussian_filter(real, sigma=(0, 1, 1)),
        "noise": rng.random(real.shape),
    }
    res = {k: evaluate_samples(v, ref, kid_subsets=20) for k, v in sets.items()}
    for key in ("fid", "kid"):  # lower is better
        assert res["real"][key] < res["blurred"][key] < res["noise"][key], key
    for key in ("precision", "recall", "density", "coverage"):  # higher is better
        assert res["real"][key] > res["blurred"][key] > res["noise"][key], key
    assert res["real"]["class_coverage"] == res["blurred"]["class_coverage"] == 1.0
    assert res["noise"]["class_coverage"] < 0.5
    assert max(res["real"]["class_tv"], res["blurred"]["class_tv"]) < 0.05
    assert res["noise"]["class_tv"] > 0.5
    assert res["real"]["precision"] > 0.8 and res["real"]["recall"] > 0.6
