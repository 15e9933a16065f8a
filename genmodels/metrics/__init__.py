"""Metrics shared by the families and the examples, as small pure functions.

* Ranking metrics for recommenders (:mod:`._ranking`): :func:`top_k`,
  :func:`recall_at_k`, :func:`ndcg_at_k`.
* Sample quality on feature arrays (:mod:`._quality`): :func:`frechet_distance` and its
  Gaussian closed form :func:`frechet_distance_gaussians`, :func:`kid` (KID),
  :func:`precision_recall`, :func:`density_coverage`, :func:`class_coverage`,
  :func:`class_histogram_distance`.
* The domain classifier those metrics look through for MNIST-shaped images
  (:mod:`._classifier`): :func:`mnist_classifier` -> :class:`MnistClassifier`
  (``features``, ``predict_proba``, ``predict``), shipped as
  ``mnist_classifier.safetensors``.
* Everything in one call for samples of any image model (:mod:`._evaluate`):
  :func:`evaluate_samples` (its "FID" is a domain Fréchet distance on the classifier's
  features, not comparable to Inception-FID).
* Comparing methods over many datasets (:mod:`._comparison`): :func:`compare_ranks`
  (mean ranks, Friedman test, Nemenyi critical difference, Demšar 2006) ->
  :class:`RankComparison`; :func:`critical_difference`, :func:`nemenyi_q`.
"""

from ._classifier import INPUT_CONVENTION, MnistClassifier, load_classifier, mnist_classifier
from ._comparison import RankComparison, compare_ranks, critical_difference, nemenyi_q
from ._evaluate import METRICS, evaluate_samples, metric_groups
from ._quality import (
    KID,
    class_coverage,
    class_histogram,
    class_histogram_distance,
    density_coverage,
    frechet_distance,
    frechet_distance_gaussians,
    kernel_inception_distance,
    kid,
    precision_recall,
)
from ._ranking import ndcg_at_k, recall_at_k, top_k

__all__ = [
    "INPUT_CONVENTION",
    "KID",
    "METRICS",
    "MnistClassifier",
    "class_coverage",
    "class_histogram",
    "class_histogram_distance",
    "density_coverage",
    "evaluate_samples",
    "frechet_distance",
    "frechet_distance_gaussians",
    "kernel_inception_distance",
    "kid",
    "load_classifier",
    "metric_groups",
    "mnist_classifier",
    "ndcg_at_k",
    "precision_recall",
    "recall_at_k",
    "top_k",
    "RankComparison",
    "compare_ranks",
    "critical_difference",
    "nemenyi_q",
]
