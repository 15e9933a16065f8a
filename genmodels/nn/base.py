"""The base of every genmodels model trained by gradient descent.

:class:`NeuralModel` keeps the estimator contract (hyper-parameters stored untouched in
``__init__``, fitted state ending in ``_``, ``fit`` returns ``self``) and hands training
to the one :class:`~genmodels.nn.trainer.Trainer`. A subclass supplies four things:

* ``_dataset(X, y, fitting)``: validate the input (clear errors) and return a
  ``torch.utils.data.Dataset`` (a ``TensorDataset`` for arrays, so batches are slices);
  when ``fitting``, also set the fitted attributes that shape the network
  (``n_features_in_`` ...);
* ``_build_module()``: the ``nn.Module`` from hyper-parameters and those attributes only
  (so a saved model is rebuilt without data);
* ``_losses(batch, ctx)``: a dict of batch-mean losses whose ``"loss"`` is minimised;
* optionally ``parameter_groups`` / ``group_steps`` for several optimisers (GANs).

Saving writes the module's weights as tensors ``module_/<key>`` beside the other fitted
attributes in the usual safe file; loading rebuilds the module and loads them.

The training hyper-parameters every neural model takes, with the same names and meanings:
``epochs``, ``batch_size``, ``optimizer``, ``lr``, ``weight_decay``, ``lr_schedule``,
``warmup_steps``, ``grad_clip``, ``early_stopping``, ``checkpoint_dir``,
``checkpoint_every``, ``device``, ``mixed_precision``, ``random_state``, ``verbose``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from .. import attributes as A
from ..backend import resolve_device, torch_generator
from ..base import GenerativeModel
from ..progress import logger
from ..validation import (
    DEVICE,
    NONE,
    SEED,
    Interval,
    OneOf,
    Satisfies,
    check_is_fitted,
    check_random_state,
    validate_params,
)
from ._checkpoint import checkpoint_owner
from .trainer import StepContext, Trainer, TrainResult

TRAIN_PARAM_SPEC: dict[str, list] = {
    "epochs": [Interval(int, 1, None)],
    "batch_size": [Interval(int, 1, None)],
    "optimizer": [OneOf(("adam", "adamw", "sgd", "rmsprop"))],
    "lr": [Interval(float, 0.0, None, closed="neither")],
    "weight_decay": [Interval(float, 0.0, None)],
    "lr_schedule": [OneOf(("constant", "cosine", "linear", "exponential"))],
    "warmup_steps": [Interval(int, 0, None)],
    "grad_clip": [NONE, Interval(float, 0.0, None, closed="neither")],
    "early_stopping": [NONE, Interval(int, 1, None)],
    "checkpoint_dir": [NONE, Satisfies(lambda v: isinstance(v, str), "a folder path")],
    "checkpoint_every": [Interval(int, 1, None)],
    "device": [DEVICE],
    "mixed_precision": [OneOf(("auto", "float32", "bfloat16", "float16"))],
    "random_state": [NONE, SEED],
    "verbose": [Interval(int, 0, None)],
}
# Hyper-parameters that may change between a killed run and its resumption.
_RUN_ONLY = {"epochs", "verbose", "checkpoint_dir", "checkpoint_every", "device", "mixed_precision"}
_MODULE_PREFIX = "module_/"


def _seed(random_state) -> int:
    if isinstance(random_state, int | np.integer):
        return int(random_state)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class NeuralModel(GenerativeModel):
    """Abstract base of neural generative models; see the module docstring."""

    _param_spec: dict[str, list] = {}

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    # The weights must be those of the network the hyper-parameters build.
    _fitted_spec = {
        "module_": A.ModuleState(_MODULE_PREFIX),
        "history_": A.HISTORY,
        "n_epochs_": A.N_ITER,
        "best_epoch_": A.Attr((), kind="int", constraints=(A.Range(0),), nullable=True),
        "stopped_early_": A.Attr((), kind="bool"),
    }

    # -- what a subclass supplies ---------------------------------------------------------

    @abstractmethod
    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        """Validated data as a Dataset (setting shape attributes when ``fitting``)."""

    @abstractmethod
    def _build_module(self) -> nn.Module:
        """The network, from hyper-parameters and shape attributes alone."""

    @abstractmethod
    def _losses(self, batch: tuple[torch.Tensor, ...], ctx: StepContext) -> dict:
        """Batch-mean losses; ``"loss"`` is what the optimiser minimises."""

    # -- the TrainingTask the trainer drives ------------------------------------------------

    def training_module(self) -> nn.Module:
        return self.module_

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"model": [p for p in self.module_.parameters() if p.requires_grad]}

    def group_steps(self) -> dict[str, int]:
        return {}

    def training_step(self, batch, ctx: StepContext) -> dict:
        return self._losses(batch, ctx)

    def validation_step(self, batch, ctx: StepContext) -> dict:
        return self._losses(batch, ctx)

    # -- fit ------------------------------------------------------------------------------

    def fit(self, X, y=None, *, validation_data=None, resume: bool = False):
        """Train on ``X`` (an array, or a torch ``Dataset``) and return ``self``.

        ``validation_data``: held-out ``X`` (or ``(X, y)``), scored every epoch into
        ``history_["val_*"]`` and used by ``early_stopping``. ``resume=True`` continues from
        the checkpoint in ``checkpoint_dir`` when there is one (the same model and
        hyper-parameters; ``epochs`` may be raised), else starts afresh."""
        validate_params(self, {**TRAIN_PARAM_SPEC, **self._param_spec})
        if resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir, the folder to resume from")
        train = self._dataset(X, y, fitting=True)
        val = None
        if validation_data is not None:
            vx, vy = (
                validation_data
                if isinstance(validation_data, tuple) and len(validation_data) == 2
                else (validation_data, None)
            )
            val = self._dataset(vx, vy, fitting=False)
        seed = _seed(self.random_state)
        device = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.module_ = self._build_module().to(device)
        result = self._trainer(seed, device, val).fit(self, train, val, resume=resume)
        self._record(result)
        return self

    def _monitor(self, validation: Dataset | None) -> tuple[str | None, str]:
        """The metric early stopping watches and whether lower ("min") or higher ("max")
        is better; ``None`` lets the trainer choose (``val_loss``, else ``loss``)."""
        return None, "min"

    def _trainer(self, seed: int, device: torch.device, validation=None) -> Trainer:
        monitor, mode = self._monitor(validation)
        return Trainer(
            monitor=monitor,
            monitor_mode=mode,
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            lr=self.lr,
            weight_decay=self.weight_decay,
            lr_schedule=self.lr_schedule,
            warmup_steps=self.warmup_steps,
            grad_clip=self.grad_clip,
            early_stopping=self.early_stopping,
            device=device,
            mixed_precision=self.mixed_precision,
            checkpoint_dir=self.checkpoint_dir,
            checkpoint_every=self.checkpoint_every,
            seed=seed,
            verbose=self.verbose,
            desc=type(self).__name__,
            owner=self._checkpoint_owner(),
        )

    def _checkpoint_owner(self) -> dict[str, Any]:
        return checkpoint_owner(self, _RUN_ONLY)

    def _record(self, result: TrainResult) -> None:
        self.history_ = result.history
        self.n_epochs_ = result.epochs_run
        self.best_epoch_ = result.best_epoch
        self.stopped_early_ = result.stopped_early

    # -- helpers for subclasses -------------------------------------------------------------

    def _check_fitted(self) -> None:
        check_is_fitted(self, "module_")

    def _generator(self, random_state) -> torch.Generator:
        """The torch generator of a draw: seeded by ``random_state``, else by the model's
        ``random_state`` (so the same seed gives the same samples), on the model's device."""
        seed = self.random_state if random_state is None else random_state
        return torch_generator(check_random_state(seed), self._device())

    def _check_count(self, value, name: str) -> int:
        """A count argument (``n_samples``, ``length``, ``n_tokens`` ...): a positive
        integer, not a bool, as an int; else a ValueError naming the model and ``name``."""
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(
                f"{type(self).__name__}: {name} must be a positive integer, got {value!r}"
            )
        return int(value)

    def _check_n(self, n_samples) -> int:
        """``n_samples`` of ``sample``: :meth:`_check_count`."""
        return self._check_count(n_samples, "n_samples")

    def _device(self) -> torch.device:
        return next(self.module_.parameters()).device

    # -- persistence ----------------------------------------------------------------------

    def _fitted_state(self) -> dict[str, Any]:
        state = {k: v for k, v in super()._fitted_state().items() if k != "module_"}
        if "module_" in vars(self):
            for k, t in self.module_.state_dict().items():
                state[_MODULE_PREFIX + k] = t.detach().cpu().numpy()
        return state

    def _restore_state(self, state: dict[str, Any]) -> None:
        weights = {
            k[len(_MODULE_PREFIX) :]: torch.from_numpy(np.array(v))
            for k, v in state.items()
            if k.startswith(_MODULE_PREFIX)
        }
        super()._restore_state({k: v for k, v in state.items() if not k.startswith(_MODULE_PREFIX)})
        try:
            device = resolve_device(self.device)
        except ValueError:
            logger.warning("%s: %r is not available here; loading on the CPU", self, self.device)
            device = torch.device("cpu")
        module = self._build_module()
        try:
            module.load_state_dict(weights)
        except RuntimeError as exc:
            from ..exceptions import ModelFileError

            raise ModelFileError(f"the weights in the file do not fit the network: {exc}") from None
        self.module_ = module.to(device).eval()
