"""Kill a training run with SIGKILL in the middle of an epoch, for the resumption tests.

The run is a script in a subprocess that checkpoints every epoch into ``folder``; once a
checkpoint says it finished ``epochs`` epochs it is given ``into`` seconds more (into the
next epoch's batches) and killed. What the tests then check is theirs: that a new process
resuming from the checkpoint ends where an uninterrupted run does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from safetensors import safe_open

from genmodels.nn import checkpoint_path


def checkpoint_epoch(directory) -> int:
    """The epoch a checkpoint was written after, read from its metadata alone."""
    with safe_open(str(checkpoint_path(directory)), "pt") as f:
        return json.loads(f.metadata()["state"])["epoch"]


def kill_mid_run(cmd: list[str], folder: Path, log: Path, *, epochs: int, into: float) -> int:
    """Run ``cmd``, SIGKILL it ``into`` seconds after its checkpoint reached ``epochs``
    epochs; returns the epoch of the checkpoint it left."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline, epoch = time.monotonic() + 120, 0
        while epoch < epochs:
            assert proc.poll() is None, f"the run ended before it was killed: {log.read_text()}"
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            if checkpoint_path(folder).exists():
                epoch = checkpoint_epoch(folder)
            time.sleep(0.02)
        time.sleep(into)
        assert proc.poll() is None, "the run ended before it was killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return checkpoint_epoch(folder)
