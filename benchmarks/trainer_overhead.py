"""What the shared trainer costs: ``VAE.fit`` against a bare hand-written PyTorch loop.

Both train the same network, a VAE 784-200-200-50 with tanh units and a Bernoulli
likelihood (Burda et al.'s one-stochastic-layer model), with Adam (lr 1e-3), batch 100,
on the first 10,000 rows of the binarized-MNIST training split ($GENMODELS_DATASETS;
random 0/1 data of the same shape when absent), float32, the same number of torch
threads. The bare loop is what one would write by hand: a ``randperm`` per epoch, slices
of it, ``training_losses`` from ``genmodels.vae._bounds``, ``zero_grad`` / ``backward`` /
``step``, nothing else. ``VAE.fit(epochs=N, verbose=0)`` is timed whole (input checks,
building the network and the trainer included) and so is the bare loop (tensor
conversion and building the network included); both are divided by N. The two alternate
run by run; the table gives the median over ``--repeats`` runs and the ratio of the
medians, and the median of the per-pair ratios (robust to a machine whose load drifts).

On a busy machine that ratio is noisier than the effect, so the trainer's fixed cost per
optimiser step is also measured on its own: both loops train one scalar parameter
(``loss = p * x``) for 2,000 steps of batch 1, where everything but the bookkeeping is
nearly free (best of ``--repeats``); the difference, in microseconds a step, is then put
against the VAE's time per step.

    python benchmarks/trainer_overhead.py             # 5 pairs of 3-epoch runs
    python benchmarks/trainer_overhead.py --quick     # 2,000 rows, a smoke test
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np
import torch

from genmodels import VAE
from genmodels.datasets import DatasetNotFound, binarized_mnist
from genmodels.vae._bounds import training_losses
from genmodels.vae._likelihoods import make_likelihood
from genmodels.vae._networks import build_vae_net

HIDDEN, LATENT, BATCH, LR = (200, 200), 50, 100, 1e-3


def load(n: int) -> tuple[np.ndarray, str]:
    try:
        return binarized_mnist()["train"][:n], f"binarized MNIST, first {n:,} training rows"
    except DatasetNotFound:
        rng = np.random.RandomState(0)
        return (rng.uniform(size=(n, 784)) < 0.13).astype(np.float64), f"random 0/1, {n:,} rows"


def bare(X: np.ndarray, epochs: int, seed: int = 0) -> float:
    """A hand-written loop over the same network; returns the last batch's loss."""
    torch.manual_seed(seed)
    x_all = torch.as_tensor(X, dtype=torch.float32)  # (N, 784)
    net = build_vae_net(
        feature_shape=(X.shape[1],),
        latent_dim=LATENT,
        likelihood=make_likelihood("bernoulli", (X.shape[1],)),
        hidden_dims=HIDDEN,
        activation="tanh",
    )
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(seed)
    n = x_all.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, BATCH):
            x = x_all[order[start : start + BATCH]]  # (B, 784)
            loss = training_losses(x, net.encoder, net.decoder, net.likelihood, generator=gen)
            opt.zero_grad(set_to_none=True)
            loss["loss"].backward()
            opt.step()
    return float(loss["loss"].detach())


def trainer(X: np.ndarray, epochs: int, seed: int = 0) -> float:
    model = VAE(
        LATENT,
        HIDDEN,
        activation="tanh",
        epochs=epochs,
        batch_size=BATCH,
        lr=LR,
        mixed_precision="float32",
        random_state=seed,
        verbose=0,
    ).fit(X)
    return model.history_["loss"][-1]


class _Scalar:
    """The smallest TrainingTask: one scalar parameter, loss = p * x."""

    def __init__(self):
        self.module = torch.nn.Linear(1, 1, bias=False)

    def training_module(self):
        return self.module

    def parameter_groups(self):
        return {"model": list(self.module.parameters())}

    def group_steps(self):
        return {}

    def training_step(self, batch, ctx):
        return {"loss": self.module.weight.sum() * batch[0].sum()}

    validation_step = training_step


def scalar_bare(steps: int) -> float:
    """Seconds for ``steps`` hand-written steps on the scalar task."""
    from torch.utils.data import TensorDataset

    t = time.perf_counter()
    task, data = _Scalar(), TensorDataset(torch.ones(steps, 1))
    opt = torch.optim.Adam(task.module.parameters(), lr=LR)
    x_all = data.tensors[0]
    order = torch.randperm(steps, generator=torch.Generator().manual_seed(0))
    for i in range(steps):
        loss = task.training_step((x_all[order[i : i + 1]],), None)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def scalar_trainer(steps: int) -> float:
    """Seconds for ``Trainer.fit`` over the same steps (one epoch of batches of 1)."""
    from torch.utils.data import TensorDataset

    from genmodels.nn import Trainer

    t = time.perf_counter()
    task, data = _Scalar(), TensorDataset(torch.ones(steps, 1))
    Trainer(epochs=1, batch_size=1, lr=LR, mixed_precision="float32").fit(task, data)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, what = load(2000 if args.quick else 10000)
    repeats = 2 if args.quick else args.repeats
    print(
        f"# Trainer overhead: VAE 784-{'-'.join(map(str, HIDDEN))}-{LATENT} (tanh), Adam, "
        f"batch {BATCH}, {args.epochs} epochs a run over {what}; {args.threads} thread(s), "
        f"torch {torch.__version__}, {repeats} alternating pairs\n"
    )
    bare(X[:500], 1)  # warm-up: first calls allocate and load kernels
    trainer(X[:500], 1)
    times: dict[str, list[float]] = {"bare": [], "fit": []}
    for _ in range(repeats):
        for name, fn in (("bare", bare), ("fit", trainer)):
            t = time.perf_counter()
            fn(X, args.epochs)
            times[name].append((time.perf_counter() - t) / args.epochs)
    b, f = statistics.median(times["bare"]), statistics.median(times["fit"])
    pairs = statistics.median(ft / bt for bt, ft in zip(times["bare"], times["fit"], strict=True))
    print("| loop | s/epoch (median) | min | max |")
    print("|---|---|---|---|")
    for name, label in (("bare", "bare PyTorch loop"), ("fit", "VAE.fit (Trainer)")):
        ts = times[name]
        print(f"| {label} | {statistics.median(ts):.3f} | {min(ts):.3f} | {max(ts):.3f} |")
    print(
        f"\noverhead: {100 * (f / b - 1):+.1f}% (ratio of medians {f / b:.3f}; "
        f"median of per-pair ratios {pairs:.3f})"
    )

    steps = 2000
    fixed = {"bare": np.inf, "fit": np.inf}
    for _ in range(repeats):
        fixed["bare"] = min(fixed["bare"], scalar_bare(steps))
        fixed["fit"] = min(fixed["fit"], scalar_trainer(steps))
    us = {k: 1e6 * v / steps for k, v in fixed.items()}
    step_ms = 1e3 * b / math.ceil(X.shape[0] / BATCH)
    extra = us["fit"] - us["bare"]
    print(
        f"\nfixed cost per optimiser step (scalar task, best of {repeats} x {steps:,} steps): "
        f"bare {us['bare']:.1f} us, Trainer {us['fit']:.1f} us, difference {extra:.1f} us "
        f"= {100 * extra / (1e3 * step_ms):.2f}% of the VAE's {step_ms:.2f} ms step"
    )


if __name__ == "__main__":
    main()
