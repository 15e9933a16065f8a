"""Gaussian mixture EM, side by side: genmodels vs scikit-learn vs pomegranate, in one run.

Every library gets the same data, the same initial weights, means and covariances, the
same number of EM iterations (tol disabled), reg_covar = 1e-6 (pomegranate has no such
option), float64 and the same number of threads (torch and the BLAS behind numpy). Times
are the best of ``--repeats`` runs of ``fit`` alone; the final mean log-likelihood of each
fitted model is computed by one common scorer, so "equal final log-likelihood" is checked,
not assumed.

    python benchmarks/gmm.py                  # the headline case + diag + sweep
    python benchmarks/gmm.py --quick          # a smaller run, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from _busy import add_busy_argument, busy_machine
from threadpoolctl import threadpool_limits

from genmodels import GaussianMixture

try:  # pomegranate is optional (`pip install genmodels[bench]`)
    from pomegranate.distributions import Normal
    from pomegranate.gmm import GeneralMixtureModel
except ImportError:  # pragma: no cover
    GeneralMixtureModel = None


@dataclass
class Case:
    n: int
    d: int
    k: int
    covariance_type: str = "full"
    iters: int = 50

    def label(self) -> str:
        return f"N={self.n:,} D={self.d} K={self.k} {self.covariance_type}"


def make_problem(case: Case, seed: int = 0):
    """Data from a random GMM, and a shared initialisation (k-means++-like seeds)."""
    rng = np.random.RandomState(seed)
    centres = rng.randn(case.k, case.d) * 3.0
    mixing = rng.randn(case.k, case.d, case.d) * 0.3 + np.eye(case.d)
    z = rng.randint(0, case.k, case.n)
    X = centres[z] + np.einsum("nd,nde->ne", rng.randn(case.n, case.d), mixing[z])
    means = X[rng.choice(case.n, case.k, replace=False)]
    var = X.var(0)
    weights = np.full(case.k, 1.0 / case.k)
    if case.covariance_type == "full":
        precisions = np.stack([np.diag(1.0 / var)] * case.k)
    else:
        precisions = np.tile(1.0 / var, (case.k, 1))
    return X, weights, means, precisions


def run_genmodels(case, X, w, m, p):
    gm = GaussianMixture(
        case.k,
        covariance_type=case.covariance_type,
        tol=0.0,
        max_iter=case.iters,
        reg_covar=1e-6,
        weights_init=w,
        means_init=m,
        precisions_init=p,
    )
    gm.fit(X)
    return gm.weights_, gm.means_, gm.covariances_


def run_sklearn(case, X, w, m, p):
    from sklearn.mixture import GaussianMixture as SkGMM

    gm = SkGMM(
        case.k,
        covariance_type=case.covariance_type,
        tol=0.0,
        max_iter=case.iters,
        reg_covar=1e-6,
        weights_init=w,
        means_init=m,
        precisions_init=p,
        init_params="random_from_data",  # overridden by the *_init arrays; skips k-means
    )
    gm.fit(X)
    return gm.weights_, gm.means_, gm.covariances_


def run_pomegranate(case, X, w, m, p):
    cov_type = {"full": "full", "diag": "diag"}[case.covariance_type]
    covs = np.linalg.inv(p) if case.covariance_type == "full" else 1.0 / p
    dists = [
        Normal(
            means=torch.tensor(m[j]),
            covs=torch.tensor(covs[j]),
            covariance_type=cov_type,
        )
        for j in range(case.k)
    ]
    model = GeneralMixtureModel(
        dists, priors=torch.tensor(w), max_iter=case.iters, tol=-np.inf, verbose=False
    )
    model.fit(torch.tensor(X))
    weights = model.priors.numpy()
    means = np.stack([d.means.numpy() for d in model.distributions])
    covs = np.stack([d.covs.numpy() for d in model.distributions])
    return weights, means, covs


def mean_log_likelihood(case, X, params) -> float:
    """One scorer for every library's fitted parameters (genmodels' exact density)."""
    weights, means, covs = params
    if case.covariance_type == "full":
        prec = np.linalg.inv(covs)
        prec = (prec + prec.transpose(0, 2, 1)) / 2
    else:
        prec = 1.0 / covs
    gm = GaussianMixture(
        case.k,
        covariance_type=case.covariance_type,
        max_iter=0,
        weights_init=weights / weights.sum(),
        means_init=means,
        precisions_init=prec,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X[: 2 * case.k])  # max_iter=0: only installs the given parameters
    return float(gm.score(X))


def best_time(fn: Callable, repeats: int):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_case(case: Case, repeats: int, libs: list[str]) -> dict:
    X, w, m, p = make_problem(case)
    runners = {"genmodels": run_genmodels, "scikit-learn": run_sklearn}
    if GeneralMixtureModel is not None:
        runners["pomegranate"] = run_pomegranate
    row = {"case": case.label()}
    run_genmodels(Case(case.n, case.d, case.k, case.covariance_type, 2), X, w, m, p)  # warm-up
    for name, fn in runners.items():
        if name not in libs:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, params = best_time(lambda fn=fn: fn(case, X, w, m, p), repeats)
            row[name] = (t, mean_log_likelihood(case, X, params))
        except Exception as exc:  # report, don't hide: a library that fails shows as failed
            row[name] = (np.nan, np.nan)
            print(f"<!-- {name} failed on {case.label()}: {type(exc).__name__}: {exc} -->")
    return row


def print_rows(rows: list[dict], libs: list[str]) -> None:
    head = ["case"] + [f"{lib} s" for lib in libs] + [f"{lib}/genmodels" for lib in libs[1:]]
    head += ["max |Δ loglik|"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        cells = [row["case"]]
        times = {lib: row[lib][0] for lib in libs if lib in row}
        cells += [
            f"{times[lib]:.3f}" if np.isfinite(times.get(lib, np.nan)) else "failed" for lib in libs
        ]
        cells += [
            f"{times[lib] / times['genmodels']:.1f}x"
            if np.isfinite(times.get(lib, np.nan) / times["genmodels"])
            else "-"
            for lib in libs[1:]
        ]
        lls = [row[lib][1] for lib in libs if lib in row and np.isfinite(row[lib][1])]
        cells.append(f"{max(lls) - min(lls):.1e}" if lls else "-")
        print("| " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    ap.add_argument("--no-sweep", action="store_true")
    add_busy_argument(ap)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    libs = ["genmodels", "scikit-learn"] + (["pomegranate"] if GeneralMixtureModel else [])
    print(
        f"# GMM EM benchmark: {platform.processor() or platform.machine()}, "
        f"{args.threads} threads, torch {torch.__version__}, numpy {np.__version__}"
    )
    scale = 10 if args.quick else 1
    repeats = 1 if args.quick else args.repeats
    headline = [Case(50_000 // scale, 16, 16, "full"), Case(50_000 // scale, 16, 16, "diag")]
    sweep = [
        Case(50_000 // scale, 16, 4),
        Case(50_000 // scale, 16, 64),
        Case(50_000 // scale, 4, 16),
        Case(50_000 // scale, 64, 16),
        Case(10_000 // scale, 16, 16),
        Case(200_000 // scale, 16, 16),
    ]
    with busy_machine(args.busy) as machine, threadpool_limits(limits=args.threads):
        print(f"# {machine}\n")
        print(f"\n## Headline (50 EM iterations, best of {repeats})\n")
        print_rows([bench_case(c, repeats, libs) for c in headline], libs)
        if not args.no_sweep:
            print("\n## Sweep around N=50,000 D=16 K=16 full (best of 1)\n")
            print_rows([bench_case(c, 1, libs) for c in sweep], libs)


if __name__ == "__main__":
    main()
