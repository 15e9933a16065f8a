"""``genmodels demo``: fit every family on built-in data and write an HTML report
(:func:`genmodels.demo.run`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import CommandError, add_verb


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "demo",
        "fit every family on built-in data and write an HTML report",
        run,
        "genmodels demo --quick --output demo-report",
    )
    p.add_argument("--output", default="demo-report", help="report folder (default demo-report)")
    p.add_argument("--quick", action="store_true", help="fewer, shorter fits (seconds)")


def run(args: argparse.Namespace) -> int:
    try:
        from ..demo import run as run_demo
    except ImportError as exc:
        raise CommandError(f"the demo is not available in this installation ({exc})") from None
    print(f"building the demo report in {args.output} ...", flush=True)
    index = run_demo(args.output, quick=args.quick)
    print(f"demo report written to {index}")
    print(f"open it in a browser: {Path(index).resolve().as_uri()}")
    return 0
