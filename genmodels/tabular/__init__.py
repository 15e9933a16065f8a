"""Synthetic tables: :class:`Synthesizer` (fit a table of mixed columns, sample new rows)
and the :class:`TableEncoder` it stands on. Needs pandas (``pip install
'genmodels[tabular]'``), imported when a table is first handled."""

from ._columns import DATE_FORMATS, KINDS, column_kinds, infer_kind
from .encoder import TableEncoder
from .synthesizer import AUTO_GMM_FEATURES, MODELS, Synthesizer

__all__ = [
    "AUTO_GMM_FEATURES",
    "DATE_FORMATS",
    "KINDS",
    "MODELS",
    "Synthesizer",
    "TableEncoder",
    "column_kinds",
    "infer_kind",
]
