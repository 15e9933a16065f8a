"""BernoulliRBM training speed against scikit-learn, and the time of a full AIS run.

Both libraries train the same RBM (784 visible, 500 hidden units) with persistent CD and
one Gibbs step per update (scikit-learn's only algorithm) for one epoch over the same
rows of the binarized-MNIST training split ($GENMODELS_DATASETS; random binary data of
the same shape when absent), same batch size and learning rate, float64, the same number
of threads (torch and the BLAS behind numpy). genmodels runs without shuffling, as
scikit-learn does; it is timed twice, training in float64 (like for like) and with
``dtype="float32"`` (its option: half the GEMM time; scikit-learn's own float32 path is
timed too, on float32 data, for reference). Times are the best of ``--repeats`` runs, the
libraries alternating. The AIS rows time ``log_partition("ais")`` with 100 runs and
10,000 temperatures on the RBM genmodels trained, with float32 chains (the default) and
float64 chains (the issue's goal: under a minute on 2 cores).

    python benchmarks/rbm.py             # 20,000 rows, batch sizes 10, 64 and 100
    python benchmarks/rbm.py --quick     # 2,000 rows, a smoke test
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from _busy import add_busy_argument, busy_machine
from sklearn.neural_network import BernoulliRBM as SkRBM
from threadpoolctl import threadpool_limits

from genmodels import BernoulliRBM
from genmodels.datasets import DatasetNotFound, binarized_mnist


def load(n: int) -> tuple[np.ndarray, str]:
    try:
        return binarized_mnist()["train"][:n], f"binarized MNIST, first {n:,} training rows"
    except DatasetNotFound:
        rng = np.random.RandomState(0)
        return (rng.uniform(size=(n, 784)) < 0.13).astype(np.float64), f"random 0/1, {n:,} rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    add_busy_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, what = load(2000 if args.quick else 20000)
    print(
        f"# BernoulliRBM benchmark: 784 x 500, PCD-1, one epoch over {what}; "
        f"{args.threads} thread(s), torch {torch.__version__}, best of {args.repeats}\n"
    )
    head = "| batch size | scikit-learn s/epoch | genmodels s/epoch | speedup |"
    print(head + " genmodels float32 | speedup | scikit-learn float32 |")
    print("|---|---|---|---|---|---|---|")
    ours = None
    X32 = X.astype(np.float32)
    with busy_machine(args.busy) as machine, threadpool_limits(args.threads):
        print(f"# {machine}\n")
        for bs in (10, 64, 100):
            times = {"sk": np.inf, "gm": np.inf, "gm32": np.inf, "sk32": np.inf}
            for _ in range(args.repeats):
                for lib in times:
                    if lib.startswith("sk"):
                        m = SkRBM(500, learning_rate=0.05, batch_size=bs, n_iter=1, random_state=0)
                    else:
                        m = BernoulliRBM(
                            500,
                            learning_rate=0.05,
                            batch_size=bs,
                            n_iter=1,
                            shuffle=False,
                            random_state=0,
                            dtype="float32" if lib == "gm32" else "float64",
                        )
                    t = time.perf_counter()
                    m.fit(X32 if lib == "sk32" else X)
                    times[lib] = min(times[lib], time.perf_counter() - t)
                    if lib == "gm":
                        ours = m
            sk, gm, gm32, sk32 = (times[k] for k in ("sk", "gm", "gm32", "sk32"))
            print(
                f"| {bs} | {sk:.2f} | {gm:.2f} | {sk / gm:.1f}x | {gm32:.2f} | {sk / gm32:.1f}x "
                f"| {sk32:.2f} |"
            )
        runs, temps = (20, 1000) if args.quick else (100, 10000)
        print()
        for chains in ("float32", "float64"):
            t = time.perf_counter()
            res = ours.log_partition(
                "ais", n_runs=runs, n_betas=temps, chain_dtype=chains, random_state=0
            )
            dt = time.perf_counter() - t
            print(
                f"AIS, {runs} runs x {temps:,} temperatures, 784 x 500, {chains} chains: "
                f"{dt:.1f} s (log Z = {res.value:.2f} +- {res.std:.3f})"
            )


if __name__ == "__main__":
    main()
