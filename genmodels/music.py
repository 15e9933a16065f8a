"""Music data: binary piano rolls and four-voice chorales, to MIDI files and back, and a
piano-roll picture.

A **piano roll** is a (T, D) array of 0/1: row t is a time step, column p says whether
MIDI pitch p sounds in it (D <= 128; D = 128 covers every MIDI pitch). A **voice score**
is a (T, V) array of MIDI pitches, one column per voice (soprano, alto, tenor, bass for
a chorale), -1 where the voice is silent.

MIDI files are written and read with mido (the ``genmodels[music]`` extra). One step
lasts ``1 / steps_per_beat`` of a beat (a quarter note): 1 for quarter-note steps, 4
for sixteenths. The rule that makes reading invert writing exactly: **a run of
consecutive steps in which a pitch sounds (in a voice) is one held note**, from the
run's first step to the step after its last; a file is read back by marking a pitch in
every step whose midpoint a note of that pitch covers. (So a pitch repeated in
consecutive steps is written as one held note: the JSB data do not tell held and
repeated notes apart.) The file's end is written as the end of the last step, so
trailing silent steps survive the round trip too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "TICKS_PER_BEAT",
    "VOICE_NAMES",
    "is_pieces_json",
    "midi_to_roll",
    "midi_to_voices",
    "piano_roll_figure",
    "pieces_to_rolls",
    "read_pieces_json",
    "roll_to_midi",
    "roll_to_pieces",
    "voices_to_midi",
    "voices_to_roll",
]

#: MIDI ticks per beat (a quarter note) of the files written here.
TICKS_PER_BEAT = 480
#: The track names of a four-voice score (more voices are named Voice 5, Voice 6, ...).
VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")
DEFAULT_BPM = 80.0  # a chorale's pace: one quarter-note step every 0.75 s
_VELOCITY = 80


def _mido():
    """The mido package, or a clear error naming the extra that brings it."""
    try:
        import mido
    except ImportError:  # pragma: no cover - the music extra is installed by make test
        raise ImportError("MIDI files need mido: pip install 'genmodels[music]'") from None
    return mido


def _step_ticks(steps_per_beat: int) -> int:
    if not isinstance(steps_per_beat, int | np.integer) or steps_per_beat < 1:
        raise ValueError(f"steps_per_beat must be a positive integer, got {steps_per_beat!r}")
    if TICKS_PER_BEAT % steps_per_beat:
        raise ValueError(
            f"steps_per_beat={steps_per_beat} must divide the {TICKS_PER_BEAT} ticks of a beat"
        )
    return TICKS_PER_BEAT // int(steps_per_beat)


# ----------------------------------------------------------------------------------------
# Pieces as lists of pitch sets (the JSB JSON files) <-> piano rolls


def pieces_to_rolls(pieces, n_pitches: int = 128) -> list[np.ndarray]:
    """Pieces as lists of steps, each step a list of the MIDI pitches sounding (the JSB
    chorale files), as piano rolls: one (T, ``n_pitches``) float64 array of 0/1 each."""
    out = []
    for i, piece in enumerate(pieces):
        roll = np.zeros((len(piece), n_pitches))
        for t, step in enumerate(piece):
            for p in step:
                if not (isinstance(p, int | np.integer) and 0 <= p < n_pitches):
                    raise ValueError(
                        f"piece {i}, step {t}: {p!r} is not a MIDI pitch 0..{n_pitches - 1}"
                    )
                roll[t, int(p)] = 1.0
        out.append(roll)
    return out


def is_pieces_json(source) -> bool:
    """Whether ``source`` names a JSON file of pieces: ``x.json``, or ``x.json:KEY``."""
    text = os.fspath(source)
    return text.lower().endswith(".json") or ".json:" in text.lower()


def read_pieces_json(source, *, voices: bool = False) -> list[np.ndarray]:
    """The pieces of a JSON file in the JSB chorale files' format: a list of pieces, each a
    list of steps, each the list of MIDI pitches sounding (``voices=False``: piano rolls
    (T, 128)) or one pitch per voice with -1 silent (``voices=True``: (T, V) arrays).
    ``"x.json:train"`` takes the list under the key ``train`` of a JSON object (the JSB
    files hold ``train``, ``valid`` and ``test``)."""
    import json

    text = os.fspath(source)
    key = None
    cut = text.lower().rfind(".json:")
    if cut >= 0:
        text, key = text[: cut + 5], text[cut + 6 :]
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"no JSON file of pieces at {path}")
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        if key is None or key not in data:
            what = "name one" if key is None else f"it has no {key!r}"
            raise ValueError(
                f"{path}: the file holds the lists {sorted(data)}; {what} as {path}:KEY"
            )
        data = data[key]
    elif key is not None:
        raise ValueError(f"{path} holds one list of pieces, not an object with {key!r}")
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path}: expected a non-empty list of pieces")
    if not voices:
        return pieces_to_rolls(data)
    out = []
    for i, piece in enumerate(data):
        try:
            arr = np.asarray(piece, dtype=np.float64)
        except ValueError:
            raise ValueError(
                f"{path}: piece {i} has steps of different numbers of voices"
            ) from None
        if arr.ndim != 2:
            raise ValueError(f"{path}: piece {i} is not a list of steps of voice pitches")
        out.append(_check_voices(arr).astype(np.float64))
    return out


def roll_to_pieces(roll) -> list[list[int]]:
    """A piano roll back as a list of steps, each the sorted list of its sounding pitches."""
    arr = _check_roll(roll)
    return [np.flatnonzero(row).tolist() for row in arr]


def voices_to_roll(voices, n_pitches: int = 128) -> np.ndarray:
    """A voice score (T, V) (pitches, -1 silent) as a piano roll (T, ``n_pitches``): the
    pitches the voices sound in each step."""
    arr = _check_voices(voices)
    roll = np.zeros((len(arr), n_pitches))
    t, v = np.nonzero(arr >= 0)
    roll[t, arr[t, v]] = 1.0
    return roll


def _check_roll(roll) -> np.ndarray:
    arr = np.asarray(roll, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] > 128:
        raise ValueError(
            f"a piano roll must be a 2-D (steps, pitches) array of at most 128 pitches, got "
            f"shape {arr.shape}"
        )
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError("a piano roll must hold only 0 and 1 (a pitch sounds or it does not)")
    return arr.astype(bool)


def _check_voices(voices) -> np.ndarray:
    arr = np.asarray(voices, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"a voice score must be a 2-D (steps, voices) array, got {arr.shape}")
    if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
        raise ValueError("a voice score must hold whole MIDI pitches (-1: silent)")
    if ((arr < -1) | (arr > 127)).any():
        raise ValueError("a voice score's pitches must be MIDI pitches 0..127, or -1 (silent)")
    return arr.astype(np.int64)


# ----------------------------------------------------------------------------------------
# Writing


def _runs(column: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D boolean array."""
    padded = np.concatenate([[False], column, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _track(mido, notes: list[tuple[int, int, int]], n_steps: int, step: int, name, tempo):
    """One MIDI track of ``notes`` (pitch, start step, stop step), ending at ``n_steps``."""
    events = []  # (tick, order: offs before ons, message)
    for pitch, start, stop in notes:
        events.append((start * step, 1, mido.Message("note_on", note=pitch, velocity=_VELOCITY)))
        events.append((stop * step, 0, mido.Message("note_off", note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1], e[2].note))
    track = mido.MidiTrack()
    if name is not None:
        track.append(mido.MetaMessage("track_name", name=name, time=0))
    if tempo is not None:
        track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=n_steps * step - now))
    return track


def _finish(mido, tracks, path):
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.extend(tracks)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        midi.save(os.fspath(path))
    return midi


def roll_to_midi(
    roll,
    path: str | os.PathLike | None = None,
    *,
    steps_per_beat: int = 1,
    bpm: float = DEFAULT_BPM,
):
    """A piano roll (T, D) as a one-track MIDI file (a ``mido.MidiFile``, also written to
    ``path`` if given): each run of consecutive steps of a pitch is one held note; a step
    lasts ``1 / steps_per_beat`` beat at ``bpm`` beats a minute."""
    mido = _mido()
    arr = _check_roll(roll)
    step = _step_ticks(steps_per_beat)
    notes = [(p, a, b) for p in range(arr.shape[1]) for a, b in _runs(arr[:, p])]
    track = _track(mido, notes, len(arr), step, "Piano roll", mido.bpm2tempo(bpm))
    return _finish(mido, [track], path)


def voices_to_midi(
    voices,
    path: str | os.PathLike | None = None,
    *,
    steps_per_beat: int = 4,
    bpm: float = DEFAULT_BPM,
    names: Sequence[str] | None = None,
):
    """A voice score (T, V) (MIDI pitches, -1 silent) as a MIDI file of V tracks, one per
    voice (named Soprano, Alto, Tenor, Bass for four), the first holding the tempo; a run
    of steps in which a voice holds one pitch is one note."""
    mido = _mido()
    arr = _check_voices(voices)
    step = _step_ticks(steps_per_beat)
    n_voices = arr.shape[1]
    if names is None:
        names = [VOICE_NAMES[v] if v < 4 else f"Voice {v + 1}" for v in range(n_voices)]
    if len(names) != n_voices:
        raise ValueError(f"{len(names)} track names for {n_voices} voices")
    tracks = []
    for v in range(n_voices):
        col = arr[:, v]
        notes = [(p, a, b) for p in np.unique(col[col >= 0]).tolist() for a, b in _runs(col == p)]
        tempo = mido.bpm2tempo(bpm) if v == 0 else None
        tracks.append(_track(mido, notes, len(arr), step, names[v], tempo))
    return _finish(mido, tracks, path)


# ----------------------------------------------------------------------------------------
# Reading


def _read(midi):
    mido = _mido()
    if isinstance(midi, str | os.PathLike):
        midi = mido.MidiFile(os.fspath(midi))
    return midi


def _notes(track) -> tuple[list[tuple[int, int, int]], int]:
    """``([(pitch, start tick, stop tick)], end tick)`` of a track."""
    now, sounding, notes = 0, {}, []
    for msg in track:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            if msg.note in sounding:  # struck again while sounding: the first note ends
                notes.append((msg.note, sounding.pop(msg.note), now))
            sounding[msg.note] = now
        elif msg.type in ("note_off", "note_on") and msg.note in sounding:
            notes.append((msg.note, sounding.pop(msg.note), now))
    notes.extend((p, start, now) for p, start in sounding.items())
    return notes, now


def _steps_covered(start: int, stop: int, step: int) -> range:
    """The steps whose midpoint (k + 1/2) * step lies in [start, stop)."""
    return range(math.ceil(start / step - 0.5), math.ceil(stop / step - 0.5))


def _scaled_step(midi, steps_per_beat: int) -> int:
    step = _step_ticks(steps_per_beat)
    return max(1, round(step * midi.ticks_per_beat / TICKS_PER_BEAT))


def midi_to_roll(midi, *, steps_per_beat: int = 1, n_pitches: int = 128) -> np.ndarray:
    """A MIDI file (a path or a ``mido.MidiFile``) as a piano roll (T, ``n_pitches``) of
    steps of ``1 / steps_per_beat`` beat, every track's notes together: a pitch sounds in
    each step whose midpoint one of its notes covers; T covers the file's length. The
    inverse of :func:`roll_to_midi`."""
    midi = _read(midi)
    step = _scaled_step(midi, steps_per_beat)
    per_track = [_notes(track) for track in midi.tracks]
    end = max((e for _, e in per_track), default=0)
    roll = np.zeros((round(end / step), n_pitches))
    for notes, _ in per_track:
        for pitch, start, stop in notes:
            if pitch >= n_pitches:
                raise ValueError(f"the file plays pitch {pitch}, beyond n_pitches={n_pitches}")
            for k in _steps_covered(start, stop, step):
                if 0 <= k < len(roll):
                    roll[k, pitch] = 1.0
    return roll


def midi_to_voices(midi, *, steps_per_beat: int = 4) -> np.ndarray:
    """A MIDI file of one track per voice as a voice score (T, V) of MIDI pitches, -1
    where the voice is silent (a track with notes, in file order; where a track sounds
    several pitches at once its highest is kept). The inverse of :func:`voices_to_midi`."""
    midi = _read(midi)
    step = _scaled_step(midi, steps_per_beat)
    per_track = [_notes(track) for track in midi.tracks]
    end = max((e for _, e in per_track), default=0)
    voiced = [notes for notes, _ in per_track if notes]
    out = np.full((round(end / step), len(voiced)), -1, dtype=np.int64)
    for v, notes in enumerate(voiced):
        for pitch, start, stop in notes:
            for k in _steps_covered(start, stop, step):
                if 0 <= k < len(out):
                    out[k, v] = max(out[k, v], pitch)
    return out


# ----------------------------------------------------------------------------------------
# A picture


def piano_roll_figure(
    rolls: Sequence,
    path: str | os.PathLike,
    *,
    titles: Sequence[str] | None = None,
    pitch_range: tuple[int, int] | None = None,
) -> Path:
    """Piano rolls side by side in one PNG (time across, pitch up; a voice score (T, V)
    of pitches is drawn with one colour per voice). ``pitch_range``: the (lowest,
    highest) pitch shown, default the notes' own range. Returns the path written."""
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    from .figures import _colour, _new_figure, _save

    if titles is not None and len(titles) != len(rolls):
        raise ValueError(f"{len(titles)} titles for {len(rolls)} piano rolls")
    layers = []  # per panel: a list of (colour, (T, 128) bool)
    for r in rolls:
        arr = np.asarray(r)
        if arr.ndim == 2 and arr.shape[1] <= 8 and (arr.min(initial=0) < 0 or arr.max() > 1):
            voices = [voices_to_roll(arr[:, [v]]) > 0 for v in range(arr.shape[1])]
            layers.append([(_colour(v), m) for v, m in enumerate(voices)])
        else:
            full = np.zeros((len(arr), 128), dtype=bool)
            full[:, : arr.shape[1]] = _check_roll(arr)
            layers.append([("#222222", full)])
    sounding = np.flatnonzero(np.any([m.any(0) for panel in layers for _, m in panel], axis=0))
    if pitch_range is None:
        lo, hi = (int(sounding.min()), int(sounding.max())) if sounding.size else (60, 72)
    else:
        lo, hi = (int(p) for p in pitch_range)
    fig = _new_figure(4.2 * len(layers), 3.2)
    axes = fig.subplots(1, len(layers), squeeze=False)[0]
    for k, (ax, panel) in enumerate(zip(axes, layers, strict=True)):
        n_steps = len(panel[0][1])
        image = np.ones((hi - lo + 1, max(1, n_steps), 3))  # (pitches, steps, RGB), white
        for colour, mask in panel:
            image[mask[:, lo : hi + 1].T] = to_rgb(colour)
        ax.imshow(
            image,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            extent=(0, max(1, n_steps), lo - 0.5, hi + 0.5),
        )
        ax.set_xlabel("step")
        if k == 0:
            ax.set_ylabel("MIDI pitch")
        for c in range(12 * (lo // 12 + 1), hi + 1, 12):  # the Cs
            ax.axhline(c - 0.5, color="#bbbbbb", linewidth=0.5)
        if titles is not None:
            ax.set_title(titles[k], fontsize=10)
        if len(panel) > 1:  # a voice score: name the voices' colours
            names = [VOICE_NAMES[v] if v < 4 else f"Voice {v + 1}" for v in range(len(panel))]
            handles = [Patch(facecolor=c, label=n) for (c, _), n in zip(panel, names, strict=True)]
            ax.legend(handles=handles, loc="lower right", fontsize=7, ncol=len(panel))
    return _save(fig, path)
