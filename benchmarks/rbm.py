"""BernoulliRBM training speed against scikit-learn, and the time of a full AIS run.

Both libraries train the same RBM (784 visible, 500 hidden units) with persistent CD and
one Gibbs step per update (scikit-learn's only algorithm) for one epoch over the same
rows of the binarized-MNIST training split ($GENMODELS_DATASETS; random binary data of
the same shape when absent), same batch size and learning rate, float64, the same number
of threads (torch and the BLAS behind numpy). genmodels runs without shuffling, as
scikit-learn does. Times are the best of ``--repeats`` runs, the libraries alternating.
The AIS row times ``log_partition("ais")`` with 100 runs and 10,000 temperatures on the
RBM genmodels trained (the issue's goal: under a minute on 2 cores).

    python benchmarks/rbm.py             # 20,000 rows, batch sizes 10 and 100
    python benchmarks/rbm.py --quick     # 2,000 rows, a smoke test
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, what = load(2000 if args.quick else 20000)
    print(
        f"# BernoulliRBM benchmark: 784 x 500, PCD-1, one epoch over {what}; "
        f"{args.threads} thread(s), torch {torch.__version__}, best of {args.repeats}\n"
    )
    print("| batch size | scikit-learn s/epoch | genmodels s/epoch | speedup |")
    print("|---|---|---|---|")
    ours = None
    with threadpool_limits(args.threads):
        for bs in (10, 100):
            times = {"sk": np.inf, "gm": np.inf}
            for _ in range(args.repeats):
                for lib in ("sk", "gm"):
                    if lib == "sk":
                        m = SkRBM(500, learning_rate=0.05, batch_size=bs, n_iter=1, random_state=0)
                    else:
                        m = BernoulliRBM(
                            500,
                            learning_rate=0.05,
                            batch_size=bs,
                            n_iter=1,
                            shuffle=False,
                            random_state=0,
                        )
                    t = time.perf_counter()
                    m.fit(X)
                    times[lib] = min(times[lib], time.perf_counter() - t)
                    if lib == "gm":
                        ours = m
            sk, gm = times["sk"], times["gm"]
            print(f"| {bs} | {sk:.2f} | {gm:.2f} | {sk / gm:.1f}x |")
        runs, temps = (20, 1000) if args.quick else (100, 10000)
        t = time.perf_counter()
        res = ours.log_partition("ais", n_runs=runs, n_betas=temps, random_state=0)
        dt = time.perf_counter() - t
    print(
        f"\nAIS, {runs} runs x {temps:,} temperatures, 784 x 500: {dt:.1f} s "
        f"(log Z = {res.value:.2f} +- {res.std:.3f})"
    )


if __name__ == "__main__":
    main()
