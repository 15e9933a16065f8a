"""Observation models p(x | z) of a VAE: exact, normalised log-densities in nats.

Each likelihood is written twice, small: a pure function of the data and the decoder's
parameters (``bernoulli_log_prob``, ``gaussian_log_prob``, ...), and a module that owns the
choice — how many numbers the decoder emits per feature, any parameter that does not depend
on z (the Gaussian's per-feature variance), how raw outputs map to parameters, sampling and
the mean for display. The modules are ``nn.Module`` only so that their parameters live in the
VAE's state dict; they have no ``forward``.

Layout. A decoder emits ``out`` of shape ``(*batch, *feature_shape, P)``: ``P`` =
:attr:`Likelihood.params_per_feature` numbers per feature, last. ``x`` has shape
``(*batch', *feature_shape)`` with ``batch'`` broadcastable to ``batch`` (the ELBO and IWAE
put importance samples in front: ``out`` (S, N, ..., P) against ``x`` (N, ...)).
``log_prob`` sums over the ``len(feature_shape)`` feature dimensions and returns ``batch``.

=============  ====  =======================================================================
likelihood     P     data and parameters
=============  ====  =======================================================================
bernoulli      1     x in {0, 1}; logits
gaussian       1, 2  x real; mean, and a log-variance that is either one learned value per
                     feature (``variance="feature"``, P = 1) or a decoder output per
                     feature (``variance="output"``, P = 2); bounded below by
                     ``min_log_var`` (smoothly, with a softplus)
categorical    K     x an integer level 0..K-1 (e.g. 256 grey levels); K logits per feature
multinomial    1     x non-negative counts over the features (a user's item vector); one
                     logit per feature, softmax over all features
mixed          1     a row of an encoded table (genmodels.tabular): consecutive groups of
                     features, each ``("gaussian", n)`` (n real values, one learned
                     log-variance per feature, as ``gaussian``) or ``("categorical", n)``
                     (a one-hot vector over n classes; n logits, softmax within the group)
=============  ====  =======================================================================

The multinomial is a distribution over count vectors *with a given total* n = sum(x):
``log p(x | n) = log n! - sum_i log x_i! + sum_i x_i log pi_i``. The multinomial
coefficient (the first two terms) does not depend on the model, so Liang et al. (2018)
drop it for training; it is included by default here (``include_coefficient=True``) so the
value is a normalised log-probability in nats. The total n itself is not modelled.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

LikelihoodName = Literal["bernoulli", "gaussian", "categorical", "multinomial", "mixed"]
LIKELIHOODS: tuple[str, ...] = ("bernoulli", "gaussian", "categorical", "multinomial", "mixed")
#: The kinds of feature group a ``mixed`` likelihood is made of.
GROUP_KINDS: tuple[str, ...] = ("gaussian", "categorical")
GaussianVariance = Literal["feature", "output"]
_LOG_2PI = math.log(2 * math.pi)
# Default floor of the Gaussian log-variance: a standard deviation of 0.01 (data in [0, 1]).
DEFAULT_MIN_LOG_VAR = 2 * math.log(0.01)


def _sum_features(t: torch.Tensor, event_dim: int) -> torch.Tensor:
    return t.sum(dim=tuple(range(-event_dim, 0))) if event_dim else t


# ----------------------------------------------------------------------------------------
# Pure log-densities: (data, parameters) -> log p summed over the last ``event_dim`` dims


def bernoulli_log_prob(x: torch.Tensor, logits: torch.Tensor, event_dim: int = 1) -> torch.Tensor:
    """sum x log sigmoid(l) + (1 - x) log sigmoid(-l); normalised for x in {0, 1}.

    Computed as sum x l - sum softplus(l) (the same expression: log sigmoid(l) =
    l - softplus(l)), which lets the data term be a reduction over x without broadcasting
    x to the importance samples: about twice as fast as binary_cross_entropy_with_logits
    on (samples, rows, pixels) outputs, the hot spot of a 5,000-sample IWAE."""
    x = x.to(logits.dtype)
    data = _sum_features(x * logits, event_dim)  # broadcasts x over leading sample dims
    return data - _sum_features(F.softplus(logits), event_dim)


def gaussian_log_prob(
    x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor, event_dim: int = 1
) -> torch.Tensor:
    """sum log N(x | mean, exp(log_var)), independent features."""
    lp = -0.5 * (_LOG_2PI + log_var + (x - mean).square() * torch.exp(-log_var))
    return _sum_features(lp, event_dim)


def categorical_log_prob(x: torch.Tensor, logits: torch.Tensor, event_dim: int = 1) -> torch.Tensor:
    """sum log softmax(logits)[x]: ``x`` integer levels (any dtype), ``logits`` (..., K)."""
    log_p = torch.log_softmax(logits, dim=-1)  # (*batch, *features, K)
    shape = torch.broadcast_shapes(x.shape, log_p.shape[:-1])
    idx = x.long().expand(shape).unsqueeze(-1)  # (*shape, 1)
    picked = log_p.expand(*shape, log_p.shape[-1]).gather(-1, idx).squeeze(-1)
    return _sum_features(picked, event_dim)


def multinomial_log_coefficient(x: torch.Tensor, event_dim: int = 1) -> torch.Tensor:
    """log n! - sum log x_i! with n = sum x, over the last ``event_dim`` dims."""
    n = _sum_features(x, event_dim)
    return torch.lgamma(n + 1) - _sum_features(torch.lgamma(x + 1), event_dim)


def multinomial_log_prob(
    x: torch.Tensor,
    logits: torch.Tensor,
    event_dim: int = 1,
    *,
    include_coefficient: bool = True,
) -> torch.Tensor:
    """log p(x | n = sum x) of counts ``x`` with probabilities softmax(logits) over all
    features (the last ``event_dim`` dims, flattened). Without the coefficient it is Liang
    et al.'s training term sum x_i log pi_i (not normalised)."""
    flat = logits.flatten(-event_dim) if event_dim else logits
    log_pi = torch.log_softmax(flat, dim=-1).view_as(logits)
    lp = _sum_features(x * log_pi, event_dim)
    if include_coefficient:
        lp = lp + multinomial_log_coefficient(x, event_dim)
    return lp


# ----------------------------------------------------------------------------------------
# The modules


class Likelihood(nn.Module, ABC):
    """p(x | z) given the decoder's output ``out`` (*batch, *feature_shape, P)."""

    params_per_feature: int

    def __init__(self, feature_shape: int | Sequence[int]):
        super().__init__()
        self.feature_shape = as_shape(feature_shape)

    @property
    def event_dim(self) -> int:
        return len(self.feature_shape)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's view of the data (identity unless the data need rescaling)."""
        return x

    @abstractmethod
    def log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x | z) in nats, summed over features: shape ``*batch``."""

    @abstractmethod
    def sample(self, out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x ~ p(x | z), shape (*batch, *feature_shape)."""

    @abstractmethod
    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """E[x | z] (what to display as the decoded image), shape (*batch, *feature_shape)."""


class BernoulliLikelihood(Likelihood):
    """Independent Bernoulli pixels/features with logits from the decoder."""

    params_per_feature = 1

    def log_prob(self, x, out):
        return bernoulli_log_prob(x, out[..., 0], self.event_dim)

    def sample(self, out, generator=None):
        return torch.bernoulli(torch.sigmoid(out[..., 0]), generator=generator)

    def mean(self, out):
        return torch.sigmoid(out[..., 0])


class GaussianLikelihood(Likelihood):
    """Independent Gaussians with a learned variance.

    ``variance="feature"``: one log-variance per feature, a parameter of this module
    (``raw_log_var``, shape ``feature_shape``), the decoder emits the mean only.
    ``variance="output"``: the decoder emits (mean, raw log-variance) per feature.
    Either way the log-variance used is ``min_log_var + softplus(raw - min_log_var)``:
    smooth, close to ``raw`` above the floor, never below it (a density on continuous data
    is otherwise unbounded as a variance collapses onto a constant pixel).
    """

    def __init__(
        self,
        feature_shape: int | Sequence[int],
        variance: GaussianVariance = "feature",
        min_log_var: float = DEFAULT_MIN_LOG_VAR,
    ):
        super().__init__(feature_shape)
        if variance not in ("feature", "output"):
            raise ValueError(f"variance must be 'feature' or 'output', got {variance!r}")
        self.variance = variance
        self.min_log_var = float(min_log_var)
        self.params_per_feature = 1 if variance == "feature" else 2
        if variance == "feature":
            self.raw_log_var = nn.Parameter(torch.zeros(self.feature_shape))

    def _bounded(self, raw: torch.Tensor) -> torch.Tensor:
        return self.min_log_var + F.softplus(raw - self.min_log_var)

    def mean_and_log_var(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = out[..., 1] if self.variance == "output" else self.raw_log_var
        return out[..., 0], self._bounded(raw)

    def log_prob(self, x, out):
        mean, log_var = self.mean_and_log_var(out)
        return gaussian_log_prob(x, mean, log_var, self.event_dim)

    def sample(self, out, generator=None):
        mean, log_var = self.mean_and_log_var(out)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + torch.exp(0.5 * log_var) * noise

    def mean(self, out):
        return out[..., 0]


class CategoricalLikelihood(Likelihood):
    """Each feature one of ``n_levels`` integer levels 0..K-1 (e.g. 256 grey levels).

    The encoder sees the levels rescaled to [0, 1]."""

    def __init__(self, feature_shape: int | Sequence[int], n_levels: int = 256):
        super().__init__(feature_shape)
        if n_levels < 2:
            raise ValueError(f"n_levels must be at least 2, got {n_levels}")
        self.n_levels = int(n_levels)
        self.params_per_feature = self.n_levels

    def preprocess(self, x):
        return x / (self.n_levels - 1)

    def log_prob(self, x, out):
        return categorical_log_prob(x, out, self.event_dim)

    def sample(self, out, generator=None):
        probs = torch.softmax(out, dim=-1)
        flat = probs.reshape(-1, self.n_levels)
        draws = torch.multinomial(flat, 1, generator=generator)  # (M, 1)
        return draws.view(out.shape[:-1]).to(out.dtype)

    def mean(self, out):
        levels = torch.arange(self.n_levels, dtype=out.dtype, device=out.device)
        return torch.softmax(out, dim=-1) @ levels


class MultinomialLikelihood(Likelihood):
    """Counts over the features with a given total (MultVAE, Liang et al. 2018).

    The encoder sees the L2-normalised count vector (as in Liang et al.). ``total_count``
    is the number of draws :meth:`sample` makes when none is given, and the scale of
    :meth:`mean`. See the module docstring for ``include_coefficient``.
    """

    params_per_feature = 1

    def __init__(
        self,
        feature_shape: int | Sequence[int],
        total_count: int = 1,
        include_coefficient: bool = True,
    ):
        super().__init__(feature_shape)
        self.total_count = int(total_count)
        self.include_coefficient = bool(include_coefficient)

    def preprocess(self, x):
        flat = x.flatten(-self.event_dim)
        return F.normalize(flat, dim=-1).view_as(x)

    def log_prob(self, x, out):
        return multinomial_log_prob(
            x, out[..., 0], self.event_dim, include_coefficient=self.include_coefficient
        )

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """softmax over all features: the item scores MultVAE ranks by."""
        logits = out[..., 0]
        return torch.softmax(logits.flatten(-self.event_dim), dim=-1).view_as(logits)

    def sample(self, out, generator=None, total_count: int | torch.Tensor | None = None):
        """Counts with ``total_count`` draws per row (an int, or one per row of ``*batch``)."""
        probs = self.probabilities(out)
        batch = probs.shape[: probs.dim() - self.event_dim]
        flat = probs.reshape(-1, math.prod(self.feature_shape))  # (M, D)
        n = self.total_count if total_count is None else total_count
        n = torch.as_tensor(n, device=probs.device).expand(batch).reshape(-1)  # (M,)
        n_max = int(n.max()) if n.numel() else 0
        counts = torch.zeros_like(flat)
        if n_max > 0:
            idx = torch.multinomial(flat, n_max, replacement=True, generator=generator)
            keep = torch.arange(n_max, device=probs.device) < n[:, None]  # (M, n_max)
            counts.scatter_add_(1, idx, keep.to(flat.dtype))
        return counts.view(probs.shape)

    def mean(self, out):
        return self.total_count * self.probabilities(out)


class MixedLikelihood(Likelihood):
    """A row made of consecutive feature groups (an encoded table, TVAE's observation
    model): ``groups`` = ``(("gaussian", n1), ("categorical", n2), ...)`` whose sizes add up
    to the number of features. A Gaussian group is ``n`` independent real values with one
    learned log-variance each (bounded below by ``min_log_var`` as in
    :class:`GaussianLikelihood`); a categorical group is a one-hot vector over ``n``
    classes, its ``n`` decoder outputs the logits of a softmax within the group. The
    decoder emits one number per feature (P = 1). ``sample`` draws the Gaussian values and
    one class per categorical group (as a one-hot vector); ``mean`` gives the Gaussian
    means and each group's class probabilities."""

    params_per_feature = 1

    def __init__(
        self,
        feature_shape: int | Sequence[int],
        groups: Sequence[tuple[str, int]],
        min_log_var: float = DEFAULT_MIN_LOG_VAR,
    ):
        super().__init__(feature_shape)
        self.groups = check_groups(groups, math.prod(self.feature_shape))
        if len(self.feature_shape) != 1:
            raise ValueError("the mixed likelihood is for rows of features (an MLP)")
        self.min_log_var = float(min_log_var)
        kinds = [kind for kind, n in self.groups for _ in range(n)]
        gauss = torch.tensor([k == "gaussian" for k in kinds])
        self.register_buffer("gaussian_mask", gauss, persistent=False)
        self.raw_log_var = nn.Parameter(torch.zeros(int(gauss.sum())))
        # categorical groups: (start, size) in feature order
        self._categorical = []
        start = 0
        for kind, n in self.groups:
            if kind == "categorical":
                self._categorical.append((start, n))
            start += n

    def log_var(self) -> torch.Tensor:
        """The bounded log-variances of the Gaussian features, in feature order."""
        return self.min_log_var + F.softplus(self.raw_log_var - self.min_log_var)

    def log_prob(self, x, out):
        out = out[..., 0]  # (*batch, D)
        x = x.to(out.dtype)
        shape = torch.broadcast_shapes(x.shape[:-1], out.shape[:-1])
        lp = torch.zeros(shape, dtype=out.dtype, device=out.device)
        g = self.gaussian_mask
        if self.raw_log_var.numel():
            lp = lp + gaussian_log_prob(x[..., g], out[..., g], self.log_var())
        for start, n in self._categorical:
            log_p = torch.log_softmax(out[..., start : start + n], dim=-1)
            lp = lp + (x[..., start : start + n] * log_p).sum(-1)
        return lp

    def sample(self, out, generator=None):
        out = out[..., 0]
        x = torch.empty_like(out)
        g = self.gaussian_mask
        if self.raw_log_var.numel():
            mean = out[..., g]
            noise = torch.randn(mean.shape, generator=generator, dtype=out.dtype, device=out.device)
            x[..., g] = mean + torch.exp(0.5 * self.log_var()) * noise
        for start, n in self._categorical:
            probs = torch.softmax(out[..., start : start + n], dim=-1).reshape(-1, n)
            draws = torch.multinomial(probs, 1, generator=generator)  # (M, 1)
            one_hot = F.one_hot(draws[:, 0], n).to(out.dtype)
            x[..., start : start + n] = one_hot.view(*out.shape[:-1], n)
        return x

    def mean(self, out):
        out = out[..., 0]
        x = out.clone()
        for start, n in self._categorical:
            x[..., start : start + n] = torch.softmax(out[..., start : start + n], dim=-1)
        return x


def check_groups(groups, n_features: int | None = None) -> tuple[tuple[str, int], ...]:
    """``groups`` as a tuple of ``(kind, size)`` pairs (kinds from :data:`GROUP_KINDS`,
    sizes positive, a categorical one at least 2), adding up to ``n_features`` when given;
    a ValueError naming the problem otherwise."""
    try:
        out = tuple((str(kind), int(n)) for kind, n in groups)
    except (TypeError, ValueError):
        raise ValueError(
            "feature groups must be (kind, size) pairs, e.g. (('gaussian', 3), "
            f"('categorical', 4)); got {groups!r}"
        ) from None
    if not out:
        raise ValueError("the mixed likelihood needs at least one feature group")
    for kind, n in out:
        if kind not in GROUP_KINDS:
            raise ValueError(f"feature group kind must be one of {GROUP_KINDS}, got {kind!r}")
        if n < (2 if kind == "categorical" else 1):
            raise ValueError(f"a {kind} feature group of size {n} is too small")
    total = sum(n for _, n in out)
    if n_features is not None and total != n_features:
        raise ValueError(f"the feature groups cover {total} features, the data have {n_features}")
    return out


def as_shape(feature_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(feature_shape, int):
        return (feature_shape,)
    return tuple(int(s) for s in feature_shape)


def make_likelihood(
    name: LikelihoodName,
    feature_shape: int | Sequence[int],
    *,
    n_levels: int = 256,
    gaussian_variance: GaussianVariance = "feature",
    min_log_var: float = DEFAULT_MIN_LOG_VAR,
    total_count: int = 1,
    groups: Sequence[tuple[str, int]] | None = None,
) -> Likelihood:
    """The likelihood module for a name, from the keyword arguments that concern it."""
    if name == "bernoulli":
        return BernoulliLikelihood(feature_shape)
    if name == "gaussian":
        return GaussianLikelihood(feature_shape, gaussian_variance, min_log_var)
    if name == "categorical":
        return CategoricalLikelihood(feature_shape, n_levels)
    if name == "multinomial":
        return MultinomialLikelihood(feature_shape, total_count)
    if name == "mixed":
        if groups is None:
            raise ValueError("the mixed likelihood needs its feature groups")
        return MixedLikelihood(feature_shape, groups, min_log_var)
    raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {name!r}")
