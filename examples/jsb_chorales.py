"""Polyphonic music on the JSB chorales (issue 15): RNN-NADE (``PianoRollRNN``) on the
quarter-note piano rolls, the literature's protocol, and a four-voice model
(``VoicesRNN``) on the sixteenth-note S/A/T/B scores; test negative log-likelihood per
time step in nats, a generated chorale of each as MIDI, and piano-roll pictures of a
generated chorale beside a real one.

Protocol (Boulanger-Lewandowski et al. 2012; Bai et al. 2018): the 229/76/77 split,
quarter-note steps, a binary piano roll over MIDI pitches; the NLL per step is the total
negative log-likelihood of the test pieces over their total steps (nats). Training stops
early on the validation NLL and keeps the best epoch's weights. The model covers the
training set's pitch range (43..96); every test pitch lies in it.

    .venv/bin/python examples/jsb_chorales.py --part quarter --threads 1
    .venv/bin/python examples/jsb_chorales.py --part voices --threads 1

Each part saves its model in --out (and reuses it on a second run unless --retrain),
writes ``results_<part>.json``, ``<part>_generated.mid`` (64 steps, seed 3) and a
picture in --figures.

Data: $GENMODELS_DATASETS (default ../shared/datasets)/jsb_chorales.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import genmodels
from genmodels import PianoRollRNN, VoicesRNN
from genmodels.datasets import DatasetNotFound, jsb_chorales
from genmodels.music import (
    midi_to_roll,
    midi_to_voices,
    piano_roll_figure,
    roll_to_midi,
    voices_to_midi,
)

PARTS = {
    # part: (resolution, class, steps per beat, picture)
    "quarter": ("quarter", PianoRollRNN, 1, "jsb_quarter_generated_vs_real.png"),
    "voices": ("separated", VoicesRNN, 4, "jsb_voices_generated_vs_real.png"),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=[*PARTS, "all"], default="all")
    p.add_argument("--hidden", type=int, default=256, help="the GRU's state")
    p.add_argument("--step-hidden", type=int, default=150, help="NADE / voice hidden units")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--epochs", type=int, default=120)
    p.add_argument("--patience", type=int, default=8, help="early stopping (epochs)")
    p.add_argument("--batch-size", type=int, default=8, help="pieces per batch")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=64, help="steps of the generated chorale")
    p.add_argument("--out", default="results/jsb_chorales")
    p.add_argument("--figures", default="docs/img")
    p.add_argument("--retrain", action="store_true", help="train even if the model file exists")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    parts = list(PARTS) if args.part == "all" else [args.part]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for part in parts:
        try:
            run(part, args, out)
        except DatasetNotFound as e:
            print(e, file=sys.stderr)
            return 2
    return 0


def run(part: str, args, out: Path) -> None:
    resolution, cls, steps_per_beat, picture = PARTS[part]
    data = jsb_chorales(resolution)
    path = out / f"{part}.safetensors"
    t0 = time.perf_counter()
    if path.exists() and not args.retrain:
        model = genmodels.load(path)
        trained = False
    else:
        model = cls(
            hidden_size=args.hidden,
            step_hidden=args.step_hidden,
            dropout=args.dropout,
            epochs=args.epochs,
            early_stopping=args.patience,
            batch_size=args.batch_size,
            lr=args.lr,
            random_state=args.seed,
            verbose=1,
        )
        model.fit(data["train"], validation_data=data["valid"])
        model.save(path)
        trained = True
    train_time = time.perf_counter() - t0
    record = out / f"results_{part}.json"
    if not trained and record.exists():  # keep the time of the run that trained the model
        train_time = json.loads(record.read_text()).get("train_seconds")
        trained = train_time is not None
    result = {
        "part": part,
        "model": repr(model),
        "epochs_run": model.n_epochs_,
        "best_epoch": model.best_epoch_,
        "train_seconds": round(train_time, 1) if trained else None,
        "threads": args.threads,
        "steps": {k: int(sum(len(x) for x in v)) for k, v in data.items()},
    }
    for split in ("train", "valid", "test"):
        result[f"{split}_nll_per_step"] = model.nll_per_step(data[split])
    if part == "quarter":
        result["pitch_range"] = [model.lowest_pitch_, model.highest_pitch_]
    else:
        result["voice_range"] = [model.voice_low_.tolist(), model.voice_high_.tolist()]

    generated = model.sample(1, length=args.steps, random_state=3)[0]
    real = data["test"][0][: args.steps]
    midi = out / f"{part}_generated.mid"
    real_midi = out / f"{part}_real_test0.mid"
    if part == "quarter":
        roll_to_midi(generated, midi, steps_per_beat=steps_per_beat)
        roll_to_midi(real, real_midi, steps_per_beat=steps_per_beat)
        back = midi_to_roll(midi, steps_per_beat=steps_per_beat)
    else:
        voices_to_midi(generated, midi, steps_per_beat=steps_per_beat)
        voices_to_midi(real, real_midi, steps_per_beat=steps_per_beat)
        back = midi_to_voices(midi, steps_per_beat=steps_per_beat)
    result["midi_round_trip_exact"] = bool(np.array_equal(back, generated))
    what = "quarter-note steps" if part == "quarter" else "sixteenth-note steps, S A T B"
    piano_roll_figure(
        [generated, real],
        Path(args.figures) / picture,
        titles=[
            f"{cls.__name__}: generated (seed 3, {what})",
            "a real chorale (test piece 0)",
        ],
    )
    record.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
