"""Gaussian HMM Baum-Welch, Viterbi and forward, side by side: genmodels vs hmmlearn vs
pomegranate, in one run.

Every library gets the same sequences, the same initial parameters (uniform start and
transition probabilities, means drawn from the frames, the data variance), the same number
of EM iterations (tolerance disabled), float64 and the same number of threads (torch and
the BLAS behind numpy). Times are the best of ``--repeats`` runs. The final log-likelihood
of each fitted model is computed by one common scorer (genmodels, with the other library's
fitted parameters), so equal results are checked, not assumed. pomegranate runs in float32
(its DenseHMM fails on float64) and also learns end probabilities; genmodels also runs in
float32 beside it, the like-for-like ratio.

    python benchmarks/hmm.py            # 500 x 200 frames and one sequence of 100,000
    python benchmarks/hmm.py --quick    # smaller, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from _busy import add_busy_argument, busy_machine
from threadpoolctl import threadpool_limits

from genmodels import GaussianHMM

try:
    from hmmlearn import hmm as hl
except ImportError:  # pragma: no cover
    hl = None
try:
    from pomegranate.distributions import Normal
    from pomegranate.hmm import DenseHMM
except ImportError:  # pragma: no cover
    DenseHMM = None


@dataclass
class Case:
    n_seq: int
    length: int
    k: int = 8
    d: int = 4
    iters: int = 20

    def label(self) -> str:
        return f"{self.n_seq} x {self.length:,} frames, K={self.k}, D={self.d}, diag"


def make_problem(case: Case, seed: int = 0):
    """Sequences from a random sticky Gaussian HMM, and a shared initialisation."""
    rng = np.random.RandomState(seed)
    truth = GaussianHMM(case.k)
    truth.startprob_ = np.full(case.k, 1.0 / case.k)
    trans = rng.dirichlet(np.ones(case.k), size=case.k) + np.eye(case.k) * 4
    truth.transmat_ = trans / trans.sum(1, keepdims=True)
    truth.means_ = rng.randn(case.k, case.d) * 2.0
    truth.covars_ = rng.uniform(0.5, 1.5, size=(case.k, case.d))
    X = truth.sample(case.n_seq, length=case.length, random_state=seed).reshape(-1, case.d)
    lengths = np.full(case.n_seq, case.length)
    init = {
        "startprob": np.full(case.k, 1.0 / case.k),
        "transmat": np.full((case.k, case.k), 1.0 / case.k),
        "means": X[rng.choice(len(X), case.k, replace=False)],
        "covars": np.tile(X.var(0), (case.k, 1)),
    }
    return X, lengths, init


def genmodels_model(case, init, n_iter, dtype="float64"):
    m = GaussianHMM(case.k, n_iter=n_iter, tol=0.0, init_params=(), min_covar=1e-3, dtype=dtype)
    m.startprob_, m.transmat_ = init["startprob"].copy(), init["transmat"].copy()
    m.means_, m.covars_ = init["means"].copy(), init["covars"].copy()
    return m


def hmmlearn_model(case, init, n_iter):
    m = hl.GaussianHMM(case.k, "diag", n_iter=n_iter, tol=-np.inf, init_params="")
    m.startprob_, m.transmat_ = init["startprob"].copy(), init["transmat"].copy()
    m.means_, m.covars_ = init["means"].copy(), init["covars"].copy()
    return m


def pomegranate_model(case, init, n_iter):
    dists = [
        Normal(
            means=torch.tensor(init["means"][j], dtype=torch.float32),
            covs=torch.tensor(init["covars"][j], dtype=torch.float32),
            covariance_type="diag",
        )
        for j in range(case.k)
    ]
    return DenseHMM(
        dists,
        edges=torch.tensor(init["transmat"], dtype=torch.float32),
        starts=torch.tensor(init["startprob"], dtype=torch.float32),
        max_iter=n_iter,
        tol=0.0,
        verbose=False,
    )


def as_genmodels(case, startprob, transmat, means, covars):
    m = GaussianHMM(case.k)
    m.startprob_, m.transmat_ = np.asarray(startprob), np.asarray(transmat)
    m.means_, m.covars_ = np.asarray(means), np.asarray(covars)
    m.transmat_ = m.transmat_ / m.transmat_.sum(1, keepdims=True)
    m.startprob_ = m.startprob_ / m.startprob_.sum()
    return m


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run_case(case: Case, repeats: int, pomegranate: bool) -> list[list[str]]:
    X, lengths, init = make_problem(case)
    # pomegranate's DenseHMM fails on float64 input (a dtype mismatch inside its forward
    # pass), so it runs in float32, which favours it.
    seqs = torch.tensor(X.reshape(case.n_seq, case.length, case.d), dtype=torch.float32)
    rows = []
    results = {}

    def fit_ours():
        return genmodels_model(case, init, case.iters).fit(X, lengths)

    t, m = best_of(fit_ours, repeats)
    results["genmodels"] = (t, m)
    if pomegranate and DenseHMM is not None:  # like for like with pomegranate's float32

        def fit_ours32():
            return genmodels_model(case, init, case.iters, "float32").fit(X, lengths)

        results["genmodels float32"] = best_of(fit_ours32, repeats)
    if hl is not None:

        def fit_hl():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return hmmlearn_model(case, init, case.iters).fit(X, lengths)

        t, h = best_of(fit_hl, repeats)
        results["hmmlearn"] = (
            t,
            as_genmodels(case, h.startprob_, h.transmat_, h.means_, h._covars_),
        )
    if pomegranate and DenseHMM is not None:

        def fit_pg():
            return pomegranate_model(case, init, case.iters).fit(seqs)

        t, p = best_of(fit_pg, repeats)
        means = np.stack([d.means.numpy() for d in p.distributions])
        covs = np.stack([d.covs.numpy() for d in p.distributions])
        starts = np.exp(p.starts.numpy())
        edges = np.exp(p.edges.numpy())
        results["pomegranate"] = (t, as_genmodels(case, starts, edges, means, covs))
    ours_t = results["genmodels"][0]
    for lib, (t, model) in results.items():
        ll = model.score_samples(X, lengths).sum() / len(X)
        ratio = ratio_text(lib, t, ours_t, results.get("genmodels float32", (None,))[0])
        rows.append([f"Baum-Welch, {case.iters} iterations", lib, f"{t:.2f}", ratio, f"{ll:.5f}"])

    # Inference alone, with genmodels' fitted parameters in every library.
    fitted = results["genmodels"][1]
    ref = None
    if hl is not None:
        ref = hl.GaussianHMM(case.k, "diag")
        ref.startprob_, ref.transmat_ = fitted.startprob_, fitted.transmat_
        ref.means_, ref.covars_ = fitted.means_, fitted.covars_
    for what in ("Viterbi", "forward"):
        ours = (
            (lambda: fitted.decode(X, lengths))
            if what == "Viterbi"
            else (lambda: fitted.score_samples(X, lengths))
        )
        t_ours, _ = best_of(ours, repeats)
        rows.append([what, "genmodels", f"{t_ours:.3f}", "1.0", ""])
        t32 = None
        if pomegranate and DenseHMM is not None:
            f32 = genmodels_model(
                case,
                {
                    "startprob": fitted.startprob_,
                    "transmat": fitted.transmat_,
                    "means": fitted.means_,
                    "covars": fitted.covars_,
                },
                1,
                "float32",
            )
            ours32 = partial(f32.decode if what == "Viterbi" else f32.score_samples, X, lengths)
            t32, _ = best_of(ours32, repeats)
            rows.append([what, "genmodels float32", f"{t32:.3f}", "", ""])
        if ref is not None:
            fn = (
                (lambda: ref.decode(X, lengths))
                if what == "Viterbi"
                else (lambda: ref.score(X, lengths))
            )
            t, _ = best_of(fn, repeats)
            rows.append([what, "hmmlearn", f"{t:.3f}", f"{t / t_ours:.1f}x", ""])
        if pomegranate and DenseHMM is not None:
            pg = pomegranate_model(
                case,
                {
                    "startprob": fitted.startprob_,
                    "transmat": fitted.transmat_,
                    "means": fitted.means_,
                    "covars": fitted.covars_,
                },
                1,
            )
            method = pg.viterbi if what == "Viterbi" else pg.forward
            t, _ = best_of(partial(method, seqs), repeats)
            rows.append(
                [what, "pomegranate", f"{t:.3f}", ratio_text("pomegranate", t, t_ours, t32), ""]
            )
    return rows


def ratio_text(lib: str, t: float, t_ours: float, t_ours32: float | None) -> str:
    """The peer's time over genmodels' (float64); pomegranate's also over genmodels'
    float32, its like for like."""
    if lib == "genmodels":
        return "1.0"
    if lib == "genmodels float32":
        return ""
    text = f"{t / t_ours:.1f}x"
    if lib == "pomegranate" and t_ours32:
        text += f" (float32: {t / t_ours32:.1f}x)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--pomegranate-long",
        action="store_true",
        help="also run pomegranate on the long sequence (slow: it loops over frames)",
    )
    add_busy_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        cases = [Case(50, 100, iters=5), Case(1, 20_000, iters=3)]
    else:
        cases = [Case(500, 200, iters=20), Case(1, 100_000, iters=10)]
    print(
        f"# HMM benchmark: {platform.processor() or platform.machine()}, "
        f"{args.threads} thread(s), torch {torch.__version__}, best of {args.repeats}\n"
    )
    with busy_machine(args.busy) as machine, threadpool_limits(args.threads):
        print(f"# {machine}\n")
        for i, case in enumerate(cases):
            pomegranate = i == 0 or args.pomegranate_long
            print(f"## {case.label()}\n")
            print("| task | library | seconds | genmodels is faster by | log-lik / frame |")
            print("|---|---|---|---|---|")
            for row in run_case(case, args.repeats, pomegranate):
                print("| " + " | ".join(row) + " |")
            print()


if __name__ == "__main__":
    main()
