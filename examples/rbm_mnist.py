"""A 500-hidden-unit RBM on the fixed binarized-MNIST split, scored as Salakhutdinov &
Murray (2008) score theirs: test log-likelihood with log Z from AIS.

Trains ``BernoulliRBM`` on the 50,000 training images with CD-k or persistent CD, then
estimates log Z with AIS (100 runs, 10,000 temperatures from the base-rate model, by
default) and prints the mean train and test log-likelihood in nats, with AIS's +-3
standard-error interval. Also saves the learned filters and Gibbs samples as pictures.
Salakhutdinov & Murray report -125.53 (CD-1), -105.50 (CD-3) and -86.34 nats (CD-25).

Data come from $GENMODELS_DATASETS (default ../shared/datasets). Run:

    .venv/bin/python examples/rbm_mnist.py --method pcd --epochs 200
    .venv/bin/python examples/rbm_mnist.py --method cd --k 1 --epochs 50 --lr 0.05
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from genmodels import BernoulliRBM
from genmodels.datasets import DatasetNotFound, binarized_mnist
from genmodels.figures import save_image_grid


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=("pcd", "cd"), default="pcd")
    p.add_argument("--k", type=int, default=1, help="Gibbs steps per update (CD-k / PCD-k)")
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--schedule", choices=("constant", "linear"), default="linear")
    p.add_argument("--momentum", type=float, default=0.0)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--ais-runs", type=int, default=100)
    p.add_argument("--ais-betas", type=int, default=10000)
    p.add_argument("--dtype", choices=("float64", "float32"), default="float32")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="rbm-mnist", help="folder for the model and pictures")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        data = binarized_mnist()
    except DatasetNotFound as e:
        print(e, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = BernoulliRBM(
        args.hidden,
        method=args.method,
        n_gibbs_steps=args.k,
        n_iter=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        learning_rate_schedule=args.schedule,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        dtype=args.dtype,
        random_state=args.seed,
        verbose=1,
    )
    t0 = time.perf_counter()
    model.fit(data["train"])
    train_s = time.perf_counter() - t0
    model.save(out / "rbm.safetensors")
    t0 = time.perf_counter()
    logz = model.log_partition(
        "ais", n_runs=args.ais_runs, n_betas=args.ais_betas, random_state=args.seed
    )
    ais_s = time.perf_counter() - t0
    neg_f_test = -model.free_energy(data["test"]).mean()
    neg_f_train = -model.free_energy(data["train"]).mean()
    name = f"{'PCD' if args.method == 'pcd' else 'CD'}-{args.k}"
    print(
        f"\n{name}, {args.hidden} hidden, {args.epochs} epochs, batch {args.batch_size}, "
        f"lr {args.lr} ({args.schedule}); training {train_s:.0f} s"
    )
    print(
        f"log Z (AIS, {args.ais_runs} runs x {args.ais_betas:,} temperatures, {ais_s:.0f} s)"
        f" = {logz.value:.2f}  [{logz.lower:.2f}, {logz.upper:.2f}]"
    )
    print(f"train log-likelihood {neg_f_train - logz.value:.2f} nats")
    print(
        f"test  log-likelihood {neg_f_test - logz.value:.2f} nats "
        f"[{neg_f_test - logz.upper:.2f}, {neg_f_test - logz.lower:.2f}]"
    )
    save_image_grid(
        model.components_[:100].reshape(-1, 28, 28),
        out / "filters.png",
        title=f"{name}: 100 of the {args.hidden} filters",
    )
    samples = model.sample(100, burn_in=1000, random_state=args.seed)
    save_image_grid(
        samples.reshape(-1, 28, 28),
        out / "samples.png",
        vmin=0,
        vmax=1,
        title=f"{name}: Gibbs samples (1,000 sweeps)",
    )
    print(f"wrote {out}/rbm.safetensors, filters.png, samples.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
