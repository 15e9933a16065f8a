"""Anomaly detection with any genmodels density: :class:`DensityDetector`.

PyOD's detector shape (``fit``, ``decision_function`` with higher = more abnormal,
``predict`` 0/1 with a ``contamination`` threshold set at fit time, ``decision_scores_``,
``threshold_``, ``labels_``) over the negative log-density in nats of a Gaussian mixture
(K and covariance type chosen by BIC), a VAE, a naive Bayes density, a Gaussian-Bernoulli
RBM, or any fitted-on-rows genmodels model given as an instance.
"""

from ._detector import MODELS, DensityDetector

__all__ = ["MODELS", "DensityDetector"]
