"""A WaveNet conditioned on the digit, on the Free Spoken Digit recordings (issue 14; the
groundwork of issue 15's spoken digits): test negative log-likelihood per sample in nats
(8-bit mu-law levels, 8 kHz) and one generated recording per digit as WAV files.

FSDD's official split: recordings with index 0-4 are the test set, the others train
(here 1,200 train / 300 test files of the shared subset). Leading and trailing silence is
kept as recorded. Test NLL is exact (``score_samples``: the sum over every level of
log p(x_t | the receptive field before it, digit)), divided by the number of levels.

    .venv/bin/python examples/wavenet_digits.py --epochs 3 --threads 2

Data: $GENMODELS_DATASETS (default ../shared/datasets)/fsdd/recordings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genmodels import WaveNet
from genmodels.autoregressive import mu_law_decode, mu_law_encode
from genmodels.cli.audio import load_wavs, write_wav
from genmodels.datasets import DatasetNotFound, dataset_path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=8, help="layers per block")
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--skip", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--chunk", type=int, default=2000, help="training window (levels)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=1.0, help="length of each generated digit")
    p.add_argument("--out", default="wavenet-digits")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        folder = dataset_path("fsdd", "recordings")
    except DatasetNotFound as e:
        print(e, file=sys.stderr)
        return 2
    data = load_wavs(folder, labels_from_name=True)
    index = np.array([int(f.stem.split("_")[2]) for f in data.files])
    test = index < 5
    codes = [mu_law_encode(w).astype(float)[:, None] for w in data.waves]
    train_x = [c for c, t in zip(codes, test, strict=True) if not t]
    test_x = [c for c, t in zip(codes, test, strict=True) if t]
    train_y, test_y = data.labels[~test], data.labels[test]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = WaveNet(
        args.layers,
        args.blocks,
        args.channels,
        args.skip,
        chunk_length=args.chunk,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule="cosine",
        random_state=args.seed,
        verbose=1,
    )
    t0 = time.perf_counter()
    model.fit(train_x, y=train_y, sample_rate=data.sample_rate)
    train_s = time.perf_counter() - t0
    model.save(out / "wavenet.safetensors")
    n_test = sum(len(c) for c in test_x)
    test_nll = -float(np.sum(model.score_samples(test_x, y=test_y))) / n_test
    n_train = sum(len(c) for c in train_x[:100])
    train_nll = -float(np.sum(model.score_samples(train_x[:100], y=train_y[:100]))) / n_train
    # the unconditional baseline: the test set's own level histogram (a 0-context model)
    hist = np.bincount(np.concatenate(test_x)[:, 0].astype(int), minlength=256) + 1e-9
    unigram = -float(np.sum(hist * np.log(hist / hist.sum()))) / n_test
    t1 = time.perf_counter()
    digits = np.array(sorted(set(data.labels)))
    length = int(args.seconds * data.sample_rate)
    waves = model.sample(len(digits), length=length, y=digits, random_state=0)
    sample_s = time.perf_counter() - t1
    for d, w in zip(digits, waves, strict=True):
        write_wav(out / f"digit_{d}.wav", mu_law_decode(w[:, 0].astype(int)), data.sample_rate)
    result = {
        "recipe": {k: v for k, v in vars(args).items() if k != "out"},
        "receptive_field": model.receptive_field_,
        "n_params": sum(t.numel() for t in model.module_.parameters()),
        "train_files": len(train_x),
        "test_files": len(test_x),
        "train_seconds": round(train_s, 1),
        "test_nll_nats_per_sample": round(test_nll, 4),
        "train_nll_nats_per_sample_100_files": round(train_nll, 4),
        "test_histogram_entropy_nats": round(unigram, 4),
        "sample_seconds": round(sample_s, 1),
        "samples": [f"digit_{d}.wav" for d in digits],
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result, indent=2))
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
