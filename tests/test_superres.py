"""SuperResolution, its protocol and ``genmodels upscale``: tiny networks trained for a
few seconds on scikit-image's pictures or generated ones."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("skimage", reason="super-resolution tests need genmodels[image]")

from skimage import data as skdata  # noqa: E402

from genmodels.cli import main  # noqa: E402
from genmodels.exceptions import ModelFileError, NotFittedError  # noqa: E402
from genmodels.superres import SuperResolution, imresize, rgb_to_y  # noqa: E402
from genmodels.superres._resize import resize_matrix  # noqa: E402
from genmodels.superres.evaluation import (  # noqa: E402
    bicubic_upscale,
    downscale,
    evaluate,
    psnr_y,
    ssim_y,
)

TINY = dict(n_blocks=1, channels=8, patch_size=8, batch_size=4, epochs=1, steps_per_epoch=5)


def _training_image() -> np.ndarray:
    return skdata.astronaut()[100:196, 150:246]  # (96, 96, 3) uint8: a face and a badge


@pytest.fixture(scope="module")
def tiny4():
    return SuperResolution(scale=4, **TINY).fit(_training_image())


@pytest.fixture(scope="module")
def tiny2():
    return SuperResolution(scale=2, **TINY).fit(_training_image())


# -- bicubic and the protocol --------------------------------------------------------------


def test_resize_matrix_rows_sum_to_one_and_shrinking_a_ramp_averages_pairs():
    for n, s in ((16, 0.5), (17, 0.25), (9, 2.0), (10, 4.0)):
        m = resize_matrix(n, s)
        assert m.shape == (int(np.ceil(n * s)), n)
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-12)
    # Cubic convolution reproduces linear functions: away from the mirrored edges, the
    # antialiased x1/2 of a ramp is the ramp at the new sample positions 2i + 0.5.
    ramp = np.arange(32, dtype=np.float64)
    half = resize_matrix(32, 0.5) @ ramp
    np.testing.assert_allclose(half[3:-3], 2 * np.arange(16)[3:-3] + 0.5, atol=1e-9)
    # Upscaling a ramp x2: positions (x + 0.5) / 2 - 0.5 in the input.
    up = resize_matrix(32, 2.0) @ ramp
    np.testing.assert_allclose(up[4:-4], (np.arange(64)[4:-4] + 0.5) / 2 - 0.5, atol=1e-9)


def test_imresize_keeps_uint8_and_a_constant_image():
    im = np.full((12, 10, 3), 77, np.uint8)
    small = imresize(im, 0.5)
    assert small.dtype == np.uint8 and small.shape == (6, 5, 3)
    assert (small == 77).all()
    assert imresize(small, 2.0).shape == (12, 10, 3)


def test_psnr_and_ssim_on_y_match_a_hand_computation():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    r, g, bl = (a[..., i] / 255.0 for i in range(3))
    ya = 16 + 65.481 * r + 128.553 * g + 24.966 * bl
    np.testing.assert_allclose(rgb_to_y(a), ya)
    yb = rgb_to_y(b)
    mse = np.mean((ya[3:-3, 3:-3] - yb[3:-3, 3:-3]) ** 2)
    assert psnr_y(a, b, border=3) == pytest.approx(10 * np.log10(255.0**2 / mse), rel=1e-12)
    assert psnr_y(a, b, border=0) != pytest.approx(psnr_y(a, b, border=3), rel=1e-6)
    assert ssim_y(a, a, border=3) == pytest.approx(1.0)
    assert 0 < ssim_y(a, b, border=3) < 1
    with pytest.raises(ValueError, match="differ in shape"):
        psnr_y(a, b[:-1], border=3)


def test_the_protocol_crops_to_a_multiple_of_the_scale():
    hr = skdata.astronaut()[:103, :98]
    lr = downscale(hr, 4)
    assert lr.shape == (25, 24, 3) and lr.dtype == np.uint8
    assert bicubic_upscale(lr, 4).shape == (100, 96, 3)
    (row,) = evaluate({"x": hr}, 4)
    assert row.name == "x" and 15 < row.psnr < 40 and 0 < row.ssim < 1


# -- upscale -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7, 11), (7, 11, 3), (2, 5, 9, 3), (3, 5, 9)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_upscale_gives_scale_times_the_size_in_the_kind_it_was_given(tiny4, tiny2, shape, dtype):
    rng = np.random.default_rng(1)
    x = rng.random(shape)
    x = (x * 255).astype(np.uint8) if dtype == np.uint8 else x.astype(dtype)
    for model in (tiny2, tiny4):
        s = model.scale
        y = model.upscale(x)
        expected = list(shape)
        spatial = (-3, -2) if shape[-1] == 3 and len(shape) >= 3 else (-2, -1)
        for ax in spatial:
            expected[ax] *= s
        assert y.shape == tuple(expected)
        assert y.dtype == (np.uint8 if dtype == np.uint8 else np.float32)
        if dtype != np.uint8:
            assert 0 <= y.min() and y.max() <= 1


def test_a_list_of_images_of_different_sizes_comes_back_as_a_list(tiny2):
    out = tiny2.upscale([np.zeros((5, 6), np.uint8), np.zeros((9, 4, 3), np.uint8)])
    assert [o.shape for o in out] == [(10, 12), (18, 8, 3)]


def test_tiled_upscaling_equals_whole_image_upscaling(tiny4):
    rng = np.random.default_rng(2)
    x = rng.random((37, 29, 3)).astype(np.float32)
    whole = tiny4.upscale(x)
    tiled = SuperResolution(**{**tiny4.get_params(), "tile_size": 8})
    tiled.module_, tiled.history_, tiled.n_images_ = tiny4.module_, {}, 1
    np.testing.assert_allclose(tiled.upscale(x), whole, atol=1e-5)
    # and the overlap matters: tiles with too little of it change pixels near the seams
    assert tiny4.halo() == 9  # 1 block (2 convolutions) + 3 at LR, 2 after, 2 for bicubic
    tiled.halo = lambda: 2  # an instance attribute, only on this copy
    assert np.abs(tiled.upscale(x) - whole).max() > 1e-3


def test_grey_is_upscaled_as_equal_channels(tiny2):
    # mid-range greys, so that no channel is clipped and the mean is exact
    grey = (0.3 + 0.4 * skdata.camera()[200:230, 200:240] / 255).astype(np.float32)
    as_rgb = tiny2.upscale(np.repeat(grey[..., None], 3, axis=-1))
    out = tiny2.upscale(grey)
    assert out.shape == (60, 80)
    assert 0 < as_rgb.min() and as_rgb.max() < 1
    np.testing.assert_allclose(out, as_rgb.mean(axis=-1), atol=1e-6)


def test_a_briefly_trained_tiny_model_beats_bicubic_on_its_training_image():
    hr = _training_image()
    model = SuperResolution(
        scale=2, n_blocks=2, channels=16, patch_size=12, batch_size=8, epochs=3,
        steps_per_epoch=50, lr=2e-3,
    ).fit(hr)  # fmt: skip
    lr = downscale(hr, 2)
    ours = psnr_y(hr, model.upscale(lr), 2)
    bicubic = psnr_y(hr, bicubic_upscale(lr, 2), 2)
    assert ours > bicubic + 0.3, (ours, bicubic)
    assert model.history_["loss"][-1] < model.history_["loss"][0]


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    hr = _training_image()
    a = SuperResolution(scale=2, **TINY, random_state=3).fit(hr)
    b = SuperResolution(scale=2, **TINY, random_state=3).fit(hr)
    c = SuperResolution(scale=2, **TINY, random_state=4).fit(hr)
    wa, wb, wc = (next(m.module_.parameters()).detach() for m in (a, b, c))
    assert (wa == wb).all() and not (wa == wc).all()


def test_resumed_training_equals_an_uninterrupted_run(tmp_path):
    hr = _training_image()
    # a constant rate: a cosine schedule spans `epochs`, which differs between the runs
    params = dict(scale=2, **TINY, lr_schedule="constant", checkpoint_dir=str(tmp_path))
    params["epochs"] = 2
    full = SuperResolution(**{**params, "checkpoint_dir": None}).fit(hr)
    SuperResolution(**{**params, "epochs": 1}).fit(hr)
    resumed = SuperResolution(**params).fit(hr, resume=True)
    for p, q in zip(full.module_.parameters(), resumed.module_.parameters(), strict=True):
        assert (p == q).all()


def test_fit_follows_the_estimator_conventions():
    model = SuperResolution(scale=2, **TINY)
    assert model.get_params()["n_blocks"] == 1 and not hasattr(model, "module_")
    assert model.fit(_training_image()) is model
    assert {"module_", "history_", "n_images_"} <= set(vars(model))


# -- errors --------------------------------------------------------------------------------


def test_unfitted_upscale_is_a_clear_error():
    with pytest.raises(NotFittedError, match="not fitted"):
        SuperResolution().upscale(np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((8, 8), np.nan), "NaN"),
        (np.zeros(8), "expected an image"),
        (np.zeros((2, 8, 8, 4)), "expected an image"),
        (np.zeros((1, 5, 3), np.uint8), "at least 2x2"),
        (np.full((8, 8), 200.0), r"in \[0, 1\]"),
        (np.zeros((8, 8), np.uint16), "must be uint8"),
        (np.zeros((0, 8)), "empty"),
    ],
)
def test_bad_images_are_clear_errors(tiny2, bad, match):
    with pytest.raises(ValueError, match=match):
        tiny2.upscale(bad)


def test_bad_hyper_parameters_and_small_training_images_are_clear_errors():
    with pytest.raises(ValueError, match="scale"):
        SuperResolution(scale=3).fit(_training_image())
    with pytest.raises(ValueError, match="no training image is at least 96x96"):
        SuperResolution(scale=4, patch_size=24).fit(np.zeros((90, 90, 3), np.uint8))
    with pytest.warns(UserWarning, match="1 training image"):
        SuperResolution(scale=2, **TINY).fit([_training_image(), np.zeros((10, 10), np.uint8)])


# -- files ---------------------------------------------------------------------------------


def test_save_and_load_give_identical_upscales(tiny4, tmp_path):
    path = tmp_path / "sr.safetensors"
    tiny4.save(path)
    loaded = SuperResolution.load(path)
    assert loaded.get_params() == tiny4.get_params()
    assert loaded.history_ == tiny4.history_
    x = skdata.astronaut()[:21, :17]
    np.testing.assert_array_equal(loaded.upscale(x), tiny4.upscale(x))


def test_corrupt_and_foreign_files_are_clear_errors(tiny2, tmp_path):
    path = tmp_path / "sr.safetensors"
    tiny2.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        SuperResolution.load(tmp_path / "cut.safetensors")
    (tmp_path / "pickle.safetensors").write_bytes(b"\x80\x04" + b"\x00" * 40)
    with pytest.raises(ModelFileError, match="pickle"):
        SuperResolution.load(tmp_path / "pickle.safetensors")
    from genmodels import GaussianMixture

    gmm = GaussianMixture(n_components=1).fit(np.random.default_rng(0).normal(size=(20, 2)))
    gmm.save(tmp_path / "gmm.safetensors")
    with pytest.raises(ModelFileError, match="GaussianMixture model file, not a super-res"):
        SuperResolution.load(tmp_path / "gmm.safetensors")
    with pytest.raises(FileNotFoundError):
        SuperResolution.load(tmp_path / "missing.safetensors")


def test_a_file_with_other_weights_is_a_clear_error(tiny2, tmp_path):
    import json

    from safetensors.torch import load as st_load
    from safetensors.torch import save as st_save

    path = tmp_path / "sr.safetensors"
    tiny2.save(path)
    from genmodels.persistence import safetensors_header

    meta = safetensors_header(path.read_bytes(), path)["__metadata__"]
    params = json.loads(meta["params"])
    params["channels"] = 16  # the weights are for 8
    meta["params"] = json.dumps(params)
    path.write_bytes(st_save(st_load(path.read_bytes()), metadata=meta))
    with pytest.raises(ModelFileError, match="weights do not fit"):
        SuperResolution.load(path)


# -- the command line ----------------------------------------------------------------------


def test_cli_upscales_png_rgb_grey_alpha_and_npy(tiny2, tmp_path, capsys):
    from PIL import Image

    model = tmp_path / "sr.safetensors"
    tiny2.save(model)
    rgb = skdata.astronaut()[:33, :21]
    cases = {
        "rgb": (Image.fromarray(rgb), "RGB", (42, 66)),
        "grey": (Image.fromarray(rgb[..., 0]), "L", (42, 66)),
        "alpha": (Image.fromarray(np.dstack([rgb, rgb[..., 1]])), "RGBA", (42, 66)),
    }
    for name, (im, mode, size) in cases.items():
        im.save(tmp_path / f"{name}.png")
        out = tmp_path / f"{name}_big.png"
        assert main(["upscale", str(model), str(tmp_path / f"{name}.png"), "-o", str(out)]) == 0
        with Image.open(out) as big:
            assert big.mode == mode and big.size == size
    big_rgb = np.asarray(Image.open(tmp_path / "rgb_big.png"))
    np.testing.assert_array_equal(big_rgb, tiny2.upscale(rgb))
    assert "x2" in capsys.readouterr().out
    arr = rgb.astype(np.float32) / 255
    np.save(tmp_path / "in.npy", arr)
    args = ["upscale", str(model), str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy")]
    assert main([*args, "--tile-size", "8"]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), tiny2.upscale(arr), atol=1e-5)


def test_cli_info_describes_a_super_resolution_file(tiny2, tmp_path, capsys):
    model = tmp_path / "sr.safetensors"
    tiny2.save(model)
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "genmodels-superres" in out and "SRResNet network" in out and "x2" in out


def test_cli_errors_are_one_line(tiny2, tmp_path, capsys):
    model = tmp_path / "sr.safetensors"
    tiny2.save(model)
    np.save(tmp_path / "batch.npy", np.zeros((2, 8, 8, 3), np.uint8))
    np.save(tmp_path / "nan.npy", np.full((8, 8), np.nan))
    (tmp_path / "fake.png").write_bytes(b"not a png")
    cases = [
        ([str(model), "x.jpg", "-o", "y.png"], "use a .png image or a .npy"),
        ([str(model), str(tmp_path / "missing.png"), "-o", "y.png"], "no image at"),
        ([str(model), str(tmp_path / "fake.png"), "-o", "y.png"], "not a readable image"),
        ([str(tmp_path / "batch.npy"), str(tmp_path / "batch.npy"), "-o", "y.npy"], "not a"),
        ([str(model), str(tmp_path / "batch.npy"), "-o", str(tmp_path / "b.png")], "batch of 2"),
        ([str(model), str(tmp_path / "nan.npy"), "-o", str(tmp_path / "n.npy")], "NaN"),
        ([str(model), str(tmp_path / "nan.npy"), "-o", "n.npy", "--tile-size", "2"], "at least 8"),
    ]
    for args, match in cases:
        assert main(["upscale", *args]) != 0
        err = capsys.readouterr().err
        assert match in err and err.count("\n") == 1, (args, err)


# -- the real benchmark ----------------------------------------------------------------------


@pytest.mark.slow
def test_bicubic_on_set5_x4_matches_the_papers():
    from genmodels.datasets import DatasetNotFound, set5

    try:
        images = set5()
    except DatasetNotFound as exc:
        pytest.skip(str(exc))
    rows = evaluate(images, 4)
    assert np.mean([r.psnr for r in rows]) == pytest.approx(28.43, abs=0.01)
    assert np.mean([r.ssim for r in rows]) == pytest.approx(0.811, abs=0.001)
