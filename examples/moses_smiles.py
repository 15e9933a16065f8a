"""A SMILES language model on MOSES (issue 15): the project's character GPT with an end
token, trained on 90% of MOSES's test molecules, sampled and scored with the MOSES
metrics (RDKit: the ``genmodels[chem]`` extra).

    python examples/moses_smiles.py --save moses_gpt.safetensors            # train, then score
    python examples/moses_smiles.py --model moses_gpt.safetensors --json out.json   # score only

MOSES's 1.58-million-molecule training file is not available here, so the model trains
on 158,467 molecules of MOSES's official test set (``genmodels.datasets.moses_smiles``: a
fixed 90/10 split by molecule); the other 10% (17,607 molecules) and MOSES's scaffold test
set (176,225 molecules with scaffolds unseen in MOSES's training data) are held out. It
prints the held-out negative log-likelihood per character (the end of each molecule
counted as one more character) on the test split and on 20,000 scaffold-set molecules,
and the MOSES metrics of samples: validity, unique@1000 and @10000 (it samples until
10,000 are valid), novelty against the training molecules, IntDiv1/IntDiv2 and the share
passing the filters (see ``genmodels.chem``).
Data: ``$GENMODELS_DATASETS/moses_smiles/`` (default ``../shared/datasets``).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from genmodels import Transformer, load
from genmodels.datasets import moses_smiles

# 4 pre-LayerNorm blocks 128 wide (0.8 M weights), a 64-character window (the longest MOSES
# SMILES has 56 characters, so a molecule and its end token fit one window), batches of 64
# molecules, one epoch with a cosine rate: what ~45 minutes of a shared CPU thread can hold.
RECIPE = dict(
    n_layers=4,
    n_heads=4,
    d_model=128,
    block_size=64,
    end_token=True,
    batch_size=64,
    epochs=1,
    lr=2e-3,
    warmup_steps=200,
    weight_decay=0.1,
    grad_clip=1.0,
)
N_VALIDATION = 5000  # test molecules scored every epoch (val_loss)
N_SCAFFOLDS = 20000  # scaffold-set molecules scored (a fixed draw of the 176,225)


def nats_per_char(model: Transformer, smiles: list[str]) -> float:
    """Held-out negative log-likelihood per character, each molecule's end counted."""
    total = 0.0
    for i in range(0, len(smiles), 4096):
        total += float(model.score_samples(smiles[i : i + 4096]).sum())
    return -total / sum(len(s) + 1 for s in smiles)


def sample_until_valid(model, n_valid: int, batch: int, seed: int, length: int) -> list[str]:
    """Samples drawn ``batch`` at a time (seeds ``seed``, ``seed + 1``, ...) until at
    least ``n_valid`` of them parse; all of them, valid or not."""
    from genmodels.chem import canonical_smiles

    out: list[str] = []
    valid = 0
    k = 0
    while valid < n_valid:
        new = model.sample_text(batch, length=length, random_state=seed + k)
        valid += sum(c is not None for c in canonical_smiles(new))
        out.extend(new)
        k += 1
    return out


def train_canonical(train: list[str], path: str | None) -> list[str]:
    """RDKit's canonical SMILES of the training molecules (the valid ones), read from
    ``path`` when it exists, else computed (and written there when given)."""
    from pathlib import Path

    from genmodels.chem import canonical_smiles, read_smiles

    if path and Path(path).is_file():
        return read_smiles(path)
    out = [c for c in canonical_smiles(train) if c is not None]
    if path:
        Path(path).write_text("".join(c + "\n" for c in out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="score this saved model (no training)")
    parser.add_argument("--save", default=None, help="write the trained model here")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--checkpoint-dir", default=None, help="checkpoint every epoch here")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    parser.add_argument("--train-only", action="store_true", help="train and save, no scores")
    parser.add_argument("--n-valid", type=int, default=10000, help="valid samples to draw")
    parser.add_argument(
        "--parts",
        default="nll,metrics",
        help="what to score: nll (held-out likelihoods), metrics (samples), or both",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the numbers here")
    parser.add_argument("--samples-out", default=None, help="write the samples here (.smi)")
    parser.add_argument(
        "--canonical-train",
        default=None,
        help="a .smi file of the training split's RDKit canonical SMILES (written here when "
        "missing, read when present: canonicalising 158k molecules takes minutes)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = moses_smiles()
    out: dict = {"data": "trained on 158k of MOSES's test molecules, not the 1.58M training file"}
    if args.model is None:
        params = dict(RECIPE, random_state=args.seed, verbose=1)
        if args.epochs is not None:
            params["epochs"] = args.epochs
        if args.checkpoint_dir:
            params["checkpoint_dir"] = args.checkpoint_dir
        model = Transformer(**params)
        rng = np.random.RandomState(args.seed)
        val = [data["test"][i] for i in rng.choice(len(data["test"]), N_VALIDATION, False)]
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(data["train"], validation_data=val, resume=args.resume)
        out["train_seconds"] = round(time.perf_counter() - t0, 1)
        out["train_cpu_seconds"] = round(time.process_time() - c0, 1)
        out["history"] = {k: [round(v, 4) for v in vs] for k, vs in model.history_.items()}
        if args.save:
            model.save(args.save)
        print(json.dumps(out, indent=2), flush=True)
        if args.train_only:
            return
    else:
        model = load(args.model)
    out["params"] = {k: v for k, v in model.get_params().items() if k in RECIPE}
    parts = set(args.parts.split(","))
    if "nll" in parts:
        out.update(held_out_nll(model, data, args.seed))
    if "metrics" in parts:
        out.update(sample_metrics(model, data, args))
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


def held_out_nll(model, data: dict, seed: int) -> dict:
    """Nats (and bits) per character of the test split and of the scaffold draw."""
    out: dict = {}
    t0 = time.perf_counter()
    out["test_nats_per_char"] = nats_per_char(model, data["test"])
    rng = np.random.RandomState(seed + 1)
    scaffolds = data["test_scaffolds"]
    pick = rng.choice(len(scaffolds), min(N_SCAFFOLDS, len(scaffolds)), replace=False)
    out["scaffolds_scored"] = len(pick)
    out["scaffolds_nats_per_char"] = nats_per_char(model, [scaffolds[i] for i in pick])
    out["test_bits_per_char"] = out["test_nats_per_char"] / math.log(2)
    out["score_seconds"] = round(time.perf_counter() - t0, 1)
    return out


def sample_metrics(model, data: dict, args) -> dict:
    """The MOSES metrics of samples drawn until ``args.n_valid`` are valid."""
    from genmodels.chem import moses_metrics

    out: dict = {}
    t0 = time.perf_counter()
    samples = sample_until_valid(model, args.n_valid, 1000, args.seed, length=100)
    out["sample_seconds"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    train = train_canonical(data["train"], args.canonical_train)
    out["metrics"] = moses_metrics(samples, train, canonical_train=True)
    out["metrics_seconds"] = round(time.perf_counter() - t0, 1)
    if args.samples_out:
        with open(args.samples_out, "w") as fh:
            fh.write("\n".join(samples) + "\n")
    return out


if __name__ == "__main__":
    main()
