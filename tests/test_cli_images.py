"""The command line on folders of images (issue 14): ``genmodels fit MODEL FOLDER`` reads
PNG files (class subfolders label them) into channel-last rows in the pixel convention
the model takes, sets ``image_shape``, takes held-out images with their labels for
``--validation``, and ``genmodels sample -o grid.png`` draws the model's images in their
shape and colours."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import genmodels
from genmodels.cli import images
from genmodels.cli.main import main

PIXELCNN = [
    "--set",
    "n_layers=1",
    "--set",
    "channels=4",
    "--set",
    "epochs=1",
    "--set",
    "random_state=0",
    "--quiet",
]


def _grey(n=12, h=5, w=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w), dtype=np.uint8)


def _write(folder, arrays, labels=None):
    for i, a in enumerate(arrays):
        sub = folder if labels is None else folder / str(labels[i])
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(sub / f"{i:03d}.png")
    return folder


def test_a_folder_of_grey_pngs_reads_back_pixel_for_pixel(tmp_path):
    arrays = _grey()
    data = images.load_images(_write(tmp_path / "flat", arrays))
    assert data.images.dtype == np.uint8 and data.labels is None
    np.testing.assert_array_equal(data.images, arrays)
    assert data.image_shape == (5, 4)


def test_class_subfolders_label_the_images_and_colour_stays_colour(tmp_path):
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, size=(6, 3, 4, 3), dtype=np.uint8)
    labels = ["cat", "dog", "cat", "dog", "dog", "cat"]
    data = images.load_images(_write(tmp_path / "classes", colour, labels))
    order = np.argsort([f"{lab}/{i:03d}" for i, lab in enumerate(labels)], kind="stable")
    np.testing.assert_array_equal(data.images, colour[order])
    assert data.labels.tolist() == sorted(labels)
    assert data.image_shape == (3, 4, 3)


def test_unreadable_mixed_size_and_empty_folders_are_clear_errors(tmp_path):
    folder = _write(tmp_path / "mixed", [_grey(1)[0], _grey(1, 6, 6)[0]])
    with pytest.raises(ValueError, match="share one size"):
        images.load_images(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        images.load_images(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="x.png: not a readable image"):
        images.load_images(bad)


def test_pixel_conventions():
    x = np.array([0, 127, 128, 255], dtype=np.uint8)
    np.testing.assert_array_equal(images.pixels_for(x, "levels"), [0, 127, 128, 255])
    np.testing.assert_array_equal(images.pixels_for(x, "levels", n_levels=4), [0, 1, 2, 3])
    np.testing.assert_allclose(images.pixels_for(x, "unit"), x / 255.0)
    np.testing.assert_array_equal(images.pixels_for(x, "binary"), [0, 0, 1, 1])
    assert images.model_pixels(genmodels.PixelCNN, {"n_levels": 256}) == "levels"
    assert images.model_pixels(genmodels.PixelCNN, {}) == "binary"
    assert images.model_pixels(genmodels.VAE, {}) == "binary"
    assert images.model_pixels(genmodels.VAE, {"likelihood": "gaussian"}) == "unit"
    assert images.model_pixels(genmodels.VAE, {"likelihood": "categorical"}) == "levels"
    assert images.model_pixels(genmodels.GaussianMixture, {}) == "unit"


def test_fit_pixelcnn_on_class_folders_scores_the_images_it_read(tmp_path, capsys):
    arrays = _grey(12)
    labels = [i % 2 for i in range(12)]
    folder = _write(tmp_path / "digits", arrays, labels)
    out = tmp_path / "p.safetensors"
    assert (
        main(["fit", "pixelcnn", str(folder), "--set", "n_levels=256", *PIXELCNN, "-o", str(out)])
        == 0
    )
    model = genmodels.load(out)
    assert tuple(model.image_shape_) == (5, 4) and model.classes_.tolist() == ["0", "1"]
    data = images.load_images(folder)
    rows = data.images.reshape(12, -1).astype(np.float64)  # levels 0..255, as read
    direct = model.score_samples(rows, y=data.labels)
    assert np.all(np.isfinite(direct)) and direct.mean() < 0
    assert f"{direct.mean():.6g}" in capsys.readouterr().out.replace(",", "")


def test_fit_a_classifier_on_class_folders_matches_fitting_the_arrays(tmp_path):
    arrays = _grey(20, 4, 4, seed=3)
    labels = [i % 3 for i in range(20)]
    folder = _write(tmp_path / "c", arrays, labels)
    out = tmp_path / "nb.safetensors"
    assert main(["fit", "gaussian-nb", str(folder), "-q", "-o", str(out)]) == 0
    data = images.load_images(folder)
    rows = data.images.reshape(20, -1) / 255.0  # auto: values in [0, 1] for a Gaussian model
    ref = genmodels.GaussianNB().fit(rows, data.labels)
    np.testing.assert_allclose(genmodels.load(out).predict_proba(rows), ref.predict_proba(rows))


def test_unsupervised_models_refuse_class_folders_and_table_options(tmp_path, capsys):
    folder = _write(tmp_path / "c", _grey(4), [0, 1, 0, 1])
    assert main(["fit", "gmm", str(folder), "-q"]) == 1
    assert "GaussianMixture is unsupervised" in capsys.readouterr().err
    flat = _write(tmp_path / "f", _grey(4))
    assert main(["fit", "gmm", str(flat), "--target", "y", "-q"]) == 1
    assert "labels come from class subfolders" in capsys.readouterr().err


def test_colour_vae_gets_image_shape_and_draws_a_colour_grid(tmp_path):
    rng = np.random.default_rng(2)
    colour = rng.integers(0, 256, size=(8, 4, 4, 3), dtype=np.uint8)
    colour[..., 0] = 255  # red everywhere: the grid must show colour, not grey
    folder = _write(tmp_path / "col", colour)
    out = tmp_path / "v.safetensors"
    args = [
        "fit",
        "vae",
        str(folder),
        "--set",
        "likelihood=gaussian",
        "--set",
        "epochs=1",
        "--set",
        "latent_dim=2",
        "--set",
        "random_state=0",
        "-q",
        "-o",
        str(out),
    ]
    assert main(args) == 0
    model = genmodels.load(out)
    assert tuple(model.image_shape) == (4, 4, 3) and model.feature_shape_ == (3, 4, 4)
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out), "-n", "4", "-o", str(grid), "--seed", "0"]) == 0
    assert Image.open(grid).size[0] > 0


def test_colour_grids_draw_the_images_own_colours(tmp_path):
    from genmodels.figures import save_image_grid

    red = np.zeros((4, 6, 6, 3))
    red[..., 0] = 1.0
    drawn = np.asarray(Image.open(save_image_grid(red, tmp_path / "r.png")).convert("RGB"))
    reddish = (drawn[..., 0] > 200) & (drawn[..., 1] < 60) & (drawn[..., 2] < 60)
    assert reddish.mean() > 0.2  # the tiles are red, not a grey colormap
    with pytest.raises(ValueError, match=r"\(n, H, W, 3\)"):
        save_image_grid(np.zeros((2, 3, 3, 2)), tmp_path / "x.png")


def test_validation_images_keep_their_labels_for_a_conditional_model(tmp_path):
    arrays = _grey(12)
    folder = _write(tmp_path / "train", arrays[:8], [i % 2 for i in range(8)])
    held = _write(tmp_path / "val", arrays[8:], [0, 1, 0, 1])
    out = tmp_path / "p.safetensors"
    assert (
        main(["fit", "pixelcnn", str(folder), "--validation", str(held), *PIXELCNN, "-o", str(out)])
        == 0
    )
    model = genmodels.load(out)
    data = images.load_images(held)
    rows = (data.images.reshape(4, -1) >= 128).astype(np.float64)
    expected = -model.score_samples(rows, y=data.labels).mean()
    val = [v for k, v in model.history_.items() if k.startswith("val")]
    # the validation loss (nats per pixel) is the held-out images' NLL given their labels
    assert val and np.isclose(np.ravel(val[0])[-1], expected / rows.shape[1], rtol=1e-4)


def test_validation_csv_keeps_the_target_column_for_a_conditional_model(tmp_path):
    rng = np.random.default_rng(4)
    X = (rng.random((10, 6)) > 0.5).astype(int)
    lines = ["a,b,c,d,e,f,label"] + [",".join(map(str, r)) + f",{i % 2}" for i, r in enumerate(X)]
    (tmp_path / "t.csv").write_text("\n".join(lines[:7]) + "\n")
    (tmp_path / "v.csv").write_text("\n".join([lines[0], *lines[7:]]) + "\n")
    out = tmp_path / "p.safetensors"
    args = [
        "fit",
        "pixelcnn",
        str(tmp_path / "t.csv"),
        "--target",
        "label",
        "--set",
        "image_shape=2,3",
        "--validation",
        str(tmp_path / "v.csv"),
        *PIXELCNN,
        "-o",
        str(out),
    ]
    assert main(args) == 0
    model = genmodels.load(out)
    held, labels = X[6:].astype(np.float64), np.arange(6, 10) % 2
    expected = -model.score_samples(held, y=labels).mean() / 6
    val = [v for k, v in model.history_.items() if k.startswith("val")]
    assert val and np.isclose(np.ravel(val[0])[-1], expected, rtol=1e-4)


def _conditional_pixelcnn(tmp_path):
    arrays = _grey(12)
    folder = _write(tmp_path / "train", arrays, [i % 2 for i in range(12)])
    out = tmp_path / "p.safetensors"
    assert main(["fit", "pixelcnn", str(folder), *PIXELCNN, "-o", str(out)]) == 0
    return folder, out, genmodels.load(out)


def test_score_a_conditional_model_given_the_classes(tmp_path, capsys):
    """score gives log p(x | class) of a model fitted on labels: from an image folder's
    subfolders, --class for every row, or --labels; without them, a clear error."""
    folder, out, model = _conditional_pixelcnn(tmp_path)
    data = images.load_images(folder)
    rows = (data.images.reshape(12, -1) >= 128).astype(np.float64)
    scores = tmp_path / "s.csv"
    assert main(["score", str(out), str(folder), "-o", str(scores)]) == 0
    got = np.loadtxt(scores, delimiter=",", skiprows=1)
    np.testing.assert_allclose(got, model.score_samples(rows, y=data.labels), rtol=1e-6)
    np.save(tmp_path / "rows.npy", rows)
    assert (
        main(["score", str(out), str(tmp_path / "rows.npy"), "--class", "1", "-o", str(scores)])
        == 0
    )
    ones = model.score_samples(rows, y=np.full(12, "1"))
    np.testing.assert_allclose(np.loadtxt(scores, delimiter=",", skiprows=1), ones, rtol=1e-6)
    (tmp_path / "y.txt").write_text("\n".join(data.labels) + "\n")
    assert (
        main(
            [
                "score",
                str(out),
                str(tmp_path / "rows.npy"),
                "--labels",
                str(tmp_path / "y.txt"),
                "-o",
                str(scores),
            ]
        )
        == 0
    )
    np.testing.assert_allclose(np.loadtxt(scores, delimiter=",", skiprows=1), got, rtol=1e-6)
    capsys.readouterr()
    assert main(["score", str(out), str(tmp_path / "rows.npy")]) == 1
    assert "--class LABEL (classes: 0, 1)" in capsys.readouterr().err
    assert main(["score", str(out), str(tmp_path / "rows.npy"), "--class", "7"]) == 1
    assert "has no class '7'" in capsys.readouterr().err


def test_complete_inpaints_a_conditional_model_in_the_class_asked_for(tmp_path, capsys):
    folder, out, _ = _conditional_pixelcnn(tmp_path)
    png = sorted((folder / "1").glob("*.png"))[0]
    strip = tmp_path / "in.png"
    args = ["complete", str(out), "--image", str(png), "--samples", "2", "--seed", "0"]
    assert main([*args, "--class", "1", "-o", str(strip)]) == 0 and strip.is_file()
    capsys.readouterr()
    assert main([*args, "-o", str(strip)]) == 1
    assert "choose the class to complete in with --class" in capsys.readouterr().err


def test_predict_reads_an_image_folder_for_a_classifier(tmp_path):
    arrays = _grey(20, 4, 4, seed=5)
    folder = _write(tmp_path / "c", arrays, [i % 2 for i in range(20)])
    out = tmp_path / "nb.safetensors"
    assert main(["fit", "gaussian-nb", str(folder), "-q", "-o", str(out)]) == 0
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out), str(folder), "-o", str(pred)]) == 0
    model = genmodels.load(out)
    rows = images.load_images(folder).images.reshape(20, -1) / 255.0
    written = np.loadtxt(pred, delimiter=",", skiprows=1, usecols=(1, 2))
    np.testing.assert_allclose(written, model.predict_proba(rows), rtol=1e-6)
