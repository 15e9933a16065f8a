"""``genmodels compose MODEL -o chorale.mid``: a piece drawn from a saved polyphonic music
model (``rnn-nade`` on piano rolls, ``satb`` on voices), written as a MIDI file (one
track, or one per voice) and/or a piano-roll picture; optionally continuing the first
steps of a MIDI file (``--primer``).

Training: ``examples/jsb_chorales.py``, or ``genmodels fit rnn-nade
jsb-chorales-quarter.json:train`` (a JSON file of pieces, or piano rolls as an
``(S, T, 128)`` ``.npy``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import CommandError, add_verb, load_model

SUFFIXES = (".mid", ".midi", ".png")


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "compose",
        "write a piece drawn from a music model as MIDI (or a piano-roll picture)",
        run,
        "genmodels compose chorales.safetensors -o chorale.mid --steps 64 --seed 3",
    )
    p.add_argument("model_file", metavar="MODEL_FILE", help="a saved rnn-nade or satb model")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help=".mid (one track; one per voice for a voice model) or .png (a piano-roll "
        "picture); with -n 3, x_0.mid .. x_2.mid",
    )
    p.add_argument("--steps", type=int, default=64, help="steps to draw (default 64)")
    p.add_argument("-n", "--n-samples", type=int, default=1, help="pieces to write")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same piece)")
    p.add_argument(
        "--primer",
        metavar="MIDI",
        help="continue the first --primer-steps steps of this MIDI file (e.g. a real chorale)",
    )
    p.add_argument("--primer-steps", type=int, default=8, help="steps of the primer kept")
    p.add_argument(
        "--steps-per-beat",
        type=int,
        default=None,
        help="steps in a quarter note (default: 4 for a voice model, the JSB sixteenth-note "
        "voices; 1 for a piano-roll model, the JSB quarter-note rolls)",
    )
    p.add_argument("--bpm", type=float, default=80.0, help="quarter notes a minute (default 80)")
    p.add_argument("--plot", metavar="PNG", help="also draw the piece(s) as a piano roll here")


def run(args: argparse.Namespace) -> int:
    """Load the model, draw, write the MIDI files and pictures."""
    out = Path(args.output)
    if out.suffix.lower() not in SUFFIXES:
        raise CommandError(f"cannot write {out}: use a .mid file or a .png picture")
    if args.plot is not None and Path(args.plot).suffix.lower() != ".png":
        raise CommandError(f"--plot {args.plot}: the picture is a .png")
    for name in ("steps", "n_samples", "primer_steps"):
        if getattr(args, name) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be a positive integer")
    from ..autoregressive import PianoRollRNN, VoicesRNN
    from ..music import (
        midi_to_roll,
        midi_to_voices,
        piano_roll_figure,
        roll_to_midi,
        voices_to_midi,
    )

    model = load_model(args.model_file)
    if not isinstance(model, PianoRollRNN | VoicesRNN):
        raise CommandError(
            f"{args.model_file} is a {type(model).__name__}; compose draws from music models "
            "(rnn-nade on piano rolls, satb on voices)"
        )
    voices = isinstance(model, VoicesRNN)
    spb = args.steps_per_beat or (4 if voices else 1)
    if args.primer is not None:
        read = midi_to_voices if voices else midi_to_roll
        primer = read(args.primer, steps_per_beat=spb)[: args.primer_steps]
        if not voices:
            primer = _fit_width(primer, model.n_features_in_, args.primer)
        elif primer.shape[1] != model.n_features_in_:
            raise CommandError(
                f"{args.primer} has {primer.shape[1]} voice tracks; the model sings "
                f"{model.n_features_in_}"
            )
        if len(primer) == 0:
            raise CommandError(f"{args.primer} holds no steps")
        pieces = model.complete(
            primer, args.steps, n_samples=args.n_samples, random_state=args.seed
        )
    else:
        pieces = model.sample(args.n_samples, length=args.steps, random_state=args.seed)
    paths = _paths(out, len(pieces))
    for piece, path in zip(pieces, paths, strict=True):
        if path.suffix.lower() == ".png":
            piano_roll_figure([piece], path, titles=[path.stem])
        elif voices:
            voices_to_midi(piece, path, steps_per_beat=spb, bpm=args.bpm)
        else:
            roll_to_midi(piece, path, steps_per_beat=spb, bpm=args.bpm)
    if args.plot is not None:
        piano_roll_figure(list(pieces), args.plot, titles=[p.stem for p in paths])
    tracks = f"{model.n_features_in_} voice tracks" if voices else "one track"
    print(
        f"wrote {len(pieces)} piece(s) of {pieces.shape[1]} steps ({spb} a beat, {tracks}) "
        f"to {', '.join(map(str, paths))}"
    )
    return 0


def _fit_width(roll: np.ndarray, width: int, source: str) -> np.ndarray:
    """A primer's 128-pitch roll cut to the model's ``width`` columns."""
    if roll[:, width:].any():
        raise CommandError(f"{source} plays pitches beyond the model's {width} columns")
    return roll[:, :width]


def _paths(out: Path, n: int) -> list[Path]:
    if n == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(n)]
