"""What the shared trainer costs the autoregressive models: ``fit`` against a bare
hand-written PyTorch loop over the same network (issue 14: overhead < 5%).

For each model — a Transformer 4 x 128 (context 128, batch 32) on tiny Shakespeare's first
200,000 characters (random text of the same alphabet when absent), a PixelCNN 7 x 32 (batch
64) on 1,024 binarized-MNIST training images (random 0/1 images when absent), a WaveNet
3 x 2 blocks x 32 channels on random 256-level audio — both loops train the same
network on the same training windows (``model._windows``), with the same optimiser (the
model's default: AdamW for the transformer, Adam otherwise), a constant learning rate,
gradient clipping at 1.0 (the trainer's default), float32, the same torch threads. The bare
loop: a ``randperm`` per epoch, slices, ``cross_entropy``, ``zero_grad`` / ``backward`` /
``clip_grad_norm_`` / ``step``, nothing else. ``fit`` is timed whole (input checks,
windows and the network built included), the bare loop too (windows and network built
included). The two alternate; the table gives the median seconds per epoch over
``--repeats`` pairs and the median of the per-pair ratios (robust to a drifting load).

    python benchmarks/autoregressive_training.py            # 5 pairs of 1-epoch runs
    python benchmarks/autoregressive_training.py --quick    # 2 pairs, smaller data
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from genmodels import PixelCNN, Transformer, WaveNet
from genmodels.datasets import DatasetNotFound, binarized_mnist, tiny_shakespeare


def _data(quick: bool) -> dict:
    rng = np.random.RandomState(0)
    try:
        text = tiny_shakespeare()[0][: 50_000 if quick else 200_000]
    except DatasetNotFound:
        text = "".join(rng.choice(list("abcdefghij klmnop\n"), 50_000 if quick else 200_000))
    try:
        images = binarized_mnist()["train"][: 256 if quick else 1024]
    except DatasetNotFound:
        images = (rng.uniform(size=(256 if quick else 1024, 784)) < 0.13).astype(float)
    audio = [rng.randint(0, 256, (4000, 1)).astype(float) for _ in range(8 if quick else 32)]
    return {"text": text, "images": images, "audio": audio}


def _models() -> dict:
    common = dict(epochs=1, lr=1e-3, lr_schedule="constant", grad_clip=1.0, random_state=0)
    return {
        "Transformer 4x128": (
            lambda: Transformer(
                4,
                4,
                128,
                block_size=128,
                batch_size=32,
                warmup_steps=0,
                positions="rotary",
                **common,
            ),  # fmt: skip
            "text",
        ),
        "PixelCNN 7x32": (lambda: PixelCNN(7, 32, batch_size=64, **common), "images"),
        "WaveNet 3x2x32": (
            lambda: WaveNet(3, 2, 32, 64, chunk_length=1000, batch_size=16, **common),
            "audio",
        ),
    }


def fit_epoch(make, data) -> float:
    model = make()
    t = time.perf_counter()
    model.fit(data)
    return time.perf_counter() - t


def bare_epoch(make, data, seed: int = 0) -> float:
    model = make()
    t = time.perf_counter()
    windows = model._windows(model._token_lists(data, fitting=True))
    torch.manual_seed(seed)
    net = model._build_module()
    opt_cls = torch.optim.AdamW if model.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(net.parameters(), lr=model.lr, weight_decay=model.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    n, bs = len(windows), model.batch_size
    order = torch.randperm(n, generator=gen)
    for start in range(0, n, bs):
        w = windows[order[start : start + bs]]
        logits = net(w[:, :-1].clamp(min=0))
        loss = F.cross_entropy(logits.flatten(0, 1).float(), w[:, 1:].flatten(), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="pairs (default 5, --quick 2)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=None, help="run the models whose name has this")
    args = parser.parse_args()
    data = _data(args.quick)
    repeats = args.repeats or (2 if args.quick else 5)
    print(
        f"# Trainer overhead, autoregressive models: one epoch a run, {repeats} alternating "
        f"pairs; {torch.get_num_threads()} threads, torch {torch.__version__}\n"
    )
    print("| model | windows x length | bare s/epoch | fit s/epoch | overhead (pairs) |")
    print("|---|---|---|---|---|")
    for name, (make, key) in _models().items():
        if args.only and args.only not in name:
            continue
        m = make()
        shape = tuple(m._windows(m._token_lists(data[key], fitting=True)).shape)
        bare_epoch(make, data[key])  # warm-up: the first calls allocate and load kernels
        times: dict[str, list[float]] = {"bare": [], "fit": []}
        for _ in range(repeats):
            times["bare"].append(bare_epoch(make, data[key]))
            times["fit"].append(fit_epoch(make, data[key]))
        b, f = statistics.median(times["bare"]), statistics.median(times["fit"])
        pairs = statistics.median(
            ft / bt for bt, ft in zip(times["bare"], times["fit"], strict=True)
        )
        print(
            f"| {name} | {shape[0]:,} x {shape[1] - 1} | {b:.2f} | {f:.2f} | "
            f"{100 * (pairs - 1):+.1f}% |",
            flush=True,
        )


if __name__ == "__main__":
    main()
