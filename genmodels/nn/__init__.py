"""What every neural model shares: the :class:`NeuralModel` base (the estimator contract
for models trained by gradient descent) and the one :class:`Trainer` that trains them all
(optimisers and schedules, several optimisers in turn, validation and early stopping,
progress, checkpoints with exact resumption, data parallelism under ``torchrun``), which
also trains models that update their parameters themselves (``ManualTask``: Boltzmann
machines)."""

from ._checkpoint import checkpoint_owner, checkpoint_path, load_checkpoint
from ._distributed import World
from .base import TRAIN_PARAM_SPEC, NeuralModel
from .trainer import ManualTask, Monitor, StepContext, TaskHooks, Trainer, TrainResult

__all__ = [
    "TRAIN_PARAM_SPEC",
    "ManualTask",
    "Monitor",
    "NeuralModel",
    "StepContext",
    "TaskHooks",
    "TrainResult",
    "Trainer",
    "World",
    "checkpoint_owner",
    "checkpoint_path",
    "load_checkpoint",
]
