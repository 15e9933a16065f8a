"""``genmodels decode MODEL_FILE DATA``: the hidden state of every frame of sequences under
a saved sequence model (Viterbi or per-frame MAP), its posterior probability, a summary."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from . import tables
from .common import (
    PREDICTS,
    CommandError,
    add_column_options,
    add_sequence_column,
    add_verb,
    load_model,
    model_sequences,
    num,
    print_rows,
)


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "decode",
        "hidden state of every frame of sequences under a saved HMM (state paths)",
        run,
        "genmodels decode hmm.safetensors seqs.npz -o states.csv --algorithm viterbi",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument("data", metavar="DATA", help="sequences: .npz, 3-D .npy, or CSV")
    p.add_argument(
        "-o",
        "--output",
        default="states.csv",
        help="CSV with one row per frame: sequence, frame, state, posterior (default states.csv)",
    )
    p.add_argument(
        "--algorithm",
        choices=("viterbi", "map"),
        default=None,
        help="viterbi: the most probable path as a whole; map: each frame's most probable "
        "state (default: the model's own 'algorithm')",
    )
    add_sequence_column(p)
    add_column_options(p)


def run(args: argparse.Namespace) -> int:
    """Decode DATA's sequences and write one row per frame."""
    out = Path(args.output)
    if out.suffix.lower() != ".csv":
        raise CommandError(f"cannot write states to {out}: use a .csv file")
    model = load_model(args.model_file)
    name = type(model).__name__
    caps = model.capabilities
    if not caps.sequential:
        gives = PREDICTS.get(caps.prediction)
        raise CommandError(
            f"{name} is not a sequence model, so it has no state paths to decode; decode needs "
            "a hidden Markov model (e.g. gaussian-hmm)"
            + (f"; genmodels predict gives its {gives}" if gives else "")
        )
    if caps.prediction != "state":
        raise CommandError(f"{name} has no hidden states to decode")
    # A model predicting states decodes with its `algorithm` hyper-parameter by default.
    algorithm = args.algorithm or model.algorithm
    seqs = model_sequences(model, args.data, args)
    logprob, states = model.decode(seqs.frames, seqs.lengths, algorithm=algorithm)
    states = np.asarray(states, dtype=np.int64)
    proba = np.asarray(model.predict_proba(seqs.frames, seqs.lengths), dtype=np.float64)
    posterior = proba[np.arange(len(states)), states]
    lengths = seqs.lengths
    seq_index = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    frame = np.arange(len(states)) - starts[seq_index]
    sequence = seq_index if seqs.ids is None else seqs.ids[seq_index]
    tables.save_records(
        out, ["sequence", "frame", "state", "posterior"], [sequence, frame, states, posterior]
    )
    n = len(states)
    counts = np.bincount(states, minlength=proba.shape[1])
    what = "log p(x, best path)" if algorithm == "viterbi" else "log p(x)"
    print(f"decoded {n} frames of {len(lengths)} sequences ({algorithm})")
    rows = [(f"state {k}", f"{c} frames ({c / n:.1%})") for k, c in enumerate(counts)]
    rows.append(("mean posterior", f"{posterior.mean():.4f} (of the decoded states)"))
    rows.append((what, f"{num(logprob)} nats (all sequences)"))
    print_rows(rows)
    print(f"wrote {n} rows to {out}")
    return 0
