"""The peers' own shipped test files, imports rewritten to genmodels' drop-ins, must pass.

One test per ``tests/peers/<PEER>_rules.py``: ``tests/peers/port.py PEER`` copies the
peer's installed tests into a temporary directory, rewrites their imports, deselects the
documented exceptions (docs/compatibility.md) and runs them. Slow: ``make test-slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PEERS = sorted(p.name[: -len("_rules.py")] for p in (REPO / "tests" / "peers").glob("*_rules.py"))


@pytest.mark.slow
@pytest.mark.parametrize("peer", PEERS)
def test_peer_suite_passes(peer):
    # scikit-learn's float32 variants are off by default; the drop-ins keep float32, so run them
    env = dict(os.environ, PYTHONPATH=str(REPO), SKLEARN_RUN_FLOAT32_TESTS="1")
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "peers" / "port.py"),
            peer,
            "-q",
            "-p",
            "no:warnings",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    summary = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("port.py"))
    assert proc.returncode == 0, f"{summary}\n\n{proc.stdout[-20000:]}\n{proc.stderr[-5000:]}"
