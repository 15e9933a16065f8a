"""The pieces every demo section shares: what a section returns, what it is given, and
helpers that fit, score and sample any model by its declared capabilities.

A section is a function ``(Context) -> Section``. It writes its figures with
``ctx.figure_path(name)`` and returns their names, its tables and a little HTML; the report
writer lays them out. Helpers here dispatch on ``model.capabilities`` (never ``hasattr``),
so a new family's section gets held-out scores, samples and missing-value handling that
match what the family declares.
"""

from __future__ import annotations

import logging
import math
import re
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..base import GenerativeModel

logger = logging.getLogger("genmodels")

Cell = str | float | int | None


@dataclass
class FigureRef:
    """One PNG a section wrote into the output folder, with its caption (plain text)."""

    file: str
    caption: str = ""
    alt: str = ""


@dataclass
class Table:
    """A table of plain-text and numeric cells.

    ``formats`` gives a ``str.format`` pattern per column (``None``: ``str``); numeric cells
    are rendered with it and carry their exact value in a ``data-value`` attribute. ``None``
    cells render as an em dash. ``name`` becomes the table's HTML id; ``caption`` is
    plain text.
    """

    name: str
    caption: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    formats: list[str | None] = field(default_factory=list)

    def add(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(
                f"table {self.name!r}: row has {len(cells)} cells for {len(self.columns)} columns"
            )
        self.rows.append(list(cells))

    def numbers(self) -> list[float]:
        """Every numeric cell, row by row (for checks)."""
        return [
            float(c)
            for row in self.rows
            for c in row
            if isinstance(c, int | float | np.number) and not isinstance(c, bool)
        ]


@dataclass
class Section:
    """What a section builder returns.

    ``body`` is HTML shown under the title, then ``figures``, then ``tables``, then
    ``notes`` (HTML). ``slug`` is the anchor id (default: from the title).
    """

    title: str
    body: str = ""
    figures: list[FigureRef] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: str = ""
    slug: str = ""
    seconds: float = math.nan  # filled in by ``run``

    def __post_init__(self) -> None:
        if not self.slug:
            self.slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


SectionBuilder = Callable[["Context"], Section]


@dataclass
class Context:
    """What every section builder receives: where to write, how much work to do, the seed,
    and a cache of data shared across sections (e.g. the digits split)."""

    output_dir: Path
    quick: bool = False
    random_state: int | None = 0
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _figures: set[str] = field(default_factory=set, repr=False)

    def figure_path(self, name: str) -> Path:
        """The path for a new PNG called ``name`` (unique in this report)."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.png", name):
            raise ValueError(f"figure names are plain file names ending in .png, got {name!r}")
        if name in self._figures:
            raise ValueError(f"two figures in the demo are called {name!r}")
        self._figures.add(name)
        return self.output_dir / name

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()`` once per report, shared by every section that asks for ``key``."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def rng(self, stream: int) -> np.random.RandomState:
        """A random generator for one purpose (``stream``), derived from ``random_state``."""
        seed = None if self.random_state is None else (self.random_state * 1009 + stream)
        return np.random.RandomState(None if seed is None else seed % (2**32))


# ----------------------------------------------------------------------------------------
# Capability-driven helpers


def fit_timed(model: Any, X, y=None, **fit_params) -> float:
    """Fit ``model`` (a genmodels or scikit-learn estimator) and return the wall-clock
    seconds. Warnings raised while fitting are logged (and not shown twice)."""
    if isinstance(model, GenerativeModel) and model.capabilities.supervised and y is None:
        raise ValueError(f"{type(model).__name__} is supervised; the demo must pass y")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        if y is None:
            model.fit(X, **fit_params)
        else:
            model.fit(X, y, **fit_params)
        seconds = time.perf_counter() - start
    for w in {(w.category.__name__, str(w.message)) for w in caught}:
        who = f"{type(model).__module__.split('.')[0]}.{type(model).__name__}"
        logger.info("demo: %s while fitting %s: %s", w[0], who, w[1])
    return seconds


LIKELIHOOD_LABEL = {
    "exact": "exact log-likelihood",
    "bound": "lower bound (ELBO)",
    "estimate": "estimated log-likelihood",
    "none": "no tractable likelihood",
}


def heldout_score(model: Any, X) -> float | None:
    """Mean held-out score in nats per sample: the exact log-likelihood, its lower bound
    or its estimate (as the model's ``capabilities.likelihood`` declares), or ``None``
    for a model without a tractable likelihood. scikit-learn estimators are scored with
    their ``score``."""
    if isinstance(model, GenerativeModel):
        if model.capabilities.likelihood == "none":
            return None
        return float(np.mean(model.score_samples(X)))
    return float(model.score(X))


def score_with_missing(model: Any, X_missing) -> float | None:
    """Mean log-likelihood of the observed entries of ``X_missing`` (NaN = missing), for a
    model that declares ``missing_values``; ``None`` for one that cannot score NaN."""
    if not isinstance(model, GenerativeModel) or not model.capabilities.missing_values:
        return None
    if model.capabilities.likelihood == "none":
        return None
    return float(np.mean(model.score_samples(X_missing)))


def draw_samples(model: GenerativeModel, n: int, random_state) -> tuple[np.ndarray, Any]:
    """``n`` samples and, for a model with latent variables, their latent values
    (``None`` otherwise)."""
    if model.capabilities.latent:
        X, z = model.sample(n, random_state=random_state, return_latent=True)
        return np.asarray(X), z
    return np.asarray(model.sample(n, random_state=random_state)), None


# ----------------------------------------------------------------------------------------
# Threads


@contextmanager
def limited_threads(n: int = 1):
    """Run torch and the BLAS/OpenMP pools on ``n`` threads, restoring them afterwards.

    The demo's problems are small (about a thousand rows): extra threads buy nothing, and on
    a shared or busy machine their spin-waiting makes small fits tens of times slower. Both
    libraries in every timing comparison run under the same limit.
    """
    import torch
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(old)


def fmt_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"
