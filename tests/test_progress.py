"""Progress (issue 17): a tqdm bar on a terminal, plain lines (no ``\\r`` redraws) on a file
or a pipe."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import genmodels
from genmodels import progress
from genmodels.progress import Progress, draws_in_place


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(stream, total=100, steps=None, enabled=True, **metrics):
    with Progress(total, "Fit", enabled, stream=stream) as bar:
        for i in range(total if steps is None else steps):
            bar.update(1, loss=1.0 / (i + 1), epoch=f"{i + 1}/{total}", **metrics)
    return stream.getvalue()


def test_a_file_or_pipe_gets_plain_lines_each_tenth_and_a_last_one():
    text = run(io.StringIO())
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) == 10
    for k, line in enumerate(lines[:9], start=1):
        assert re.fullmatch(
            rf"Fit: {10 * k}/100 \({10 * k}%\) in \d+\.\ds: loss=\S+, epoch={10 * k}/100", line
        )
    assert lines[-1].startswith("Fit: done, 100/100 in ")
    assert lines[-1].endswith(f"loss={1 / 100:.6g}, epoch=100/100")  # the latest metrics


def test_work_that_stops_early_ends_with_where_it_stopped():
    lines = run(io.StringIO(), total=100, steps=4).splitlines()
    assert lines == [lines[0]] and lines[0].startswith("Fit: done, 4/100 in ")


def test_a_line_every_few_seconds_between_tenths(monkeypatch):
    monkeypatch.setattr(progress, "LINE_EVERY_SECONDS", 0.0)
    lines = run(io.StringIO(), total=1000, steps=15).splitlines()
    assert len(lines) == 16  # every update, as if LINE_EVERY_SECONDS had passed, then done
    assert lines[4].startswith("Fit: 5/1000 (0%) in ")


def test_a_terminal_gets_the_tqdm_bar():
    text = run(Terminal())
    assert "\r" in text and "Fit:   0%|" in text and "| 0/100 [" in text  # tqdm's own bar


def test_disabled_progress_writes_nothing():
    assert run(io.StringIO(), enabled=False) == ""
    assert run(Terminal(), enabled=False) == ""


def test_which_streams_draw_in_place():
    class JupyterStream(io.StringIO):
        pass

    JupyterStream.__module__ = "ipykernel.iostream"  # Jupyter's stderr is not a tty
    closed = io.StringIO()
    closed.close()
    assert draws_in_place(Terminal()) and draws_in_place(JupyterStream())
    assert not draws_in_place(io.StringIO()) and not draws_in_place(closed)
    assert not draws_in_place(object())  # no isatty at all


def test_a_closed_stream_is_not_an_error():
    stream = io.StringIO()
    with Progress(10, "Fit", True, stream=stream) as bar:
        stream.close()
        bar.update(5, loss=1.0)
        bar.update(5)


@pytest.mark.filterwarnings("ignore:Best performing initialization did not converge")
def test_model_progress_on_captured_stderr_is_lines(capsys):
    X = np.random.RandomState(0).randn(300, 2)
    genmodels.GaussianMixture(3, verbose=1, random_state=0, tol=0.0, max_iter=20).fit(X)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert len(lines) == 10 and all(line.startswith("GaussianMixture EM: ") for line in lines)
    assert lines[-1].startswith("GaussianMixture EM: done, 20/20 in ")
    assert "log_likelihood=" in lines[-1]


@pytest.mark.parametrize("n", [0, 1, 3])
def test_small_totals(n):
    lines = run(io.StringIO(), total=n).splitlines()
    assert lines[-1].startswith(f"Fit: done, {n}/{n} in ") and len(lines) == max(n, 1)
