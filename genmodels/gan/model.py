"""The GAN estimators: ``GAN`` and its class-conditional ``ConditionalGAN``.

Both are neural models on the shared trainer with two parameter groups stepping in turn
on each batch: ``"discriminator"`` first, then ``"generator"`` (for WGAN-GP the generator
steps on every ``n_critic``-th batch only, so each critic step sees a fresh batch, as in
Gulrajani et al.'s algorithm 1). Checkpoints, exact resumption, the progress bar with
both losses, ``history_`` and torchrun data parallelism are the trainer's.

A GAN has no likelihood: ``score_samples`` raises :class:`~genmodels.exceptions.
NoLikelihoodError`, which names what to judge samples with instead
(:mod:`genmodels.metrics`). Its latent space is walked with :meth:`BaseGAN.interpolate`
between latent codes; nothing pretends to encode data.

Data scale: the generator works in a scale of its own, fixed at ``fit``. With a tanh
output (``output="tanh"``, the default for images and for data inside [0, 1]) the
training data's range [min, max] maps to [-1, 1], so samples stay in that range; with a
linear output every feature is standardised. Public methods take and return rows in the
data's own units (images flattened; ``image_shape`` says how to fold them).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from .. import attributes as A
from ..backend import to_numpy
from ..base import Capabilities
from ..exceptions import NoLikelihoodError
from ..nn._checkpoint import checkpoint_owner
from ..nn.base import _RUN_ONLY, NeuralModel
from ..nn.shapes import fold_rows, input_shape, is_image_shape, unfold_rows
from ..nn.trainer import StepContext, Trainer
from ..registry import register
from ..vae._latent import interpolate as latent_path
from ..validation import (
    BOOL,
    NONE,
    Interval,
    OneOf,
    Satisfies,
    check_array,
    check_float32_range,
    check_n_features,
    check_random_state,
    fit_classes,
    label_codes,
)
from . import _losses
from ._networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    GANNet,
    MLPDiscriminator,
    MLPGenerator,
)

_DIMS = Satisfies(
    lambda v: (
        isinstance(v, tuple | list)
        and len(v) >= 1
        and all(isinstance(s, int | np.integer) and s > 0 for s in v)
    ),
    "a non-empty tuple of positive integers",
)

_PARAM_SPEC: dict[str, list] = {
    "latent_dim": [Interval(int, 1, None)],
    "architecture": [OneOf(("auto", "mlp", "dcgan"))],
    "image_shape": [
        NONE,
        Satisfies(is_image_shape, "(height, width) or (height, width, channels)"),
    ],
    "hidden_dims": [_DIMS],
    "generator_channels": [_DIMS],
    "discriminator_channels": [_DIMS],
    "loss": [OneOf(_losses.LOSSES)],
    "n_critic": [OneOf(("auto",)), Interval(int, 1, None)],
    "gp_weight": [Interval(float, 0.0, None)],
    "spectral_norm": [BOOL],
    "discriminator_norm": [OneOf(("auto", "batch", "layer", "none"))],
    "ema": [NONE, Interval(float, 0.0, 1.0, closed="neither")],
    "betas": [
        OneOf(("auto",)),
        Satisfies(
            lambda v: (
                isinstance(v, tuple | list)
                and len(v) == 2
                and all(isinstance(b, int | float) and 0 <= b < 1 for b in v)
            ),
            "(beta1, beta2), each in [0, 1)",
        ),
    ],
    "lr_discriminator": [NONE, Interval(float, 0.0, None, closed="neither")],
    "output": [OneOf(("auto", "tanh", "linear"))],
    "monitor_classes": [NONE, OneOf(("mnist",))],
    "monitor_every": [Interval(int, 1, None)],
    "monitor_samples": [Interval(int, 10, None)],
}

#: Chunk of rows generated at once in ``sample`` (bounded memory for any n).
_CHUNK = 1024


class BaseGAN(NeuralModel):
    """What GAN and ConditionalGAN share; see the module docstring."""

    _param_spec = _PARAM_SPEC
    _conditional = False

    _fitted_spec = {
        "feature_shape_": A.Attr(
            (None,),
            kind="int",
            constraints=(
                A.Range(1),
                A.Check(
                    lambda v, ctx: int(np.prod(v)) == ctx.get("n_features_in_"),
                    "its product is n_features_in_",
                ),
            ),
        ),
        "output_": A.Attr((), kind="str"),
        "data_offset_": A.Attr(("n_features_in_",), constraints=(A.FINITE,)),
        "data_scale_": A.Attr(("n_features_in_",), constraints=(A.FINITE, A.Range(0.0, None))),
    }

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {
            "latent_dim": 4,
            "hidden_dims": (16,),
            "epochs": 3,
            "batch_size": 32,
            "random_state": 0,
        }

    # -- hyper-parameters resolved -------------------------------------------------------

    def _n_critic(self) -> int:
        if self.n_critic == "auto":
            return 5 if self.loss == "wgan-gp" else 1
        return int(self.n_critic)

    def _betas(self) -> tuple[float, float]:
        if self.betas == "auto":  # Radford et al.'s Adam for DCGAN; Gulrajani et al.'s
            return (0.0, 0.9) if self.loss == "wgan-gp" else (0.5, 0.999)
        return (float(self.betas[0]), float(self.betas[1]))

    def _discriminator_norm(self) -> str:
        if self.discriminator_norm != "auto":
            return self.discriminator_norm
        # Batch norm (DCGAN's, for its convolutions) mixes the rows of a batch, which the
        # gradient penalty's per-row gradients and spectral normalisation's Lipschitz
        # bound both assume away; fully connected discriminators train better without.
        plain = self.loss == "non-saturating" and not self.spectral_norm
        return "batch" if plain and self._is_conv() else "none"

    def _is_conv(self) -> bool:
        if self.architecture == "auto":
            return self.image_shape is not None
        return self.architecture == "dcgan"

    # -- data -------------------------------------------------------------------------------

    def _check_X(self, X, *, fitting: bool, name: str = "X") -> np.ndarray:
        owner = type(self).__name__
        arr = check_array(X, name=name, owner=owner)
        if fitting:
            self._remember_features(X, arr)
        else:
            check_n_features(arr, self.n_features_in_, owner, name)
        check_float32_range(arr, owner, name)
        return arr

    def _fit_scale(self, arr: np.ndarray) -> None:
        lo, hi = float(arr.min()), float(arr.max())
        output = self.output
        if output == "auto":
            output = "tanh" if self._is_conv() or (lo >= 0.0 and hi <= 1.0) else "linear"
        self.output_ = output
        d = arr.shape[1]
        if output == "tanh":
            half = (hi - lo) / 2 if hi > lo else 1.0
            self.data_offset_ = np.full(d, (lo + hi) / 2)
            self.data_scale_ = np.full(d, half)
        else:
            std = arr.std(axis=0)
            self.data_offset_ = arr.mean(axis=0)
            self.data_scale_ = np.where(std > 0, std, 1.0)

    def _to_net(self, arr: np.ndarray) -> torch.Tensor:
        """Rows in data units -> the network's scale, shaped (N, *feature_shape_)."""
        x = (arr - self.data_offset_) / self.data_scale_
        return fold_rows(torch.as_tensor(x, dtype=torch.float32), self.feature_shape_)

    def _from_net(self, x: torch.Tensor) -> np.ndarray:
        out = to_numpy(unfold_rows(x)).astype(np.float64)
        return out * self.data_scale_ + self.data_offset_

    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        owner = type(self).__name__
        if self.early_stopping is not None:
            raise ValueError(
                f"{owner}: early_stopping needs a held-out loss that falls as samples improve, "
                "which a GAN has not; leave it None and judge epochs by genmodels.metrics"
            )
        arr = self._check_X(X, fitting=fitting)
        if fitting and arr.shape[0] < 2:
            raise ValueError(
                f"{owner}: a GAN needs at least 2 rows of X to train (its discriminator and "
                f"batch norm compare the rows of a batch), got {arr.shape[0]}"
            )
        if fitting:
            self._train_rows = arr.shape[0]
        if fitting and self.monitor_classes is not None and arr.shape[1] != 784:
            raise ValueError(
                f"{owner}: monitor_classes='mnist' classifies MNIST-shaped images (784 "
                f"pixels); the data have {arr.shape[1]} features"
            )
        if fitting:
            self.feature_shape_ = input_shape(
                arr.shape[1], "conv" if self._is_conv() else "mlp", self.image_shape, owner
            )
            self._fit_scale(arr)
        tensors = [self._to_net(arr)]
        if self._conditional:
            if y is None:
                raise ValueError(f"{owner}: fit needs class labels y (a conditional model)")
            if fitting:
                self.classes_ = fit_classes(y, arr.shape[0], owner, "row")
            codes = self._codes(y, arr.shape[0])
            if fitting:
                counts = np.bincount(codes, minlength=len(self.classes_))
                self.class_prior_ = counts / counts.sum()
            tensors.append(torch.as_tensor(codes))
        return TensorDataset(*tensors)

    def _codes(self, y, n: int) -> np.ndarray:
        return label_codes(y, self.classes_, n, type(self).__name__, "row")

    # -- the networks -----------------------------------------------------------------------

    def _build_module(self) -> GANNet:
        n_classes = len(self.classes_) if self._conditional else 0
        shape = self.feature_shape_
        conditioning = getattr(self, "conditioning", "projection")
        norm = self._discriminator_norm()
        if len(shape) == 3:
            gen = DCGANGenerator(self.latent_dim, shape, self.generator_channels, n_classes)
            disc = DCGANDiscriminator(
                shape, self.discriminator_channels, n_classes, conditioning,
                self.spectral_norm, norm,
            )  # fmt: skip
        else:
            gen = MLPGenerator(self.latent_dim, shape, self.hidden_dims, n_classes)
            disc = MLPDiscriminator(
                shape, self.hidden_dims, n_classes, conditioning, self.spectral_norm, norm
            )
        if self.output_ == "tanh":
            gen = _Tanh(gen)
        return GANNet(gen, disc, ema=self.ema is not None)

    # -- the trainer's task ---------------------------------------------------------------

    def _trainer(self, seed: int, device: torch.device, validation=None) -> Trainer:
        trainer = super()._trainer(seed, device, validation)
        lr_d = self.lr if self.lr_discriminator is None else self.lr_discriminator
        # A last batch of one row would break batch norm (and says little): drop it; the
        # shuffle gives that row its turn in other epochs.
        lone = getattr(self, "_train_rows", 0) % self.batch_size == 1
        return dataclasses.replace(
            trainer,
            lr={"discriminator": lr_d, "generator": self.lr},
            betas=self._betas(),
            drop_last=lone,
        )

    def _checkpoint_owner(self) -> dict[str, Any]:
        # The monitor only watches: a run may resume with it turned on, off or changed.
        watch = {"monitor_classes", "monitor_every", "monitor_samples"}
        return checkpoint_owner(self, _RUN_ONLY | watch)

    def parameter_groups(self) -> dict[str, list]:
        net = self.module_
        return {
            "discriminator": list(net.discriminator.parameters()),
            "generator": list(net.generator.parameters()),
        }

    def group_every(self) -> dict[str, int]:
        return {"generator": self._n_critic()}

    def after_step(self, group: str, ctx: StepContext) -> None:
        if group == "generator" and self.ema is not None:
            # A warm-up (as in many GAN codebases): the average starts short and lengthens
            # to 1 / (1 - ema) steps, so early samples are not an average of noise.
            decay = min(float(self.ema), (1 + ctx.step) / (10 + ctx.step))
            self.module_.update_ema(decay)

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        """The mode-collapse monitor (``monitor_classes="mnist"``): every ``monitor_every``
        epochs, the same ``monitor_samples`` latent codes are generated and classified by
        genmodels.metrics' MNIST classifier; ``class_coverage`` (the share of the 10
        classes that get at least half an even share of the samples) and ``class_tv``
        (total variation from the uniform class histogram) go into ``history_`` (with
        ``monitor_epoch``, the 1-based epochs measured) and the progress bar."""
        if self.monitor_classes is None or (epoch + 1) % self.monitor_every:
            return {}
        from ..metrics import class_coverage, class_histogram_distance, mnist_classifier

        was_training = self.module_.training
        gen = torch.Generator(device=self._device()).manual_seed(_seed_of(self.random_state))
        z = self._noise(self.monitor_samples, gen, self._device())
        labels = None
        if self._conditional:  # the classes in the data's proportions, the same every time
            counts = np.round(self.class_prior_ * self.monitor_samples).astype(int)
            codes = np.repeat(np.arange(len(self.classes_)), counts)
            codes = np.resize(codes, self.monitor_samples)
            labels = torch.as_tensor(codes, device=self._device())
        images = np.clip(self._generate(z, labels), 0.0, 1.0)
        self.module_.train(was_training)
        probs = mnist_classifier().predict_proba(images)
        return {
            "class_coverage": class_coverage(probs, 10),
            "class_tv": class_histogram_distance(probs, 10),
            "monitor_epoch": float(epoch + 1),
        }

    def _noise(self, n: int, generator: torch.Generator, device) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator, device=device)

    def _losses(self, batch, ctx: StepContext) -> dict:
        net = self.module_
        x = batch[0]
        y = batch[1] if self._conditional else None
        n = x.shape[0]
        D = net.discriminator  # noqa: N806
        if ctx.group == "validation":
            fake = net.generator(self._noise(n, ctx.generator, x.device), y)
            real_out, fake_out = D(x, y), D(fake, y)
            return {
                "discriminator_loss": _losses.discriminator_loss(self.loss, real_out, fake_out),
                "generator_loss": _losses.generator_loss(self.loss, fake_out),
            }
        z = self._noise(n, ctx.generator, x.device)
        if ctx.group == "generator":
            fake_out = D(net.generator(z, y), y)
            return {"loss": _losses.generator_loss(self.loss, fake_out)}
        with torch.no_grad():
            fake = net.generator(z, y)
        real_out, fake_out = D(x, y), D(fake, y)
        loss = _losses.discriminator_loss(self.loss, real_out, fake_out)
        out = {"real": real_out.detach().mean(), "fake": fake_out.detach().mean()}
        if self.loss == "wgan-gp":
            gp = _losses.gradient_penalty(lambda v: D(v, y), x, fake, ctx.generator)
            loss = loss + self.gp_weight * gp
            out["gp"] = gp.detach()
            out["wasserstein"] = out["real"] - out["fake"]
        return {"loss": loss, **out}

    # -- no likelihood ------------------------------------------------------------------------

    def score_samples(self, X, y=None):
        """A GAN has no likelihood: raises :class:`~genmodels.exceptions.NoLikelihoodError`."""
        raise NoLikelihoodError(
            f"{type(self).__name__} has no likelihood, so score_samples (and score) are not "
            "defined; judge its samples with genmodels.metrics (evaluate_samples: Frechet "
            "distance, KID, precision and recall, coverage) or `genmodels evaluate MODEL`"
        )

    # -- sampling and the latent space ------------------------------------------------------

    @torch.no_grad()
    def _generate(
        self, z: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator | None = None
    ) -> np.ndarray:
        """Rows (data units) from latent codes (and label codes), chunk by chunk;
        ``generator``, the sample's random stream, is for generators that draw noise of
        their own (TabularGAN's Gumbel-softmax), unused here."""
        net = self.module_.eval()
        G = net.sampler()  # noqa: N806
        parts = []
        for i in range(0, z.shape[0], _CHUNK):
            yb = None if labels is None else labels[i : i + _CHUNK]
            parts.append(self._from_net(G(z[i : i + _CHUNK], yb)))
        return np.concatenate(parts)

    def _sample(self, n: int, labels, random_state, return_latent: bool):
        gen = self._generator(random_state)
        z = self._noise(n, gen, self._device())
        X = self._generate(z, labels, gen)
        return (X, to_numpy(z).astype(np.float64)) if return_latent else X

    def decode(self, Z, y=None) -> np.ndarray:
        """Rows the generator makes from latent codes ``Z`` (n, latent_dim)."""
        self._check_fitted()
        z = check_array(Z, name="Z", owner=type(self).__name__)
        check_float32_range(z, type(self).__name__, "Z")
        if z.shape[1] != self.latent_dim:
            raise ValueError(
                f"Z must have {self.latent_dim} columns (latent_dim), got shape {z.shape}"
            )
        zt = torch.as_tensor(z, dtype=torch.float32, device=self._device())
        return self._generate(zt, self._label_tensor(y, z.shape[0]))

    def _label_tensor(self, y, n: int) -> torch.Tensor | None:
        return None

    def interpolate(
        self,
        steps: int = 8,
        *,
        z_a=None,
        z_b=None,
        method: str = "spherical",
        y=None,
        random_state=None,
    ) -> np.ndarray:
        """Rows along a path through the latent space, ends included: (steps, n_features).

        The path runs from ``z_a`` to ``z_b`` (latent codes, (latent_dim,)); each one not
        given is drawn from the prior with ``random_state``. ``"spherical"`` (slerp, the
        default) keeps the path at the typical radius of the Gaussian prior; ``"linear"``
        cuts through its centre. A GAN has no encoder, so paths start from codes, not
        from data rows."""
        self._check_fitted()
        if not isinstance(steps, int | np.integer) or steps < 2:
            raise ValueError(f"steps must be an integer of at least 2, got {steps!r}")
        gen = self._generator(random_state)
        ends = []
        for given in (z_a, z_b):
            z = self._noise(1, gen, self._device())[0]
            if given is not None:
                arr = np.asarray(given, dtype=np.float64).reshape(-1)
                if arr.shape != (self.latent_dim,) or not np.isfinite(arr).all():
                    raise ValueError(
                        f"z_a and z_b must be finite codes of {self.latent_dim} values "
                        f"(latent_dim), got shape {np.asarray(given).shape}"
                    )
                z = torch.as_tensor(arr, dtype=torch.float32, device=self._device())
            ends.append(z)
        path = latent_path(ends[0], ends[1], int(steps), method)
        return self._generate(path, self._label_tensor(y, int(steps)))


def _seed_of(random_state) -> int:
    """A fixed seed for the monitor's latent codes (the same codes every epoch)."""
    if isinstance(random_state, int | np.integer):
        return int(random_state) + 1
    return 1


class _Tanh(torch.nn.Module):
    """A generator whose output is squashed into [-1, 1] (the data's range, scaled)."""

    def __init__(self, body: torch.nn.Module):
        super().__init__()
        self.body = body

    def forward(self, z, y=None):
        return torch.tanh(self.body(z, y))


@register("gan")
class GAN(BaseGAN):
    """Generative adversarial network (Goodfellow et al. 2014): a generator G(z), z ~ N(0, I)
    of ``latent_dim`` dimensions, trained against a discriminator D(x).

    Parameters
    ----------
    latent_dim : int, default 100
    architecture : {"auto", "mlp", "dcgan"}, default "auto"
        ``"dcgan"``: the convolutional networks of Radford et al. (2016) for images
        (``image_shape``; square single-channel rows are folded by themselves); ``"auto"``:
        DCGAN when ``image_shape`` is given, else fully connected networks.
    image_shape : (H, W) or (H, W, C), optional
        How each row folds into an image (rows are images flattened channel-last, as
        numpy and PIL lay them out); any size (28x28, 8x8, odd sizes), nothing padded.
    hidden_dims : tuple of int, default (256, 256)
        Widths of the MLP generator's and discriminator's hidden layers.
    generator_channels : tuple of int, default (128, 64)
        DCGAN generator: channels after the projection of z and after each upsampling but
        the last (one stride-2 stage per entry: (128, 64) turns 7x7 into 28x28).
    discriminator_channels : tuple of int, default (64, 128)
        DCGAN discriminator: channels of its stride-2 convolutions.
    loss : {"non-saturating", "hinge", "wgan-gp"}, default "non-saturating"
    n_critic : int or "auto", default "auto"
        Discriminator steps per generator step, each on its own batch ("auto": 5 for
        WGAN-GP, else 1).
    gp_weight : float, default 10.0
        WGAN-GP's gradient-penalty weight (lambda).
    spectral_norm : bool, default False
        Spectral normalisation of every discriminator layer (Miyato et al. 2018).
    discriminator_norm : {"auto", "batch", "layer", "none"}, default "auto"
        ``"auto"``: batch norm for the plain non-saturating DCGAN, none for MLPs, WGAN-GP
        (its penalty is per row), hinge or spectral normalisation.
    ema : float in (0, 1), optional
        Keep an exponential moving average of the generator's weights with this decay
        (e.g. 0.999) and sample from it.
    betas : (float, float) or "auto", default "auto"
        Adam's betas: (0.5, 0.999) as Radford et al., (0, 0.9) for WGAN-GP as Gulrajani et al.
    lr : float, default 2e-4
        Both networks' learning rate (the generator's when ``lr_discriminator`` is set).
    lr_discriminator : float, optional
        The discriminator's own rate (two time-scale updates, Heusel et al. 2017).
    output : {"auto", "tanh", "linear"}, default "auto"
        The generator's output: ``"tanh"`` (the data's [min, max] range mapped to [-1, 1];
        the default for images and data inside [0, 1]) or ``"linear"`` on standardised
        features.
    monitor_classes : {None, "mnist"}, default None
        A mode-collapse monitor for MNIST-shaped data: every ``monitor_every`` epochs the
        same ``monitor_samples`` (default 1000) latent codes are classified by
        genmodels.metrics' MNIST classifier, and the class coverage goes into
        ``history_`` and the progress bar (see :meth:`epoch_metrics`).
    epochs, batch_size, optimizer, weight_decay, lr_schedule, warmup_steps, grad_clip,
    checkpoint_dir, checkpoint_every, device, mixed_precision, random_state, verbose :
        the trainer's, as on every neural model (``early_stopping`` must stay None).

    Attributes
    ----------
    n_features_in_, feature_shape_ : the rows and how they fold ((C, H, W) for DCGAN).
    output_, data_offset_, data_scale_ : the generator's output and the data's scale.
    module_ : the generator, the discriminator (and ``generator_ema``).
    history_ : per epoch ``discriminator_loss``, ``discriminator_real`` and ``_fake`` (mean
        outputs), ``generator_loss``; for WGAN-GP ``discriminator_gp`` and
        ``discriminator_wasserstein`` (the critic's estimate of the distance); learning
        rates and ``epoch_time``.
    """

    capabilities = Capabilities(
        likelihood="none",
        latent=True,
        input_kind="continuous",
        neural=True,
        resumable=True,
    )

    def __init__(
        self,
        latent_dim: int = 100,
        *,
        architecture: str = "auto",
        image_shape: tuple[int, ...] | None = None,
        hidden_dims: tuple[int, ...] = (256, 256),
        generator_channels: tuple[int, ...] = (128, 64),
        discriminator_channels: tuple[int, ...] = (64, 128),
        loss: str = "non-saturating",
        n_critic="auto",
        gp_weight: float = 10.0,
        spectral_norm: bool = False,
        discriminator_norm: str = "auto",
        ema: float | None = None,
        betas="auto",
        lr_discriminator: float | None = None,
        output: str = "auto",
        monitor_classes: str | None = None,
        monitor_every: int = 1,
        monitor_samples: int = 1000,
        epochs: int = 25,
        batch_size: int = 64,
        optimizer: str = "adam",
        lr: float = 2e-4,
        weight_decay: float = 0.0,
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
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.image_shape = image_shape
        self.hidden_dims = hidden_dims
        self.generator_channels = generator_channels
        self.discriminator_channels = discriminator_channels
        self.loss = loss
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.spectral_norm = spectral_norm
        self.discriminator_norm = discriminator_norm
        self.ema = ema
        self.betas = betas
        self.lr_discriminator = lr_discriminator
        self.output = output
        self.monitor_classes = monitor_classes
        self.monitor_every = monitor_every
        self.monitor_samples = monitor_samples
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

    @torch.no_grad()
    def sample(self, n_samples: int = 1, *, random_state=None, return_latent: bool = False):
        """Draw ``n_samples`` rows G(z), z ~ N(0, I) (and z if ``return_latent``)."""
        self._check_fitted()
        return self._sample(self._check_n(n_samples), None, random_state, return_latent)


@register("cgan")
class ConditionalGAN(BaseGAN):
    """A GAN conditioned on class labels (Mirza & Osindero 2014): G(z, y) and D(x, y),
    fitted with ``fit(X, y)``; ``sample(n, y=...)`` draws rows of chosen classes.

    Parameters: as :class:`GAN`, plus ``conditioning`` : {"projection", "concat"}, default
    "projection": how the discriminator takes the label, by the projection of Miyato &
    Koyama (2018) (the logit gains <embed(y), phi(x)>), or as one-hot values joined to its
    input (constant channels for images). The generator always takes a one-hot label
    joined to z.

    Attributes: as :class:`GAN`, plus ``classes_`` (the labels seen in ``fit``) and
    ``class_prior_`` (their frequencies, from which ``sample`` draws labels when given
    none)."""

    capabilities = Capabilities(
        likelihood="none",
        latent=True,
        conditional_sampling=True,
        supervised=True,
        input_kind="continuous",
        neural=True,
        resumable=True,
    )

    _param_spec = {**_PARAM_SPEC, "conditioning": [OneOf(("projection", "concat"))]}
    _conditional = True

    _fitted_spec = {
        "classes_": A.Attr(
            ("n_classes",), kind=("int", "float", "str", "bool"), constraints=(A.SORTED_UNIQUE,)
        ),
        "class_prior_": A.Attr(("n_classes",), constraints=(A.FINITE, A.Simplex())),
    }

    def __init__(
        self,
        latent_dim: int = 100,
        *,
        conditioning: str = "projection",
        architecture: str = "auto",
        image_shape: tuple[int, ...] | None = None,
        hidden_dims: tuple[int, ...] = (256, 256),
        generator_channels: tuple[int, ...] = (128, 64),
        discriminator_channels: tuple[int, ...] = (64, 128),
        loss: str = "non-saturating",
        n_critic="auto",
        gp_weight: float = 10.0,
        spectral_norm: bool = False,
        discriminator_norm: str = "auto",
        ema: float | None = None,
        betas="auto",
        lr_discriminator: float | None = None,
        output: str = "auto",
        monitor_classes: str | None = None,
        monitor_every: int = 1,
        monitor_samples: int = 1000,
        epochs: int = 25,
        batch_size: int = 64,
        optimizer: str = "adam",
        lr: float = 2e-4,
        weight_decay: float = 0.0,
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
        self.latent_dim = latent_dim
        self.conditioning = conditioning
        self.architecture = architecture
        self.image_shape = image_shape
        self.hidden_dims = hidden_dims
        self.generator_channels = generator_channels
        self.discriminator_channels = discriminator_channels
        self.loss = loss
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.spectral_norm = spectral_norm
        self.discriminator_norm = discriminator_norm
        self.ema = ema
        self.betas = betas
        self.lr_discriminator = lr_discriminator
        self.output = output
        self.monitor_classes = monitor_classes
        self.monitor_every = monitor_every
        self.monitor_samples = monitor_samples
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

    def _label_tensor(self, y, n: int) -> torch.Tensor:
        if y is None:
            raise ValueError(f"{type(self).__name__}: pass the class label(s) y")
        return torch.as_tensor(self._codes(y, n), device=self._device())

    @torch.no_grad()
    def sample(self, n_samples: int = 1, *, y=None, random_state=None, return_latent: bool = False):
        """Draw rows of classes ``y`` (one label for all, or one per sample); with no ``y``
        the labels are drawn from ``class_prior_``."""
        self._check_fitted()
        n = self._check_n(n_samples)
        if y is None:
            rng = check_random_state(self.random_state if random_state is None else random_state)
            y = self.classes_[rng.choice(len(self.classes_), size=n, p=self.class_prior_)]
        return self._sample(n, self._label_tensor(y, n), random_state, return_latent)
