"""A busy machine for the benchmarks' ``--busy`` mode: a fixed set of multi-threaded
competitors (by default three torch processes of two threads each, multiplying 400 x 400
matrices in a loop) run beside both libraries for the whole benchmark, as on a shared CI
runner or beside fits run in parallel with joblib.

    with busy_machine(args.busy):      # no-op when args.busy == 0
        ...time both libraries...
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_COMPETITOR = """
import torch
torch.set_num_threads({threads})
a = torch.randn(400, 400, dtype=torch.float64)
while True:
    a = torch.tanh(a @ a * 1e-3)
"""


def add_busy_argument(parser) -> None:
    parser.add_argument(
        "--busy",
        type=int,
        nargs="?",
        const=3,
        default=0,
        metavar="N",
        help="run N competing 2-thread torch processes beside both libraries (default 3)",
    )


@contextmanager
def busy_machine(n: int, threads: int = 2) -> Iterator[str]:
    """Start ``n`` competitors, wait until they run, yield a one-line description, stop them."""
    if n <= 0:
        yield f"quiet machine (load {os.getloadavg()[0]:.1f} before the run)"
        return
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _COMPETITOR.format(threads=threads)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]
    try:
        time.sleep(3.0)  # let them import torch and start multiplying
        yield (
            f"busy machine: {n} competing torch processes x {threads} threads on "
            f"{os.cpu_count()} cores"
        )
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
