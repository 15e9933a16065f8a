"""Cached against naive generation of the autoregressive models (issue 14).

WaveNet: 10 layers x 3 blocks (dilations 1..512, receptive field 3,070 levels), 32
residual and 64 skip channels, 256 levels, untrained weights; 16,000 new levels (two
seconds at 8 kHz) with the per-layer queues (``use_cache=True``) against the naive loop,
which runs the network over the receptive field for every new level (the cheapest naive
loop: pytorch-generative's recomputes the whole sequence). The naive loop is timed on
``--naive-levels`` levels (default 500) after a prompt of a full receptive field, so every
timed step has the full context, and its rate is multiplied out to 16,000 (``--naive-levels
16000`` runs it whole); the first 500 cached levels are checked to equal the naive ones.

Transformer: a GPT-style decoder of 6 layers x 384 wide (6 heads, context 1,024, the
weights as initialised: speed does not depend on them), 512 new tokens after a one-token
prompt, a batch of 1 and of 8 sequences, greedy decoding so that both loops must give the
same tokens (checked). "naive" recomputes the whole context for every new token (as
nanoGPT's ``generate`` and pytorch-generative do); "cached" keeps every layer's keys and
values (``sample(..., use_cache=True)``, the default). The two alternate; best of
``--repeats``. Threads: torch's default (all cores), the same for both.

PixelCNN: the gated PixelCNN of the default size (7 layers, 32 channels, kernel 5, 64 head
channels), 28 x 28 binary images, untrained weights; 64 images at once with the row cache
against the naive loop (the whole network over the whole image for every pixel, the way
pytorch-generative samples). The naive loop is timed on its first ``--naive-pixels``
pixels (default 28, one row; every pass costs the same) and multiplied out to 784; the
images' first pixels are checked to be the same.

    python benchmarks/autoregressive.py            # 512 tokens, best of 3
    python benchmarks/autoregressive.py --quick    # 64 tokens, once (a smoke test)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _busy import add_busy_argument, busy_machine  # noqa: E402

from genmodels import PixelCNN, Transformer, WaveNet  # noqa: E402


def _model(vocab: int = 65) -> Transformer:
    rng = np.random.RandomState(0)
    codes = rng.randint(0, vocab, size=(4, 64, 1)).astype(float)
    model = Transformer(
        6,
        6,
        384,
        block_size=1024,
        vocab_size=vocab,
        epochs=1,
        batch_size=4,
        warmup_steps=0,
        random_state=0,
    )
    return model.fit(codes)


def _time(fn, repeats: int) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def wavenet(levels: int, naive_levels: int) -> None:
    rng = np.random.RandomState(0)
    model = WaveNet(10, 3, 32, 64, chunk_length=3100, epochs=1, batch_size=1, random_state=0)
    model.fit([rng.randint(0, 256, 3100)])
    prompt = rng.randint(0, 256, model.receptive_field_)
    t = time.perf_counter()
    fast = model.complete(prompt, levels, random_state=0)
    fast_s = time.perf_counter() - t
    t = time.perf_counter()
    slow = model.complete(prompt, naive_levels, random_state=0, use_cache=False)
    naive_s = (time.perf_counter() - t) * levels / naive_levels
    k = min(levels, naive_levels)
    same = bool((fast[0, : len(prompt) + k] == slow[0, : len(prompt) + k]).all())
    note = (
        ""
        if naive_levels >= levels
        else f" (rate of {naive_levels} levels, x {levels / naive_levels:g})"
    )
    print(f"\nWaveNet 10 x 3 (receptive field {model.receptive_field_}), {levels:,} new levels")
    print("| loop | seconds | levels/s |")
    print("|---|---|---|")
    print(f"| naive{note} | {naive_s:.1f} | {levels / naive_s:,.0f} |")
    print(f"| fast (queues) | {fast_s:.1f} | {levels / fast_s:,.0f} |")
    print(f"speedup {naive_s / fast_s:.1f}x; first {k} levels identical: {same}")


def pixelcnn(n_images: int, naive_pixels: int) -> None:
    rng = np.random.RandomState(0)
    model = PixelCNN(epochs=1, batch_size=8, random_state=0)
    model.fit((rng.uniform(size=(8, 784)) < 0.13).astype(float))
    t = time.perf_counter()
    fast = model.sample(n_images, random_state=0)
    fast_s = time.perf_counter() - t
    net = model.module_.eval()
    u = torch.full((n_images, 1), model.vocab_size_, dtype=torch.int64)
    t = time.perf_counter()
    gen = model._generate(
        u,
        naive_pixels,
        temperature=1.0,
        top_k=None,
        top_p=None,
        generator=model._generator(0),
        use_cache=False,
    )
    naive_s = (time.perf_counter() - t) * 784 / naive_pixels
    same = bool((gen.numpy() == fast[:, :naive_pixels]).all())
    del net
    print(f"\nPixelCNN 7 layers x 32 channels, {n_images} images of 28 x 28")
    print("| loop | seconds | images/s |")
    print("|---|---|---|")
    print(
        f"| naive (rate of {naive_pixels} pixels, x {784 / naive_pixels:g}) | {naive_s:.1f} | "
        f"{n_images / naive_s:.2f} |"
    )
    print(f"| row cache | {fast_s:.1f} | {n_images / fast_s:.2f} |")
    print(f"speedup {naive_s / fast_s:.1f}x; first {naive_pixels} pixels identical: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--levels", type=int, default=16000, help="WaveNet levels to generate")
    parser.add_argument("--naive-levels", type=int, default=500)
    parser.add_argument("--naive-pixels", type=int, default=28)
    add_busy_argument(parser)
    args = parser.parse_args()
    tokens, repeats = (64, 1) if args.quick else (args.tokens, args.repeats)
    model = _model()
    print(
        f"Transformer 6 x 384, {tokens} new tokens, greedy; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    with busy_machine(args.busy) as where:
        print(where)
        print(
            "| batch | naive s | cached s | naive tokens/s | cached tokens/s | speedup "
            "| same tokens |"
        )
        print("|---|---|---|---|---|---|---|")
        for n in (1, 8):

            def run(cache, n=n):
                return model.sample(
                    n, length=tokens, temperature=0, random_state=0, use_cache=cache
                )

            naive, a = _time(lambda: run(False), repeats)
            cached, b = _time(lambda: run(True), repeats)
            print(
                f"| {n} | {naive:.2f} | {cached:.2f} | {n * tokens / naive:,.0f} | "
                f"{n * tokens / cached:,.0f} | {naive / cached:.1f}x | {bool((a == b).all())} |"
            )
        if args.quick:
            wavenet(200, 50)
            pixelcnn(4, 4)
        else:
            wavenet(args.levels, args.naive_levels)
            pixelcnn(64, args.naive_pixels)


if __name__ == "__main__":
    main()
