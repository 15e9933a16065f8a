"""Progress reporting for long work: a tqdm bar when asked for, silence otherwise.

Library code never prints; it reports through this module (``verbose`` >= 1 shows a bar on
stderr) and through ``logging`` (logger ``"genmodels"``).
"""

from __future__ import annotations

import logging
from typing import Any

from tqdm.auto import tqdm

logger = logging.getLogger("genmodels")


class Progress:
    """A bar over ``total`` steps whose postfix shows the latest metrics."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self._bar = (
            tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True) if enabled else None
        )

    def update(self, n: int = 1, **metrics: Any) -> None:
        if self._bar is None:
            return
        if metrics:
            self._bar.set_postfix(
                {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in metrics.items()},
                refresh=False,
            )
        self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
