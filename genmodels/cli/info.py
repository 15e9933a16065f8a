"""``genmodels info MODEL_FILE``: what a model file holds (format, class, capabilities,
hyper-parameters, fitted attributes)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .common import add_verb, format_capabilities, likelihood_method, load_model, num, print_rows

if TYPE_CHECKING:
    from ..base import GenerativeModel


def add_parser(sub) -> None:
    p = add_verb(sub, "info", "describe a saved model file", run, "genmodels info gmm.safetensors")
    p.add_argument("model_file", metavar="MODEL_FILE")


def run(args: argparse.Namespace) -> int:
    """Print the file's metadata, then the model's hyper-parameters and fitted state."""
    from ..persistence import read_metadata

    path = Path(args.model_file)
    from ..superres.model import is_superres_file

    if is_superres_file(path):
        return _superres_info(path)
    meta = read_metadata(path)
    model = load_model(path)
    cls = type(model)
    rows = [
        ("file", f"{path} ({human_size(path.stat().st_size)})"),
        (
            "format",
            f"{meta.get('format', '?')} format {meta.get('format_version', '?')}, written by "
            f"genmodels {meta.get('library_version', '?')}",
        ),
        ("class", f"{cls.__module__.split('.')[0]}.{cls.__name__}"),
        ("capabilities", format_capabilities(model.capabilities)),
    ]
    if model.capabilities.likelihood != "none":
        label, kind, note = likelihood_method(model, compute=False)
        what = "log Z" if model.capabilities.estimator == "ais" else "how"
        rows.append(("likelihood", f"{label} ({kind})" + (f"; {what}: {note}" if note else "")))
    print_rows(rows)
    print("hyper-parameters:")
    print_rows([(k, repr(v)) for k, v in sorted(model.get_params(deep=False).items())], "  ")
    print("fitted:")
    print_rows(fitted_summary(model), "  ")
    return 0


def _superres_info(path: Path) -> int:
    """A super-resolution model file (not a density model: no capabilities, no likelihood)."""
    from ..superres import SuperResolution
    from ..superres.model import FORMAT, FORMAT_VERSION

    model = SuperResolution.load(path)
    print_rows(
        [
            ("file", f"{path} ({human_size(path.stat().st_size)})"),
            ("format", f"{FORMAT} format {FORMAT_VERSION}"),
            ("class", "genmodels.superres.SuperResolution"),
            ("use", f"genmodels upscale {path} IMAGE -o OUT  (x{model.scale})"),
        ]
    )
    print("hyper-parameters:")
    print_rows([(k, repr(v)) for k, v in sorted(model.get_params(deep=False).items())], "  ")
    print("fitted:")
    fitted = {"module_": model.module_, "history_": model.history_, "n_images_": model.n_images_}
    print_rows([(k, describe_value(v)) for k, v in fitted.items()], "  ")
    return 0


def fitted_summary(model: GenerativeModel) -> list[tuple[str, str]]:
    """One row per fitted attribute: shapes of arrays, values of scalars, lengths of lists."""
    return [(k, describe_value(v)) for k, v in sorted(model.fitted_attributes().items())]


def describe_value(value: Any) -> str:
    from torch import nn

    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS" and value.size <= 8:
            return f"{[str(v) for v in value.ravel()]}"
        return f"array {value.shape} {value.dtype}"
    if isinstance(value, nn.Module):  # a neural model's network
        n = sum(p.numel() for p in value.parameters())
        return f"{type(value).__name__} network, {n:,} parameters"
    if isinstance(value, dict):  # e.g. a neural model's history_ of per-epoch metrics
        keys = [str(k) for k in value]
        shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
        return f"dict of {len(keys)} ({shown})"
    if isinstance(value, list | tuple):
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, float | np.floating):
        return num(float(value))
    return repr(value)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover
