"""The Gaussian emissions' M-steps with hmmlearn's priors, and the log-priors they maximise.

Pure numpy (float64) functions of the expected statistics: ``n`` (K,) expected counts,
``xbar`` (K, D) their means and ``S`` the scatter about ``xbar`` ((K, D, D), or its
diagonal (K, D)). Each M-step is hmmlearn 0.3.3's formula (``hmm.py``), so the same start
gives the same parameters; each ``*_log_prior`` is the log-density (up to a constant) whose
sum with the data log-likelihood that M-step maximises, so EM's objective
``log p(X | theta) + log p(theta)`` never decreases. With the flat defaults the log-prior
is 0 and the objective is the log-likelihood.

GaussianHMM (Huang, Acero & Hon, as hmmlearn): means ``(l mu0 + n xbar) / (l + n)``;
diag/spherical variances ``(b + c_n) / max(max(w - 1, 0) + n, 1e-5)`` with
``c_n = l (m - mu0)^2 + sum g (x - m)^2``, i.e. a prior
``-l (m - mu0)^2 / (2 s) - max(w - 1, 0) / 2 log s - b / (2 s)``; full/tied
``(B + C_n) / (max(w - D, 0) + n)``.

GMMHMM (hmmlearn's): weights ``(n_km + a - 1) / (n_k + sum(a - 1))``; means as above;
covariances from the scatter about the means *before* the update (hmmlearn accumulates it
in the E-step), with hmmlearn's Normal-inverse-gamma / Normal-inverse-Wishart defaults
(``covars_prior=None``, ``covars_weight=None`` per covariance type).
"""

from __future__ import annotations

import numpy as np


def _outer(x: np.ndarray) -> np.ndarray:
    return x[..., :, None] * x[..., None, :]


def _bcast(owner: str, name: str, value, shape: tuple[int, ...], per_state: bool = False):
    """``value`` broadcast to ``shape``; a 1-D value of length K with ``per_state`` is read
    one per state (the leading axis)."""
    arr = np.asarray(value, dtype=float)
    if per_state and arr.ndim == 1 and arr.shape[0] == shape[0] and len(shape) > 1:
        arr = arr.reshape((shape[0],) + (1,) * (len(shape) - 1))
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"{owner}: {name} of shape {arr.shape} does not fit the parameters' shape {shape}"
        ) from None


def _logdet(cov: np.ndarray) -> np.ndarray:
    return np.linalg.slogdet(cov)[1]


def _quad_inv(cov: np.ndarray, v: np.ndarray) -> np.ndarray:
    """v^T cov^-1 v over leading axes (cov (..., D, D), v (..., D))."""
    return np.einsum("...i,...i->...", v, np.linalg.solve(cov, v[..., None])[..., 0])


def _trace_inv(cov: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.trace(np.linalg.solve(cov, b), axis1=-2, axis2=-1)


def dirichlet_log_prior(alpha, p: np.ndarray) -> float:
    """sum (alpha - 1) log p over the positive entries (a Dirichlet, up to a constant)."""
    a = np.broadcast_to(np.asarray(alpha, dtype=float), p.shape)
    ok = (p > 0) & (a != 1)
    return float(np.sum((a[ok] - 1.0) * np.log(p[ok])))


# ----------------------------------------------------------------------------------------
# GaussianHMM


class GaussianPriors:
    """GaussianHMM's ``means_prior``, ``means_weight``, ``covars_prior``, ``covars_weight``
    broadcast to the model's shapes."""

    def __init__(self, owner: str, model, k: int, d: int):
        ct = model.covariance_type
        self.ct, self.k, self.d = ct, k, d
        self.mu0 = _bcast(owner, "means_prior", model.means_prior, (k, d), per_state=True)
        self.lam = _bcast(owner, "means_weight", model.means_weight, (k,))[:, None]  # (K, 1)
        w = _bcast(owner, "covars_weight", model.covars_weight, (k,))
        if ct in ("diag", "spherical"):
            self.b = _bcast(owner, "covars_prior", model.covars_prior, (k, d), per_state=True)
            self.w = np.maximum(w - 1.0, 0.0)[:, None]  # (K, 1)
        else:
            shape = (k, d, d) if ct == "full" else (d, d)
            self.b = _bcast(owner, "covars_prior", model.covars_prior, shape)
            self.w = np.maximum(w - d, 0.0)  # (K,); tied: its first entry
            if ct == "tied":
                self.w = float(np.maximum(np.asarray(model.covars_weight, float) - d, 0).max())


def gaussian_means(p: GaussianPriors, n, xbar, old) -> np.ndarray:
    den = p.lam + n[:, None]
    ok = den > 0
    safe = np.where(ok, den, 1.0)
    return np.where(ok, (p.lam * p.mu0 + n[:, None] * xbar) / safe, old)


def gaussian_covars(p: GaussianPriors, n, xbar, S, means, old) -> np.ndarray:
    """hmmlearn's covariance M-step about ``means`` (the updated ones, or the fixed ones);
    a state whose estimate would be undefined (no data and no prior) keeps ``old``."""
    md = means - p.mu0
    dx = np.where(n[:, None] > 0, xbar - means, 0.0)
    if p.ct in ("diag", "spherical"):
        c_n = p.lam * md**2 + S + n[:, None] * dx**2
        cov = (p.b + c_n) / np.maximum(p.w + n[:, None], 1e-5)
        if p.ct == "spherical":
            cov = cov.mean(1)
            ok = cov > 0
            return np.where(ok, cov, old)
        return np.where(cov > 0, cov, old)
    c_n = p.lam[:, :, None] * _outer(md) + S + n[:, None, None] * _outer(dx)
    if p.ct == "full":
        den = p.w + n
        ok = den > 0
        cov = (p.b + c_n) / np.where(ok, den, 1.0)[:, None, None]
        return np.where(ok[:, None, None], cov, old)
    den = p.w + n.sum()
    return (p.b + c_n.sum(0)) / den if den > 0 else old


def gaussian_log_prior(p: GaussianPriors, means, covars) -> float:
    md = means - p.mu0
    if p.ct in ("diag", "spherical"):
        s = covars if p.ct == "diag" else np.repeat(covars[:, None], p.d, axis=1)
        lp = -p.lam * md**2 / (2 * s) - p.w / 2 * np.log(s) - p.b / (2 * s)
        return float(lp.sum())
    if p.ct == "full":
        lp = (
            -p.lam[:, 0] / 2 * _quad_inv(covars, md)
            - p.w / 2 * _logdet(covars)
            - 0.5 * _trace_inv(covars, p.b)
        )
        return float(lp.sum())
    cov = np.broadcast_to(covars, (p.k, p.d, p.d))
    lp = -(p.lam[:, 0] / 2 * _quad_inv(cov, md)).sum()
    return float(lp - p.w / 2 * _logdet(covars) - 0.5 * _trace_inv(covars, p.b))


# ----------------------------------------------------------------------------------------
# GMMHMM


def gmm_covar_defaults(ct: str, n_mix: int, d: int, covars_prior, covars_weight):
    """hmmlearn's defaults for ``covars_prior=None`` / ``covars_weight=None``."""
    defaults = {
        "full": (0.0, -(1.0 + d + 1.0)),
        "tied": (0.0, -(n_mix + d + 1.0)),
        "diag": (-1.5, 0.0),
        "spherical": (-(n_mix + 2.0) / 2.0, 0.0),
    }[ct]
    return (
        defaults[0] if covars_prior is None else covars_prior,
        defaults[1] if covars_weight is None else covars_weight,
    )


class GMMPriors:
    """GMMHMM's priors broadcast to the model's shapes (hmmlearn's ``_fix_priors_shape``)."""

    def __init__(self, owner: str, model, k: int, m: int, d: int):
        ct = model.covariance_type
        self.ct, self.k, self.m, self.d = ct, k, m, d
        self.alpha = _bcast(owner, "weights_prior", model.weights_prior, (k, m))
        self.mu0 = _bcast(owner, "means_prior", model.means_prior, (k, m, d))
        self.lam = _bcast(owner, "means_weight", model.means_weight, (k, m))
        cp, cw = gmm_covar_defaults(ct, m, d, model.covars_prior, model.covars_weight)
        shapes = {
            "full": ((k, m, d, d), (k, m)),
            "tied": ((k, d, d), (k,)),
            "diag": ((k, m, d), (k, m, d)),
            "spherical": ((k, m), (k, m)),
        }[ct]
        self.cp = _bcast(owner, "covars_prior", cp, shapes[0])
        self.cw = _bcast(owner, "covars_weight", cw, shapes[1])


def gmm_weights(p: GMMPriors, n_km: np.ndarray, old: np.ndarray) -> np.ndarray:
    """(n_km + a - 1) / (n_k + sum(a - 1)); hmmlearn's formula, with negative entries
    (a prior below 1) clipped at 0 and a state with nothing keeping its row."""
    e = np.maximum(n_km + p.alpha - 1.0, 0.0)
    rows = e.sum(1)
    ok = rows > 0
    new = np.array(old, dtype=float, copy=True)
    new[ok] = e[ok] / rows[ok, None]
    return new


def gmm_means(p: GMMPriors, n_km, xbar, old) -> np.ndarray:
    den = n_km + p.lam
    ok = den > 0
    safe = np.where(ok, den, 1.0)[:, :, None]
    return np.where(
        ok[:, :, None], (p.lam[:, :, None] * p.mu0 + n_km[:, :, None] * xbar) / safe, old
    )


def gmm_covars(p: GMMPriors, n_km, xbar, S, old_means, new_means, old) -> np.ndarray:
    """hmmlearn's covariance M-step: the scatter about ``old_means`` (the E-step's), the
    prior term about ``new_means``; a component with a non-positive denominator keeps
    ``old``."""
    d, m = p.d, p.m
    dx = np.where(n_km[:, :, None] > 0, xbar - old_means, 0.0)
    md = new_means - p.mu0
    if p.ct == "full":
        c_n = (
            np.swapaxes(p.cp, -1, -2)
            + p.lam[:, :, None, None] * _outer(md)
            + S
            + n_km[:, :, None, None] * _outer(dx)
        )
        den = n_km + 1 + p.cw + d + 1
        ok = den > 0
        cov = c_n / np.where(ok, den, 1.0)[:, :, None, None]
        return np.where(ok[:, :, None, None], cov, old)
    if p.ct == "tied":
        c_n = (
            np.einsum("ij,ijkl->ikl", p.lam, _outer(md))
            + np.swapaxes(p.cp, -1, -2)
            + (S + n_km[:, :, None, None] * _outer(dx)).sum(1)
        )
        den = n_km.sum(1) + m + p.cw + d + 1
        ok = den > 0
        cov = c_n / np.where(ok, den, 1.0)[:, None, None]
        return np.where(ok[:, None, None], cov, old)
    if p.ct == "diag":
        c_n = p.lam[:, :, None] * md**2 + 2 * p.cw + S + n_km[:, :, None] * dx**2
        den = n_km[:, :, None] + 1 + 2 * (p.cp + 1)
    else:
        c_n = p.lam * (md**2).sum(-1) + 2 * p.cw + S.sum(-1) + n_km * (dx**2).sum(-1)
        den = d * (n_km + 1) + 2 * (p.cp + 1)
    ok = den > 0
    cov = c_n / np.where(ok, den, 1.0)
    return np.where(ok & (cov > 0), cov, old)


def gmm_log_prior(p: GMMPriors, weights, means, covars) -> float:
    """The log-prior hmmlearn's GMMHMM M-step maximises (with its stale-means covariance
    update this is exact when ``means_weight`` is 0, the default)."""
    d, m = p.d, p.m
    lp = dirichlet_log_prior(p.alpha, weights)
    md = means - p.mu0
    if p.ct == "diag":
        a = p.cp + 1.5
        lp += float((-a * np.log(covars) - (p.cw + p.lam[:, :, None] * md**2 / 2) / covars).sum())
    elif p.ct == "spherical":
        a = p.cp + 1 + d / 2
        lp += float((-a * np.log(covars) - (p.cw + p.lam * (md**2).sum(-1) / 2) / covars).sum())
    elif p.ct == "full":
        a = (p.cw + d + 2) / 2
        b = np.swapaxes(p.cp, -1, -2) + p.lam[:, :, None, None] * _outer(md)
        lp += float((-a * _logdet(covars) - 0.5 * _trace_inv(covars, b)).sum())
    else:
        a = (m + p.cw + d + 1) / 2
        b = np.swapaxes(p.cp, -1, -2) + np.einsum("ij,ijkl->ikl", p.lam, _outer(md))
        lp += float((-a * _logdet(covars) - 0.5 * _trace_inv(covars, b)).sum())
    return lp
