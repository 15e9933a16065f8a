"""Progress reporting for long work: a bar when asked for, silence otherwise.

Library code never prints; it reports through this module (``verbose`` >= 1 shows progress
on stderr) and through ``logging`` (logger ``"genmodels"``). On a terminal (or in Jupyter)
the progress is a tqdm bar redrawn in place; written to a file or a pipe (a log,
``2> fit.log``, a batch job) it is plain lines instead, with no ``\\r`` redraws: one each
time another tenth of the work is done (:data:`LINE_PARTS`) or :data:`LINE_EVERY_SECONDS`
have passed, whichever comes first, and a last one when the work ends.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from tqdm.auto import tqdm

logger = logging.getLogger("genmodels")

#: Plain-line progress: a line each time another 1/LINE_PARTS of the total is done...
LINE_PARTS = 10
#: ... or when this many seconds have passed since the last line, whichever comes first.
LINE_EVERY_SECONDS = 30.0


def draws_in_place(stream: TextIO) -> bool:
    """Whether a bar redrawn in place (``\\r``) suits ``stream``: a terminal, or a Jupyter
    output stream (where tqdm draws a widget). A file or a pipe gets plain lines."""
    if type(stream).__module__.split(".")[0] == "ipykernel":
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class Progress:
    """Progress over ``total`` steps showing the latest metrics: a tqdm bar on a terminal,
    plain lines on a file or pipe. ``stream`` defaults to ``sys.stderr`` (as it is when
    the progress starts)."""

    def __init__(self, total: int, desc: str, enabled: bool, *, stream: TextIO | None = None):
        self._bar = None
        self._lines = None
        if not enabled:
            return
        stream = sys.stderr if stream is None else stream
        if draws_in_place(stream):
            self._bar = tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True, file=stream)
        else:
            self._lines = _Lines(total, desc, stream)

    def update(self, n: int = 1, **metrics: Any) -> None:
        shown = {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in metrics.items()}
        if self._lines is not None:
            self._lines.update(n, shown)
        elif self._bar is not None:
            if shown:
                self._bar.set_postfix(shown, refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._lines is not None:
            self._lines.close()
        elif self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Lines:
    """Progress as whole lines (see the module docstring for when one is written)."""

    def __init__(self, total: int, desc: str, stream: TextIO):
        self.total, self.desc, self.stream = max(int(total), 0), desc, stream
        self.n = 0
        self.metrics: dict[str, Any] = {}
        self.start = self.last_time = time.monotonic()
        self.parts_shown = 0  # lines written at 1/LINE_PARTS, 2/LINE_PARTS, ... of the total
        self.closed = False

    def update(self, n: int, metrics: dict[str, Any]) -> None:
        if self.closed:
            return
        self.n += n
        self.metrics.update(metrics)
        now = time.monotonic()
        if self.n >= self.total:  # the last line is close()'s
            return
        parts = LINE_PARTS * self.n // self.total
        if parts > self.parts_shown:
            self.parts_shown = parts
            self._write(f"{self.n}/{self.total} ({100 * self.n // self.total}%)", now)
        elif n and now - self.last_time >= LINE_EVERY_SECONDS:
            self._write(f"{self.n}/{self.total} ({100 * self.n // self.total}%)", now)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._write(f"done, {self.n}/{self.total}", time.monotonic())

    def _write(self, where: str, now: float) -> None:
        self.last_time = now
        text = f"{self.desc}: {where} in {_duration(now - self.start)}"
        if self.metrics:
            text += ": " + ", ".join(f"{k}={v}" for k, v in self.metrics.items())
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (ValueError, OSError):  # a closed stream, a reader gone: progress is optional
            self.closed = True


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
