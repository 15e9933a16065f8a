"""Gaussian maths shared by the mixtures and the Gaussian HMMs: pure torch functions keyed by
covariance type.

Conventions follow scikit-learn, so parameters port both ways unchanged:

=============  ======================  =============================================
type           covariances             precisions_cholesky (P with precision = P Pᵀ)
=============  ======================  =============================================
``full``       (K, D, D)               (K, D, D), upper triangular
``tied``       (D, D)                  (D, D), upper triangular
``diag``       (K, D)                  (K, D) = 1 / sqrt(variances)
``spherical``  (K,)                    (K,) = 1 / sqrt(variance)
=============  ======================  =============================================

Missing values (NaN) are marginalised exactly: a Gaussian's marginal over the observed
features is the Gaussian with the observed rows/columns of its mean and covariance.

Sufficient statistics are :class:`GaussianStats` values in (count, mean, scatter) form;
two of them add with the parallel-variance rule (Chan, Golub & LeVeque), which is exact,
shift-free and numerically stable, so EM can stream over batches (``partial_fit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

CovarianceType = Literal["full", "tied", "diag", "spherical"]
COVARIANCE_TYPES: tuple[str, ...] = ("full", "tied", "diag", "spherical")
_LOG_2PI = math.log(2 * math.pi)
# Rows at a time in the E-step, so the (rows, K, D) intermediate stays around 32 MB.
_CHUNK_ELEMENTS = 1 << 22


def row_chunks(n: int, width: int):
    step = max(1, _CHUNK_ELEMENTS // max(1, width))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


# ----------------------------------------------------------------------------------------
# Parameterisations


def precision_cholesky(
    cov: torch.Tensor, covariance_type: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Precision Cholesky factors from covariances, and a (K,) mask of failed components
    (() for a tied covariance)."""
    if covariance_type in ("full", "tied"):
        chol, info = torch.linalg.cholesky_ex(cov)  # lower L, cov = L Lᵀ
        eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device).expand_as(cov)
        ok = info == 0
        safe = torch.where(ok[..., None, None], chol, eye)
        inv = torch.linalg.solve_triangular(safe, eye, upper=False)  # L⁻¹
        return inv.transpose(-1, -2), ~ok  # P = L⁻ᵀ, upper
    bad = ~(cov > 0)
    pc = torch.rsqrt(torch.where(bad, torch.ones_like(cov), cov))
    # one flag per component: a diagonal covariance fails when any of its variances does
    return pc, (bad.any(-1) if covariance_type == "diag" else bad)


def covariance_from_precision_cholesky(pc: torch.Tensor, covariance_type: str) -> torch.Tensor:
    if covariance_type in ("full", "tied"):
        # precision = P Pᵀ with P upper  =>  covariance = P⁻ᵀ P⁻¹
        eye = torch.eye(pc.shape[-1], dtype=pc.dtype, device=pc.device).expand_as(pc)
        pinv = torch.linalg.solve_triangular(pc, eye, upper=True)
        return pinv.transpose(-1, -2) @ pinv
    return 1.0 / pc**2


def precision_cholesky_from_precisions(prec: torch.Tensor, covariance_type: str) -> torch.Tensor:
    if covariance_type in ("full", "tied"):
        # scikit-learn's convention: P = upper factor with P Pᵀ = precision.
        flipped = torch.flip(prec, dims=(-2, -1))
        lower = torch.linalg.cholesky(flipped)
        return torch.flip(lower, dims=(-2, -1))
    return torch.sqrt(prec)


def precisions(pc: torch.Tensor, covariance_type: str) -> torch.Tensor:
    if covariance_type in ("full", "tied"):
        return pc @ pc.transpose(-1, -2)
    return pc**2


def full_covariances(cov: torch.Tensor, covariance_type: str, k: int, d: int) -> torch.Tensor:
    """Any covariance parameterisation as a (K, D, D) stack."""
    if covariance_type == "full":
        return cov
    if covariance_type == "tied":
        return cov.expand(k, d, d)
    eye = torch.eye(d, dtype=cov.dtype, device=cov.device)
    if covariance_type == "diag":
        return torch.diag_embed(cov)
    return cov[:, None, None] * eye


def n_parameters(k: int, d: int, covariance_type: str) -> int:
    cov = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }[covariance_type]
    return cov + k * d + k - 1


# ----------------------------------------------------------------------------------------
# Log-densities


def log_gaussian_prob(
    X: torch.Tensor, means: torch.Tensor, pc: torch.Tensor, covariance_type: str
) -> torch.Tensor:
    """log N(x | mean_k, cov_k) for complete rows: (N, D) -> (N, K)."""
    n, d = X.shape
    k = means.shape[0]
    if covariance_type in ("full", "tied"):
        pcs = pc if covariance_type == "full" else pc.expand(k, d, d)
        log_det = torch.log(torch.diagonal(pcs, dim1=-2, dim2=-1)).sum(-1)  # (K,)
        flat = pcs.permute(1, 0, 2).reshape(d, k * d)  # (D, K*D)
        shift = torch.einsum("kd,kde->ke", means, pcs)  # (K, D)
        out = torch.empty(n, k, dtype=X.dtype, device=X.device)
        for rows in row_chunks(n, k * d):
            y = (X[rows] @ flat).view(-1, k, d) - shift  # (n, K, D)
            out[rows] = y.square().sum(-1)
    elif covariance_type == "diag":
        log_det = torch.log(pc).sum(-1)
        p2 = pc**2  # (K, D)
        out = (means**2 * p2).sum(1) - 2.0 * X @ (means * p2).T + X**2 @ p2.T
    else:  # spherical
        log_det = d * torch.log(pc)
        p2 = pc**2  # (K,)
        out = (means**2).sum(1) * p2 - 2.0 * (X @ means.T) * p2 + (X**2).sum(1, keepdim=True) * p2
    return -0.5 * (d * _LOG_2PI + out) + log_det


def log_gaussian_prob_missing(
    X: torch.Tensor,
    observed: torch.Tensor,
    means: torch.Tensor,
    cov_full: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Marginal log-density of rows that share one pattern of observed features.

    ``X`` (N, D) with NaN where missing, ``observed`` (D,) bool, ``means`` (K, D),
    ``cov_full`` (K, D, D). Returns the (N, K) log-densities of the observed part, the
    (K, N, D) conditional means E[x | x_obs, k] (observed entries copied from ``X``) and
    the (K, D, D) conditional covariances (zero outside the missing block).
    """
    n, d = X.shape
    k = means.shape[0]
    o = observed.nonzero().squeeze(1)
    m = (~observed).nonzero().squeeze(1)
    xhat = X.nan_to_num(0.0).unsqueeze(0).repeat(k, 1, 1)  # (K, N, D)
    cond_cov = torch.zeros(k, d, d, dtype=X.dtype, device=X.device)
    if o.numel() == 0:
        xhat[:] = means[:, None, :]
        return torch.zeros(n, k, dtype=X.dtype, device=X.device), xhat, cov_full.clone()
    s_oo = cov_full[:, o][:, :, o]  # (K, O, O)
    s_mo = cov_full[:, m][:, :, o]  # (K, M, O)
    s_mm = cov_full[:, m][:, :, m]  # (K, M, M)
    chol = torch.linalg.cholesky(s_oo)  # (K, O, O)
    diff = (X[:, o].unsqueeze(0) - means[:, None, o]).transpose(1, 2)  # (K, O, N)
    z = torch.linalg.solve_triangular(chol, diff, upper=False)  # (K, O, N)
    log_det = torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # (K,)
    logp = -0.5 * (o.numel() * _LOG_2PI + z.square().sum(1)).T - log_det  # (N, K)
    if m.numel():
        a = torch.linalg.solve_triangular(chol, s_mo.transpose(1, 2), upper=False)  # (K, O, M)
        cmean = means[:, None, m] + (a.transpose(1, 2) @ z).transpose(1, 2)  # (K, N, M)
        xhat[:, :, m] = cmean
        block = s_mm - a.transpose(1, 2) @ a  # (K, M, M)
        cond_cov[:, m.unsqueeze(1), m.unsqueeze(0)] = block
    return logp, xhat, cond_cov


def log_diag_prob_masked(
    X: torch.Tensor, means: torch.Tensor, variances: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Marginal log-densities for diagonal Gaussians with NaN entries dropped: (N, K).

    Also the (K, N, D) conditional means (missing entries take the component mean) and the
    (K, N, D) conditional variances (the component variance where missing, else 0).
    """
    obs = ~torch.isnan(X)  # (N, D)
    x0 = X.nan_to_num(0.0)
    obs_f = obs.to(X.dtype)
    inv = 1.0 / variances  # (K, D)
    quad = (x0**2) @ inv.T - 2.0 * x0 @ (means * inv).T + obs_f @ (means**2 * inv).T  # (N, K)
    logdet = obs_f @ torch.log(variances).T  # (N, K)
    logp = -0.5 * (obs_f.sum(1, keepdim=True) * _LOG_2PI + quad + logdet)
    xhat = torch.where(obs.unsqueeze(0), x0.unsqueeze(0), means[:, None, :])  # (K, N, D)
    cvar = torch.where(
        obs.unsqueeze(0), torch.zeros_like(xhat), variances[:, None, :].expand_as(xhat)
    )
    return logp, xhat, cvar


# ----------------------------------------------------------------------------------------
# Complete rows, prepared once per fit


@dataclass(frozen=True)
class Design:
    """Complete rows, centred on ``centre``, laid out so EM is two GEMMs per iteration.

    ``A`` is the (N, Q + D + 1) matrix ``[quad(x), x, 1]`` of centred rows, where quad(x)
    holds the products x_i x_j (i <= j) for full/tied covariances and x_i² for
    diag/spherical. Every Gaussian log-density is linear in those columns, so the E-step
    is ``A @ C`` for a (Q + D + 1, K) coefficient matrix and the M-step's statistics are
    ``respᵀ @ A`` — instead of O(N K D) elementwise work per iteration. ``A`` is None for
    full covariances where it would not pay (D large next to K) or not fit in memory; the
    triangular-solve path over ``X`` is used then.
    """

    X: torch.Tensor  # (N, D) centred rows (a view into A when A exists)
    centre: torch.Tensor  # (D,)
    A: torch.Tensor | None  # (N, Q + D + 1)
    full: bool

    @property
    def n(self) -> int:
        return self.X.shape[0]


_DESIGN_MAX_ELEMENTS = 1 << 27  # 1 GiB of float64


def _triu(d: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    iu = torch.triu_indices(d, d, device=device)
    return iu[0], iu[1]


_DESIGN_MAX_ABS = 1e150  # beyond it, frames are scored one by one (no GEMM of squares)


def make_design(X: torch.Tensor, centre: torch.Tensor, covariance_type: str, k: int) -> Design:
    Xc = X - centre
    n, d = Xc.shape
    full = covariance_type in ("full", "tied")
    q = d * (d + 1) // 2 if full else d
    huge = n > 0 and bool(Xc.abs().max() > _DESIGN_MAX_ABS)  # squares would overflow
    if (full and q > 4 * k * d) or n * (q + d + 1) > _DESIGN_MAX_ELEMENTS or huge:
        return Design(Xc, centre, None, full)
    if full:
        i, j = _triu(d, X.device)
        quad = Xc[:, i] * Xc[:, j]
    else:
        quad = Xc.square()
    A = torch.cat([quad, Xc, torch.ones(n, 1, dtype=X.dtype, device=X.device)], 1)
    return Design(A[:, q : q + d], centre, A, full)


def design_log_prob(
    design: Design,
    means: torch.Tensor,
    pc: torch.Tensor,
    covariance_type: str,
    log_weights: torch.Tensor,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """(N, K) log w_k + log N(x | mean_k, cov_k) of the design's rows (into ``out`` when
    given)."""
    mc = means - design.centre  # (K, D)
    k, d = means.shape
    if design.A is None:
        lp = log_gaussian_prob(design.X, mc, pc, covariance_type) + log_weights
        return lp if out is None else out.copy_(lp)
    if covariance_type in ("full", "tied"):
        pcs = pc if covariance_type == "full" else pc.expand(k, d, d)
        prec = pcs @ pcs.transpose(-1, -2)  # (K, D, D)
        i, j = _triu(d, means.device)
        quad_coef = prec[:, i, j] * torch.where(i == j, 1.0, 2.0).to(prec.dtype)  # (K, Q)
        pm = torch.einsum("kde,ke->kd", prec, mc)  # (K, D) = Λ_k (μ_k - c)
        log_det = torch.log(torch.diagonal(pcs, dim1=-2, dim2=-1)).sum(-1)
    else:
        p2 = pc**2 if covariance_type == "diag" else (pc**2)[:, None].expand(k, d)  # (K, D)
        quad_coef, pm = p2, mc * p2
        log_det = 0.5 * torch.log(p2).sum(1)
    const = -0.5 * ((pm * mc).sum(1) + d * _LOG_2PI) + log_det + log_weights  # (K,)
    C = torch.cat([-0.5 * quad_coef.T, pm.T, const[None, :]], 0)  # (Q + D + 1, K)
    return design.A @ C if out is None else torch.matmul(design.A, C, out=out)


def design_stats(design: Design, resp: torch.Tensor, shift: torch.Tensor) -> GaussianStats:
    """Statistics of the design's rows under (weighted) responsibilities ``resp`` (N, K).

    ``shift`` (K, D), the current means, is used only on the triangular-solve path.
    """
    if design.A is None:
        st = gaussian_stats(design.X, resp, shift - design.centre, design.full)
        return GaussianStats(st.count, st.mean + design.centre, st.scatter)
    k, d = shift.shape
    sums = resp.T @ design.A  # (K, Q + D + 1)
    q = sums.shape[1] - d - 1
    count = sums[:, -1]
    safe = torch.where(count > 0, count, torch.ones_like(count))
    off = sums[:, q : q + d] / safe[:, None]  # (K, D) mean - centre
    s2 = sums[:, :q]
    if design.full:
        i, j = _triu(d, off.device)
        scatter = torch.zeros(k, d, d, dtype=off.dtype, device=off.device)
        scatter[:, i, j] = s2
        scatter[:, j, i] = s2
        scatter -= count[:, None, None] * off[:, :, None] * off[:, None, :]
    else:
        scatter = s2 - count[:, None] * off**2
    return GaussianStats(count, off + design.centre, scatter)


# ----------------------------------------------------------------------------------------
# Sufficient statistics


@dataclass(frozen=True)
class GaussianStats:
    """Weighted per-component (count, mean, scatter): the whole of what EM's M-step needs.

    ``scatter`` is Σ r (x - mean)(x - mean)ᵀ, (K, D, D) for full/tied covariances and its
    diagonal (K, D) for diag/spherical. Values add (``a + b``) and scale (``a * c``).
    """

    count: torch.Tensor  # (K,)
    mean: torch.Tensor  # (K, D)
    scatter: torch.Tensor  # (K, D, D) or (K, D)

    def __add__(self, other: GaussianStats) -> GaussianStats:
        n = self.count + other.count
        frac = torch.where(n > 0, other.count / n.clamp_min(1e-300), torch.zeros_like(n))
        delta = other.mean - self.mean  # (K, D)
        mean = self.mean + frac[:, None] * delta
        w = self.count * frac  # n1 n2 / n
        if self.scatter.dim() == 3:
            extra = w[:, None, None] * delta[:, :, None] * delta[:, None, :]
        else:
            extra = w[:, None] * delta**2
        return GaussianStats(n, mean, self.scatter + other.scatter + extra)

    def __mul__(self, c: float) -> GaussianStats:
        return GaussianStats(self.count * c, self.mean, self.scatter * c)

    __rmul__ = __mul__

    @property
    def total(self) -> torch.Tensor:
        return self.count.sum()


def gaussian_stats(
    X: torch.Tensor,
    resp: torch.Tensor,
    shift: torch.Tensor,
    full: bool,
    cond_cov: torch.Tensor | None = None,
) -> GaussianStats:
    """Statistics of complete rows ``X`` (N, D) or per-component rows (K, N, D).

    ``resp`` (N, K) are responsibilities already multiplied by the sample weights; ``shift``
    (K, D) is a point near each component mean (the current means), which keeps the one-pass
    scatter accurate. ``cond_cov`` adds E-step conditional covariances for rows with missing
    features: (K, D, D) shared by all rows (full) or (K, N, D) per row (diagonal).
    """
    count = resp.sum(0)  # (K,)
    k, d = shift.shape
    mean = torch.empty(k, d, dtype=X.dtype, device=X.device)
    scatter = torch.empty((k, d, d) if full else (k, d), dtype=X.dtype, device=X.device)
    for j in range(k):
        xj = X[j] if X.dim() == 3 else X
        diff = xj - shift[j]  # (N, D)
        sx = resp[:, j] @ diff  # (D,)
        nj = count[j]
        off = sx / nj if nj > 0 else torch.zeros_like(sx)
        mean[j] = shift[j] + off
        if full:
            # (diff sqrt r)^T (diff sqrt r): one GEMM of one operand, 1.6x faster than
            # (diff r)^T diff (responsibilities are never negative)
            sd = diff.mul_(resp[:, j : j + 1].sqrt())
            scatter[j] = sd.T @ sd - nj * torch.outer(off, off)
            if cond_cov is not None:
                scatter[j] += nj * cond_cov[j]
        else:
            scatter[j] = resp[:, j] @ diff.square_() - nj * off**2
            if cond_cov is not None:
                scatter[j] += (cond_cov[j] * resp[:, j : j + 1]).sum(0)
    return GaussianStats(count, mean, scatter)


def covariances_from_stats(
    stats: GaussianStats, covariance_type: str, reg_covar: float, nk: torch.Tensor
) -> torch.Tensor:
    """The M-step for covariances, scikit-learn's formulas (``nk`` carries its 10·eps)."""
    d = stats.mean.shape[1]
    if covariance_type == "full":
        cov = stats.scatter / nk[:, None, None]
        return cov + reg_covar * torch.eye(d, dtype=cov.dtype, device=cov.device)
    if covariance_type == "tied":
        cov = stats.scatter.sum(0) / nk.sum()
        return cov + reg_covar * torch.eye(d, dtype=cov.dtype, device=cov.device)
    var = stats.scatter / nk[:, None] + reg_covar
    if covariance_type == "diag":
        return var
    return var.mean(1)
