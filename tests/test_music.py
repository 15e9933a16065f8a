"""The polyphonic music models (PianoRollRNN: RNN-NADE; VoicesRNN: one categorical per
voice), MIDI files (genmodels.music) and ``genmodels compose``.

The likelihood checks enumerate: on a tiny pitch range every one of the 2^P pitch sets
of a step (every voice combination for the voice model) is scored, and the conditional
probabilities of the step must sum to one given any history."""

from __future__ import annotations

import itertools

import mido
import numpy as np
import pytest
from scipy.special import logsumexp

import genmodels
from genmodels import PianoRollRNN, VoicesRNN
from genmodels.cli.main import main
from genmodels.datasets import DatasetNotFound, jsb_chorales
from genmodels.music import (
    midi_to_roll,
    midi_to_voices,
    piano_roll_figure,
    pieces_to_rolls,
    roll_to_midi,
    roll_to_pieces,
    voices_to_midi,
)

SMALL = {"hidden_size": 8, "step_hidden": 6, "epochs": 3, "batch_size": 4, "random_state": 0}


def _rolls(n: int = 12, t: int = 9, d: int = 5, seed: int = 0) -> list[np.ndarray]:
    """Made-up piano rolls over columns 0..d-1 (each column sounds somewhere)."""
    rng = np.random.RandomState(seed)
    rolls = [(rng.uniform(size=(t + i % 3, d)) < 0.4).astype(float) for i in range(n)]
    rolls[0][0] = 1.0
    return rolls


def _voices(n: int = 10, t: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Made-up four-voice pieces: voice k sings pitch 60 - 5k or 61 - 5k, or is silent."""
    rng = np.random.RandomState(seed)
    base = np.array([60, 55, 50, 45])
    out = []
    for i in range(n):
        v = base + rng.randint(0, 2, size=(t + i % 2, 4))
        v[rng.uniform(size=v.shape) < 0.2] = -1
        out.append(v.astype(float))
    out[0][0] = base
    out[0][1] = base + 1
    return out


@pytest.fixture(scope="module")
def roll_model():
    return PianoRollRNN(**SMALL).fit(_rolls())


@pytest.fixture(scope="module")
def voice_model():
    return VoicesRNN(**SMALL).fit(_voices())


# -- the step distributions are normalised -------------------------------------------------


@pytest.mark.parametrize("history", [0, 1, 4])
def test_nade_step_sums_to_one_over_all_pitch_sets(roll_model, history):
    """sum over the 32 pitch sets s of a 5-pitch range of p(s | history) = 1."""
    assert (roll_model.lowest_pitch_, roll_model.highest_pitch_) == (0, 4)
    prefix = _rolls(seed=3)[0][:history]
    sets = np.array(list(itertools.product([0.0, 1.0], repeat=5)))  # (32, 5)
    pieces = [np.vstack([prefix, s[None]]) for s in sets]
    joint = roll_model.score_samples(pieces)
    before = roll_model.score_samples([prefix])[0] if history else 0.0
    assert logsumexp(joint) - before == pytest.approx(0.0, abs=1e-5)
    # the model is not uniform: the sets have different probabilities
    assert np.ptp(joint) > 0.1


def test_voice_step_sums_to_one_over_all_voice_combinations(voice_model):
    """Each voice: 2 pitches or silence, so 3^4 = 81 steps; their probabilities sum to 1."""
    sizes = (voice_model.voice_high_ - voice_model.voice_low_ + 2).tolist()
    assert sizes == [3, 3, 3, 3]
    choices = [[-1, lo, lo + 1] for lo in voice_model.voice_low_.tolist()]
    prefix = _voices(seed=5)[0][:3]
    steps = np.array(list(itertools.product(*choices)), dtype=float)  # (81, 4)
    joint = voice_model.score_samples([np.vstack([prefix, s[None]]) for s in steps])
    before = voice_model.score_samples([prefix])[0]
    assert logsumexp(joint) - before == pytest.approx(0.0, abs=1e-5)
    first = voice_model.score_samples([s[None] for s in steps])
    assert logsumexp(first) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("which", ["roll", "voices"])
def test_score_samples_is_the_sum_of_causal_step_scores(roll_model, voice_model, which):
    model, pieces = (
        (roll_model, _rolls(seed=4))
        if which == "roll"
        else (
            voice_model,
            _voices(seed=4),
        )
    )
    steps = model.score_steps(pieces)
    np.testing.assert_allclose(model.score_samples(pieces), [s.sum() for s in steps], rtol=1e-12)
    assert all(len(s) == len(p) and (s < 0).all() for s, p in zip(steps, pieces, strict=True))
    # a step's score depends on the past only: a prefix scores as the full piece's first steps
    cut = model.score_steps([p[:4] for p in pieces])
    np.testing.assert_allclose(
        np.concatenate(cut), np.concatenate([s[:4] for s in steps]), atol=1e-5
    )
    total = -sum(s.sum() for s in steps) / sum(len(p) for p in pieces)
    assert model.nll_per_step(pieces) == pytest.approx(total)


def test_training_lowers_the_loss():
    model = PianoRollRNN(**{**SMALL, "epochs": 15, "lr": 1e-2}).fit(_rolls())
    assert model.history_["loss"][-1] < model.history_["loss"][0] - 0.2


# -- generation ------------------------------------------------------------------------------


def test_samples_are_rolls_in_range_and_seeded(roll_model):
    a = roll_model.sample(3, length=12, random_state=3)
    assert a.shape == (3, 12, 5) and set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, roll_model.sample(3, length=12, random_state=3))
    assert not np.array_equal(a, roll_model.sample(3, length=12, random_state=4))
    assert np.isfinite(roll_model.score_samples(list(a))).all()


def test_voice_samples_sing_in_each_voices_range(voice_model):
    s = voice_model.sample(4, length=10, random_state=1)
    assert s.shape == (4, 10, 4)
    for k in range(4):
        sung = s[..., k][s[..., k] >= 0]
        assert ((sung >= voice_model.voice_low_[k]) & (sung <= voice_model.voice_high_[k])).all()
        assert set(np.unique(s[..., k])) <= {-1.0, *range(int(voice_model.voice_low_[k]), 128)}


def test_complete_keeps_the_primer(roll_model, voice_model):
    primer = _rolls(seed=7)[0][:3]
    out = roll_model.complete(primer, 5, n_samples=2, random_state=0)
    assert out.shape == (2, 8, 5)
    np.testing.assert_array_equal(out[:, :3], np.broadcast_to(primer, (2, 3, 5)))
    vp = _voices(seed=7)[0][:2]
    vout = voice_model.complete(vp, 3, random_state=0)
    np.testing.assert_array_equal(vout[0, :2], vp)


# -- errors ------------------------------------------------------------------------------------


def test_bad_pieces_are_refused_clearly(roll_model, voice_model):
    outside = np.zeros((4, 6))
    outside[1, 5] = 1.0
    with pytest.raises(ValueError, match="6 features per step; the model was fitted on 5"):
        roll_model.score_samples([outside])
    with pytest.raises(ValueError, match="only 0 and 1"):
        roll_model.score_samples([np.full((3, 5), 0.5)])
    with pytest.raises(ValueError, match="empty"):
        roll_model.score_samples([np.zeros((0, 5))])
    with pytest.raises(ValueError, match="no pitch sounds"):
        PianoRollRNN(**SMALL).fit([np.zeros((4, 5))])
    high = _voices()[0].copy()
    high[0, 0] = 70
    with pytest.raises(ValueError, match="voice 0 sings pitch 70, outside its range 60..61"):
        voice_model.score_samples([high])
    with pytest.raises(ValueError, match="negative pitch -3"):
        voice_model.score_samples([np.full((2, 4), -3.0)])
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        roll_model.complete(np.zeros((2, 5)), 0)


def test_a_pitch_outside_the_training_range_is_named():
    piece = np.zeros((4, 5))
    model = PianoRollRNN(**SMALL).fit([np.pad(r[:, 1:4], ((0, 0), (1, 1))) for r in _rolls()])
    assert (model.lowest_pitch_, model.highest_pitch_) == (1, 3)
    piece[2, 4] = 1.0
    with pytest.raises(ValueError, match="pitch 4 sounds .*outside the model's pitch range 1..3"):
        model.score_samples([piece])


def test_save_load_reproduces_scores_and_samples(roll_model, voice_model, tmp_path):
    for model, pieces in ((roll_model, _rolls(seed=2)), (voice_model, _voices(seed=2))):
        path = tmp_path / f"{type(model).__name__}.safetensors"
        model.save(path)
        back = genmodels.load(path)
        np.testing.assert_array_equal(back.score_samples(pieces), model.score_samples(pieces))
        np.testing.assert_array_equal(
            back.sample(2, length=6, random_state=5), model.sample(2, length=6, random_state=5)
        )


# -- MIDI ---------------------------------------------------------------------------------------


def test_a_made_up_roll_goes_to_midi_and_back_unchanged(tmp_path):
    rng = np.random.RandomState(0)
    roll = (rng.uniform(size=(40, 128)) < 0.05).astype(float)
    roll[:3] = 0.0  # leading and trailing silence survive too
    roll[-4:] = 0.0
    roll[5:9, 60] = 1.0  # a held note
    for spb in (1, 4):
        path = tmp_path / f"r{spb}.mid"
        roll_to_midi(roll, path, steps_per_beat=spb)
        midi = mido.MidiFile(path)
        assert len(midi.tracks) == 1 and midi.ticks_per_beat == 480
        np.testing.assert_array_equal(midi_to_roll(path, steps_per_beat=spb), roll)
    held = [m for m in mido.MidiFile(tmp_path / "r1.mid").tracks[0] if m.type == "note_on"]
    assert len(held) == sum(np.diff(np.vstack([np.zeros((1, 128)), roll]), axis=0).ravel() == 1)


def test_voices_go_to_four_tracks_and_back_unchanged(tmp_path):
    voices = _voices(n=1, t=30, seed=9)[0]
    voices[-1] = -1  # a silent last step
    path = tmp_path / "v.mid"
    voices_to_midi(voices, path)
    midi = mido.MidiFile(path)
    assert [t.name for t in midi.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    np.testing.assert_array_equal(midi_to_voices(path), voices)


def test_pieces_to_rolls_and_back():
    pieces = [[[60, 64, 67], [], [62]], [[40]]]
    rolls = pieces_to_rolls(pieces)
    assert [r.shape for r in rolls] == [(3, 128), (1, 128)]
    assert [roll_to_pieces(r) for r in rolls] == pieces
    with pytest.raises(ValueError, match="not a MIDI pitch"):
        pieces_to_rolls([[[200]]])


def test_piano_roll_figure_writes_a_png(tmp_path):
    path = piano_roll_figure(
        [_rolls()[0], _voices()[0]], tmp_path / "p.png", titles=["roll", "voices"]
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_real_chorales_go_to_midi_and_back_unchanged(tmp_path):
    try:
        quarter = jsb_chorales("quarter")
        voices = jsb_chorales("separated")
    except DatasetNotFound as e:
        pytest.skip(str(e))
    assert [len(quarter[k]) for k in ("train", "valid", "test")] == [229, 76, 77]
    assert all(v.shape[1] == 4 for v in voices["test"])
    for roll in quarter["test"]:
        path = tmp_path / "q.mid"
        roll_to_midi(roll, path)
        np.testing.assert_array_equal(midi_to_roll(path), roll)
    for piece in voices["test"][:20]:
        path = tmp_path / "v.mid"
        voices_to_midi(piece, path, steps_per_beat=4)
        np.testing.assert_array_equal(midi_to_voices(path, steps_per_beat=4), piece)


# -- the command line -------------------------------------------------------------------------


def test_fit_and_compose_on_the_command_line(tmp_path, capsys):
    data = tmp_path / "rolls.npy"
    rolls = np.zeros((12, 10, 128))
    rolls[:, :, 60:65] = np.stack([r[:10] for r in _rolls(t=10)])
    np.save(data, rolls)
    model = tmp_path / "m.safetensors"
    assert (
        main(
            [
                "fit",
                "rnn-nade",
                str(data),
                "--set",
                "hidden_size=8",
                "--set",
                "epochs=2",
                "-q",
                "-o",
                str(model),
            ]
        )
        == 0
    )
    out = tmp_path / "c.mid"
    args = ["compose", str(model), "-o", str(out), "--steps", "16", "--seed", "3"]
    assert main([*args, "--plot", str(tmp_path / "c.png")]) == 0
    roll = midi_to_roll(out)
    assert roll.shape == (16, 128) and not roll[:, :60].any() and not roll[:, 65:].any()
    np.testing.assert_array_equal(
        roll, genmodels.load(model).sample(1, length=16, random_state=3)[0]
    )
    again = tmp_path / "d.mid"
    assert main(["compose", str(model), "-o", str(again), "--steps", "16", "--seed", "3"]) == 0
    assert again.read_bytes() == out.read_bytes()
    primed = tmp_path / "p.mid"
    assert (
        main([*args[:3], str(primed), "--steps", "4", "--primer", str(out), "--primer-steps", "6"])
        == 0
    )
    np.testing.assert_array_equal(midi_to_roll(primed)[:6], roll[:6])
    assert (tmp_path / "c.png").is_file()
    assert main(["compose", str(model), "-o", str(tmp_path / "x.wav")]) == 1
    assert "use a .mid file" in capsys.readouterr().err


def test_compose_a_four_voice_model_writes_four_tracks(voice_model, tmp_path):
    path = tmp_path / "v.safetensors"
    voice_model.save(path)
    out = tmp_path / "satb.mid"
    assert (
        main(["compose", str(path), "-o", str(out), "--steps", "12", "--seed", "3", "-n", "2"]) == 0
    )
    for i in range(2):
        midi = mido.MidiFile(tmp_path / f"satb_{i}.mid")
        assert len(midi.tracks) == 4
        np.testing.assert_array_equal(
            midi_to_voices(midi), voice_model.sample(2, length=12, random_state=3)[i]
        )


def test_json_pieces_are_read_as_rolls_or_voices(tmp_path):
    import json

    from genmodels.music import read_pieces_json

    path = tmp_path / "p.json"
    path.write_text(json.dumps({"train": [[[60, 64], [], [62]]], "test": [[[60, -1, 50, 40]]]}))
    (roll,) = read_pieces_json(f"{path}:train")
    assert roll.shape == (3, 128) and roll_to_pieces(roll) == [[60, 64], [], [62]]
    (voices,) = read_pieces_json(f"{path}:test", voices=True)
    np.testing.assert_array_equal(voices, [[60, -1, 50, 40]])
    with pytest.raises(ValueError, match=r"holds the lists \['test', 'train'\]; name one"):
        read_pieces_json(path)
    with pytest.raises(ValueError, match="no 'valid'"):
        read_pieces_json(f"{path}:valid")


def test_fit_reads_a_json_file_of_pieces(tmp_path, capsys):
    import json

    pieces = [[[int(p) for p in 60 + np.flatnonzero(row)] for row in r] for r in _rolls(t=6)]
    voices = [v.astype(int).tolist() for v in _voices()]
    path = tmp_path / "jsb.json"
    path.write_text(json.dumps({"train": pieces, "valid": pieces[:3], "satb": voices}))
    model = tmp_path / "m.safetensors"
    common = ["--set", "hidden_size=8", "--set", "epochs=1", "-q"]
    assert (
        main(
            [
                "fit",
                "rnn-nade",
                f"{path}:train",
                "--validation",
                f"{path}:valid",
                *common,
                "-o",
                str(model),
            ]
        )
        == 0
    )
    fitted = genmodels.load(model)
    assert (fitted.lowest_pitch_, fitted.highest_pitch_) == (60, 64)
    assert fitted.history_["val_loss"]
    assert (
        main(["fit", "satb", f"{path}:satb", *common, "-o", str(tmp_path / "v.safetensors")]) == 0
    )
    assert genmodels.load(tmp_path / "v.safetensors").voice_low_.tolist() == [60, 55, 50, 45]
    assert main(["fit", "gaussian-hmm", f"{path}:train", "-q"]) == 1
    assert "for the music models" in capsys.readouterr().err
