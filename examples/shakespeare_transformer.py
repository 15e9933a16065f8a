"""A character-level GPT on tiny Shakespeare (issue 14), the way nanoGPT splits it: the
first 90% of the characters to train on, the last 10% to validate.

    python examples/shakespeare_transformer.py --recipe nanogpt   # nanoGPT's CPU recipe
    python examples/shakespeare_transformer.py --recipe ours      # the 10-minute recipe
    python examples/shakespeare_transformer.py --recipe bpe       # byte-pair tokens

Prints the validation loss two ways: the trainer's ``val_loss`` (mean cross-entropy per
character over validation windows of ``block_size``, nanoGPT's measure) and the exact
log-likelihood of the whole validation text per character (``score_samples``, every
character with at least ``block_size / 2`` characters of context), then a completion.
Data: ``$GENMODELS_DATASETS/tiny_shakespeare/input.txt`` (default ``../shared/datasets``).
"""

from __future__ import annotations

import argparse
import json
import math
import time

from genmodels import Transformer
from genmodels.datasets import tiny_shakespeare

RECIPES = {
    # nanoGPT's README, "I only have a macbook": 4 layers, 4 heads, 128 wide, context 64,
    # batch 12, lr 1e-3 with cosine decay, 2,000 iterations (here: one epoch of windows
    # every 32 characters, 2,615 steps of 12), dropout 0, AdamW(0.9, 0.99), clip 1.0.
    "nanogpt": dict(
        n_layers=4,
        n_heads=4,
        d_model=128,
        block_size=64,
        batch_size=12,
        epochs=1,
        lr=1e-3,
        warmup_steps=100,
        weight_decay=0.1,
        grad_clip=1.0,
    ),
    # wider context and batch, a higher rate: what 10 minutes on 2 cores can hold
    "ours": dict(
        n_layers=4,
        n_heads=4,
        d_model=128,
        block_size=128,
        batch_size=32,
        epochs=6,
        lr=2e-3,
        warmup_steps=100,
        weight_decay=0.1,
        grad_clip=1.0,
        positions="rotary",
    ),
}
# the same network and epochs over byte-level BPE tokens (512: 256 bytes + 256 merges,
# the genmodels[text] extra); compare by nats per character of the validation text
RECIPES["bpe"] = dict(RECIPES["ours"], tokenizer="bpe", vocab_size=512)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="ours")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="write the model here (.safetensors)")
    parser.add_argument("--json", default=None, help="write the numbers here")
    args = parser.parse_args()
    train, val = tiny_shakespeare()
    params = dict(RECIPES[args.recipe], random_state=args.seed, verbose=1)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    model = Transformer(**params)
    t0 = time.perf_counter()
    model.fit(train, validation_data=val)
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    val_nats = -float(model.score_samples([val])[0]) / len(val)
    score_s = time.perf_counter() - t1
    out = {
        "recipe": args.recipe,
        "params": {k: v for k, v in params.items() if k != "verbose"},
        "train_seconds": round(seconds, 1),
        "steps": math.ceil(
            len(model._windows(model._token_lists(train, fitting=False))) / params["batch_size"]
        )
        * params["epochs"],
        "val_loss_windows": model.history_["val_loss"][-1],
        "train_loss_last_epoch": model.history_["loss"][-1],
        "val_nats_per_char_exact": val_nats,
        "val_bits_per_char": val_nats / math.log(2),
        "score_seconds": round(score_s, 1),
        "completion": model.complete("ROMEO:", 300, random_state=0, temperature=0.8)[0],
    }
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    if args.save:
        model.save(args.save)


if __name__ == "__main__":
    main()
