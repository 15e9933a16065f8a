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

Randomness is explicit: ``seed`` fixes the shuffling generator, the step generator passed
to ``training_step`` (for a model's own noise, e.g. the reparameterisation) and, inside a
forked RNG scope, torch's global generator (dropout), so the same seed gives the same
weights and the caller's global RNG state is left as it was. Validation draws from a
generator of its own, re-seeded identically every epoch: scoring held-out data does not
change the training run, and every epoch is scored with the same noise, so the monitored
metric moves only because the weights did.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset, default_collate

from ..progress import Progress, logger
from . import _checkpoint as ckpt
from . import _distributed as dist

OptimizerName = Literal["adam", "adamw", "sgd", "rmsprop"]
Schedule = Literal["constant", "cosine", "linear", "exponential"]
MixedPrecision = Literal["auto", "float32", "bfloat16", "float16"]


@dataclass
class StepContext:
    """What a training step may need besides its batch."""

    epoch: int  # 0-based
    step: int  # optimiser steps of this group taken so far, across epochs
    group: str  # the parameter group (optimiser) this step updates
    generator: torch.Generator  # for the model's own noise (on the training device)


class TrainingTask(Protocol):
    """What a model gives the trainer (``NeuralModel`` implements it)."""

    def training_module(self) -> nn.Module: ...

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]: ...

    def group_steps(self) -> dict[str, int]: ...

    def training_step(self, batch: tuple[torch.Tensor, ...], ctx: StepContext) -> dict: ...

    def validation_step(self, batch: tuple[torch.Tensor, ...], ctx: StepContext) -> dict: ...


@dataclass
class TrainResult:
    history: dict[str, list[float]]
    epochs_run: int  # epochs completed in total (resumed runs included)
    best_epoch: int | None  # 1-based epoch whose weights were kept (early stopping)
    stopped_early: bool
    resumed_from: int | None  # epoch the run resumed after, if it did


@dataclass
class Trainer:
    """Trains a :class:`TrainingTask`; see the module docstring. ``lr`` and
    ``weight_decay`` may be dicts keyed by parameter group."""

    epochs: int = 10
    batch_size: int = 128
    optimizer: OptimizerName = "adam"
    lr: float | dict[str, float] = 1e-3
    weight_decay: float | dict[str, float] = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9
    lr_schedule: Schedule = "constant"
    lr_decay: float = 0.97  # per epoch, for "exponential"
    warmup_steps: int = 0
    grad_clip: float | None = None
    early_stopping: int | None = None  # patience in epochs
    monitor: str | None = None  # default: "val_loss" with validation data, else "loss"
    monitor_mode: Literal["min", "max"] = "min"  # "max" for a score (e.g. val_ndcg)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    mixed_precision: MixedPrecision = "auto"
    checkpoint_dir: str | os.PathLike | None = None
    checkpoint_every: int = 1
    seed: int = 0
    verbose: int = 0
    desc: str = "training"
    drop_last: bool = False
    owner: dict[str, Any] = field(default_factory=dict)  # identifies the model in checkpoints
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None

    # -- the loop --------------------------------------------------------------------------

    def fit(
        self,
        task: TrainingTask,
        train: Dataset,
        validation: Dataset | None = None,
        *,
        resume: bool = False,
    ) -> TrainResult:
        with torch.random.fork_rng(devices=self._fork_devices()):
            torch.manual_seed(self.seed)
            return self._fit(task, train, validation, resume)

    def _fork_devices(self) -> list:
        return [self.device] if self.device.type == "cuda" else []

    def _fit(self, task, train, validation, resume) -> TrainResult:
        if resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir, the folder to resume from")
        world = dist.World.current()
        module = task.training_module().to(self.device)
        world.broadcast_parameters(module)
        groups = task.parameter_groups()
        steps_per_batch = _group_steps(task.group_steps(), groups)
        optimizers = {name: self._make_optimizer(name, params) for name, params in groups.items()}
        base_lr = {name: self._group_value(self.lr, name) for name in groups}
        shuffle_gen = torch.Generator()  # CPU: permutations are drawn on the CPU
        shuffle_gen.manual_seed(self.seed)
        step_gen = torch.Generator(device=self.device)
        step_gen.manual_seed(self.seed * 1000003 + 17 + world.rank)
        amp_dtype, scaler = self._amp()

        history: dict[str, list[float]] = {}
        start_epoch, group_step = 0, dict.fromkeys(groups, 0)
        best_value, best_epoch, best_state, stale = math.inf, None, None, 0
        resumed_from = None
        monitor = self.monitor or ("val_loss" if validation is not None else "loss")
        if self.monitor_mode not in ("min", "max"):
            raise ValueError(f"monitor_mode must be 'min' or 'max', got {self.monitor_mode!r}")
        if self.early_stopping is not None and validation is None and monitor.startswith("val_"):
            raise ValueError("early_stopping on a validation metric needs validation_data")

        if resume:
            state = ckpt.load_checkpoint(self.checkpoint_dir, owner=self.owner)
            if state is not None:
                module.load_state_dict(state["module"])
                for name, opt in optimizers.items():
                    opt.load_state_dict(state["optimizers"][name])
                _set_rng(state["rng"], shuffle_gen, step_gen, self.device, world.rank)
                p = state["progress"]
                start_epoch, history = p["epoch"], p["history"]
                group_step = {k: int(v) for k, v in p["group_step"].items()}
                best_value = p["best_value"] if p["best_value"] is not None else math.inf
                best_epoch, stale = p["best_epoch"], p["stale"]
                best_state = state["best"]
                resumed_from = start_epoch
                logger.info("%s: resumed after epoch %d", self.desc, start_epoch)
        stopped = bool(history.get("_stopped"))
        history.pop("_stopped", None)

        batches = _Batches(train, self.batch_size, shuffle_gen, self.device, world, self.drop_last)
        # Each group's schedule spans the steps it takes (group_steps of them per batch).
        total = {name: self.epochs * len(batches) * steps_per_batch[name] for name in groups}
        last_lr = {name: self._lr(base_lr[name], 0, 0, total[name]) for name in groups}
        prefix = {name: "" if len(groups) == 1 else f"{name}_" for name in groups}
        autocast = (
            (lambda: torch.autocast(self.device.type, dtype=amp_dtype))
            if amp_dtype is not None
            else contextlib.nullcontext
        )
        show = self.verbose > 0 and world.rank == 0
        epoch = start_epoch
        with Progress(self.epochs * len(batches), self.desc, show) as bar:
            bar.update((start_epoch) * len(batches))
            for epoch in range(start_epoch, self.epochs):
                if stopped:
                    break
                t0 = time.perf_counter()
                module.train()
                sums = _Sums(self.device)
                rows = 0
                running: dict[str, Any] = {"epoch": f"{epoch + 1}/{self.epochs}"}
                for b, (batch, batch_rows) in enumerate(batches.epoch()):
                    n_rows = batch[0].shape[0]  # this process's rows of the global batch
                    for name, opt in optimizers.items():
                        for _ in range(steps_per_batch[name]):
                            lr = self._lr(base_lr[name], group_step[name], epoch, total[name])
                            for g in opt.param_groups:
                                g["lr"] = lr
                            last_lr[name] = lr
                            opt.zero_grad(set_to_none=True)
                            loss_value = 0.0
                            if n_rows:  # under torchrun a short last batch may leave none
                                ctx = StepContext(epoch, group_step[name], name, step_gen)
                                with autocast():
                                    out = task.training_step(batch, ctx)
                                loss = out["loss"]
                                loss_value = loss.detach().item()  # the one sync per step
                                if math.isfinite(loss_value):
                                    if scaler is not None:
                                        scaler.scale(loss).backward()
                                        scaler.unscale_(opt)
                                    else:
                                        loss.backward()
                                    sums.add(out, n_rows, prefix[name])
                            # Every process learns whether any loss was non-finite, so all
                            # stop together instead of leaving the others waiting.
                            finite = world.average_gradients(
                                groups[name], n_rows, batch_rows, math.isfinite(loss_value)
                            )
                            if not finite:
                                raise FloatingPointError(
                                    f"{self.desc}: the loss became {loss_value} at epoch "
                                    f"{epoch + 1}, batch {b + 1} (group {name!r}); lower lr "
                                    "or set grad_clip"
                                )
                            if self.grad_clip is not None:
                                nn.utils.clip_grad_norm_(groups[name], self.grad_clip)
                            if scaler is not None:
                                scaler.step(opt)
                                scaler.update()
                            else:
                                opt.step()
                            group_step[name] += 1
                    rows += n_rows
                    if show:
                        if b % 10 == 0:  # a running mean every 10 batches (syncs on a GPU)
                            key, total_value = sums.first()
                            running[key] = total_value / max(rows, 1)
                        bar.update(1, **running)
                metrics = world.mean_metrics(sums.sums, rows)
                if validation is not None:
                    metrics.update(self._validate(task, module, validation, world))
                # The learning rate of the epoch's last step (of each group, if several).
                metrics["lr"] = last_lr[next(iter(groups))]
                if len(groups) > 1:
                    metrics.update({f"{name}_lr": v for name, v in last_lr.items()})
                metrics["epoch_time"] = time.perf_counter() - t0
                for k, v in metrics.items():
                    history.setdefault(k, []).append(float(v))
                if monitor in metrics:
                    # best_value is kept as a quantity to minimise (a score is negated).
                    value = metrics[monitor] if self.monitor_mode == "min" else -metrics[monitor]
                    if value < best_value - 1e-12:
                        best_value, best_epoch, stale = value, epoch + 1, 0
                        if self.early_stopping is not None:
                            best_state = {
                                k: v.detach().clone() for k, v in module.state_dict().items()
                            }
                    else:
                        stale += 1
                elif self.monitor is not None or self.early_stopping is not None:
                    # (With several groups there is no plain "loss": nothing to watch
                    # unless asked.)
                    raise KeyError(
                        f"monitor={monitor!r} is not among the metrics {sorted(metrics)}"
                    )
                if self.early_stopping is not None and stale >= self.early_stopping:
                    stopped = True
                if show and validation is not None and monitor in metrics:
                    running[monitor] = metrics[monitor]
                    bar.update(0, **running)
                if self.on_epoch_end is not None:
                    self.on_epoch_end(epoch + 1, metrics)
                done = epoch + 1
                if self.checkpoint_dir is not None and (
                    done % self.checkpoint_every == 0 or done == self.epochs or stopped
                ):
                    self._save(
                        world,
                        module,
                        optimizers,
                        best_state,
                        shuffle_gen,
                        step_gen,
                        {
                            "epoch": done,
                            "history": {**history, **({"_stopped": [1.0]} if stopped else {})},
                            "group_step": group_step,
                            "best_value": best_value if math.isfinite(best_value) else None,
                            "best_epoch": best_epoch,
                            "stale": stale,
                        },
                    )
            epochs_run = len(history.get("epoch_time", []))
        if self.early_stopping is not None and best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        return TrainResult(
            history=history,
            epochs_run=epochs_run,
            best_epoch=best_epoch if self.early_stopping is not None else None,
            stopped_early=stopped,
            resumed_from=resumed_from,
        )

    # -- pieces ----------------------------------------------------------------------------

    @torch.no_grad()
    def _validate(self, task, module, validation, world) -> dict[str, float]:
        """Row-weighted means of ``validation_step`` over the validation data, with the
        same noise every epoch (a generator of its own, seeded afresh)."""
        module.eval()
        gen = torch.Generator(device=self.device)
        gen.manual_seed(self.seed * 1000003 + 29 + world.rank)
        sums = _Sums(self.device)
        rows = 0
        loader = _Batches(validation, self.batch_size, None, self.device, world, False)
        for batch, _ in loader.epoch():
            n = batch[0].shape[0]
            if n == 0:
                continue
            out = task.validation_step(batch, StepContext(-1, -1, "validation", gen))
            sums.add(out, n)
            rows += n
        module.train()
        return {f"val_{k}": v for k, v in world.mean_metrics(sums.sums, rows).items()}

    def _save(self, world, module, optimizers, best_state, shuffle_gen, step_gen, progress):
        rng = {"global": torch.get_rng_state(), "shuffle": shuffle_gen.get_state()}
        states = world.gather_states(step_gen.get_state())
        for r, s in enumerate(states):
            rng[f"step{r}"] = s
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        if world.rank == 0:
            ckpt.save_checkpoint(
                self.checkpoint_dir,
                owner=self.owner,
                module_state=module.state_dict(),
                best_state=best_state,
                optimizers={n: o.state_dict() for n, o in optimizers.items()},
                rng=rng,
                progress=progress,
            )
        world.barrier()

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


def _group_steps(steps: dict[str, int], groups: dict) -> dict[str, int]:
    """Steps per batch of every parameter group (1 unless the task says otherwise)."""
    unknown = sorted(set(steps) - set(groups))
    if unknown:
        raise ValueError(f"group_steps names {unknown}, which are not parameter groups")
    out = {name: int(steps.get(name, 1)) for name in groups}
    bad = {k: v for k, v in out.items() if v < 1}
    if bad:
        raise ValueError(f"group_steps must be at least 1 step per batch, got {bad}")
    return out


class _Sums:
    """Row-weighted sums of the per-batch metrics. On the CPU they are Python floats
    (``.item()`` costs nothing there); elsewhere device tensors, so that training never
    waits for the device to report a metric."""

    def __init__(self, device: torch.device):
        self.host = device.type == "cpu"
        self.sums: dict[str, Any] = {}

    def add(self, out: dict[str, torch.Tensor], n: int, prefix: str = "") -> None:
        for k, v in out.items():
            key = prefix + k
            v = v.detach().item() * n if self.host else v.detach().float() * n
            self.sums[key] = self.sums[key] + v if key in self.sums else v

    def first(self) -> tuple[str, float]:
        key, value = next(iter(self.sums.items()))
        return key, float(value)


def _set_rng(states, shuffle_gen, step_gen, device, rank) -> None:
    torch.set_rng_state(states["global"])
    shuffle_gen.set_state(states["shuffle"])
    key = f"step{rank}"
    if key in states:
        step_gen.set_state(states[key])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


class _Batches:
    """Global mini-batches in a seeded order; under torchrun each process gets its slice."""

    def __init__(self, data: Dataset, batch_size, generator, device, world, drop_last):
        self.data, self.generator, self.device, self.world = data, generator, device, world
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

    def _order(self) -> torch.Tensor:
        if self.generator is None:
            return torch.arange(self.n)
        return torch.randperm(self.n, generator=self.generator)

    def epoch(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = self._order()
        for i in range(len(self)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            n_global = len(idx)
            idx = self.world.shard(idx)
            if self.tensors is not None:
                batch = tuple(t[idx].to(self.device, non_blocking=True) for t in self.tensors)
            else:
                batch = self._collate(idx)
            yield batch, n_global

    def _collate(self, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        batch = default_collate([self.data[i] for i in idx.tolist()])
        if isinstance(batch, torch.Tensor):
            batch = (batch,)
        return tuple(torch.as_tensor(t).to(self.device) for t in batch)
