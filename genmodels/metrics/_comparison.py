"""Comparing several methods over many datasets by their ranks (Demšar 2006): mean ranks,
the Friedman test, and the Nemenyi critical difference that says which differences in
mean rank are significant.

J. Demšar, "Statistical Comparisons of Classifiers over Multiple Data Sets", JMLR 7
(2006) 1-30, section 3.2.2: rank the k methods on each of the N datasets (1 = best, ties
get the mean of their ranks); the Friedman statistic tests whether all mean ranks are
equal; two methods differ significantly (Nemenyi post-hoc test) when their mean ranks
differ by at least CD = q_alpha sqrt(k (k + 1) / (6 N)), where q_alpha is the studentized
range statistic of k groups with infinite degrees of freedom over sqrt(2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """q_alpha of the Nemenyi test for ``k`` methods: the studentized range quantile
    (k groups, infinite degrees of freedom) over sqrt(2); 2.569 for k = 4 at 0.05."""
    from scipy.stats import studentized_range

    if k < 2:
        raise ValueError(f"the Nemenyi test compares at least 2 methods, got {k}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0))


def critical_difference(k: int, n_datasets: int, alpha: float = 0.05) -> float:
    """The Nemenyi critical difference of mean ranks for ``k`` methods on ``n_datasets``
    datasets: q_alpha sqrt(k (k + 1) / (6 N))."""
    if n_datasets < 1:
        raise ValueError(f"need at least one dataset, got {n_datasets}")
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n_datasets))


@dataclass(frozen=True)
class RankComparison:
    """The outcome of :func:`compare_ranks`.

    Attributes
    ----------
    names : the methods, in the order given.
    ranks : (N, k) rank of each method on each dataset (1 = best; ties share the mean rank).
    mean_ranks : (k,) mean rank of each method.
    statistic, pvalue : the Friedman chi-square statistic (corrected for ties, as
        ``scipy.stats.friedmanchisquare``) and its p-value.
    critical_difference : the Nemenyi CD at ``alpha``.
    alpha : the significance level.
    """

    names: tuple[str, ...]
    ranks: np.ndarray
    mean_ranks: np.ndarray
    statistic: float
    pvalue: float
    critical_difference: float
    alpha: float

    @property
    def n_datasets(self) -> int:
        return int(self.ranks.shape[0])

    def order(self) -> list[int]:
        """Method indices from the best mean rank to the worst."""
        return [int(i) for i in np.argsort(self.mean_ranks, kind="stable")]

    def significant(self, a: str, b: str) -> bool:
        """Whether methods ``a`` and ``b`` differ by at least the critical difference (and
        the Friedman test rejects equal ranks)."""
        i, j = self.names.index(a), self.names.index(b)
        gap = abs(float(self.mean_ranks[i] - self.mean_ranks[j]))
        return self.pvalue < self.alpha and gap >= self.critical_difference

    def significant_pairs(self) -> list[tuple[str, str, float]]:
        """``(better, worse, rank gap)`` for every significantly different pair, best first."""
        order = self.order()
        out = []
        for a_pos, i in enumerate(order):
            for j in order[a_pos + 1 :]:
                if self.significant(self.names[i], self.names[j]):
                    gap = float(self.mean_ranks[j] - self.mean_ranks[i])
                    out.append((self.names[i], self.names[j], gap))
        return out

    def groups(self) -> list[tuple[str, ...]]:
        """The maximal runs of methods (in mean-rank order) whose mean ranks all lie within
        the critical difference: the bars of a critical-difference diagram. Methods in one
        group are not significantly different from each other."""
        order = self.order()
        r = self.mean_ranks[order]
        cd = self.critical_difference if self.pvalue < self.alpha else math.inf
        runs: list[tuple[int, int]] = []
        for start in range(len(order)):
            end = start
            while end + 1 < len(order) and r[end + 1] - r[start] < cd:
                end += 1
            if end > start and not any(s <= start and end <= e for s, e in runs):
                runs.append((start, end))
        return [tuple(self.names[order[p]] for p in range(s, e + 1)) for s, e in runs]


def compare_ranks(
    scores, names: Sequence[str], *, alpha: float = 0.05, higher_is_better: bool = True
) -> RankComparison:
    """Rank ``k`` methods over ``N`` datasets from ``scores`` (N, k) (e.g. mean ROC AUCs;
    ``higher_is_better`` False for errors), run the Friedman test and compute the Nemenyi
    critical difference at ``alpha``."""
    from scipy.stats import friedmanchisquare, rankdata

    S = np.asarray(scores, dtype=np.float64)
    if S.ndim != 2:
        raise ValueError(f"scores must be a 2-D (datasets, methods) array, got shape {S.shape}")
    n, k = S.shape
    if len(names) != k:
        raise ValueError(f"{len(names)} names for {k} methods (columns of scores)")
    if k < 3:
        raise ValueError(f"the Friedman test compares at least 3 methods, got {k}")
    if n < 2:
        raise ValueError(f"the Friedman test needs at least 2 datasets, got {n}")
    if not np.all(np.isfinite(S)):
        raise ValueError("scores holds NaN or infinite values")
    ranks = rankdata(-S if higher_is_better else S, axis=1)
    stat, p = friedmanchisquare(*S.T)
    return RankComparison(
        names=tuple(str(x) for x in names),
        ranks=ranks,
        mean_ranks=ranks.mean(axis=0),
        statistic=float(stat),
        pvalue=float(p),
        critical_difference=critical_difference(k, n, alpha),
        alpha=alpha,
    )
