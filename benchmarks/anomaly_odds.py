"""Anomaly detection on the 22 ODDS datasets: genmodels' density detectors beside PyOD's
detectors, in one run, on the same data and the same splits (PyOD's protocol).

Protocol (PyOD's benchmark, Zhao et al. 2019): for each dataset and each seed, a plain
60/40 ``train_test_split(X, y, test_size=0.4, random_state=seed)``; every detector is
fitted on the training part without its labels (so on contaminated data) and scores the
test part; ROC AUC and average precision (AP) of those scores against the test labels.
PyOD's detectors get the data standardised with the training statistics (PyOD's
``standardizer``); ours get it raw and standardise it themselves (the same transform, and
they drop constant columns).

Detectors: ours are :class:`genmodels.anomaly.DensityDetector` with ``"gmm"`` (K in
{1, 2, 4, 8} x {full, diag} covariances by BIC), ``"vae"``, ``"nb"`` (independent
Gaussian features) and ``"rbm"`` (Gaussian-Bernoulli, 12 hidden units, exact log Z);
PyOD's IForest, ECOD, COPOD, HBOS, KNN, LOF and VAE with their defaults, except:

* both VAEs train on batches of ``--batch-size`` (64) for the same number of epochs,
  ``min(--max-epochs, ceil(--max-steps / batches per epoch))`` (30 epochs, at most 600
  steps), so the large sets do not blow the budget; the RBM's epochs are capped the same
  way (at most 20, at most ``2 * --max-steps`` updates);
* our VAE scores by IWAE with ``--importance`` (20) samples per row.

The mean ranks of all detectors (by mean AUC per dataset, and by mean AP) go through a
Friedman test and the Nemenyi critical difference (Demšar 2006;
:func:`genmodels.metrics.compare_ranks`), which says which differences are significant.
The GMM detector also runs with ``contamination="auto"``: the share of test rows it flags,
and their precision and recall, against the true outlier share.

    python benchmarks/anomaly_odds.py                 # all 22 sets, seeds 0-4 (~30 min)
    python benchmarks/anomaly_odds.py --quick         # 4 small sets, 1 seed (a smoke run)
    python benchmarks/anomaly_odds.py --json runs/odds.json --markdown runs/odds.md
    python benchmarks/anomaly_odds.py --from-json runs/odds.json   # the tables again
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from genmodels.anomaly import DensityDetector
from genmodels.datasets import ODDS, DatasetNotFound, odds
from genmodels.metrics import compare_ranks

QUICK = ("lympho", "glass", "wbc", "thyroid")
#: The 17 datasets of PyOD's own benchmark (notebooks/benchmark.py), whose 2019 table gives
#: IForest a mean ROC AUC of 0.818 over 20 splits.
PYOD17 = (
    "arrhythmia", "cardio", "glass", "ionosphere", "letter", "lympho", "mnist", "musk",
    "optdigits", "pendigits", "pima", "satellite", "satimage-2", "shuttle", "vertebral",
    "vowels", "wbc",
)  # fmt: skip


@dataclass(frozen=True)
class Budget:
    max_epochs: int
    max_steps: int
    batch_size: int
    importance: int

    def epochs(self, n_train: int, max_epochs: int | None = None, steps: int | None = None):
        """The epochs that keep a fit of batches of ``batch_size`` within ``steps`` updates."""
        per_epoch = math.ceil(n_train / self.batch_size)
        cap = max_epochs or self.max_epochs
        return int(min(cap, max(1, math.ceil((steps or self.max_steps) / per_epoch))))


# -- the detectors ------------------------------------------------------------------------


def ours(model: str, params: Callable[[int, Budget], dict] | None = None, contamination=0.1):
    def build(seed: int, n_train: int, budget: Budget):
        extra = params(n_train, budget) if params else None
        return DensityDetector(model, contamination, model_params=extra, random_state=seed)

    return build


def _vae_params(n: int, b: Budget) -> dict:
    return {"epochs": b.epochs(n), "batch_size": b.batch_size, "n_importance": b.importance}


def _rbm_params(n: int, b: Budget) -> dict:
    return {"n_iter": b.epochs(n, max_epochs=20, steps=2 * b.max_steps), "batch_size": 64}


def pyod(name: str):
    def build(seed: int, n_train: int, budget: Budget):
        if name == "IForest":
            from pyod.models.iforest import IForest

            return IForest(random_state=seed)
        if name == "ECOD":
            from pyod.models.ecod import ECOD

            return ECOD()
        if name == "COPOD":
            from pyod.models.copod import COPOD

            return COPOD()
        if name == "HBOS":
            from pyod.models.hbos import HBOS

            return HBOS()
        if name == "KNN":
            from pyod.models.knn import KNN

            return KNN()
        if name == "LOF":
            from pyod.models.lof import LOF

            return LOF()
        from pyod.models.vae import VAE

        return VAE(
            epoch_num=budget.epochs(n_train),
            batch_size=budget.batch_size,
            random_state=seed,
            verbose=0,
            device="cpu",
        )

    return build


DETECTORS: dict[str, tuple[str, Callable]] = {
    "GM-GMM": ("ours", ours("gmm", contamination="auto")),  # AUC/AP do not depend on it
    "GM-VAE": ("ours", ours("vae", _vae_params)),
    "GM-NB": ("ours", ours("nb")),
    "GM-RBM": ("ours", ours("rbm", _rbm_params)),
    "IForest": ("pyod", pyod("IForest")),
    "ECOD": ("pyod", pyod("ECOD")),
    "COPOD": ("pyod", pyod("COPOD")),
    "HBOS": ("pyod", pyod("HBOS")),
    "KNN": ("pyod", pyod("KNN")),
    "LOF": ("pyod", pyod("LOF")),
    "PyOD-VAE": ("pyod", pyod("VAE")),
}


# -- one run -------------------------------------------------------------------------------


def run_split(name, X, y, seed, detectors, budget, log) -> dict:
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.4, random_state=seed)
    scaler = StandardScaler().fit(Xtr)
    Ztr, Zte = scaler.transform(Xtr), scaler.transform(Xte)
    out: dict = {"auc": {}, "ap": {}, "seconds": {}, "errors": {}}
    for det in detectors:
        side, build = DETECTORS[det]
        model = build(seed, Xtr.shape[0], budget)
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if side == "ours":
                    model.fit(Xtr)
                    s = model.decision_function(Xte)
                else:
                    model.fit(Ztr)
                    s = model.decision_function(Zte)
            if not np.all(np.isfinite(s)):
                raise ValueError(f"{int((~np.isfinite(s)).sum())} scores not finite")
        except Exception as exc:  # recorded, reported, left out of the ranking
            out["errors"][det] = f"{type(exc).__name__}: {exc}"
            log(f"  {name} seed {seed} {det}: FAILED {out['errors'][det]}")
            continue
        out["seconds"][det] = time.perf_counter() - t0
        out["auc"][det] = float(roc_auc_score(yte, s))
        out["ap"][det] = float(average_precision_score(yte, s))
        if det == "GM-GMM":
            out["gmm"] = model.describe_model()
            out["auto"] = auto_flags(model.predict(Xte), yte)
    return out


def auto_flags(flag: np.ndarray, yte: np.ndarray) -> dict:
    """What a contamination="auto" threshold flagged among the test rows: its share, and
    the precision and recall of those flags."""
    hit = int((flag & yte).sum())
    return {
        "true_share": float(yte.mean()),
        "flagged_share": float(flag.mean()),
        "precision": hit / flag.sum() if flag.sum() else float("nan"),
        "recall": hit / yte.sum() if yte.sum() else float("nan"),
    }


# -- the summary ---------------------------------------------------------------------------


def mean_of(results, dataset, metric, det):
    vals = [r[metric][det] for r in results[dataset] if det in r[metric]]
    return float(np.mean(vals)) if len(vals) == len(results[dataset]) else float("nan")


def summarise(results: dict, detectors: list[str], args) -> list[str]:
    lines: list[str] = []
    datasets = list(results)
    for metric, label in (("auc", "ROC AUC"), ("ap", "average precision")):
        M = np.array([[mean_of(results, d, metric, det) for det in detectors] for d in datasets])
        lines.append(f"\n### {label}, mean over seeds {args.seeds}\n")
        lines.append("| dataset | " + " | ".join(detectors) + " |")
        lines.append("|---|" + "---|" * len(detectors))
        for d, row in zip(datasets, M, strict=True):
            best = np.nanmax(row)
            cells = [
                "failed" if math.isnan(v) else (f"**{v:.3f}**" if v == best else f"{v:.3f}")
                for v in row
            ]
            lines.append(f"| {d} | " + " | ".join(cells) + " |")
        lines.append("| **mean** | " + " | ".join(f"{v:.3f}" for v in np.nanmean(M, 0)) + " |")
        in17 = [i for i, d in enumerate(datasets) if d in PYOD17]
        if len(in17) == len(PYOD17):
            means = np.nanmean(M[in17], 0)
            lines.append("| mean of PyOD's 17 | " + " | ".join(f"{v:.3f}" for v in means) + " |")
        ok = np.all(np.isfinite(M), axis=1)
        if ok.sum() < 2:
            lines.append("\n(too few datasets without failures for the rank tests)")
            continue
        cmp = compare_ranks(M[ok], detectors, alpha=0.05)
        left = "" if ok.all() else f" ({int((~ok).sum())} datasets with a failure left out)"
        lines.append(f"\nMean rank by {label} over {int(ok.sum())} datasets{left}:\n")
        lines.append("| " + " | ".join(cmp.names[i] for i in cmp.order()) + " |")
        lines.append("|" + "---|" * len(detectors))
        lines.append("| " + " | ".join(f"{cmp.mean_ranks[i]:.2f}" for i in cmp.order()) + " |")
        lines.append(
            f"\nFriedman chi2 = {cmp.statistic:.2f}, p = {cmp.pvalue:.2g}; Nemenyi critical "
            f"difference at 0.05 = {cmp.critical_difference:.2f} "
            f"(k = {len(detectors)}, N = {cmp.n_datasets})."
        )
        groups = cmp.groups()
        if groups:
            lines.append("Groups not significantly different (CD-diagram bars):")
            for g in groups:
                lines.append(f"- {', '.join(g)}")
        pairs = cmp.significant_pairs()
        if pairs:
            lines.append("Significant differences (better > worse, rank gap):")
            lines.append("- " + "; ".join(f"{a} > {b} ({gap:.2f})" for a, b, gap in pairs))
        else:
            lines.append("No difference in mean rank is significant.")
    secs = {det: sum(sum(r["seconds"].get(det, 0.0) for r in rs) for rs in results.values())
            for det in detectors}  # fmt: skip
    lines.append("\nFit + score time over all datasets and seeds (s): " + ", ".join(
        f"{det} {secs[det]:.0f}" for det in detectors))  # fmt: skip
    autos = [(d, [r["auto"] for r in rs if "auto" in r]) for d, rs in results.items()]
    if any(a for _, a in autos):
        lines.append('\n### GM-GMM with contamination="auto" (test rows, mean over seeds)\n')
        head = "| dataset | outlier share | flagged share | precision | recall | GMM (seed 0) |"
        lines.append(head)
        lines.append("|---|---|---|---|---|---|")
        for d, a in autos:
            if not a:
                continue
            m = {k: float(np.nanmean([x[k] for x in a])) for k in a[0]}
            gmm = results[d][0].get("gmm", "")
            lines.append(
                f"| {d} | {m['true_share']:.3f} | {m['flagged_share']:.3f} | "
                f"{m['precision']:.2f} | {m['recall']:.2f} | {gmm} |"
            )
    errors = [(d, i, r["errors"]) for d, rs in results.items() for i, r in enumerate(rs)]
    for d, i, errs in errors:
        for det, msg in errs.items():
            lines.append(f"- failure: {d} seed {args.seeds[i]} {det}: {msg}")
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}, seed 0")
    p.add_argument("--datasets", nargs="+", default=None, help="default: all 22")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2 3 4")
    p.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    p.add_argument("--max-epochs", type=int, default=30)
    p.add_argument("--max-steps", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--importance", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="write every split's numbers here")
    p.add_argument("--markdown", default=None, help="write the summary tables here")
    p.add_argument("--figure", default=None, help="write the ROC AUC CD diagram (PNG) here")
    p.add_argument(
        "--from-json",
        nargs="+",
        default=None,
        metavar="PATH",
        help="summarise the splits saved by earlier --json runs (complete or not, e.g. two "
        "runs over different datasets with the same settings) instead",
    )
    args = p.parse_args()
    if args.from_json:
        saved = merge_runs(args.from_json)
        args.seeds, args.detectors = saved["args"]["seeds"], saved["args"]["detectors"]
        lines = summarise(saved["results"], args.detectors, args)
        print("\n".join(lines))
        if args.figure:
            figure(saved["results"], args.detectors, args.figure)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write("\n".join(lines) + "\n")
        return 0
    args.datasets = args.datasets or (list(QUICK) if args.quick else list(ODDS))
    args.seeds = args.seeds or ([0] if args.quick else [0, 1, 2, 3, 4])
    torch.set_num_threads(args.threads)
    budget = Budget(args.max_epochs, args.max_steps, args.batch_size, args.importance)
    start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f} s] {msg}", flush=True)

    log(
        f"{platform.processor() or platform.machine()}, {args.threads} thread(s), torch "
        f"{torch.__version__}; {len(args.datasets)} datasets x {len(args.seeds)} seeds"
    )
    results: dict[str, list[dict]] = {}
    with threadpool_limits(args.threads):
        for name in args.datasets:
            try:
                X, y = odds(name)
            except (DatasetNotFound, ImportError) as e:
                print(e, file=sys.stderr)
                return 2
            results[name] = [
                run_split(name, X, y, seed, args.detectors, budget, log) for seed in args.seeds
            ]
            aucs = {det: mean_of(results, name, "auc", det) for det in args.detectors}
            log(f"{name} {X.shape}: " + " ".join(f"{k} {v:.3f}" for k, v in aucs.items()))
            if args.json:  # after every dataset, so that a long run's numbers survive
                with open(args.json, "w") as f:
                    json.dump({"args": vars(args), "results": results}, f, indent=1)
    lines = summarise(results, args.detectors, args)
    lines.append(f"\nWall time: {time.perf_counter() - start:.0f} s, {args.threads} thread(s).")
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
    if args.figure:
        figure(results, args.detectors, args.figure)
    return 0


def merge_runs(paths: list[str]) -> dict:
    """The splits of several --json files (run with the same settings), in ODDS order."""
    runs = []
    for path in paths:
        with open(path) as f:
            runs.append(json.load(f))
    keys = ("seeds", "detectors", "max_epochs", "max_steps", "batch_size", "importance")
    for run in runs[1:]:
        for key in keys:
            if run["args"][key] != runs[0]["args"][key]:
                raise SystemExit(f"{key} differs between the runs: cannot merge them")
    results = {k: v for run in runs for k, v in run["results"].items()}
    ordered = [d for d in ODDS if d in results] + [d for d in results if d not in ODDS]
    return {"args": runs[0]["args"], "results": {d: results[d] for d in ordered}}


def figure(results: dict, detectors: list[str], path: str) -> None:
    """The critical-difference diagram of the mean ranks by ROC AUC."""
    from genmodels.figures import critical_difference_diagram

    M = np.array([[mean_of(results, d, "auc", det) for det in detectors] for d in results])
    M = M[np.all(np.isfinite(M), axis=1)]
    cmp = compare_ranks(M, detectors)
    title = (
        f"Mean rank by ROC AUC on {cmp.n_datasets} ODDS datasets (Nemenyi, alpha = 0.05; "
        f"Friedman p = {cmp.pvalue:.1g})"
    )
    groups = cmp.groups()
    critical_difference_diagram(
        cmp.names, cmp.mean_ranks, cmp.critical_difference, groups, path, title=title
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
