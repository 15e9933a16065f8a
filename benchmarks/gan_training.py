"""What the shared trainer costs a GAN: ``GAN.fit`` against a bare hand-written PyTorch
DCGAN loop over the same networks (issue 13: overhead < 5%).

Both loops train the DCGAN of ``GAN(image_shape=(28, 28))`` (generator 128-64, discriminator
64-128, latent 100, batch 64, the non-saturating loss, Adam(2e-4, betas (0.5, 0.999)) for
each network, float32) on the same 3,200 MNIST training images (random images when
absent), same torch threads. The bare loop: a ``randperm`` per epoch, slices, per batch a
discriminator step on detached generated images (softplus losses) then a generator step,
nothing else. ``fit`` is timed whole (input checks, scaling, the networks built included),
the bare loop too (networks built included). The two alternate; the table gives the
median seconds per epoch over ``--repeats`` pairs and the median per-pair ratio. A WGAN-GP
row does the same with 5 critic steps per generator step and the gradient penalty.

    python benchmarks/gan_training.py            # 5 pairs of 1-epoch runs
    python benchmarks/gan_training.py --quick    # 2 pairs, 640 images
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from genmodels import GAN
from genmodels.datasets import DatasetNotFound, mnist
from genmodels.gan._losses import gradient_penalty


def _images(n: int) -> np.ndarray:
    try:
        return mnist()["train_images"][:n].reshape(n, 784) / 255.0
    except DatasetNotFound:
        return np.random.RandomState(0).uniform(size=(n, 784))


def _make(loss: str) -> GAN:
    return GAN(image_shape=(28, 28), loss=loss, epochs=1, batch_size=64, random_state=0,
               mixed_precision="float32")  # fmt: skip


def fit_epoch(loss: str, X: np.ndarray) -> float:
    model = _make(loss)
    t = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - t


def bare_epoch(loss: str, X: np.ndarray, seed: int = 0) -> float:
    model = _make(loss)
    t = time.perf_counter()
    x_all = torch.as_tensor(X * 2 - 1, dtype=torch.float32).view(-1, 1, 28, 28)
    model.feature_shape_, model.output_ = (1, 28, 28), "tanh"
    torch.manual_seed(seed)
    net = model._build_module()
    G, D = net.generator, net.discriminator  # noqa: N806
    betas = (0.0, 0.9) if loss == "wgan-gp" else (0.5, 0.999)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=betas)
    n_critic = 5 if loss == "wgan-gp" else 1
    gen = torch.Generator().manual_seed(seed)
    n, bs = x_all.shape[0], 64
    order = torch.randperm(n, generator=gen)
    for b, start in enumerate(range(0, n, bs)):
        x = x_all[order[start : start + bs]]
        z = torch.randn(x.shape[0], 100, generator=gen)
        with torch.no_grad():
            fake = G(z)
        real_out, fake_out = D(x), D(fake)
        if loss == "wgan-gp":
            d_loss = fake_out.mean() - real_out.mean() + 10 * gradient_penalty(D, x, fake, gen)
        else:
            d_loss = F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        if (b + 1) % n_critic:
            continue
        z = torch.randn(x.shape[0], 100, generator=gen)
        out = D(G(z))
        g_loss = -out.mean() if loss == "wgan-gp" else F.softplus(-out).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    X = _images(640 if args.quick else 3200)
    repeats = 2 if args.quick else args.repeats
    print(
        f"# Trainer overhead, GAN (DCGAN on 28x28): one epoch of {len(X):,} images a run, "
        f"{repeats} alternating pairs; {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}\n"
    )
    print("| loss | bare s/epoch | fit s/epoch | overhead (pairs) |")
    print("|---|---|---|---|")
    for loss in ("non-saturating", "wgan-gp"):
        bare_epoch(loss, X[:128])  # warm-up: the first calls allocate and load kernels
        times: dict[str, list[float]] = {"bare": [], "fit": []}
        for _ in range(repeats):
            times["bare"].append(bare_epoch(loss, X))
            times["fit"].append(fit_epoch(loss, X))
        b, f = statistics.median(times["bare"]), statistics.median(times["fit"])
        pairs = statistics.median(
            ft / bt for bt, ft in zip(times["bare"], times["fit"], strict=True)
        )
        print(f"| {loss} | {b:.2f} | {f:.2f} | {100 * (pairs - 1):+.1f}% |", flush=True)


if __name__ == "__main__":
    main()
