"""Naive Bayes, side by side: genmodels vs scikit-learn, in one run.

Both libraries get the same data, the same (default) parameters, float64 and the same number
of threads (torch and the BLAS behind numpy). The timed unit is ``fit`` on a training set
plus ``predict_proba`` on a held-out set of the same size; times are the best of at least
``--repeats`` runs, and of more (up to 50) until each library has run ``--min-time``
seconds, the two libraries alternating run by run, after one untimed warm-up of each (the
first torch sparse call pays a one-off initialisation). The two libraries' held-out
``predict_proba`` are compared, so "same predictions" is checked, not assumed.

Cases (from the issue): a sparse 20,000 x 20,000 document-term matrix with 20 classes for
MultinomialNB, ComplementNB and BernoulliNB; GaussianNB on dense 1,000,000 x 50 with 10
classes; and CategoricalNB on 200,000 x 20 category codes (5 categories, 10 classes).

    python benchmarks/naive_bayes.py              # the full run (under a minute on 2 cores)
    python benchmarks/naive_bayes.py --threads 1  # single-threaded
    python benchmarks/naive_bayes.py --quick      # a smaller run, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
import sklearn.naive_bayes as skn
import torch
from _busy import add_busy_argument, busy_machine
from threadpoolctl import threadpool_limits

import genmodels

MODELS = {
    "sparse": ["MultinomialNB", "ComplementNB", "BernoulliNB"],
    "dense": ["GaussianNB"],
    "categorical": ["CategoricalNB"],
}


@dataclass
class Case:
    kind: str  # "sparse" (document-term counts), "dense" (continuous), "categorical"
    n: int
    d: int
    k: int  # classes
    n_categories: int = 5  # categorical only

    def label(self) -> str:
        what = {"sparse": "sparse counts", "dense": "dense", "categorical": "categories"}
        return f"{what[self.kind]} N={self.n:,} D={self.d:,} C={self.k}"


# ----------------------------------------------------------------------------------------
# Data


def zipf(d: int, s: float = 1.1) -> np.ndarray:
    p = 1.0 / np.arange(1, d + 1) ** s
    return p / p.sum()


def make_documents(case: Case, rng: np.random.RandomState):
    """A document-term count matrix (CSR float64) of ``2 n`` documents (train + test).

    The vocabulary follows a Zipf law (exponent 1.1): every class mixes a shared background
    (70%, the common words) with its own topic (30%): the same Zipf law over its own random
    permutation of the vocabulary, so the classes overlap like real text categories do.
    Document lengths are log-normal with a median of 150 tokens."""
    n, d, k = 2 * case.n, case.d, case.k
    background = zipf(d)
    theta = np.stack([0.7 * background + 0.3 * background[rng.permutation(d)] for _ in range(k)])
    y = rng.randint(0, k, n)
    lengths = np.maximum(1, rng.lognormal(np.log(150), 0.6, n).astype(np.int64))
    rows, cols = [], []
    for c in range(k):
        docs = np.flatnonzero(y == c)
        tokens = rng.choice(d, size=int(lengths[docs].sum()), p=theta[c])
        rows.append(np.repeat(docs, lengths[docs]))
        cols.append(tokens)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    X = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, d), dtype=np.float64)
    X.sum_duplicates()
    return X, y


def make_dense(case: Case, rng: np.random.RandomState):
    """Continuous features: overlapping classes (means N(0, 0.3^2), per-class per-feature
    scales in [0.5, 2]), so the posteriors are not all 0 or 1."""
    n, d, k = 2 * case.n, case.d, case.k
    means = rng.randn(k, d) * 0.3
    scales = rng.uniform(0.5, 2.0, (k, d))
    y = rng.randint(0, k, n)
    X = rng.randn(n, d)
    X *= scales[y]
    X += means[y]
    return X, y


def make_categorical(case: Case, rng: np.random.RandomState):
    """Category codes 0..K-1, each feature with its own Dirichlet(1) distribution per class."""
    n, d, k, m = 2 * case.n, case.d, case.k, case.n_categories
    probs = rng.dirichlet(np.ones(m), (k, d))  # (C, D, K)
    y = rng.randint(0, k, n)
    cum = probs.cumsum(-1)[y]  # (2N, D, K)
    u = rng.rand(n, d, 1)
    X = np.minimum((u > cum).sum(-1), m - 1).astype(np.float64)
    return X, y


def make_problem(case: Case, seed: int = 0):
    rng = np.random.RandomState(seed)
    maker = {"sparse": make_documents, "dense": make_dense, "categorical": make_categorical}
    X, y = maker[case.kind](case, rng)
    return X[: case.n], y[: case.n], X[case.n :], y[case.n :]


# ----------------------------------------------------------------------------------------
# Timing


def fit_predict(model, Xtr, ytr, Xte) -> tuple[float, float, np.ndarray]:
    t0 = time.perf_counter()
    model.fit(Xtr, ytr)
    t1 = time.perf_counter()
    proba = model.predict_proba(Xte)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, proba


def bench_model(name: str, Xtr, ytr, Xte, repeats: int, min_time: float) -> dict:
    """Both libraries' best (total, fit, predict_proba) over interleaved rounds.

    The two libraries alternate run by run (and which goes first alternates too), so a drift
    of the machine hits both alike. There are at least ``repeats`` rounds, and more, up to
    50, until each library has run for ``min_time`` seconds in all: a sparse case takes tens
    of milliseconds, where three runs would be at the mercy of a few stray page faults."""
    libs = {"scikit-learn": getattr(skn, name), "genmodels": getattr(genmodels, name)}
    for cls in libs.values():  # warm-up, untimed (the first torch sparse call, allocators)
        fit_predict(cls(), Xtr[:2000], ytr[:2000], Xte[:2000])
    best = {lib: (np.inf, np.inf, np.inf) for lib in libs}
    spent = dict.fromkeys(libs, 0.0)
    probas = {}
    rounds = 0
    while rounds < repeats or (min(spent.values()) < min_time and rounds < 50):
        for lib in list(libs) if rounds % 2 == 0 else list(libs)[::-1]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_fit, t_pred, probas[lib] = fit_predict(libs[lib](), Xtr, ytr, Xte)
            spent[lib] += t_fit + t_pred
            if t_fit + t_pred < best[lib][0]:
                best[lib] = (t_fit + t_pred, t_fit, t_pred)
        rounds += 1
    diff = float(np.max(np.abs(probas["genmodels"] - probas["scikit-learn"])))
    return {"model": name, "runs": rounds, "diff": diff, **best}


def bench_case(case: Case, repeats: int, min_time: float) -> list[dict]:
    t0 = time.perf_counter()
    Xtr, ytr, Xte, _ = make_problem(case)
    print(f"<!-- {case.label()}: data built in {time.perf_counter() - t0:.1f} s -->", flush=True)
    return [
        {"case": case.label(), **bench_model(name, Xtr, ytr, Xte, repeats, min_time)}
        for name in MODELS[case.kind]
    ]


def print_rows(rows: list[dict]) -> None:
    head = ["case", "model", "runs", "scikit-learn s", "genmodels s"]
    head += ["genmodels/scikit-learn", "speedup", "max |Δ proba|"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        sk, gm = row["scikit-learn"][0], row["genmodels"][0]
        cells = [row["case"], row["model"], str(row["runs"]), f"{sk:.3f}", f"{gm:.3f}"]
        cells += [f"{gm / sk:.2f}", f"{sk / gm:.1f}x", f"{row['diff']:.1e}"]
        print("| " + " | ".join(cells) + " |", flush=True)


def print_split(rows: list[dict]) -> None:
    head = ["model", "scikit-learn fit", "genmodels fit", "scikit-learn proba", "genmodels proba"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        sk, gm = row["scikit-learn"], row["genmodels"]
        cells = [row["model"], f"{sk[1]:.3f}", f"{gm[1]:.3f}", f"{sk[2]:.3f}", f"{gm[2]:.3f}"]
        print("| " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3, help="at least this many runs per case")
    ap.add_argument(
        "--min-time",
        type=float,
        default=1.0,
        help="and more runs (up to 50) until each library has run this many seconds",
    )
    ap.add_argument("--quick", action="store_true", help="small sizes, one run")
    add_busy_argument(ap)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    print(
        f"# Naive Bayes benchmark: {platform.processor() or platform.machine()}, "
        f"{args.threads} threads, torch {torch.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}"
    )
    scale = 10 if args.quick else 1
    repeats = 1 if args.quick else args.repeats
    min_time = 0.0 if args.quick else args.min_time
    cases = [
        Case("sparse", 20_000 // scale, 20_000 // scale, 20),
        Case("dense", 1_000_000 // scale, 50, 10),
        Case("categorical", 200_000 // scale, 20, 10),
    ]
    with busy_machine(args.busy) as machine, threadpool_limits(limits=args.threads):
        print(f"# {machine}\n")
        rows = [row for case in cases for row in bench_case(case, repeats, min_time)]
    print(
        "\n## fit + predict_proba on held-out data of the same size "
        f"(best of `runs`: at least {repeats}, and at least {min_time:g} s per library)\n"
    )
    print_rows(rows)
    print("\n## Split of the best run: fit and predict_proba, seconds\n")
    print_split(rows)


if __name__ == "__main__":
    main()
