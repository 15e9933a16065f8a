"""``genmodels fit MODEL DATA --set n_components=1..10 --select bic``: fit one model per
value of a hyper-parameter and keep the best by an information criterion or by held-out
log-likelihood, with the table and a small plot of the criterion."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .common import CommandError, num, print_table

if TYPE_CHECKING:
    from ..base import GenerativeModel

#: ``A..B``: every integer from A to B, both included.
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")

#: The criteria ``--select`` takes: lower is better for bic/aic, higher for val.
CRITERIA = ("bic", "aic", "val")


def sweep_setting(params: dict[str, Any]) -> tuple[str, list[int]] | None:
    """The one ``--set KEY=A..B`` of ``params`` as ``(KEY, [A, ..., B])``, or None."""
    sweeps = []
    for key, value in params.items():
        m = _RANGE.match(value) if isinstance(value, str) else None
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise CommandError(f"--set {key}={value}: the range must go up (A..B, A <= B)")
            sweeps.append((key, list(range(lo, hi + 1))))
    if len(sweeps) > 1:
        raise CommandError(
            "one hyper-parameter at a time may be swept with A..B; got "
            + ", ".join(k for k, _ in sweeps)
        )
    return sweeps[0] if sweeps else None


def default_criterion(cls: type[GenerativeModel], has_validation: bool) -> str:
    """BIC where the family has it; else the held-out log-likelihood, which needs data."""
    caps = cls.capabilities
    if caps.information_criteria and caps.likelihood == "exact":
        return "bic"
    if caps.likelihood == "none":
        raise CommandError(f"{cls.__name__} has no likelihood to choose a setting by")
    if not has_validation:
        raise CommandError(
            f"{cls.__name__} has no BIC: choose a setting by held-out log-likelihood with "
            "--select val --validation FILE"
        )
    return "val"


def check_criterion(cls: type[GenerativeModel], criterion: str, has_validation: bool) -> None:
    caps = cls.capabilities
    if criterion in ("bic", "aic") and not caps.information_criteria:
        raise CommandError(
            f"{cls.__name__} has no {criterion.upper()}: use --select val --validation FILE"
        )
    if criterion == "val" and not has_validation:
        raise CommandError("--select val scores held-out data: give it with --validation FILE")


def criterion_value(model: GenerativeModel, criterion: str, train, held_out) -> float:
    """The criterion of a fitted model: ``train`` and ``held_out`` are ``(X, lengths)``
    (lengths None for rows) of the training and validation data."""
    X, lengths = train
    seq = model.capabilities.sequential
    if criterion in ("bic", "aic"):
        fn = model.bic if criterion == "bic" else model.aic
        return float(fn(X, lengths) if seq else fn(X))
    Xv, lv = held_out
    ll = model.score_samples(Xv, lv) if seq else model.score_samples(Xv)
    return float(np.mean(ll))


def best_index(values: list[float], criterion: str) -> int:
    arr = np.asarray(values, dtype=float)
    if not np.isfinite(arr).any():
        raise CommandError(f"no setting gave a finite {criterion}")
    arr = np.where(np.isfinite(arr), arr, np.inf if criterion != "val" else -np.inf)
    return int(np.argmax(arr) if criterion == "val" else np.argmin(arr))


def report(key: str, grid: list[int], values: list[float], criterion: str, best: int, out: Path):
    """Print the table of the sweep and draw its plot beside the model file."""
    from ..figures import criterion_curves

    label = {"bic": "BIC (lower is better)", "aic": "AIC (lower is better)"}.get(
        criterion, "held-out log-likelihood, nats/row (higher is better)"
    )
    rows = [
        (str(v), num(c), "<- chosen" if i == best else "")
        for i, (v, c) in enumerate(zip(grid, values, strict=True))
    ]
    print(f"{key} chosen by {label}:")
    print_table((key, criterion.upper() if criterion != "val" else "VAL_LL", ""), rows)
    plot = out.with_name(out.stem + ".selection.png")
    criterion_curves(
        grid,
        [(label, values, criterion)],
        plot,
        xlabel=key,
        mark=grid[best],
        title=f"{key} = {grid[best]} chosen by {criterion}",
    )
    print(f"selection plot written to {plot}")
