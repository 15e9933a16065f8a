"""A WaveNet conditioned on the digit, on the Free Spoken Digit recordings (issue 14; the
groundwork of issue 15's spoken digits): test negative log-likelihood per sample in nats
(8-bit mu-law levels, 8 kHz), generated recordings of every digit as WAV files, and
(``--judge``) the share of generated digits that the project's HMM digit recogniser
(``examples/spoken_digits.py``, 99.3% on real test recordings) hears as the digit asked for.

FSDD's official split: recordings with index 0-4 are the test set, the others train
(here 1,200 train / 300 test files of the shared subset). Leading and trailing silence is
kept as recorded. Test NLL is exact (``score_samples``: the sum over every level of
log p(x_t | the receptive field before it, digit)), divided by the number of levels.

    .venv/bin/python examples/wavenet_digits.py --epochs 3 --threads 2
    .venv/bin/python examples/wavenet_digits.py --model OUT/wavenet.safetensors \
        --per-digit 20 --judge --figure docs/img/wavenet_digits_spectrograms.png

``--model`` reuses a trained model (no training); ``--judge`` needs librosa (the ``audio``
extra) for the recogniser's MFCCs. The recogniser is the configuration that example's
cross-validation chose (6 states, full covariances, ergodic), fitted on the same 1,200
training recordings; as a control it also hears the real test recordings after the same
mu-law quantisation the WaveNet's samples go through.

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

import genmodels
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
    p.add_argument("--model", help="a trained WaveNet file: skip training")
    p.add_argument("--per-digit", type=int, default=1, help="recordings generated per digit")
    p.add_argument("--judge", action="store_true", help="recognise them with the HMM recogniser")
    p.add_argument("--figure", help="spectrograms of generated and real digits (PNG)")
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
    if args.model:
        model = genmodels.load(args.model)
        train_s = None
    else:
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
    asked = np.repeat(digits, args.per_digit)
    length = int(args.seconds * data.sample_rate)
    levels = model.sample(len(asked), length=length, y=asked, random_state=0)
    sample_s = time.perf_counter() - t1
    waves = [mu_law_decode(w[:, 0].astype(int)) for w in levels]
    names = []
    for i, (d, w) in enumerate(zip(asked, waves, strict=True)):
        names.append(f"digit_{d}_{i % args.per_digit}.wav")
        write_wav(out / names[-1], w, data.sample_rate)
    judged = None
    if args.judge:
        real_test = [mu_law_decode(c[:, 0].astype(int)) for c in test_x]
        judged = judge(data, test, asked, waves, real_test, test_y)
    if args.figure:
        real = [data.waves[int(np.flatnonzero(test & (data.labels == d))[0])] for d in digits]
        first = [waves[int(np.flatnonzero(asked == d)[0])] for d in digits]
        spectrograms(first, real, digits, data.sample_rate, args.figure)
    result = {
        "recipe": {k: v for k, v in vars(args).items() if k != "out"},
        "receptive_field": model.receptive_field_,
        "n_params": sum(t.numel() for t in model.module_.parameters()),
        "train_files": len(train_x),
        "test_files": len(test_x),
        "train_seconds": None if train_s is None else round(train_s, 1),
        "test_nll_nats_per_sample": round(test_nll, 4),
        "train_nll_nats_per_sample_100_files": round(train_nll, 4),
        "test_histogram_entropy_nats": round(unigram, 4),
        "sample_seconds": round(sample_s, 1),
        "samples": names,
        "judge": judged,
        "threads": torch.get_num_threads(),
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))
    if judged:
        confusion = judged.pop("confusion_rows_asked_cols_heard")
    print(json.dumps(result, indent=2))
    if judged:
        print("\nrows: digit asked for; columns: digit the recogniser heard")
        print("| | " + " | ".join(str(d) for d in range(10)) + " |")
        print("|---" * 11 + "|")
        for d, row in enumerate(confusion):
            print(f"| **{d}** | " + " | ".join(str(c) if c else "." for c in row) + " |")
    return 0


def judge(data, test, asked, waves, real_test, real_y) -> dict:
    """The HMM recogniser of examples/spoken_digits.py, fitted on the training recordings,
    applied to the generated ``waves`` (the digit each was asked for in ``asked``) and, as
    a control, to the mu-law-quantised real test recordings."""
    sys.path.insert(0, str(Path(__file__).parent))
    from spoken_digits import DEFAULT, DigitClassifier, Recording, mfcc_features

    def recordings(ws, ys):
        return [
            Recording(int(y), "", 0, mfcc_features(w.astype(np.float32)))
            for w, y in zip(ws, ys, strict=True)
        ]

    asked, real_y = np.asarray(asked).astype(int), np.asarray(real_y).astype(int)
    index = [int(f.stem.split("_")[2]) for f in data.files]
    train = recordings(
        [w for w, i in zip(data.waves, index, strict=True) if i >= 5], data.labels[~test]
    )
    t0 = time.perf_counter()
    clf = DigitClassifier(DEFAULT).fit(train)
    fit_s = time.perf_counter() - t0
    heard = clf.predict(recordings(waves, asked))
    control = clf.predict(recordings(real_test, real_y))
    digits = sorted(set(asked.tolist()))
    per_digit = {int(d): round(float(np.mean(heard[asked == d] == d)), 4) for d in digits}
    confusion = np.zeros((10, 10), dtype=int)
    for a, h in zip(asked, heard, strict=True):
        confusion[a, h] += 1
    return {
        "recogniser": str(DEFAULT),
        "recogniser_fit_seconds": round(fit_s, 1),
        "control_accuracy_real_test_mu_law": round(float(np.mean(control == real_y)), 4),
        "generated": int(len(asked)),
        "recognised_as_asked": round(float(np.mean(heard == asked)), 4),
        "per_digit": per_digit,
        "confusion_rows_asked_cols_heard": confusion.tolist(),
    }


def spectrograms(generated, real, digits, sr: int, path: str) -> None:
    """Two rows of log-power spectrograms: one generated recording per digit, one real."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(digits), figsize=(1.6 * len(digits), 3.6), sharey=True)
    for row, (waves, label) in enumerate(((generated, "WaveNet"), (real, "real"))):
        for ax, w, d in zip(axes[row], waves, digits, strict=True):
            ax.specgram(w, NFFT=256, Fs=sr, noverlap=192, cmap="magma", vmin=-120)
            ax.set_xticks([])
            ax.set_title(f"{label} {d}", fontsize=8)
            if d != digits[0]:
                ax.tick_params(labelleft=False)
    axes[0, 0].set_ylabel("Hz", fontsize=8)
    axes[1, 0].set_ylabel("Hz", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
