"""Hyper-parameters from the command line: ``--set KEY=VALUE`` read into Python values
and checked against the model's own names."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Any

from .common import CommandError


def parse_settings(settings: Sequence[str]) -> dict[str, Any]:
    """``["n_components=3", "covariance_type=full"]`` -> ``{"n_components": 3, ...}``.

    Values are JSON when they parse (``5``, ``1e-3``, ``true``, ``null``, ``[1,2]``), tuples
    when they are comma-separated numbers (``hidden_dims=256,128`` -> ``(256, 128)``),
    otherwise strings. The last setting of a key wins.
    """
    params: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--set expects KEY=VALUE, got {item!r}")
        params[key] = _setting_value(value)
    return params


def _setting_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    parts = text.split(",")
    if len(parts) > 1:
        try:
            values = [json.loads(p) for p in parts]
        except json.JSONDecodeError:
            return text
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return tuple(values)
    return text


def match_tuple_settings(defaults: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Settings of hyper-parameters whose default is a tuple, made tuples: a JSON list
    (``[256,128]``) or one number (``hidden_dims=64`` -> ``(64,)``); others as they are."""
    out = dict(params)
    for key, value in params.items():
        if not isinstance(defaults.get(key), tuple):
            continue
        if isinstance(value, list):
            out[key] = tuple(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = (value,)
    return out


def check_param_names(owner: str, valid: dict[str, Any], params: dict[str, Any]) -> None:
    """Refuse hyper-parameters not among ``valid`` (the model's ``get_params()``),
    suggesting the closest name."""
    for key in params:
        if key in valid:
            continue
        close = difflib.get_close_matches(key, list(valid), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CommandError(
            f"{owner} has no hyper-parameter {key!r}{hint}; it has: " + ", ".join(sorted(valid))
        )
