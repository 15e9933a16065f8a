"""Spoken-digit recognition on the Free Spoken Digit Dataset with one GaussianHMM per digit.

Features: librosa MFCCs of the 8 kHz recordings (leading/trailing silence trimmed with
``librosa.effects.trim``, 25 ms Hann windows every 10 ms, 40 mel bands up to 4 kHz, 13
coefficients with c0, plus deltas and delta-deltas: 39 per frame), standardised with the
training frames' mean and standard deviation. Each digit gets a GaussianHMM fitted by
Baum-Welch on that digit's training recordings; a recording is labelled with the digit whose
model gives it the highest log-likelihood (the digits are balanced, so no prior is added).

The configuration (number of states, diagonal or full covariances, left-right or ergodic
transitions) is chosen by 4-fold cross-validation on the training recordings only: indices
5-24 split by recording index into folds 5-9, 10-14, 15-19, 20-24. The chosen configuration
is then refitted on all 1,200 training recordings and scored once on the official test split
(indices 0-4, 300 recordings): accuracy, per-speaker accuracy and the confusion matrix.
Everything is seeded (random_state=0) and float64 on the CPU, so the numbers repeat.

Data come from $GENMODELS_DATASETS (default ../shared/datasets). Run:

    .venv/bin/python examples/spoken_digits.py [--figure confusion.png] [--skip-search]

``--skip-search`` fits the configuration the search chose (``DEFAULT``) without redoing
the cross-validation (about 15 s instead of about 2.5 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genmodels import GaussianHMM

ROOT = Path(
    os.environ.get("GENMODELS_DATASETS", Path(__file__).parents[1] / ".." / "shared" / "datasets")
)
SR = 8000
TEST_INDICES = range(0, 5)  # FSDD's official test split
TRAIN_INDICES = range(5, 25)
FOLDS = [range(a, a + 5) for a in (5, 10, 15, 20)]  # cross-validation within the training set
MFCC = dict(n_mfcc=13, n_fft=256, win_length=200, hop_length=80, n_mels=40, fmax=SR / 2)


@dataclass(frozen=True)
class Config:
    n_states: int
    covariance_type: str  # "diag" or "full"
    topology: str  # "left-right" (start in state 0, stay or move one on) or "ergodic"
    n_iter: int = 200
    tol: float = 1.0  # on the total log-likelihood of a digit's ~3,000 training frames (nats)
    min_covar: float = 1e-3

    def __str__(self) -> str:
        return f"{self.n_states} states, {self.covariance_type}, {self.topology}"


# Simplest first: on a tie in cross-validated accuracy the earlier configuration wins.
GRID = [
    Config(k, ct, topo)
    for ct in ("diag", "full")
    for k in (4, 6, 8)
    for topo in ("left-right", "ergodic")
]
DEFAULT = Config(6, "full", "ergodic")  # what the search below picks


@dataclass
class Recording:
    digit: int
    speaker: str
    index: int
    features: np.ndarray  # (n_frames, 39)


def mfcc_features(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """(n_frames, 39): 13 MFCCs, deltas and delta-deltas of the silence-trimmed signal."""
    import librosa

    y, _ = librosa.effects.trim(y, top_db=30, frame_length=256, hop_length=64)
    m = librosa.feature.mfcc(y=y, sr=sr, **MFCC)
    d1 = librosa.feature.delta(m, width=5, mode="nearest")
    d2 = librosa.feature.delta(m, width=5, order=2, mode="nearest")
    return np.vstack([m, d1, d2]).T.astype(np.float64)


def load_fsdd(folder: Path) -> list[Recording]:
    """Every ``{digit}_{speaker}_{index}.wav`` in ``folder`` with its features."""
    import soundfile

    recs = []
    for path in sorted(folder.glob("*.wav")):
        digit, speaker, index = path.stem.split("_")
        y, sr = soundfile.read(path, dtype="float32")
        if sr != SR or y.ndim != 1:
            raise ValueError(f"{path}: expected 8 kHz mono, got {sr} Hz, shape {y.shape}")
        recs.append(Recording(int(digit), speaker, int(index), mfcc_features(y, sr)))
    return recs


def select(recs: list[Recording], indices) -> list[Recording]:
    keep = set(indices)
    return [r for r in recs if r.index in keep]


def _left_right(k: int) -> tuple[np.ndarray, np.ndarray]:
    start = np.zeros(k)
    start[0] = 1.0
    trans = np.zeros((k, k))
    for j in range(k - 1):
        trans[j, j] = trans[j, j + 1] = 0.5
    trans[k - 1, k - 1] = 1.0
    return start, trans


def _flat_start(seqs: list[np.ndarray], k: int, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances from cutting every sequence into k equal segments."""
    parts = [[] for _ in range(k)]
    for x in seqs:
        cut = np.linspace(0, len(x), k + 1).astype(int)
        for j in range(k):
            parts[j].append(x[cut[j] : max(cut[j + 1], cut[j] + 1)])
    segs = [np.vstack(p) for p in parts]
    means = np.stack([s.mean(0) for s in segs])
    if cfg.covariance_type == "diag":
        covars = np.stack([s.var(0) + cfg.min_covar for s in segs])
    else:
        eye = np.eye(seqs[0].shape[1])
        covars = np.stack([np.cov(s.T, bias=True) + cfg.min_covar * eye for s in segs])
    return means, covars


def fit_digit_model(seqs: list[np.ndarray], cfg: Config) -> GaussianHMM:
    kw = dict(
        covariance_type=cfg.covariance_type,
        n_iter=cfg.n_iter,
        tol=cfg.tol,
        min_covar=cfg.min_covar,
        random_state=0,
    )
    if cfg.topology == "ergodic":  # k-means means, uniform start and transitions
        return GaussianHMM(cfg.n_states, **kw).fit(seqs)
    # Left-right: the zeros of transmat_ stay zero in EM; start in state 0 (not learned).
    model = GaussianHMM(cfg.n_states, init_params=(), learn=("transmat", "means", "covars"), **kw)
    model.startprob_, model.transmat_ = _left_right(cfg.n_states)
    model.means_, model.covars_ = _flat_start(seqs, cfg.n_states, cfg)
    return model.fit(seqs)


class DigitClassifier:
    """One HMM per digit over standardised frames; predicts the most likely digit."""

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def fit(self, recs: list[Recording]) -> DigitClassifier:
        frames = np.vstack([r.features for r in recs])
        self.mean_, self.scale_ = frames.mean(0), frames.std(0)
        self.digits_ = sorted({r.digit for r in recs})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: reported via n_iter_ below
            self.models_ = [
                fit_digit_model([self._scale(r) for r in recs if r.digit == d], self.cfg)
                for d in self.digits_
            ]
        return self

    def _scale(self, r: Recording) -> np.ndarray:
        return (r.features - self.mean_) / self.scale_

    def log_likelihoods(self, recs: list[Recording]) -> np.ndarray:
        """(n_recordings, n_digits) log p(features | digit model)."""
        X = [self._scale(r) for r in recs]
        return np.stack([m.score_samples(X) for m in self.models_], axis=1)

    def predict(self, recs: list[Recording]) -> np.ndarray:
        return np.asarray(self.digits_)[self.log_likelihoods(recs).argmax(1)]


def accuracy(clf: DigitClassifier, recs: list[Recording]) -> float:
    return float(np.mean(clf.predict(recs) == np.array([r.digit for r in recs])))


def validate(train: list[Recording], cfg: Config, fold: range) -> tuple[float, float]:
    """Accuracy on one held-out fold of recording indices, and the fit time (s)."""
    import torch

    torch.set_num_threads(1)  # one process per core does better than two threads per fit
    held = set(fold)
    t0 = time.perf_counter()
    clf = DigitClassifier(cfg).fit([r for r in train if r.index not in held])
    fit_s = time.perf_counter() - t0
    return accuracy(clf, [r for r in train if r.index in held]), fit_s


def search(train: list[Recording], n_jobs: int = 2) -> Config:
    from joblib import Parallel, delayed

    print("## Model selection: 4-fold cross-validation on the training recordings\n")
    print("| configuration | fold 5-9 | fold 10-14 | fold 15-19 | fold 20-24 | mean | fit (s) |")
    print("|---|---|---|---|---|---|---|")
    # Every (configuration, fold) fit is seeded on its own: the same numbers for any n_jobs.
    runs = Parallel(n_jobs=n_jobs)(
        delayed(validate)(train, cfg, fold) for cfg in GRID for fold in FOLDS
    )
    means = []
    for i, cfg in enumerate(GRID):
        accs, fit_s = zip(*runs[i * len(FOLDS) : (i + 1) * len(FOLDS)], strict=True)
        means.append(np.mean(accs))
        cells = " | ".join(f"{a:.4f}" for a in accs)
        print(f"| {cfg} | {cells} | {means[-1]:.4f} | {np.mean(fit_s):.1f} |")
    best = GRID[int(np.argmax(means))]
    print(f"\nchosen: {best} (mean CV accuracy {max(means):.4f})\n")
    return best


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int = 10) -> np.ndarray:
    cm = np.zeros((n, n), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def save_figure(cm: np.ndarray, acc: float, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(cm, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                colour = "white" if cm[i, j] > cm.max() / 2 else "black"
                ax.text(j, i, cm[i, j], ha="center", va="center", color=colour, fontsize=9)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("spoken digit")
    ax.set_title(f"FSDD test split, one GaussianHMM per digit: {acc:.1%}")
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", help="save the test confusion matrix as an image here")
    parser.add_argument(
        "--skip-search", action="store_true", help=f"no cross-validation; use {DEFAULT}"
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes for the search")
    args = parser.parse_args(argv)
    folder = ROOT / "fsdd" / "recordings"
    if not folder.is_dir():
        print(f"FSDD recordings not found at {folder}: set GENMODELS_DATASETS", file=sys.stderr)
        return 1
    try:
        import librosa  # noqa: F401
    except ImportError:
        print("librosa is needed for the MFCCs: pip install -e '.[audio]'", file=sys.stderr)
        return 1

    t_start = time.perf_counter()
    recs = load_fsdd(folder)
    train, test = select(recs, TRAIN_INDICES), select(recs, TEST_INDICES)
    n_frames = [len(r.features) for r in recs]
    print(
        f"FSDD: {len(recs)} recordings, {len({r.speaker for r in recs})} speakers; "
        f"train (indices 5-24) {len(train)} / test (indices 0-4) {len(test)}; "
        f"{recs[0].features.shape[1]} features per 10 ms frame, {min(n_frames)}-"
        f"{max(n_frames)} frames per recording (median {int(np.median(n_frames))}); "
        f"features in {time.perf_counter() - t_start:.1f} s\n"
    )

    cfg = DEFAULT if args.skip_search else search(train, args.jobs)

    t0 = time.perf_counter()
    clf = DigitClassifier(cfg).fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    y_pred = clf.predict(test)
    score_s = time.perf_counter() - t0
    y_true = np.array([r.digit for r in test])
    acc = float(np.mean(y_pred == y_true))
    iters = [m.n_iter_ for m in clf.models_]
    print(f"## Test split (indices 0-4): {cfg}\n")
    print(
        f"fit on {len(train)} recordings: {fit_s:.1f} s (Baum-Welch iterations per digit "
        f"{min(iters)}-{max(iters)}, all converged: "
        f"{all(m.converged_ for m in clf.models_)}); scoring {len(test)} recordings: "
        f"{score_s:.2f} s\n"
    )
    print(f"**test accuracy: {acc:.4f}** ({int((y_pred == y_true).sum())}/{len(test)})\n")

    speakers = sorted({r.speaker for r in test})
    spk = np.array([r.speaker for r in test])
    print("| speaker | " + " | ".join(speakers) + " |")
    print("|---" * (len(speakers) + 1) + "|")
    cells = " | ".join(f"{np.mean(y_pred[spk == s] == y_true[spk == s]):.2f}" for s in speakers)
    print(f"| accuracy | {cells} |\n")

    cm = confusion(y_true, y_pred)
    print("Confusion matrix (rows: spoken digit, columns: predicted):\n")
    print("| | " + " | ".join(str(d) for d in range(10)) + " |")
    print("|---" * 11 + "|")
    for d in range(10):
        print(f"| **{d}** | " + " | ".join(str(c) if c else "." for c in cm[d]) + " |")
    errors = [
        f"{r.digit}_{r.speaker}_{r.index} -> {p}"
        for r, p in zip(test, y_pred, strict=True)
        if r.digit != p
    ]
    print(f"\nerrors: {', '.join(errors) if errors else 'none'}")
    if args.figure:
        save_figure(cm, acc, args.figure)
        print(f"confusion matrix saved to {args.figure}")
    print(f"(ran in {time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
