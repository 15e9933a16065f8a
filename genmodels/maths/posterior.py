"""Posteriors over a finite set (classes, components) from log joint probabilities."""

from __future__ import annotations

import torch


def log_posterior(log_joint: torch.Tensor, owner: str, what: str) -> torch.Tensor:
    """``log p(c | x)`` from the (N, C) ``log p(x, c)``, normalised over C.

    A row whose joint is ``-inf`` (or NaN) under every ``what`` has no posterior: its values
    lie so far from the model that every density underflows (or overflows in the squared
    distance) in floating point. That is a ``ValueError`` naming the first such row, rather
    than a row of NaN or an arbitrary argmax.
    """
    norm = torch.logsumexp(log_joint, dim=1, keepdim=True)
    undefined = ~torch.isfinite(norm.squeeze(1)) | torch.isnan(log_joint).any(1)
    if bool(undefined.any()):
        rows = undefined.nonzero().squeeze(1)
        raise ValueError(
            f"{owner}: row {int(rows[0])} of X (and {len(rows) - 1} more) has zero "
            f"probability under every {what}, in floating point: its values are too far "
            f"from the training data to compare the {what}s, so the posterior is undefined"
        )
    return log_joint - norm
