"""``TabularGAN``: a CTGAN-like conditional GAN for encoded tables (Xu et al. 2019).

It takes the rows of a :class:`~genmodels.tabular.encoder.TableEncoder` (or any rows
with the same layout of ``feature_groups``: ``("gaussian", 1)`` offsets and
``("categorical", n)`` one-hot groups) and trains CTGAN's way:

* **the generator's output per group**: tanh for an offset (its range mapped to [-1, 1]),
  a Gumbel-softmax (temperature ``tau``, 0.2) for a one-hot group, so that generated rows
  have the form of real ones; its body is CTGAN's: residual layers (linear, batch norm,
  ReLU, the input joined to the output);
* **the conditional vector and training by sampling**: each row of a batch picks one of the
  ``conditional_groups`` (the categorical columns' groups) uniformly and a category of it
  with probability proportional to the log of its frequency; the generator gets the
  category one hot beside z, and a cross-entropy term makes it produce that category;
  the real rows the critic sees are drawn to match the same conditions (permuted), so
  rare categories are learnt as well as common ones;
* **the critic**: WGAN-GP (penalty ``gp_weight``, 10) over packs of ``pac`` (10) rows
  (PacGAN, Lin et al. 2018, against mode collapse), with leaky ReLUs and dropout 0.5;
  Adam (2e-4, betas (0.5, 0.9), weight decay 1e-6), batches of 500, 300 epochs, one
  critic step per generator step: CTGAN's defaults.

Samples draw the conditional vector from the categories' own frequencies (a group
uniformly, then a category as often as in the data), as CTGAN's ``sample`` does.
Without ``feature_groups`` every feature is an offset and nothing is conditioned on: a
PacGAN WGAN-GP for any numeric rows. Like every GAN it has no likelihood.
``genmodels.tabular.Synthesizer(model="gan")`` is the way to use it on a table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from .. import attributes as A
from ..base import Capabilities
from ..nn._checkpoint import checkpoint_owner
from ..nn.base import _RUN_ONLY
from ..nn.trainer import StepContext
from ..registry import register
from ..validation import NONE, Interval, Satisfies
from . import _losses
from ._networks import GANNet
from .model import _CHUNK, _DIMS, _PARAM_SPEC, BaseGAN

_KINDS = ("gaussian", "categorical")


def _is_groups(v) -> bool:
    return isinstance(v, tuple | list) and all(
        isinstance(g, tuple | list)
        and len(g) == 2
        and g[0] in _KINDS
        and isinstance(g[1], int | np.integer)
        and not isinstance(g[1], bool)
        and g[1] >= 1
        and (g[0] == "categorical" or g[1] == 1)
        for g in v
    )


_TABULAR_SPEC: dict[str, list] = {
    **{
        k: _PARAM_SPEC[k]
        for k in ("latent_dim", "n_critic", "gp_weight", "ema", "betas", "lr_discriminator")
    },
    "generator_dims": [_DIMS],
    "discriminator_dims": [_DIMS],
    "feature_groups": [
        NONE,
        Satisfies(_is_groups, "(kind, size) pairs: ('gaussian', 1) or ('categorical', n)"),
    ],
    "conditional_groups": [
        NONE,
        Satisfies(
            lambda v: (
                isinstance(v, tuple | list)
                and all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in v)
            ),
            "a tuple of indices into feature_groups",
        ),
    ],
    "pac": [Interval(int, 1, None)],
    "tau": [Interval(float, 0.0, None, closed="neither")],
}


class _Residual(nn.Module):
    """CTGAN's generator layer: relu(bn(W x + b)) with x joined after it."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)
        self.bn = nn.BatchNorm1d(n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], 1)


class TabularGenerator(nn.Module):
    """(z, condition) -> raw outputs (N, n_features); :meth:`activate` applies each group's
    output function."""

    def __init__(
        self,
        latent_dim: int,
        n_condition: int,
        dims,
        groups: list[tuple[str, int, int]],
        tau: float,
    ):
        super().__init__()
        width = int(latent_dim) + int(n_condition)
        layers: list[nn.Module] = []
        for d in dims:
            layers.append(_Residual(width, int(d)))
            width += int(d)
        n_features = sum(size for _, _, size in groups)
        layers.append(nn.Linear(width, n_features))
        self.body = nn.Sequential(*layers)
        self.groups = groups
        self.tau = float(tau)
        gauss = [s for kind, s, _ in groups if kind == "gaussian"]
        self.register_buffer("gaussian", torch.as_tensor(gauss, dtype=torch.long), False)

    def raw(self, z: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        return self.body(z if condition is None else torch.cat([z, condition], 1))

    def activate(self, raw: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """tanh on the offsets, a Gumbel-softmax (temperature ``tau``) on each one-hot group
        (its noise from ``generator``, so that a seed fixes the rows)."""
        out = raw.clone()
        if self.gaussian.numel():
            out[:, self.gaussian] = torch.tanh(raw[:, self.gaussian])
        for kind, start, size in self.groups:
            if kind != "categorical":
                continue
            logits = raw[:, start : start + size]
            u = torch.rand(logits.shape, generator=generator, device=raw.device)
            gumbel = -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))
            out[:, start : start + size] = F.softmax((logits + gumbel) / self.tau, dim=1)
        return out

    def forward(self, z, condition=None, generator=None):
        return self.activate(self.raw(z, condition), generator)


class PacDiscriminator(nn.Module):
    """Rows (N, n_in), N a multiple of ``pac`` -> one critic value per pack of ``pac``
    consecutive rows (N / pac,): CTGAN's linear, leaky ReLU (0.2), dropout (0.5) layers."""

    def __init__(self, n_in: int, dims, pac: int):
        super().__init__()
        self.pac = int(pac)
        width = int(n_in) * self.pac
        layers: list[nn.Module] = []
        for d in dims:
            layers += [nn.Linear(width, int(d)), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            width = int(d)
        layers.append(nn.Linear(width, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.reshape(x.shape[0] // self.pac, -1)).squeeze(1)


@register("tabular-gan", "ctgan-like")
class TabularGAN(BaseGAN):
    """A CTGAN-like conditional GAN for rows of an encoded table; see the module docstring.

    Parameters
    ----------
    feature_groups : tuple of (kind, size), optional
        The row's layout: ``("gaussian", 1)`` for an offset, ``("categorical", n)`` for a
        one-hot group (a :class:`~genmodels.tabular.encoder.TableEncoder`'s ``groups_``).
        None: every feature an offset.
    conditional_groups : tuple of int, optional
        Indices into ``feature_groups`` of the one-hot groups the conditional vector covers
        (``TableEncoder.category_groups()``); None: every categorical group; ``()``: none.
    latent_dim : int, default 128
    generator_dims, discriminator_dims : tuple of int, default (256, 256)
    pac : int, default 10
        Rows per pack the critic scores together.
    tau : float, default 0.2
        The Gumbel-softmax temperature of the one-hot groups.
    n_critic : int, default 1
        Critic steps per generator step.
    gp_weight : float, default 10.0
    betas : (float, float), default (0.5, 0.9)
    lr : float, default 2e-4
    lr_discriminator : float, optional
    weight_decay : float, default 1e-6
    ema : float in (0, 1), optional
    epochs : int, default 300
    batch_size : int, default 500
        Rows drawn for each step (rounded down to a multiple of ``pac``, at least one pack).
    optimizer, lr_schedule, warmup_steps, grad_clip, checkpoint_dir, checkpoint_every,
    device, mixed_precision, random_state, verbose : the trainer's.

    Attributes
    ----------
    n_features_in_, feature_shape_, output_, data_offset_, data_scale_ : as :class:`GAN`
        (offsets mapped from their range to [-1, 1]; one-hot features as they are).
    condition_groups_ : (n_conditional,) int, the groups the conditional vector covers.
    condition_frequency_ : (n_condition,) float, each covered category's frequency in
        its group (the categories of the covered groups in order).
    module_, history_ : as :class:`GAN`; ``history_`` also has ``generator_condition``
        (the cross-entropy of the conditioned groups).
    """

    capabilities = Capabilities(
        likelihood="none", latent=True, input_kind="continuous", neural=True, resumable=True
    )
    _param_spec = _TABULAR_SPEC
    _conditional = False

    _fitted_spec = {
        "condition_groups_": A.Attr(
            (None,),
            kind="int",
            constraints=(
                A.Check(
                    lambda v, ctx: np.array_equal(np.asarray(v), ctx.model._expected_covered()),
                    "the categorical groups of feature_groups that conditional_groups names",
                ),
            ),
        ),
        "condition_frequency_": A.Attr(
            (None,),
            constraints=(
                A.FINITE,
                A.Range(0.0, 1.0),
                A.Check(
                    lambda v, ctx: ctx.model._frequencies_agree(
                        np.asarray(v), ctx.get("condition_groups_"), ctx.get("n_features_in_")
                    ),
                    "one frequency per category of condition_groups_, summing to 1 in each",
                ),
            ),
        ),
    }

    def _expected_covered(self) -> np.ndarray:
        d = sum(int(n) for _, n in self.feature_groups) if self.feature_groups else 0
        return np.asarray(self._covered(self._layout(d)), dtype=np.int64)

    def _frequencies_agree(self, freq, groups, n_features: int) -> bool:
        layout = self._layout(int(n_features))
        sizes = [layout[int(g)][2] for g in np.asarray(groups).reshape(-1)]
        if freq.shape != (sum(sizes),):
            return False
        bounds = np.cumsum([0, *sizes])
        return all(
            abs(freq[a:b].sum() - 1.0) < 1e-6 for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        )

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {
            "latent_dim": 4,
            "generator_dims": (16,),
            "discriminator_dims": (16,),
            "pac": 2,
            "epochs": 3,
            "batch_size": 32,
            "random_state": 0,
        }

    def __init__(
        self,
        feature_groups: tuple[tuple[str, int], ...] | None = None,
        *,
        conditional_groups: tuple[int, ...] | None = None,
        latent_dim: int = 128,
        generator_dims: tuple[int, ...] = (256, 256),
        discriminator_dims: tuple[int, ...] = (256, 256),
        pac: int = 10,
        tau: float = 0.2,
        n_critic: int = 1,
        gp_weight: float = 10.0,
        betas=(0.5, 0.9),
        lr_discriminator: float | None = None,
        ema: float | None = None,
        epochs: int = 300,
        batch_size: int = 500,
        optimizer: str = "adam",
        lr: float = 2e-4,
        weight_decay: float = 1e-6,
        lr_schedule: str = "constant",
        warmup_steps: int = 0,
        grad_clip: float | None = None,
        early_stopping: int | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        device: str = "cpu",
        mixed_precision: str = "auto",
        random_state=None,
        verbose: int = 0,
    ):
        self.feature_groups = feature_groups
        self.conditional_groups = conditional_groups
        self.latent_dim = latent_dim
        self.generator_dims = generator_dims
        self.discriminator_dims = discriminator_dims
        self.pac = pac
        self.tau = tau
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.betas = betas
        self.lr_discriminator = lr_discriminator
        self.ema = ema
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.grad_clip = grad_clip
        self.early_stopping = early_stopping
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose

    # -- layout -----------------------------------------------------------------------------

    def _layout(self, d: int) -> list[tuple[str, int, int]]:
        """(kind, start, size) of every group of a ``d``-feature row."""
        groups = self.feature_groups if self.feature_groups is not None else [("gaussian", 1)] * d
        out, start = [], 0
        for kind, size in groups:
            out.append((str(kind), start, int(size)))
            start += int(size)
        return out

    def _covered(self, layout) -> list[int]:
        owner = type(self).__name__
        if self.conditional_groups is None:
            return [i for i, (kind, _, _) in enumerate(layout) if kind == "categorical"]
        out = []
        for i in self.conditional_groups:
            if not 0 <= int(i) < len(layout) or layout[int(i)][0] != "categorical":
                raise ValueError(
                    f"{owner}: conditional_groups must index categorical groups of "
                    f"feature_groups; {i!r} does not"
                )
            out.append(int(i))
        return out

    def _condition_spans(self) -> list[tuple[int, int, int]]:
        """(start in the row, size, start in the conditional vector) of each covered group."""
        layout = self._layout(self.n_features_in_)
        spans, c = [], 0
        for g in self.condition_groups_:
            _, start, size = layout[int(g)]
            spans.append((start, size, c))
            c += size
        return spans

    # -- data -------------------------------------------------------------------------------

    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        owner = type(self).__name__
        if self.early_stopping is not None:
            raise ValueError(
                f"{owner}: early_stopping needs a held-out loss that falls as samples improve, "
                "which a GAN has not; leave it None"
            )
        arr = self._check_X(X, fitting=fitting)
        if fitting and arr.shape[0] < 2:
            raise ValueError(f"{owner}: a GAN needs at least 2 rows of X to train")
        layout = self._layout(arr.shape[1])
        if sum(size for _, _, size in layout) != arr.shape[1]:
            raise ValueError(
                f"{owner}: feature_groups cover {sum(s for _, _, s in layout)} features, X "
                f"has {arr.shape[1]}"
            )
        if fitting:
            self._fit_layout(arr, layout)
        x = self._to_net(arr)
        if fitting:
            self._train_rows = arr.shape[0]
            self._real = x
            self._index_categories(arr, layout)
            self._spans = self._condition_spans()  # read by every generator step
        return TensorDataset(torch.arange(arr.shape[0]))

    def _fit_layout(self, arr: np.ndarray, layout) -> None:
        owner = type(self).__name__
        d = arr.shape[1]
        self.feature_shape_ = np.array([d])
        self.output_ = "tabular"
        offset, scale = np.zeros(d), np.ones(d)
        for kind, start, size in layout:
            col = arr[:, start : start + size]
            if kind == "gaussian":
                lo, hi = float(col.min()), float(col.max())
                offset[start] = (lo + hi) / 2
                scale[start] = (hi - lo) / 2 if hi > lo else 1.0
            elif not (np.isin(col, (0.0, 1.0)).all() and (col.sum(1) == 1).all()):
                raise ValueError(
                    f"{owner}: the categorical group at features {start}..{start + size - 1} "
                    "is not one hot in every row (exactly one 1, the rest 0)"
                )
        self.data_offset_, self.data_scale_ = offset, scale
        covered = self._covered(layout)
        self.condition_groups_ = np.asarray(covered, dtype=np.int64)
        freq = [arr[:, s : s + n].mean(0) for _, s, n in (layout[g] for g in covered)]
        self.condition_frequency_ = np.concatenate(freq) if freq else np.zeros(0)

    def _index_categories(self, arr: np.ndarray, layout) -> None:
        """For training by sampling: the rows of every covered category, one flat array
        (``_rows[_first[c] : _first[c] + _count[c]]`` are category ``c``'s rows), and the
        log-frequency probability of drawing each category."""
        rows, first, count, prob = [], [], [], []
        at, n_groups = 0, max(1, len(self.condition_groups_))
        for g in self.condition_groups_:
            _, s, n = layout[int(g)]
            codes = arr[:, s : s + n].argmax(1)
            order = np.argsort(codes, kind="stable")
            counts = np.bincount(codes, minlength=n)
            rows.append(order)
            first.extend(at + np.concatenate([[0], np.cumsum(counts)[:-1]]))
            count.extend(counts)
            logf = np.log1p(counts)
            prob.extend(logf / logf.sum() / n_groups)
            at += len(order)
        self._rows = torch.as_tensor(np.concatenate(rows) if rows else np.zeros(0, np.int64))
        self._first = torch.as_tensor(np.asarray(first, dtype=np.int64))
        self._count = torch.as_tensor(np.asarray(count, dtype=np.int64))
        self._train_prob = torch.as_tensor(np.asarray(prob, dtype=np.float64))

    # -- the networks -------------------------------------------------------------------------

    def _build_module(self) -> GANNet:
        layout = self._layout(int(self.feature_shape_[0]))
        n_cond = len(self.condition_frequency_)
        gen = TabularGenerator(self.latent_dim, n_cond, self.generator_dims, layout, self.tau)
        disc = PacDiscriminator(
            int(self.feature_shape_[0]) + n_cond, self.discriminator_dims, self.pac
        )
        return GANNet(gen, disc, ema=self.ema is not None)

    def _checkpoint_owner(self) -> dict[str, Any]:
        return checkpoint_owner(self, _RUN_ONLY)

    def _n_critic(self) -> int:
        return int(self.n_critic)

    def _betas(self) -> tuple[float, float]:
        return (float(self.betas[0]), float(self.betas[1]))

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        return {}

    # -- training -----------------------------------------------------------------------------

    def _rows_per_step(self, n: int) -> int:
        return max(self.pac, (min(n, int(self.batch_size)) // self.pac) * self.pac)

    def _draw_conditions(self, n: int, prob: torch.Tensor, gen: torch.Generator, device):
        """(category codes (n,), one-hot conditional vectors (n, n_condition)) drawn
        with ``prob`` over the covered categories; None for both without any."""
        if prob.numel() == 0:
            return None, None
        p = prob.to(device=device, dtype=torch.float32)
        codes = torch.multinomial(p, n, replacement=True, generator=gen)
        return codes, F.one_hot(codes, p.numel()).to(torch.float32)

    def _real_rows(self, codes, n: int, gen: torch.Generator, device) -> torch.Tensor:
        real = self._real.to(device)
        u = torch.rand(n, generator=gen, device=device, dtype=torch.float64)
        if codes is None:
            return real[(u * real.shape[0]).long().clamp_max(real.shape[0] - 1)]
        first, count = self._first.to(device)[codes], self._count.to(device)[codes]
        pick = first + (u * count).long().clamp_max(count - 1)
        return real[self._rows.to(device)[pick]]

    def _condition_loss(self, raw: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Mean over rows of the cross-entropy between the generator's logits of each row's
        conditioned group and the category asked for (CTGAN's conditional loss)."""
        total = raw.new_zeros(())
        for start, size, c0 in self._spans:
            mine = (codes >= c0) & (codes < c0 + size)
            if bool(mine.any()):
                logits = raw[mine, start : start + size]
                total = total + F.cross_entropy(logits, codes[mine] - c0, reduction="sum")
        return total / raw.shape[0]

    def _losses(self, batch, ctx: StepContext) -> dict:
        net = self.module_
        device = batch[0].device
        n = self._rows_per_step(batch[0].shape[0])
        gen = ctx.generator
        D = net.discriminator  # noqa: N806
        G = net.generator  # noqa: N806
        codes, cond = self._draw_conditions(n, self._train_prob, gen, device)
        z = torch.randn(n, self.latent_dim, generator=gen, device=device)

        def joined(x, c):
            return x if c is None else torch.cat([x, c], 1)

        if ctx.group == "generator":
            raw = G.raw(z, cond)
            fake_out = D(joined(G.activate(raw, gen), cond))
            adv = -fake_out.mean()
            if codes is None:
                return {"loss": adv}
            cond_loss = self._condition_loss(raw, codes)
            return {"loss": adv + cond_loss, "condition": cond_loss.detach()}
        perm = torch.randperm(n, generator=gen, device=device)
        real_codes = None if codes is None else codes[perm]
        real = self._real_rows(real_codes, n, gen, device)
        real_in = joined(real, None if cond is None else cond[perm])
        with torch.no_grad():
            fake_in = joined(G(z, cond, gen), cond)
        real_out, fake_out = D(real_in), D(fake_in)
        loss = fake_out.mean() - real_out.mean()
        out = {"real": real_out.detach().mean(), "fake": fake_out.detach().mean()}
        if ctx.group == "validation":
            return {"discriminator_loss": loss, "generator_loss": -fake_out.mean()}
        gp = _losses.gradient_penalty(D, real_in, fake_in, gen, pac=self.pac)
        out["gp"] = gp.detach()
        out["wasserstein"] = out["real"] - out["fake"]
        return {"loss": loss + self.gp_weight * gp, **out}

    # -- sampling -----------------------------------------------------------------------------

    def _sample_prob(self) -> torch.Tensor:
        """The covered categories' sampling probabilities: a group uniformly, then a
        category as often as in the data."""
        freq = torch.as_tensor(self.condition_frequency_, dtype=torch.float64)
        return freq / max(1, len(self.condition_groups_))

    @torch.no_grad()
    def _generate(self, z: torch.Tensor, labels=None, generator=None) -> np.ndarray:
        """Rows from latent codes, with conditions and Gumbel noise drawn from
        ``generator`` (the model's own seed when None: ``decode``, ``interpolate``)."""
        net = self.module_.eval()
        G = net.sampler()  # noqa: N806
        if generator is None:
            generator = self._generator(self.random_state)
        prob = self._sample_prob()
        parts = []
        for i in range(0, z.shape[0], _CHUNK):
            zb = z[i : i + _CHUNK]
            _, cond = self._draw_conditions(zb.shape[0], prob, generator, z.device)
            parts.append(self._from_net(G(zb, cond, generator)))
        return np.concatenate(parts)

    @torch.no_grad()
    def sample(self, n_samples: int = 1, *, random_state=None, return_latent: bool = False):
        """``n_samples`` rows (in the layout of ``feature_groups``; one-hot groups come back
        as Gumbel-softmax values, whose largest entry is the category)."""
        self._check_fitted()
        return self._sample(self._check_n(n_samples), None, random_state, return_latent)
