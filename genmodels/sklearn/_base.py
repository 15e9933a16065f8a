"""What every drop-in shares."""

from __future__ import annotations


class DropIn:
    """Mixin of the drop-ins: they are not registered models, so they are not written to
    genmodels model files (a file names a registered class; loading it would give the
    top-level class, which answers differently)."""

    def save(self, path) -> None:
        name = type(self).__name__
        raise TypeError(
            f"genmodels.sklearn.{name} is a drop-in for scikit-learn and is not saved to "
            f"genmodels model files; pickle it as scikit-learn's, or fit genmodels.{name} "
            "to save a model file"
        )
