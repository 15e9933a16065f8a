"""VAE maths: likelihoods normalise, the KL is exact, the ELBO and IWAE bound a known
log p(x) (a linear-Gaussian model, i.e. probabilistic PCA, where everything has a closed
form), the networks have the right shapes and use their labels."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import (
    Categorical,
    Multinomial,
    MultivariateNormal,
    Normal,
    kl_divergence,
)

from genmodels.vae import _bounds
from genmodels.vae._bounds import (
    elbo,
    gaussian_kl,
    iwae_log_likelihood,
    kl_anneal_weight,
    log_importance_weights,
    log_standard_normal,
    training_losses,
)
from genmodels.vae._latent import decode, encode, interpolate, reconstruct, traverse
from genmodels.vae._likelihoods import (
    BernoulliLikelihood,
    CategoricalLikelihood,
    GaussianLikelihood,
    MultinomialLikelihood,
    bernoulli_log_prob,
    categorical_log_prob,
    gaussian_log_prob,
    make_likelihood,
    multinomial_log_prob,
)
from genmodels.vae._networks import (
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    build_vae_net,
)

torch.set_num_threads(1)
F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def assert_close_stat(samples: torch.Tensor, expected, z: float = 5.0) -> None:
    """The mean of iid ``samples`` (R, ...) is ``expected`` within ``z`` standard errors."""
    mean = samples.mean(0)
    se = samples.std(0) / math.sqrt(samples.shape[0])
    assert torch.all((mean - expected).abs() <= z * se + 1e-12), (mean, expected, se)


# ----------------------------------------------------------------------------------------
# KL


def test_gaussian_kl_matches_torch_and_monte_carlo():
    g = gen(0)
    mu = torch.randn(3, 4, generator=g, dtype=F64)
    log_var = torch.randn(3, 4, generator=g, dtype=F64)
    kl = gaussian_kl(mu, log_var)
    q = Normal(mu, torch.exp(0.5 * log_var))
    ref = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    torch.testing.assert_close(kl, ref)
    z = q.sample((200_000,))  # (R, 3, 4)
    mc = q.log_prob(z).sum(-1) - log_standard_normal(z)  # (R, 3)
    assert_close_stat(mc, kl)
    assert torch.all(gaussian_kl(torch.zeros(2, 5), torch.zeros(2, 5)) == 0)


# ----------------------------------------------------------------------------------------
# Likelihoods: normalised, equal to references, sample what they score


def test_bernoulli_normalises_and_matches_closed_form():
    g = gen(1)
    logits = torch.randn(2, 3, generator=g, dtype=F64)
    states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)), dtype=F64)  # (8, 3)
    lp = bernoulli_log_prob(states[:, None, :], logits)  # (8, 2)
    torch.testing.assert_close(torch.logsumexp(lp, 0), torch.zeros(2, dtype=F64))
    p = torch.sigmoid(logits)
    ref = (states[:, None] * p.log() + (1 - states[:, None]) * (1 - p).log()).sum(-1)
    torch.testing.assert_close(lp, ref)
    lik = BernoulliLikelihood(3)
    out = logits[..., None]  # (2, 3, 1)
    draws = lik.sample(out.expand(50_000, 2, 3, 1), gen(2))
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    assert_close_stat(draws, lik.mean(out))


def test_gaussian_matches_torch_normal_and_floors_the_variance():
    g = gen(3)
    x, mean, log_var = torch.randn(3, 2, 5, generator=g, dtype=F64)
    ref = Normal(mean, torch.exp(0.5 * log_var)).log_prob(x).sum(-1)
    torch.testing.assert_close(gaussian_log_prob(x, mean, log_var), ref)
    # per-pixel output variance, floored smoothly at min_log_var
    lik = GaussianLikelihood(5, variance="output", min_log_var=-3.0).double()
    raw = torch.tensor([-50.0, -3.0, 0.0, 2.0, 10.0], dtype=F64)
    out = torch.stack([mean, raw.expand(2, 5)], -1)  # (2, 5, 2)
    m, lv = lik.mean_and_log_var(out)
    assert torch.all(lv >= -3.0) and abs(lv[0, 0].item() + 3.0) < 1e-12
    torch.testing.assert_close(lv[:, 4], raw[4].expand(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        lik.log_prob(x, out), Normal(m, torch.exp(0.5 * lv)).log_prob(x).sum(-1)
    )
    draws = lik.sample(out.expand(40_000, 2, 5, 2), gen(4))
    assert_close_stat(draws, m)
    assert_close_stat((draws - m).square(), torch.exp(lv))
    # per-feature learned variance: a parameter of the likelihood, with a gradient
    lik = GaussianLikelihood(5, variance="feature").double()
    assert lik.params_per_feature == 1
    lik.log_prob(x, mean[..., None]).sum().backward()
    assert lik.raw_log_var.grad is not None and lik.raw_log_var.grad.shape == (5,)


def test_categorical_normalises_matches_torch_and_samples():
    g = gen(5)
    logits = torch.randn(2, 2, 3, generator=g, dtype=F64)  # (batch, D=2, K=3)
    states = torch.tensor(list(itertools.product(range(3), repeat=2)), dtype=F64)  # (9, 2)
    lp = categorical_log_prob(states[:, None, :], logits)  # (9, 2)
    torch.testing.assert_close(torch.logsumexp(lp, 0), torch.zeros(2, dtype=F64))
    ref = Categorical(logits=logits).log_prob(states[:, None, :].long()).sum(-1)
    torch.testing.assert_close(lp, ref)
    lik = CategoricalLikelihood(2, n_levels=3)
    draws = lik.sample(logits.expand(30_000, 2, 2, 3), gen(6))  # (R, 2, 2) levels
    freq = torch.stack([(draws == k).to(F64) for k in range(3)], -1)
    assert_close_stat(freq, torch.softmax(logits, -1))
    torch.testing.assert_close(
        lik.mean(logits), (torch.softmax(logits, -1) * torch.arange(3.0)).sum(-1)
    )
    assert torch.equal(lik.preprocess(torch.tensor([0.0, 1.0, 2.0])), torch.tensor([0.0, 0.5, 1.0]))


def test_multinomial_normalises_over_counts_with_a_total():
    g = gen(7)
    logits = torch.randn(2, 3, generator=g, dtype=F64)
    n = 4
    states = torch.tensor(
        [c for c in itertools.product(range(n + 1), repeat=3) if sum(c) == n], dtype=F64
    )  # the 15 count vectors with total 4
    lp = multinomial_log_prob(states[:, None, :], logits)  # (15, 2)
    torch.testing.assert_close(torch.logsumexp(lp, 0), torch.zeros(2, dtype=F64))
    ref = torch.stack([Multinomial(n, logits=row).log_prob(states) for row in logits], 1)
    torch.testing.assert_close(lp, ref)
    # Liang et al.'s training term drops exactly the (model-free) multinomial coefficient
    bare = multinomial_log_prob(states[:, None, :], logits, include_coefficient=False)
    coef = torch.lgamma(torch.tensor(n + 1.0, dtype=F64)) - torch.lgamma(states + 1).sum(-1)
    torch.testing.assert_close(lp - bare, coef[:, None].expand(-1, 2))
    lik = MultinomialLikelihood(3, total_count=5)
    out = logits[..., None]
    counts = lik.sample(out, gen(8), total_count=torch.tensor([3, 7]))
    assert counts.sum(-1).tolist() == [3.0, 7.0]
    draws = lik.sample(out.expand(20_000, 2, 3, 1), gen(9))
    assert torch.all(draws.sum(-1) == 5)
    assert_close_stat(draws, lik.mean(out))
    torch.testing.assert_close(
        lik.preprocess(torch.tensor([[3.0, 4.0, 0.0]])).norm(), torch.tensor(1.0)
    )


# ----------------------------------------------------------------------------------------
# Bounds against a model with a closed-form log p(x): probabilistic PCA
#   z ~ N(0, I_L),  x | z ~ N(W z + b, s2 I_D),  so  p(x) = N(b, W Wᵀ + s2 I).
# With orthogonal columns of W the exact posterior is a diagonal Gaussian:
#   precision P = I + WᵀW / s2 (diagonal),  mean = P⁻¹ Wᵀ (x - b) / s2.

D, L, S2 = 5, 2, 0.3


class LinearEncoder(nn.Module):
    """q(z | x) = N(A (x - b) + shift, diag exp(log_var)); exact when shift = 0, scale = 1."""

    def __init__(self, W, b, shift=0.0, var_scale=1.0):
        super().__init__()
        prec = 1.0 + (W * W).sum(0) / S2  # (L,) diagonal of P
        self.A = W.T / S2 / prec[:, None]  # (L, D)
        self.b = b
        self.shift = shift
        self.log_var = torch.log(var_scale / prec)  # (L,)
        self.latent_dim = L
        self.n_classes = 0

    def forward(self, x, y=None):
        mu = (x - self.b) @ self.A.T + self.shift
        return mu, self.log_var.expand_as(mu)


class LinearDecoder(nn.Module):
    def __init__(self, W, b):
        super().__init__()
        self.W, self.b = W, b

    def forward(self, z, y=None):
        return (z @ self.W.T + self.b)[..., None]  # (M, D, 1)


@pytest.fixture(scope="module")
def ppca():
    g = gen(10)
    Q, _ = torch.linalg.qr(torch.randn(D, L, generator=g, dtype=F64))
    W = Q * torch.tensor([2.0, 1.2], dtype=F64)  # orthogonal columns
    b = torch.randn(D, generator=g, dtype=F64)
    lik = GaussianLikelihood(D, variance="feature", min_log_var=-60.0).double()
    with torch.no_grad():
        lik.raw_log_var.fill_(math.log(S2))
    p_x = MultivariateNormal(b, W @ W.T + S2 * torch.eye(D, dtype=F64))
    x = b + 1.5 * torch.randn(4, D, generator=g, dtype=F64)  # (4, D)
    return W, b, lik, x, p_x.log_prob(x)


def test_iwae_is_exact_with_the_exact_posterior(ppca, monkeypatch):
    W, b, lik, x, log_px = ppca
    enc, dec = LinearEncoder(W, b), LinearDecoder(W, b)
    for k in (1, 10, 100):
        est = iwae_log_likelihood(x, enc, dec, lik, n_importance=k, generator=gen(k))
        torch.testing.assert_close(est, log_px, atol=1e-10, rtol=0)
    # the ELBO equals log p(x) too (KL to the true posterior is 0): closed-form parts
    terms = elbo(x.repeat(20_000, 1), enc, dec, lik, generator=gen(11))
    assert_close_stat(terms.elbo.view(20_000, 4), log_px)
    # tiny memory budget: many row blocks and chunks, still exact and in row order
    monkeypatch.setattr(_bounds, "_IWAE_ELEMENTS", 3 * D)
    est = iwae_log_likelihood(x, enc, dec, lik, n_importance=7, generator=gen(12))
    torch.testing.assert_close(est, log_px, atol=1e-10, rtol=0)


def test_elbo_parts_match_their_closed_forms(ppca):
    W, b, lik, x, _ = ppca
    enc, dec = LinearEncoder(W, b, shift=0.4, var_scale=2.0), LinearDecoder(W, b)
    reps = 20_000
    terms = elbo(x.repeat(reps, 1), enc, dec, lik, generator=gen(13))
    mu, log_var = enc(x)
    torch.testing.assert_close(terms.kl[:4], gaussian_kl(mu, log_var))
    # E_q log N(x | W z + b, s2 I) = -D/2 log(2 pi s2) - (|x - W mu - b|² + tr(W Σ Wᵀ)) / (2 s2)
    resid = (x - mu @ W.T - b).square().sum(-1)
    trace = ((W * W).sum(0) * torch.exp(log_var)).sum(-1)
    recon = -0.5 * D * math.log(2 * math.pi * S2) - (resid + trace) / (2 * S2)
    assert_close_stat(terms.reconstruction.view(reps, 4), recon)
    # beta weighs only the objective
    t2 = elbo(x, enc, dec, lik, beta=3.0, generator=gen(14))
    torch.testing.assert_close(t2.objective, t2.reconstruction - 3.0 * t2.kl)
    torch.testing.assert_close(t2.elbo, t2.reconstruction - t2.kl)


def test_iwae_bounds_rise_with_k_towards_log_px(ppca):
    W, b, lik, x, log_px = ppca
    enc, dec = LinearEncoder(W, b, shift=0.5, var_scale=2.5), LinearDecoder(W, b)
    mu, log_var = enc(x)
    resid = (x - mu @ W.T - b).square().sum(-1)
    trace = ((W * W).sum(0) * torch.exp(log_var)).sum(-1)
    exact_elbo = (
        -0.5 * D * math.log(2 * math.pi * S2)
        - (resid + trace) / (2 * S2)
        - gaussian_kl(mu, log_var)
    )
    assert torch.all(log_px - exact_elbo > 0.5)  # q is clearly inexact
    reps = 400
    xs = x.repeat(reps, 1)  # (reps * 4, D)
    means, ses = [], []
    ks = (1, 4, 16, 64, 256, 1024)
    for k in ks:
        est = iwae_log_likelihood(xs, enc, dec, lik, n_importance=k, generator=gen(100 + k))
        est = est.view(reps, 4)
        means.append(est.mean(0))
        ses.append(est.std(0) / math.sqrt(reps))
        if k == 1:  # one importance sample: an unbiased estimate of the ELBO
            assert_close_stat(est, exact_elbo)
    z = 5.0
    for m, se in zip(means, ses, strict=True):
        assert torch.all(exact_elbo <= m + z * se)  # ELBO <= E IWAE_k
        assert torch.all(m <= log_px + z * se)  # E IWAE_k <= log p(x)
    for (m0, s0), (m1, s1) in itertools.pairwise(zip(means, ses, strict=True)):
        assert torch.all(m1 >= m0 - z * torch.sqrt(s0**2 + s1**2))  # non-decreasing in k
    assert torch.all(means[2] - means[0] > z * torch.sqrt(ses[0] ** 2 + ses[2] ** 2))  # rises
    gap_1, gap_max = log_px - means[0], log_px - means[-1]
    assert torch.all(gap_max.abs() < 0.01 * gap_1)  # converging to log p(x)


def test_iwae_does_not_depend_on_chunking_and_k1_is_one_weight(ppca):
    W, b, lik, x, _ = ppca
    enc, dec = LinearEncoder(W, b, shift=0.5, var_scale=2.5), LinearDecoder(W, b)
    runs = [
        iwae_log_likelihood(x, enc, dec, lik, n_importance=50, chunk_size=c, generator=gen(20))
        for c in (1, 7, 50, None)
    ]
    for r in runs[1:]:
        torch.testing.assert_close(r, runs[0], atol=1e-12, rtol=1e-12)
    lw = log_importance_weights(x, enc, dec, lik, n_samples=50, generator=gen(20))  # (50, 4)
    torch.testing.assert_close(runs[0], torch.logsumexp(lw, 0) - math.log(50))
    one = iwae_log_likelihood(x, enc, dec, lik, n_importance=1, generator=gen(21))
    torch.testing.assert_close(
        one, log_importance_weights(x, enc, dec, lik, n_samples=1, generator=gen(21))[0]
    )


def test_training_losses_and_kl_annealing(ppca):
    W, b, lik, x, _ = ppca
    enc = MLPEncoder(D, L, (8,)).double()
    dec = MLPDecoder(D, L, (8,)).double()
    losses = training_losses(x, enc, dec, lik, beta=2.0, kl_weight=0.25, generator=gen(30))
    torch.testing.assert_close(losses["loss"], losses["recon"] + 0.5 * losses["kl"])
    losses["loss"].backward()
    assert all(p.grad is not None for p in enc.parameters())
    assert not losses["elbo"].requires_grad
    assert [kl_anneal_weight(s, 100, cap=0.2) for s in (0, 10, 50)] == [0.0, 0.1, 0.2]
    assert kl_anneal_weight(5, 0) == 1.0


# ----------------------------------------------------------------------------------------
# Networks


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 13, 17), (2, 7, 5), (1, 1, 1)])
@pytest.mark.parametrize("p", [1, 2, 4])
def test_conv_shapes(shape, p):
    enc = ConvEncoder(shape, 6, hidden_dims=(4, 8))
    dec = ConvDecoder(shape, 6, hidden_dims=(4, 8), params_per_feature=p)
    mu, log_var = enc(torch.rand(3, *shape))
    assert mu.shape == log_var.shape == (3, 6)
    assert dec(mu).shape == (3, *shape, p)


def test_mlp_shapes_and_dropout_only_in_training():
    enc = MLPEncoder((1, 4, 3), 2, hidden_dims=(), input_dropout=0.5)  # linear encoder
    dec = MLPDecoder((1, 4, 3), 2, hidden_dims=(7, 5), params_per_feature=3)
    x = torch.rand(6, 1, 4, 3)
    mu, log_var = enc(x)
    assert mu.shape == log_var.shape == (6, 2)
    assert dec(mu).shape == (6, 1, 4, 3, 3)
    enc.eval()
    assert torch.equal(enc(x)[0], enc(x)[0])


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_conditional_networks_use_the_labels(architecture):
    torch.manual_seed(0)
    shape = (1, 6, 5) if architecture == "conv" else (30,)
    lik = BernoulliLikelihood(shape)
    net = build_vae_net(
        feature_shape=shape,
        latent_dim=3,
        likelihood=lik,
        architecture=architecture,
        hidden_dims=(8, 8),
        activation="relu",
        n_classes=4,
        dense_dim=16,
    )
    x = torch.rand(2, *shape).round()
    z = torch.randn(2, 3)
    y0, y1 = torch.tensor([0, 0]), torch.tensor([3, 3])
    assert not torch.allclose(net.encoder(x, y0)[0], net.encoder(x, y1)[0])
    assert not torch.allclose(net.decoder(z, y0), net.decoder(z, y1))
    onehot = torch.nn.functional.one_hot(y1, 4).float()
    torch.testing.assert_close(net.decoder(z, onehot), net.decoder(z, y1))
    with pytest.raises(ValueError, match="pass labels"):
        net.encoder(x)
    est = iwae_log_likelihood(x, net.encoder, net.decoder, lik, y1, n_importance=3)
    assert est.shape == (2,) and torch.all(torch.isfinite(est))


def test_build_vae_net_rejects_mismatches():
    with pytest.raises(ValueError, match="differs"):
        build_vae_net(feature_shape=10, latent_dim=2, likelihood=BernoulliLikelihood(9))
    with pytest.raises(ValueError, match="architecture"):
        build_vae_net(
            feature_shape=10, latent_dim=2, likelihood=BernoulliLikelihood(10), architecture="rnn"
        )
    with pytest.raises(ValueError, match="likelihood"):
        make_likelihood("poisson", 10)


# ----------------------------------------------------------------------------------------
# Latent space


def test_interpolate_and_traverse():
    a, b = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.0, 1.0, -2.0])
    path = interpolate(a, b, 5)
    assert path.shape == (5, 3)
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(path[2], (a + b) / 2)
    u, v = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    arc = interpolate(u, v, 7, method="spherical")
    torch.testing.assert_close(arc.norm(dim=-1), torch.ones(7))  # stays on the circle
    torch.testing.assert_close(arc[3], torch.tensor([1.0, 1.0]) / math.sqrt(2))
    same = interpolate(u, 2 * u, 3, method="spherical")  # parallel: falls back to linear
    torch.testing.assert_close(same, interpolate(u, 2 * u, 3))
    batched = interpolate(torch.randn(4, 3), torch.randn(4, 3), 6, method="spherical")
    assert batched.shape == (6, 4, 3)
    grid = traverse(torch.tensor([0.5, -1.0, 2.0]), 1, np.linspace(-2, 2, 5))
    assert grid.shape == (5, 3)
    assert grid[:, 1].tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert torch.all(grid[:, [0, 2]] == torch.tensor([0.5, 2.0]))


def test_encode_decode_reconstruct():
    lik = CategoricalLikelihood((1, 5, 4), n_levels=4)
    net = build_vae_net(
        feature_shape=(1, 5, 4),
        latent_dim=2,
        likelihood=lik,
        architecture="conv",
        hidden_dims=(3,),
        dense_dim=None,
    )
    x = torch.randint(0, 4, (3, 1, 5, 4)).float()
    mu, var = encode(x, net.encoder, lik)
    assert mu.shape == var.shape == (3, 2) and torch.all(var > 0)
    means = reconstruct(x, net.encoder, net.decoder, lik)
    assert means.shape == x.shape and torch.all((means >= 0) & (means <= 3))
    draws = decode(mu, net.decoder, lik, sample=True, generator=gen(40))
    assert set(draws.unique().tolist()) <= {0.0, 1.0, 2.0, 3.0}
    torch.testing.assert_close(draws, decode(mu, net.decoder, lik, sample=True, generator=gen(40)))
