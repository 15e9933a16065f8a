"""``evaluate_samples``: every sample-quality metric of MNIST-shaped images against a
reference set, through the shipped domain classifier, as one dict of floats."""

from __future__ import annotations

from collections.abc import Sequence

from ._classifier import MnistClassifier, mnist_classifier
from ._quality import (
    MIN_SHARE,
    class_coverage,
    class_histogram_distance,
    density_coverage,
    frechet_distance,
    kid,
    precision_recall,
)

#: The metric groups and the keys each puts in the result.
METRICS = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "pr": ("precision", "recall"),
    "dc": ("density", "coverage"),
    "classes": ("class_coverage", "class_tv"),
}
#: Other names accepted for a group (``coverage`` as in ``genmodels evaluate``).
ALIASES = {"coverage": "dc", "density": "dc", "precision": "pr", "recall": "pr"}


def metric_groups(metrics: Sequence[str] | str) -> list[str]:
    """The canonical metric groups named by ``metrics`` (a sequence, or a comma-separated
    string), in :data:`METRICS` order, without repeats; an unknown name is a ValueError."""
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    chosen = set()
    for raw in names:
        name = str(raw).strip().lower()
        name = ALIASES.get(name, name)
        if name not in METRICS:
            known = ", ".join([*METRICS, *ALIASES])
            raise ValueError(f"unknown metric {raw!r}; known: {known}")
        chosen.add(name)
    if not chosen:
        raise ValueError("no metric chosen")
    return [m for m in METRICS if m in chosen]


def evaluate_samples(
    samples,
    reference,
    metrics: Sequence[str] | str = ("fid", "kid", "pr", "dc", "classes"),
    *,
    pr_k: int = 3,
    dc_k: int = 5,
    kid_subsets: int = 100,
    kid_subset_size: int | None = None,
    min_share: float = MIN_SHARE,
    seed: int = 0,
    classifier: MnistClassifier | None = None,
) -> dict[str, float]:
    """Sample-quality metrics of ``samples`` against ``reference`` (e.g. MNIST's test
    images), both MNIST-shaped images ``(N, 28, 28)`` or ``(N, 784)`` in [0, 1] (uint8 0-255
    accepted; see :mod:`genmodels.metrics._classifier` for the convention), from any model
    that samples such images.

    Every metric is computed on the domain classifier's penultimate features (or, for
    ``classes``, its predicted digits):

    * ``fid``: Fréchet distance of the features. A *domain* FID on a small MNIST network's
      128 features: comparable between models scored here with the same number of samples
      and the same reference, **not** with Inception-FID values from papers.
    * ``kid`` (and ``kid_std``): unbiased MMD^2 with the cubic kernel, over ``kid_subsets``
      subsets (``seed`` draws them).
    * ``pr``: ``precision`` and ``recall`` with ``k = pr_k`` (Kynkäänniemi et al. 2019).
    * ``dc``: ``density`` and ``coverage`` with ``k = dc_k`` (Naeem et al. 2020).
    * ``classes``: ``class_coverage`` (fraction of the 10 digits given at least
      ``min_share`` of a uniform share) and ``class_tv`` (total variation between the
      samples' and the reference's predicted-digit histograms).

    Lower is better for fid, kid and class_tv; higher for the rest. Returns a dict of
    floats, keys in the order above for the groups chosen.
    """
    groups = metric_groups(metrics)
    clf = mnist_classifier() if classifier is None else classifier
    out: dict[str, float] = {}
    need_feats = any(g != "classes" for g in groups)
    if need_feats:
        fa = clf.features(samples)
        fr = clf.features(reference)
    if "fid" in groups:
        out["fid"] = frechet_distance(fr, fa)
    if "kid" in groups:
        out["kid"], out["kid_std"] = kid(
            fr, fa, subsets=kid_subsets, subset_size=kid_subset_size, seed=seed
        )
    if "pr" in groups:
        out["precision"], out["recall"] = precision_recall(fr, fa, k=pr_k)
    if "dc" in groups:
        out["density"], out["coverage"] = density_coverage(fr, fa, k=dc_k)
    if "classes" in groups:
        ya = clf.predict(samples)
        yr = clf.predict(reference)
        out["class_coverage"] = class_coverage(ya, 10, min_share=min_share)
        out["class_tv"] = class_histogram_distance(ya, 10, reference=yr)
    return out
