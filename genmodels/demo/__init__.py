"""``genmodels demo``: fit every family on data that ships with scikit-learn and write one
HTML report (``index.html``) with PNG figures beside it.

Each family contributes a *section*: a function ``(Context) -> Section`` listed in
:data:`SECTIONS`. A new family adds its builder there (see ``mixture.py`` for the pattern:
shared data from ``data.py``, helpers from ``core.py`` that dispatch on the model's
``capabilities``, figures from :mod:`genmodels.figures`).

>>> import genmodels.demo
>>> genmodels.demo.run("demo-report", quick=True)          # doctest: +SKIP
PosixPath('demo-report/index.html')
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .._version import __version__
from .autoregressive import autoregressive_section
from .boltzmann import boltzmann_section
from .core import Context, FigureRef, Section, SectionBuilder, Table, limited_threads
from .gan import gan_section
from .hmm import hidden_markov_section
from .mixture import gaussian_mixture_section
from .naive_bayes import naive_bayes_section
from .overview import families_section
from .report import ReportMeta, render_page, write_page
from .vae import vae_section

__all__ = ["SECTIONS", "Context", "FigureRef", "Section", "Table", "run"]

logger = logging.getLogger("genmodels")

#: The section builders ``run`` calls, in page order. Later families append theirs.
SECTIONS: list[SectionBuilder] = [
    families_section,
    gaussian_mixture_section,
    naive_bayes_section,
    hidden_markov_section,
    boltzmann_section,
    vae_section,
    autoregressive_section,
    gan_section,
]


def run(
    output_dir: str | os.PathLike = "demo-report",
    quick: bool = False,
    random_state: int | None = 0,
    *,
    sections: Sequence[SectionBuilder] | None = None,
) -> Path:
    """Fit the available model families on built-in data and write a report.

    Parameters
    ----------
    output_dir : folder for ``index.html`` and its PNG figures (created if missing;
        files of the same names are overwritten).
    quick : fewer and shorter fits (a few seconds; for tests and smoke checks).
    random_state : seed of every split, fit and draw, so a report is reproducible.
    sections : the section builders to run (default :data:`SECTIONS`).

    Returns
    -------
    The path of ``index.html``.
    """
    if random_state is not None and (
        isinstance(random_state, bool) or not isinstance(random_state, int)
    ):
        raise TypeError(f"random_state must be an int or None, got {random_state!r}")
    start = time.perf_counter()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(output_dir=out, quick=bool(quick), random_state=random_state)
    built: list[Section] = []
    with limited_threads(1):
        for builder in SECTIONS if sections is None else sections:
            name = getattr(builder, "__name__", repr(builder))
            logger.info("demo: building %s", name)
            t = time.perf_counter()
            section = builder(ctx)
            section.seconds = time.perf_counter() - t
            for fig in section.figures:
                if not (out / fig.file).is_file():
                    raise RuntimeError(f"demo section {name} lists {fig.file} but did not write it")
            logger.info("demo: %s done in %.1f s", name, section.seconds)
            built.append(section)
    meta = _meta(out, quick, random_state, time.perf_counter() - start)
    path = write_page(out / "index.html", render_page(built, meta))
    logger.info("demo: wrote %s in %.1f s", path, meta.seconds)
    return path


def _meta(out: Path, quick: bool, random_state, seconds: float) -> ReportMeta:
    import numpy
    import sklearn
    import torch

    env = (
        f"Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"torch {torch.__version__}, scikit-learn {sklearn.__version__}; "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
        "fits run on one thread"
    )
    args = [repr(str(out))]
    if quick:
        args.append("quick=True")
    if random_state != 0:
        args.append(f"random_state={random_state!r}")
    return ReportMeta(
        title="genmodels demo",
        version=__version__,
        generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        seconds=seconds,
        environment=env,
        command="genmodels demo",
        python_call=f"genmodels.demo.run({', '.join(args)})",
        quick=bool(quick),
    )
