"""The errors and warnings genmodels raises, in one place.

``NotFittedError`` and ``ConvergenceWarning`` are scikit-learn's own classes, so code that
already catches them for scikit-learn estimators keeps working.
"""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = [
    "ComponentReseededWarning",
    "ConvergenceWarning",
    "ModelFileError",
    "NotFittedError",
]


class ModelFileError(ValueError):
    """A model file that genmodels refuses to load (truncated, corrupt, foreign, too new...)."""


class ComponentReseededWarning(UserWarning):
    """A mixture component collapsed (singular covariance) and was re-seeded during EM."""
