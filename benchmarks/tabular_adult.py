"""Synthetic tables on UCI Adult: genmodels' synthesizers beside SDV's CTGAN, TVAE and
GaussianCopula, on the same data, split and metrics.

Protocol: ``adult.data`` (32,561 rows; ``?`` = missing), 20% of the rows held out by a fixed
seed as the real test set, never shown to a synthesizer; every synthesizer fits the other
80% (26,049 rows) and samples as many rows, for each seed. Per fit:

* fidelity: SDMetrics' QualityReport against the real training rows (its score, the mean
  of Column Shapes and Column Pair Trends), each column's distance (1 - KSComplement for
  numbers, 1 - TVComplement for categories, from the report), and the pairwise
  correlation difference (mean |Pearson r_real - r_synth| over the pairs of numeric
  columns);
* machine-learning efficacy: scikit-learn's HistGradientBoostingClassifier (native
  categorical splits, random_state 0) trained on the synthetic rows to predict
  ``income``, F1 of ">50K" and accuracy on the real test rows; the same classifier
  trained on the real training rows is the reference;
* privacy: distance to the closest real training record (DCR) of 2,000 synthetic rows,
  median, beside the same for 2,000 real test rows (real-to-real); the encoding: numbers
  min-max scaled by the training range, categories one-hot times 1/sqrt(2) (a different
  category costs 1), missing its own category; also the share of synthetic rows that copy
  a training row exactly (DCR = 0);
* fit and sample times (one thread).

``--epochs`` gives every neural model (ours and SDV's CTGAN and TVAE) the same number of
epochs; SDV's default of 300 does not fit one CPU thread's budget (docs/results.md).
``--results FILE`` keeps every finished fit in a JSON file and skips those already there,
so a run can be split (``--only``) and the table printed from all of them.

Run: ``python benchmarks/tabular_adult.py --epochs 10 --seeds 0 1 2`` (``--quick``: 2,000
rows, 2 epochs, one seed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genmodels.datasets import DatasetNotFound, uci_adult  # noqa: E402

TARGET, POSITIVE = "income", ">50K"
OURS = ("gmm", "vae", "gan")
PEERS = ("ctgan", "tvae", "gaussiancopula")
DCR_ROWS = 2000


def split(frame, seed: int = 0, test_fraction: float = 0.2):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    n_test = int(round(test_fraction * len(frame)))
    test, train = order[:n_test], order[n_test:]
    return frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)


def sdv_metadata(train):
    from sdv.metadata import Metadata

    return Metadata.detect_from_dataframes({"adult": train})


# -- the synthesizers ----------------------------------------------------------------------


def fit_and_sample(name: str, train, metadata, seed: int, epochs: int, n: int):
    """Fit synthesizer ``name`` on ``train``, sample ``n`` rows: (rows, fit s, sample s,
    fit CPU s); the CPU time is the process's, which other jobs on the machine inflate
    less than the wall time."""
    np.random.seed(seed)  # noqa: NPY002 - SDV's synthesizers draw from the global generators
    torch.manual_seed(seed)
    if name in OURS:
        from genmodels.tabular import Synthesizer

        model = Synthesizer(model=name, epochs=epochs, random_state=seed, verbose=0)
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(train)
        fit_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        rows = model.sample(n, random_state=seed)
        return rows, fit_s, time.perf_counter() - t0, cpu_s
    from sdv.single_table import (
        CTGANSynthesizer,
        GaussianCopulaSynthesizer,
        TVAESynthesizer,
    )

    if name == "ctgan":
        synth = CTGANSynthesizer(metadata, epochs=epochs)
    elif name == "tvae":
        synth = TVAESynthesizer(metadata, epochs=epochs)
    else:
        synth = GaussianCopulaSynthesizer(metadata)
    t0, c0 = time.perf_counter(), time.process_time()
    synth.fit({"adult": train})
    fit_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    np.random.seed(seed + 1000)  # noqa: NPY002
    torch.manual_seed(seed + 1000)
    t0 = time.perf_counter()
    rows = synth.sample(n)
    rows = rows["adult"] if isinstance(rows, dict) else rows
    return rows[list(train.columns)], fit_s, time.perf_counter() - t0, cpu_s


# -- the metrics ---------------------------------------------------------------------------


def numeric_columns(train) -> list[str]:
    return [c for c in train.columns if train[c].dtype.kind in "iuf"]


def quality(train, synth, metadata) -> dict:
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    report.generate(train, synth, metadata.to_dict()["tables"]["adult"], verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes")
    distances = {row.Column: 1.0 - float(row.Score) for row in shapes.itertuples()}
    return {
        "quality": float(report.get_score()),
        "column_shapes": float(props["Column Shapes"]),
        "pair_trends": float(props["Column Pair Trends"]),
        "column_distance": distances,
    }


def correlation_difference(train, synth) -> float:
    cols = numeric_columns(train)
    a = train[cols].astype(float).corr().to_numpy()
    b = synth[cols].astype(float).corr().to_numpy()
    iu = np.triu_indices(len(cols), 1)
    return float(np.nanmean(np.abs(a[iu] - b[iu])))


def classifier_frame(frame, train):
    """Features for the classifier: numbers as floats, categories as pandas categories
    with the real training rows' levels (a level the training rows lack is missing)."""
    import pandas as pd

    out = {}
    for c in train.columns:
        if c == TARGET:
            continue
        if c in numeric_columns(train):
            out[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
        else:
            levels = sorted(train[c].dropna().unique())
            out[c] = pd.Categorical(frame[c], categories=levels)
    return pd.DataFrame(out)


def efficacy(fit_rows, train, test) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, f1_score

    y = (fit_rows[TARGET] == POSITIVE).to_numpy()
    y_test = (test[TARGET] == POSITIVE).to_numpy()
    if y.all() or not y.any():  # one class only: the classifier predicts it everywhere
        pred = np.full(len(test), bool(y[0]))
    else:
        clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
        clf.fit(classifier_frame(fit_rows, train), y)
        pred = clf.predict(classifier_frame(test, train))
    return {"f1": float(f1_score(y_test, pred)), "accuracy": float(accuracy_score(y_test, pred))}


def dcr_encoding(frame, train) -> np.ndarray:
    import pandas as pd

    parts = []
    for c in train.columns:
        if c in numeric_columns(train):
            lo, hi = float(train[c].min()), float(train[c].max())
            v = (pd.to_numeric(frame[c], errors="coerce").to_numpy(float) - lo) / (hi - lo or 1)
            parts.append(np.nan_to_num(v, nan=-1.0)[:, None])
        else:
            levels = ["<missing>", *sorted(train[c].dropna().unique())]
            codes = pd.Categorical(frame[c].fillna("<missing>"), categories=levels).codes
            one_hot = np.zeros((len(frame), len(levels)))
            ok = codes >= 0
            one_hot[np.flatnonzero(ok), codes[ok]] = 1.0
            parts.append(one_hot / np.sqrt(2.0))
    return np.hstack(parts)


def dcr(rows, train, seed: int) -> tuple[float, float]:
    """Median distance of DCR_ROWS of ``rows`` to their closest training row, and the
    share at distance 0."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    pick = rng.choice(len(rows), size=min(DCR_ROWS, len(rows)), replace=False)
    nn = NearestNeighbors(n_neighbors=1).fit(dcr_encoding(train, train))
    d = nn.kneighbors(dcr_encoding(rows.iloc[pick], train))[0][:, 0]
    return float(np.median(d)), float(np.mean(d < 1e-9))


def evaluate(rows, train, test, metadata, seed: int) -> dict:
    out = quality(train, rows, metadata)
    out["correlation_difference"] = correlation_difference(train, rows)
    out.update(efficacy(rows, train, test))
    out["dcr_median"], out["exact_copies"] = dcr(rows, train, seed)
    return out


# -- the run -------------------------------------------------------------------------------


def summarise(results: dict, reference: dict, names) -> None:
    keys = (
        "quality",
        "column_shapes",
        "pair_trends",
        "correlation_difference",
        "f1",
        "accuracy",
        "dcr_median",
        "exact_copies",
        "fit_s",
        "fit_cpu_s",
        "sample_s",
    )
    ctgan_fit = np.mean(
        [r["fit_cpu_s"] for k, r in results.items() if k.startswith("ctgan/")] or [np.nan]
    )
    print(
        f"\nreal training rows: F1 {reference['f1']:.3f}, accuracy "
        f"{reference['accuracy']:.3f}, real-to-real DCR median {reference['dcr_median']:.3f}"
    )
    head = "model            seeds " + " ".join(f"{k[:12]:>12}" for k in keys) + "  fit/CTGAN"
    print(head)
    for name in names:
        runs = [r for k, r in results.items() if k.split("/")[0] == name]
        if not runs:
            continue
        cells = []
        for k in keys:
            v = np.array([r[k] for r in runs])
            cells.append(f"{v.mean():7.3f}±{v.std():.3f}" if len(v) > 1 else f"{v[0]:12.3f}")
        ratio = np.mean([r["fit_cpu_s"] for r in runs]) / ctgan_fit  # CPU time
        print(f"{name:16} {len(runs):5} " + " ".join(f"{c:>12}" for c in cells) + f"  {ratio:9.3f}")
    print("\nper-column distance (mean over seeds):")
    cols = list(next(iter(results.values()))["column_distance"])
    print(f"{'column':16} " + " ".join(f"{n:>14}" for n in names))
    for c in cols:
        vals = []
        for name in names:
            runs = [r for k, r in results.items() if k.split("/")[0] == name]
            vals.append(np.mean([r["column_distance"][c] for r in runs]) if runs else np.nan)
        print(f"{c:16} " + " ".join(f"{v:14.3f}" for v in vals))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10, help="every neural model's epochs")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", default=",".join(OURS + PEERS), help="comma-separated names")
    ap.add_argument("--results", default=None, help="JSON file that keeps finished fits")
    ap.add_argument(
        "--merge",
        nargs="*",
        default=[],
        metavar="JSON",
        help="other runs' --results files to show in the table (read only)",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="2,000 training rows, 2 epochs, 1 seed")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    try:
        frame = uci_adult()
    except DatasetNotFound as exc:
        print(f"skipped: {exc}")
        return 0
    train, test = split(frame)
    if args.quick:
        train, args.epochs, args.seeds = train.iloc[:2000].reset_index(drop=True), 2, [0]
    names = [n for n in args.only.split(",") if n]
    for n in names:
        if n not in OURS + PEERS:
            ap.error(f"unknown synthesizer {n!r}; choose from {', '.join(OURS + PEERS)}")
    path = Path(args.results) if args.results else None
    stored = json.loads(path.read_text()) if path and path.exists() else {}
    results = stored.setdefault("runs", {})
    shown = dict(results)
    for other in args.merge:
        shown.update(json.loads(Path(other).read_text())["runs"])
    metadata = sdv_metadata(train)
    print(
        f"UCI Adult: {len(train)} training rows, {len(test)} test rows; epochs "
        f"{args.epochs}; seeds {args.seeds}; {args.threads} thread(s)",
        flush=True,
    )
    if "reference" not in stored:
        ref = efficacy(train, train, test)
        ref["dcr_median"], _ = dcr(test, train, 0)
        stored["reference"] = ref
    for name in names:
        for seed in args.seeds:
            key = f"{name}/{seed}"
            if key in shown:
                continue
            rows, fit_s, sample_s, cpu_s = fit_and_sample(
                name, train, metadata, seed, args.epochs, len(train)
            )
            r = evaluate(rows, train, test, metadata, seed)
            r.update(fit_s=fit_s, sample_s=sample_s, fit_cpu_s=cpu_s, epochs=args.epochs)
            results[key] = shown[key] = r
            print(
                f"{key}: quality {r['quality']:.3f}, F1 {r['f1']:.3f}, accuracy "
                f"{r['accuracy']:.3f}, DCR {r['dcr_median']:.3f}, fit {fit_s:.1f} s, "
                f"sample {sample_s:.1f} s",
                flush=True,
            )
            if path:
                path.write_text(json.dumps(stored, indent=1))
    summarise(
        shown,
        stored["reference"],
        [n for n in OURS + PEERS if n in names or any(k.startswith(n + "/") for k in shown)],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
