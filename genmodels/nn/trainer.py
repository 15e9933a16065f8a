"""The one training loop every gradient-trained genmodels model shares.

A model hands the :class:`Trainer` a :class:`TrainingTask`: its ``nn.Module``, its named
parameter groups (one optimiser each: ``{"model": ...}`` for a VAE, ``{"generator": ...,
"discriminator": ...}`` for a GAN), how many steps each group takes per batch, and a
``training_step`` that returns a dict of losses whose ``"loss"`` is minimised. The trainer
owns everything else, written once:

* mini-batches (in-memory tensors are sliced by a seeded permutation without a DataLoader;
  any other map-style ``torch.utils.data.Dataset`` is indexed and collated with
  ``default_collate``), optimisers (Adam, AdamW, SGD
  with momentum, RMSprop), a learning-rate schedule computed from the step number
  (constant, cosine, linear or exponential decay, with linear warm-up), gradient clipping;
* several optimisers stepping in turn on each batch (GANs), each group's schedule spanning
  the steps that group takes;
* validation every epoch, early stopping on a monitored metric with the best weights
  restored, ``history`` of every metric per epoch (row-weighted means over the epoch's
  batches; ``lr`` is the rate of the epoch's last step, per group as ``<group>_lr`` when
  there are several, and losses are ``<group>_<name>`` then);
* a progress bar with the running loss (``verbose``), device selection and mixed precision
  (bfloat16 autocast, or float16 with a gradient scaler) where the device has it;
* atomic checkpoints every ``checkpoint_every`` epochs and exact resumption;
* data parallelism under ``torchrun``: each process takes an equal slice of every global
  batch and gradients are averaged with one coalesced ``all_reduce`` per optimiser step, so
  the result equals single-process training on the same global batch (for losses that are
  means over the batch).

A task that updates its parameters itself (``optimizer="manual"``: Boltzmann machines,
whose contrastive-divergence statistics are not the gradient of a loss) is a
:class:`ManualTask`: per step it returns its share of the update's statistics from
``update_statistics`` (the trainer sums them over processes) and applies them with the
scheduled rate ``ctx.lr`` in ``apply_update``. Everything else (batches, epochs, the
schedule, monitoring and early stopping, checkpoints and resumption) is the same loop.

Any task may also define the optional methods of :class:`TaskHooks`: state of its own
that checkpoints must keep (persistent chains, a random stream, momentum), the order of
each epoch's rows (a model that draws it from its own generator), metrics computed once
per epoch on the whole of some data (a monitor that is not a mean over batches).

Randomness is explicit: ``seed`` fixes the shuffling generator, the step generator passed
to ``training_step`` (for a model's own noise, e.g. the reparameterisation) and, inside a
forked RNG scope, torch's global generator (dropout), so the same seed gives the same
weights and the caller's global RNG state is left as it was. Validation draws from a
generator of its own, re-seeded identically every epoch: scoring held-out data does not
change the training run, and every epoch is scored with the same noise, so the monitored
metric moves only because the weights did.

How the loop is put together (each piece short enough to read at once):

* :class:`Trainer` is the configuration; ``fit`` builds a :class:`_Run` and runs it.
* ``_Run`` holds one run's pieces: the module, the optimisers (:class:`_Optimisers`: the
  groups, their steps per batch, their schedules and mixed precision), the generators,
  the :class:`Monitor` and the :class:`RunState`; ``run`` is the epoch loop, ``_epoch``
  one pass over the batches, ``_Optimisers.step`` one optimisation step of one group.
* :class:`Monitor` watches the monitored metric: the best value, its epoch and weights,
  patience and early stopping.
* :class:`RunState` is what a checkpoint holds besides tensors (epoch, steps, history);
  ``_Run.resume`` and ``_Run.checkpoint`` move a run to and from ``_checkpoint``.
* ``_Hooks`` resolves a task's optional :class:`TaskHooks` once (a task without one gets
  the trainer's default).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset, default_collate

from ..backend import available_threads
from ..progress import Progress, logger
from . import _checkpoint as ckpt
from . import _distributed as dist

OptimizerName = Literal["adam", "adamw", "sgd", "rmsprop", "manual"]
Schedule = Literal["constant", "cosine", "linear", "exponential"]
MixedPrecision = Literal["auto", "float32", "bfloat16", "float16"]


@dataclass
class StepContext:
    """What a training step may need besides its batch."""

    epoch: int  # 0-based
    step: int  # optimiser steps of this group taken so far, across epochs
    group: str  # the parameter group (optimiser) this step updates
    generator: torch.Generator  # for the model's own noise (on the training device)
    lr: float = math.nan  # the scheduled learning rate of this step (a manual update's)
    rows: int = 0  # rows of the global batch, over every process (batch[0] has this one's)
    world: dist.World = dist.World()  # the processes sharing the batch (rank, size)


class TrainingTask(Protocol):
    """What a model gives the trainer (``NeuralModel`` implements it)."""

    def training_module(self) -> nn.Module: ...

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]: ...

    def group_steps(self) -> dict[str, int]: ...

    def training_step(self, batch: tuple[torch.Tensor, ...], ctx: StepContext) -> dict: ...

    def validation_step(self, batch: tuple[torch.Tensor, ...], ctx: StepContext) -> dict: ...


Statistic = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # a pair (A, B) means A.T @ B


class ManualTask(Protocol):
    """A task that applies its own updates (``Trainer(optimizer="manual")``)."""

    def training_module(self) -> nn.Module: ...

    def parameter_groups(self) -> dict[str, list[torch.Tensor]]: ...

    def group_steps(self) -> dict[str, int]: ...

    def update_statistics(
        self, batch: tuple[torch.Tensor, ...], ctx: StepContext
    ) -> dict[str, Statistic]:
        """This process's share of the step's statistics: summed over the processes they
        must give the global batch's (so normalise by ``ctx.rows``, not the local rows).
        Called on every process for every step, even one whose slice of the batch is
        empty (a random stream shared by the processes stays in step)."""
        ...

    def apply_update(self, stats: dict[str, Statistic], ctx: StepContext) -> dict:
        """Update the parameters in place from the summed statistics at rate ``ctx.lr``;
        returns batch-mean metrics for the history (may be empty)."""
        ...

    def validation_step(self, batch: tuple[torch.Tensor, ...], ctx: StepContext) -> dict: ...


class TaskHooks(Protocol):
    """Optional methods of any task; the trainer uses those a task defines."""

    def extra_state(self) -> dict[str, Any]:
        """State of the task's own that a checkpoint keeps: tensors, or JSON values."""
        ...

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``extra_state`` gave (on resumption, after the module's weights)."""
        ...

    def batch_order(self, epoch: int) -> torch.Tensor:
        """The order of the training rows in ``epoch`` (a permutation of 0..N-1, the
        same on every process), instead of the trainer's seeded shuffle."""
        ...

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        """Metrics of the weights after ``epoch``'s batches, into the history (and for
        the monitor) beside the batch means."""
        ...

    def group_every(self) -> dict[str, int]:
        """Groups that step only on every k-th batch (counted across epochs): ``{"generator":
        5}`` gives WGAN-GP's five critic steps, each on a fresh batch, per generator step.
        The others step on every batch; on a batch where several step they go in the
        order of ``parameter_groups``."""
        ...

    def after_step(self, group: str, ctx: StepContext) -> None:
        """Called after each optimiser step of ``group`` (e.g. to update a moving average
        of the weights)."""
        ...


@dataclass
class TrainResult:
    history: dict[str, list[float]]
    epochs_run: int  # epochs completed in total (resumed runs included)
    best_epoch: int | None  # 1-based epoch whose weights were kept (early stopping)
    stopped_early: bool
    resumed_from: int | None  # epoch the run resumed after, if it did
    group_steps: dict[str, int] = field(default_factory=dict)  # steps each group took in all


@dataclass
class Trainer:
    """Trains a :class:`TrainingTask` (or a :class:`ManualTask`, with
    ``optimizer="manual"``); see the module docstring. ``lr`` and ``weight_decay`` may be
    dicts keyed by parameter group. ``schedule_by="epoch"`` makes the schedule's progress
    the epoch's fraction of ``epochs`` (constant within an epoch) instead of the step's
    fraction of the group's steps. ``min_delta``: how much the monitored metric must
    improve to count as better."""

    epochs: int = 10
    batch_size: int = 128
    optimizer: OptimizerName = "adam"
    lr: float | dict[str, float] = 1e-3
    weight_decay: float | dict[str, float] = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9
    lr_schedule: Schedule = "constant"
    lr_decay: float = 0.97  # per epoch, for "exponential"
    schedule_by: Literal["step", "epoch"] = "step"
    warmup_steps: int = 0
    grad_clip: float | None = None
    early_stopping: int | None = None  # patience in epochs
    monitor: str | None = None  # default: "val_loss" with validation data, else "loss"
    monitor_mode: Literal["min", "max"] = "min"  # "max" for a score (e.g. val_ndcg)
    min_delta: float = 1e-12
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    mixed_precision: MixedPrecision = "auto"
    checkpoint_dir: str | os.PathLike | None = None
    checkpoint_every: int = 1
    seed: int = 0
    verbose: int = 0
    desc: str = "training"
    epochs_name: str = "epochs"  # the model's name for `epochs`, in messages (n_iter for BMs)
    drop_last: bool = False
    owner: dict[str, Any] = field(default_factory=dict)  # identifies the model in checkpoints
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None

    def fit(
        self,
        task: TrainingTask | ManualTask,
        train: Dataset,
        validation: Dataset | None = None,
        *,
        resume: bool = False,
    ) -> TrainResult:
        if resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir, the folder to resume from")
        with torch.random.fork_rng(devices=self._fork_devices()):
            torch.manual_seed(self.seed)
            run = _Run(self, task, train, validation)
            if resume:
                run.resume()
            return run.run()

    def _fork_devices(self) -> list:
        return [self.device] if self.device.type == "cuda" else []

    # -- what the configuration decides ----------------------------------------------------

    @staticmethod
    def _group_value(value, name):
        if isinstance(value, dict):
            if name not in value:
                raise ValueError(f"no value for parameter group {name!r} in {value!r}")
            return float(value[name])
        return float(value)

    def _make_optimizer(self, name: str, params) -> torch.optim.Optimizer:
        lr = self._group_value(self.lr, name)
        wd = self._group_value(self.weight_decay, name)
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=self.betas, weight_decay=wd)
        if self.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=lr, betas=self.betas, weight_decay=wd)
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=lr, momentum=self.momentum, weight_decay=wd)
        if self.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
        raise ValueError(f"unknown optimizer {self.optimizer!r}")

    def _lr(self, base: float, step: int, epoch: int, total_steps: int) -> float:
        """The learning rate at an optimiser step: linear warm-up, then the schedule."""
        if self.warmup_steps and step < self.warmup_steps:
            return base * (step + 1) / self.warmup_steps
        if self.schedule_by == "epoch":
            t = min(1.0, epoch / max(1, self.epochs))
        else:
            span = max(1, total_steps - self.warmup_steps)
            t = min(1.0, max(0, step - self.warmup_steps) / span)
        if self.lr_schedule == "constant":
            return base
        if self.lr_schedule == "cosine":
            return base * 0.5 * (1 + math.cos(math.pi * t))
        if self.lr_schedule == "linear":
            return base * (1 - t)
        if self.lr_schedule == "exponential":
            return base * self.lr_decay**epoch
        raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}")

    def _amp(self):
        """(autocast dtype or None, GradScaler or None) for ``mixed_precision`` on the device."""
        p = self.mixed_precision
        if p == "auto":
            bf16 = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
            p = "bfloat16" if bf16 else "float32"
        if p == "float32":
            return None, None
        if p == "bfloat16":
            return torch.bfloat16, None
        if p == "float16":
            if self.device.type != "cuda":
                raise ValueError("mixed_precision='float16' needs a CUDA device; use 'bfloat16'")
            return torch.float16, torch.amp.GradScaler("cuda")
        raise ValueError(f"unknown mixed_precision {self.mixed_precision!r}")

    def _monitor(self, validation: Dataset | None) -> Monitor:
        metric = self.monitor or ("val_loss" if validation is not None else "loss")
        if self.monitor_mode not in ("min", "max"):
            raise ValueError(f"monitor_mode must be 'min' or 'max', got {self.monitor_mode!r}")
        if self.early_stopping is not None and validation is None and metric.startswith("val_"):
            raise ValueError("early_stopping on a validation metric needs validation_data")
        # With several groups there is no plain "loss": nothing to watch unless asked.
        required = self.monitor is not None or self.early_stopping is not None
        return Monitor(metric, self.monitor_mode, self.early_stopping, required, self.min_delta)


# -- the pieces of a run ---------------------------------------------------------------------


class Monitor:
    """Watches one metric over the epochs: the best value so far, the epoch it came from
    and (with ``patience``, i.e. early stopping) that epoch's weights, and how many epochs
    have passed without beating it. ``required``: a missing metric is an error (else the
    epoch is not watched)."""

    def __init__(
        self,
        metric: str,
        mode: Literal["min", "max"] = "min",
        patience: int | None = None,
        required: bool = True,
        min_delta: float = 1e-12,
    ):
        self.metric, self.mode, self.patience = metric, mode, patience
        self.required, self.min_delta = required, min_delta
        self.best_value = math.inf  # kept as a quantity to minimise (a score is negated)
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.stale = 0

    def observe(self, epoch: int, metrics: dict[str, float], module: nn.Module) -> None:
        """Take the metrics of ``epoch`` (1-based) with the module's weights after it."""
        if self.metric not in metrics:
            if self.required:
                raise KeyError(
                    f"monitor={self.metric!r} is not among the metrics {sorted(metrics)}"
                )
            return
        value = metrics[self.metric] if self.mode == "min" else -metrics[self.metric]
        if value < self.best_value - self.min_delta:
            self.best_value, self.best_epoch, self.stale = value, epoch, 0
            if self.patience is not None:
                self.best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            self.stale += 1

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.stale >= self.patience

    def restore_best(self, module: nn.Module) -> None:
        """Load the best epoch's weights (early stopping), if there are any."""
        if self.patience is not None and self.best_state is not None:
            module.load_state_dict(self.best_state)

    def progress(self) -> dict[str, Any]:
        """What a checkpoint keeps of the monitor (besides the best weights)."""
        return {
            "best_value": self.best_value if math.isfinite(self.best_value) else None,
            "best_epoch": self.best_epoch,
            "stale": self.stale,
        }

    def load_progress(self, progress: dict[str, Any], best_state) -> None:
        best = progress["best_value"]
        self.best_value = best if best is not None else math.inf
        self.best_epoch, self.stale = progress["best_epoch"], progress["stale"]
        self.best_state = best_state


@dataclass
class RunState:
    """Where a run is: epochs done, each group's optimiser steps, the history, whether it
    stopped early, and the epoch it resumed after (if it did)."""

    group_step: dict[str, int]
    epoch: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)
    stopped: bool = False
    resumed_from: int | None = None

    def record(self, metrics: dict[str, float]) -> None:
        for k, v in metrics.items():
            self.history.setdefault(k, []).append(float(v))

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("epoch_time", []))

    def progress(self, monitor: Monitor) -> dict[str, Any]:
        """The JSON part of a checkpoint ("_stopped" in the history marks an early stop)."""
        stopped = {"_stopped": [1.0]} if self.stopped else {}
        return {
            "epoch": self.epoch,
            "history": {**self.history, **stopped},
            "group_step": self.group_step,
            **monitor.progress(),
        }

    @classmethod
    def from_progress(cls, p: dict[str, Any]) -> RunState:
        history = dict(p["history"])
        stopped = bool(history.pop("_stopped", None))
        steps = {k: int(v) for k, v in p["group_step"].items()}
        return cls(steps, p["epoch"], history, stopped, resumed_from=p["epoch"])


class _Generators:
    """The run's generators: batch order (CPU), the step generator models draw their noise
    from (one per process), and validation's, seeded afresh every epoch."""

    def __init__(self, seed: int, device: torch.device, rank: int):
        self.seed, self.device, self.rank = seed, device, rank
        self.shuffle = torch.Generator()  # CPU: permutations are drawn on the CPU
        self.shuffle.manual_seed(seed)
        self.step = torch.Generator(device=device)
        self.step.manual_seed(seed * 1000003 + 17 + rank)

    def validation(self) -> torch.Generator:
        gen = torch.Generator(device=self.device)
        gen.manual_seed(self.seed * 1000003 + 29 + self.rank)
        return gen

    def states(self, world: dist.World) -> dict[str, torch.Tensor]:
        """Every generator's state, each process's step generator included (a collective)."""
        rng = {"global": torch.get_rng_state(), "shuffle": self.shuffle.get_state()}
        for r, s in enumerate(world.gather_states(self.step.get_state())):
            rng[f"step{r}"] = s
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return rng

    def load_states(self, states: dict[str, torch.Tensor]) -> None:
        torch.set_rng_state(states["global"])
        self.shuffle.set_state(states["shuffle"])
        key = f"step{self.rank}"
        if key in states:
            self.step.set_state(states[key])
        if self.device.type == "cuda" and "cuda" in states:
            torch.cuda.set_rng_state(states["cuda"], self.device)


class _Optimisers:
    """The parameter groups and what steps them: one optimiser each (none for a manual
    task, which updates its parameters itself), the steps per batch, each group's
    learning-rate schedule (spanning the steps it takes), mixed precision."""

    def __init__(
        self, trainer: Trainer, task: TrainingTask | ManualTask, n_batches: int, every=None
    ):
        self.trainer = trainer
        self.manual = trainer.optimizer == "manual"
        self.groups = task.parameter_groups()
        self.steps_per_batch = _per_group(
            task.group_steps(), self.groups, "group_steps", "step per batch"
        )
        self.every = _per_group(
            {} if every is None else every(), self.groups, "group_every", "batch"
        )
        self.optimizers = {
            n: trainer._make_optimizer(n, p) for n, p in self.groups.items() if not self.manual
        }
        self.base_lr = {n: trainer._group_value(trainer.lr, n) for n in self.groups}
        self.total = {
            n: max(1, trainer.epochs * n_batches * s // self.every[n])
            for n, s in self.steps_per_batch.items()
        }
        self.last_lr = {n: trainer._lr(self.base_lr[n], 0, 0, self.total[n]) for n in self.groups}
        self.prefix = {n: "" if len(self.groups) == 1 else f"{n}_" for n in self.groups}
        # A manual task computes in its own precision: no autocast, nothing to scale.
        self.amp_dtype, self.scaler = (None, None) if self.manual else trainer._amp()
        if self.manual and trainer.grad_clip is not None:
            raise ValueError("grad_clip clips gradients; a manual task's updates have none")

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()  # a disabled autocast still costs ~7 us
        return torch.autocast(self.trainer.device.type, dtype=self.amp_dtype)

    def rate(self, name: str, step: int, epoch: int) -> float:
        """The scheduled learning rate of ``name``'s step, set on its optimiser."""
        lr = self.trainer._lr(self.base_lr[name], step, epoch, self.total[name])
        if not self.manual:
            for g in self.optimizers[name].param_groups:
                g["lr"] = lr
        self.last_lr[name] = lr
        return lr

    def lr_metrics(self) -> dict[str, float]:
        """The learning rate of the epoch's last step (of each group, if several)."""
        out = {"lr": self.last_lr[next(iter(self.groups))]}
        if len(self.groups) > 1:
            out.update({f"{name}_lr": v for name, v in self.last_lr.items()})
        return out

    def step(self, task, name, batch, ctx, batch_rows, world, sums, b: int) -> None:
        """One optimisation step of group ``name`` on ``batch`` (this process's rows of
        the epoch's batch ``b``, of ``batch_rows`` rows in all): the loss under autocast,
        backward (scaled), the gradients averaged over processes, clipping, the step."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        n_rows = batch[0].shape[0]
        loss_value = 0.0
        if n_rows:  # under torchrun a short last batch may leave none
            with self.autocast():
                out = task.training_step(batch, ctx)
            loss = out["loss"]
            loss_value = loss.detach().item()  # the one sync per step
            if math.isfinite(loss_value):
                if self.scaler is not None:
                    self.scaler.scale(loss).backward()
                    self.scaler.unscale_(opt)
                else:
                    loss.backward()
                sums.add(out, n_rows, self.prefix[name])
        # Every process learns whether any loss was non-finite, so all stop together
        # instead of leaving the others waiting.
        finite = world.average_gradients(
            self.groups[name], n_rows, batch_rows, math.isfinite(loss_value)
        )
        if not finite:
            raise FloatingPointError(
                f"{self.trainer.desc}: the loss became {loss_value} at epoch {ctx.epoch + 1}, "
                f"batch {b + 1} (group {name!r}); lower lr or set grad_clip"
            )
        if self.trainer.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.groups[name], self.trainer.grad_clip)
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()

    def manual_step(self, task: ManualTask, name, batch, ctx, world, sums) -> None:
        """One step of a manual task: its statistics, summed over processes, applied."""
        stats = world.sum_statistics(task.update_statistics(batch, ctx))
        out = task.apply_update(stats, ctx)
        if out:
            sums.add(out, batch[0].shape[0], self.prefix[name])


@dataclass(frozen=True)
class _Hooks:
    """A task's optional :class:`TaskHooks`, or None for each it does not define."""

    extra_state: Callable[[], dict[str, Any]] | None
    load_extra_state: Callable[[dict[str, Any]], None] | None
    batch_order: Callable[[int], torch.Tensor] | None
    epoch_metrics: Callable[[int], dict[str, float]] | None
    group_every: Callable[[], dict[str, int]] | None
    after_step: Callable[[str, StepContext], None] | None

    @classmethod
    def of(cls, task) -> _Hooks:
        return cls(
            getattr(task, "extra_state", None),
            getattr(task, "load_extra_state", None),
            getattr(task, "batch_order", None),
            getattr(task, "epoch_metrics", None),
            getattr(task, "group_every", None),
            getattr(task, "after_step", None),
        )


class _Run:
    """One training run of a task: set up from the trainer's configuration, optionally
    resumed from a checkpoint, then :meth:`run`."""

    def __init__(self, trainer: Trainer, task: TrainingTask, train, validation):
        self.trainer, self.task, self.validation = trainer, task, validation
        self.device = trainer.device
        self.hooks = _Hooks.of(task)
        self.world = dist.World.current()
        self.module = task.training_module().to(self.device)
        self.world.broadcast_parameters(self.module)
        self.gens = _Generators(trainer.seed, self.device, self.world.rank)
        self.batches = _Batches(
            train, trainer.batch_size, self.gens.shuffle, self.device, self.world, trainer.drop_last
        )
        self.batches.order = self.hooks.batch_order
        self.opt = _Optimisers(trainer, task, len(self.batches), self.hooks.group_every)
        self.monitor = trainer._monitor(validation)
        self.state = RunState(dict.fromkeys(self.opt.groups, 0))
        self.show = trainer.verbose > 0 and self.world.rank == 0

    # -- checkpoints -----------------------------------------------------------------------

    def resume(self) -> None:
        """Carry on from the checkpoint in ``checkpoint_dir``, if there is one."""
        t = self.trainer
        saved = ckpt.load_checkpoint(t.checkpoint_dir, owner=t.owner)
        if saved is None:
            return
        self.module.load_state_dict(saved["module"])
        for name, opt in self.opt.optimizers.items():
            opt.load_state_dict(saved["optimizers"][name])
        self.gens.load_states(saved["rng"])
        self.state = RunState.from_progress(saved["progress"])
        self.monitor.load_progress(saved["progress"], saved["best"])
        if self.hooks.load_extra_state is not None:
            self.hooks.load_extra_state(saved["extra"])
        logger.info("%s: resumed after epoch %d", t.desc, self.state.epoch)
        done, name = self.state.epoch, t.owner.get("class", "the model")
        if self.state.stopped:
            warnings.warn(
                f"{name}: the checkpoint in {t.checkpoint_dir} is of a run that stopped early "
                f"at epoch {done}; resuming trains nothing more",
                UserWarning,
                stacklevel=2,
            )
        elif done >= t.epochs:
            warnings.warn(
                f"{name}: the checkpoint in {t.checkpoint_dir} is already at epoch {done} and "
                f"{t.epochs_name}={t.epochs}: nothing to train; raise {t.epochs_name} "
                f"(--set {t.epochs_name}=N on the command line) to train on",
                UserWarning,
                stacklevel=2,
            )

    def checkpoint(self) -> None:
        """Write the run's checkpoint (rank 0), if one is due after this epoch."""
        t, done = self.trainer, self.state.epoch
        due = done % t.checkpoint_every == 0 or done == t.epochs or self.state.stopped
        if t.checkpoint_dir is None or not due:
            return
        rng = self.gens.states(self.world)  # a collective: every process takes part
        if self.world.rank == 0:
            ckpt.save_checkpoint(
                t.checkpoint_dir,
                owner=t.owner,
                module_state=self.module.state_dict(),
                best_state=self.monitor.best_state,
                optimizers={n: o.state_dict() for n, o in self.opt.optimizers.items()},
                rng=rng,
                progress=self.state.progress(self.monitor),
                extra=None if self.hooks.extra_state is None else self.hooks.extra_state(),
            )
        self.world.barrier()

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> TrainResult:
        t, state = self.trainer, self.state
        n_batches = len(self.batches)
        with Progress(t.epochs * n_batches, t.desc, self.show) as bar:
            bar.update(state.epoch * n_batches)
            for epoch in range(state.epoch, t.epochs):
                if state.stopped:
                    break
                running: dict[str, Any] = {"epoch": f"{epoch + 1}/{t.epochs}"}
                metrics = self._epoch(epoch, bar, running)
                self._end_epoch(epoch, metrics, bar, running)
        self.monitor.restore_best(self.module)
        self.module.eval()
        return TrainResult(
            history=state.history,
            epochs_run=state.epochs_run,
            best_epoch=self.monitor.best_epoch if t.early_stopping is not None else None,
            stopped_early=state.stopped,
            resumed_from=state.resumed_from,
            group_steps=dict(state.group_step),
        )

    def _epoch(self, epoch: int, bar, running: dict[str, Any]) -> dict[str, float]:
        """One pass over the batches, every group stepping in turn on each; the epoch's
        metrics (training means, validation, learning rates, time)."""
        t0 = time.perf_counter()
        self.module.train()
        sums = _Sums(self.device)
        opt, n_batches = self.opt, len(self.batches)
        limit = torch.get_num_threads()
        try:
            for b, (batch, batch_rows) in enumerate(self.batches.epoch(epoch)):
                seen = epoch * n_batches + b + 1  # batches since the run began, this included
                # Beside other busy processes, no thread without a core: it would stall
                # every parallel kernel at its barrier (docs/benchmarks.md, busy machine).
                threads = available_threads(limit)
                if threads != torch.get_num_threads():
                    torch.set_num_threads(threads)
                self._batch_steps(epoch, b, seen, batch, batch_rows, sums)
                if self.show:
                    if b % 10 == 0 and sums.sums:  # running means every 10 batches (GPU sync)
                        running.update(sums.shown(opt.prefix.values()))
                    bar.update(1, **running)
        finally:
            torch.set_num_threads(limit)
        with torch.no_grad():
            self.world.average_norm_statistics(self.module)
        metrics = self.world.mean_metrics(sums.sums, sums.rows)
        if self.hooks.epoch_metrics is not None:
            own = self.hooks.epoch_metrics(epoch)
            metrics.update(own)
            if self.show and own:
                running.update(own)
                bar.update(0, **running)
        if self.validation is not None:
            metrics.update(self._validate())
        metrics.update(self.opt.lr_metrics())
        metrics["epoch_time"] = time.perf_counter() - t0
        return metrics

    def _batch_steps(self, epoch: int, b: int, seen: int, batch, batch_rows, sums) -> None:
        """The steps every group takes on batch ``b`` (those due at this batch)."""
        opt, world, step_counts = self.opt, self.world, self.state.group_step
        after_step = self.hooks.after_step
        for name, n_steps in opt.steps_per_batch.items():
            if seen % opt.every[name]:
                continue
            for _ in range(n_steps):
                step = step_counts[name]
                lr = opt.rate(name, step, epoch)
                ctx = StepContext(epoch, step, name, self.gens.step, lr, batch_rows, world)
                if opt.manual:
                    opt.manual_step(self.task, name, batch, ctx, world, sums)
                else:
                    opt.step(self.task, name, batch, ctx, batch_rows, world, sums, b)
                step_counts[name] += 1
                if after_step is not None:
                    after_step(name, ctx)

    def _end_epoch(self, epoch: int, metrics: dict[str, float], bar, running) -> None:
        """Record the epoch, let the monitor see it, report it, checkpoint."""
        state, monitor = self.state, self.monitor
        state.record(metrics)
        monitor.observe(epoch + 1, metrics, self.module)
        if monitor.should_stop:
            state.stopped = True
        if self.show and self.validation is not None and monitor.metric in metrics:
            running[monitor.metric] = metrics[monitor.metric]
            bar.update(0, **running)
        if self.trainer.on_epoch_end is not None:
            self.trainer.on_epoch_end(epoch + 1, metrics)
        state.epoch = epoch + 1
        self.checkpoint()

    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        """Row-weighted means of ``validation_step`` over the validation data, with the
        same noise every epoch (a generator of its own, seeded afresh)."""
        self.module.eval()
        gen = self.gens.validation()
        sums, rows = _Sums(self.device), 0
        batches = _Batches(
            self.validation, self.trainer.batch_size, None, self.device, self.world, False
        )
        for batch, _ in batches.epoch():
            n = batch[0].shape[0]
            if n == 0:
                continue
            out = self.task.validation_step(batch, StepContext(-1, -1, "validation", gen))
            sums.add(out, n)
            rows += n
        self.module.train()
        return {f"val_{k}": v for k, v in self.world.mean_metrics(sums.sums, rows).items()}


def _per_group(values: dict[str, int], groups: dict, what: str, unit: str) -> dict[str, int]:
    """A task's per-group count (``group_steps``: steps per batch; ``group_every``: every
    k-th batch) for every parameter group, 1 where the task names none."""
    unknown = sorted(set(values) - set(groups))
    if unknown:
        raise ValueError(f"{what} names {unknown}, which are not parameter groups")
    bad = {k: v for k, v in values.items() if not isinstance(v, int) or v < 1}
    if bad:
        raise ValueError(f"{what} must be at least 1 {unit}, got {bad}")
    return {name: int(values.get(name, 1)) for name in groups}


class _Sums:
    """Row-weighted sums of the per-batch metrics. On the CPU they are Python floats
    (``.item()`` costs nothing there); elsewhere device tensors, so that training never
    waits for the device to report a metric."""

    def __init__(self, device: torch.device):
        self.host = device.type == "cpu"
        self.sums: dict[str, Any] = {}
        # Rows behind each sum: a group that steps twice per batch, or on every 5th batch
        # only, is averaged over the steps it took.
        self.rows: dict[str, int] = {}

    def add(self, out: dict[str, torch.Tensor], n: int, prefix: str = "") -> None:
        for k, v in out.items():
            key = prefix + k
            v = v.detach().item() * n if self.host else v.detach().float() * n
            self.sums[key] = self.sums[key] + v if key in self.sums else v
            self.rows[key] = self.rows.get(key, 0) + n

    def shown(self, prefixes) -> dict[str, float]:
        """Running means for a progress bar: each group's loss (a GAN's two), or the first
        metric when a task names none ``loss``."""
        keys = [f"{p}loss" for p in prefixes if f"{p}loss" in self.sums]
        keys = keys or [next(iter(self.sums))]
        return {k: float(self.sums[k]) / max(self.rows[k], 1) for k in keys}


class SparseRows(Dataset):
    """The rows of scipy sparse matrices (CSR, the same number of rows) as a dataset that
    densifies one mini-batch at a time: data too big to hold dense (a user-item matrix of
    a large catalogue) trains without ever being dense as a whole."""

    def __init__(self, *matrices):
        self.matrices = [m.tocsr() for m in matrices]

    def __len__(self) -> int:
        return self.matrices[0].shape[0]

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        rows = idx.numpy()
        return tuple(torch.as_tensor(m[rows].toarray(), dtype=torch.float32) for m in self.matrices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return tuple(t[0] for t in self.batch(torch.as_tensor([int(i)])))


class _Batches:
    """Global mini-batches in a seeded order; under torchrun each process gets its slice."""

    def __init__(self, data: Dataset, batch_size, generator, device, world, drop_last):
        self.data, self.generator, self.device, self.world = data, generator, device, world
        self.order: Callable[[int], torch.Tensor] | None = None  # the task's, if it has one
        self.batch_size = batch_size
        self.n = len(data)  # type: ignore[arg-type]
        if self.n == 0:
            raise ValueError("no training data: the dataset is empty")
        self.drop_last = drop_last and self.n >= batch_size
        self.tensors = data.tensors if isinstance(data, TensorDataset) else None
        if world.size > batch_size:
            raise ValueError(f"batch_size={batch_size} is smaller than the {world.size} processes")
        if world.size > self.n:
            raise ValueError(f"{self.n} rows cannot be shared by {world.size} processes")

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _order(self, epoch: int) -> torch.Tensor:
        if self.order is not None:
            order = self.order(epoch)
            if order.shape != (self.n,):
                raise ValueError(f"batch_order gave {tuple(order.shape)} indices for {self.n} rows")
            return order
        if self.generator is None:
            return torch.arange(self.n)
        return torch.randperm(self.n, generator=self.generator)

    def epoch(self, epoch: int = 0) -> Iterator[tuple[tuple[torch.Tensor, ...], int]]:
        """The epoch's batches: (this process's slice of the batch, the global batch's rows)."""
        order = self._order(epoch)
        for i in range(len(self)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            n_global = len(idx)
            idx = self.world.shard(idx)
            if self.tensors is not None:
                batch = tuple(t[idx].to(self.device, non_blocking=True) for t in self.tensors)
            elif isinstance(self.data, SparseRows):
                batch = tuple(t.to(self.device) for t in self.data.batch(idx))
            else:
                batch = self._collate(idx)
            yield batch, n_global

    def _collate(self, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        batch = default_collate([self.data[i] for i in idx.tolist()])
        if isinstance(batch, torch.Tensor):
            batch = (batch,)
        return tuple(torch.as_tensor(t).to(self.device) for t in batch)
