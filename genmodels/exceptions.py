"""The errors and warnings genmodels raises, in one place.

``NotFittedError`` and ``ConvergenceWarning`` are scikit-learn's own classes, so code that
already catches them for scikit-learn estimators keeps working.
"""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = [
    "ComponentReseededWarning",
    "ConvergenceWarning",
    "ModelFileError",
    "ModelVersionWarning",
    "NoLikelihoodError",
    "NotFittedError",
]


class ModelFileError(ValueError):
    """A model file that genmodels refuses to load (truncated, corrupt, foreign, too new...)."""


class NoLikelihoodError(NotImplementedError):
    """A model family without a tractable likelihood (GANs) asked for one: ``score_samples``
    and ``score`` are not defined; the message names what to judge the model with instead."""


class ModelVersionWarning(UserWarning):
    """A model file written by a newer genmodels than the one loading it (as scikit-learn's
    ``InconsistentVersionWarning``): it loads, and its attributes are checked, but what the
    newer version meant by them may differ. ``file_version`` and ``current_version`` say
    which versions."""

    def __init__(self, message: str, file_version: str = "", current_version: str = ""):
        super().__init__(message)
        self.file_version = file_version
        self.current_version = current_version


class ComponentReseededWarning(UserWarning):
    """A mixture component collapsed (singular covariance) and was re-seeded during EM."""
