"""The command line on audio and on class-conditioned autoregressive models (issue 14):
``genmodels fit wavenet FOLDER_OF_WAVS`` (labels from file names or class subfolders),
``genmodels sample MODEL --class 7 -o seven.wav``, and ``--class`` for a conditional
PixelCNN's image grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile

import genmodels
from genmodels.cli.main import main

TINY = [
    "--set",
    "layers_per_block=2",
    "--set",
    "n_blocks=1",
    "--set",
    "residual_channels=4",
    "--set",
    "skip_channels=4",
    "--set",
    "vocab_size=16",
    "--set",
    "epochs=1",
    "--set",
    "random_state=0",
]


def _tone(freq, n=200, rate=8000, amp=0.5):
    t = np.arange(n) / rate
    return (amp * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)


def _recordings(folder, rate=8000):
    folder.mkdir()
    for digit, freq in (("3", 200.0), ("7", 900.0)):
        for k in range(2):
            wavfile.write(folder / f"{digit}_spk_{k}.wav", rate, _tone(freq + 10 * k, rate=rate))
    return folder


def test_fit_wavenet_on_wavs_with_labels_from_names_and_sample_a_class(tmp_path, capsys):
    data = _recordings(tmp_path / "wavs")
    model_file = tmp_path / "wn.safetensors"
    args = ["fit", "wavenet", str(data), "--labels-from-name", *TINY, "-o", str(model_file)]
    assert main([*args, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "4 recording(s), 800 samples at 8000 Hz" in out and "classes" in out
    assert "nats/sample" in out
    model = genmodels.load(model_file)
    assert model.classes_.tolist() == ["3", "7"] and model.sample_rate_ == 8000
    seven = tmp_path / "seven.wav"
    cmd = ["sample", str(model_file), "--class", "7", "-n", "1", "--length", "300"]
    assert main([*cmd, "-o", str(seven), "--seed", "0"]) == 0
    rate, audio = wavfile.read(seven)
    assert rate == 8000 and audio.dtype == np.int16 and audio.shape == (300,)
    # the file holds the model's draw, mu-law decoded
    codes = model.sample(1, length=300, y="7", random_state=0)[0, :, 0]
    want = genmodels.autoregressive.mu_law_decode(codes, 16)
    np.testing.assert_allclose(audio / 32767, want, atol=1e-4)
    capsys.readouterr()
    assert main([*cmd[:4], "-n", "3", "--length", "50", "-o", str(tmp_path / "s.wav")]) == 0
    assert "wrote 3 recording(s)" in capsys.readouterr().out
    for i in range(3):
        assert wavfile.read(tmp_path / f"s_{i}.wav")[1].shape == (50,)
    # a conditional model needs a class, and knows which it has
    assert main(["sample", str(model_file), "-n", "1", "-o", str(seven)]) != 0
    assert "--class LABEL (classes: 3, 7)" in capsys.readouterr().err
    assert main([*cmd[:3], "5", "-o", str(seven)]) != 0
    assert "no class '5'" in capsys.readouterr().err


def test_class_subfolders_label_the_files(tmp_path, capsys):
    root = tmp_path / "classes"
    for name, freq in (("high", 1000.0), ("low", 150.0)):
        (root / name).mkdir(parents=True)
        wavfile.write(root / name / "a.wav", 8000, _tone(freq))
    model_file = tmp_path / "wn.safetensors"
    assert main(["fit", "wavenet", str(root), *TINY, "-o", str(model_file), "--quiet"]) == 0
    assert genmodels.load(model_file).classes_.tolist() == ["high", "low"]
    assert main(["fit", "wavenet", str(root), "--labels-from-name", *TINY, "-o", "x"]) != 0
    assert "class subfolders" in capsys.readouterr().err


def test_unlabelled_wavs_float_wavs_and_refusals(tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    wavfile.write(flat / "a.wav", 16000, (_tone(300.0) / 32768).astype(np.float32))
    wavfile.write(flat / "b.wav", 16000, _tone(500.0))
    model_file = tmp_path / "wn.safetensors"
    assert main(["fit", "wavenet", str(flat), *TINY, "-o", str(model_file), "--quiet"]) == 0
    model = genmodels.load(model_file)
    assert model.classes_ is None and model.sample_rate_ == 16000
    out = tmp_path / "any.wav"
    assert main(["sample", str(model_file), "-n", "1", "--length", "20", "-o", str(out)]) == 0
    assert wavfile.read(out)[0] == 16000
    assert main(["sample", str(model_file), "--class", "3", "-n", "1", "-o", str(out)]) != 0
    assert "fitted without class labels" in capsys.readouterr().err
    # mixed sample rates are refused, naming both files
    wavfile.write(flat / "c.wav", 8000, _tone(300.0))
    assert main(["fit", "wavenet", str(flat), *TINY, "-o", str(model_file)]) != 0
    err = capsys.readouterr().err
    assert "different sample rates" in err and "16000 Hz" in err and "8000 Hz" in err
    (flat / "c.wav").unlink()
    wavfile.write(flat / "d.wav", 16000, np.stack([_tone(300.0)] * 2, axis=1))
    assert main(["fit", "wavenet", str(flat), *TINY, "-o", str(model_file)]) != 0
    assert "2 channels" in capsys.readouterr().err
    (flat / "d.wav").unlink()
    assert main(["fit", "wavenet", str(flat), "--labels-from-name", *TINY, "-o", "x"]) != 0
    assert "has no '_'" in capsys.readouterr().err
    assert main(["fit", "transformer", str(flat), "-o", str(tmp_path / "t.safetensors")]) != 0
    assert "does not model audio" in capsys.readouterr().err


def test_a_class_conditional_pixelcnn_from_the_command_line(tmp_path, capsys):
    rng = np.random.RandomState(0)
    y = np.arange(60) % 2
    X = (rng.uniform(size=(60, 64)) < np.where(y[:, None] == 1, 0.8, 0.2)).astype(float)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    model_file = tmp_path / "pcnn.safetensors"
    settings = ["--set", "n_layers=1", "--set", "channels=4", "--set", "head_channels=4"]
    settings += ["--set", "kernel_size=3", "--set", "epochs=1", "--set", "random_state=0"]
    fit = ["fit", "pixelcnn", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy")]
    assert main([*fit, *settings, "-o", str(model_file), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "given the class" in out and "classes" in out
    assert genmodels.load(model_file).classes_.tolist() == [0, 1]
    grid = tmp_path / "grid.png"
    assert main(["sample", str(model_file), "--class", "1", "-n", "4", "-o", str(grid)]) == 0
    assert grid.stat().st_size > 0
    assert main(["sample", str(model_file), "-n", "4", "-o", str(grid)]) != 0
    assert "--class LABEL" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["--target", "--labels"])
def test_wav_data_takes_no_label_files(tmp_path, capsys, bad):
    data = _recordings(tmp_path / "wavs")
    assert main(["fit", "wavenet", str(data), bad, "x", *TINY, "-o", "m"]) != 0
    assert "not for .wav data" in capsys.readouterr().err


def test_sampling_a_wav_file_draws_one_second_of_one_recording_by_default(tmp_path, capsys):
    """`sample MODEL --class 7 -o seven.wav` writes one file of one second at the model's
    rate (it wrote 100 files of 100 samples, the defaults of tables and sequences)."""
    data = _recordings(tmp_path / "wavs")
    model_file = tmp_path / "wn.safetensors"
    args = ["fit", "wavenet", str(data), "--labels-from-name", *TINY, "-o", str(model_file), "-q"]
    assert main(args) == 0
    seven = tmp_path / "seven.wav"
    assert main(["sample", str(model_file), "--class", "7", "-o", str(seven), "--seed", "0"]) == 0
    rate, audio = wavfile.read(seven)
    assert rate == 8000 and audio.shape == (8000,)
    assert sorted(p.name for p in tmp_path.glob("seven*.wav")) == ["seven.wav"]
