"""``genmodels complete MODEL_FILE PREFIX``: continue a text (or a sequence of token ids)
with a saved autoregressive model, and print or write the completions."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import CommandError, add_verb, load_model


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "complete",
        "continue a text with a saved autoregressive model (e.g. a transformer)",
        run,
        'genmodels complete shakespeare.safetensors "To be, or not" -n 200 --seed 0',
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument(
        "prefix",
        metavar="PREFIX",
        help="the text to continue ('' to start from nothing); for a model of token ids, "
        "the ids separated by commas or spaces",
    )
    p.add_argument("-n", "--n-tokens", type=int, default=200, help="tokens to add (default 200)")
    p.add_argument("--samples", type=int, default=1, help="how many completions (default 1)")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="divides the logits; 0 decodes greedily (default 1.0)",
    )
    p.add_argument("--top-k", type=int, default=None, help="draw among the k likeliest tokens")
    p.add_argument(
        "--top-p", type=float, default=None, help="draw among the likeliest tokens of mass p"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed of the draws")
    p.add_argument("-o", "--output", default=None, help="write to this file instead of printing")


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model_file)
    name = type(model).__name__
    if not hasattr(model, "complete"):
        raise CommandError(f"{name} does not generate sequences token by token; it has no complete")
    if args.n_tokens < 1:
        raise CommandError(f"-n must be a positive number of tokens, got {args.n_tokens}")
    text = getattr(model, "vocabulary_", None) is not None
    prefix = args.prefix if text else _token_ids(args.prefix)
    out = model.complete(
        prefix,
        args.n_tokens,
        n_samples=args.samples,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        random_state=args.seed,
    )
    lines = list(out) if text else [" ".join(str(int(v)) for v in row) for row in out]
    body = "\n\n".join(lines) + "\n"
    if args.output is None:
        print(body, end="")
    else:
        Path(args.output).write_text(body, encoding="utf-8")
        print(f"wrote {len(lines)} completion(s) of {args.n_tokens} tokens to {args.output}")
    return 0


def _token_ids(prefix: str) -> np.ndarray:
    parts = prefix.replace(",", " ").split()
    try:
        return np.array([int(p) for p in parts], dtype=np.int64)
    except ValueError:
        raise CommandError(
            f"this model was fitted on token ids: give the prefix as integers, got {prefix!r}"
        ) from None
