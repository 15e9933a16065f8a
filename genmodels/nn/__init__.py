"""What every neural model shares: the :class:`NeuralModel` base (the estimator contract
for models trained by gradient descent) and the one :class:`Trainer` that trains them all
(optimisers and schedules, several optimisers in turn, validation and early stopping,
progress, checkpoints with exact resumption, data parallelism under ``torchrun``)."""

from ._checkpoint import checkpoint_path
from .base import TRAIN_PARAM_SPEC, NeuralModel
from .trainer import StepContext, Trainer, TrainResult

__all__ = [
    "TRAIN_PARAM_SPEC",
    "NeuralModel",
    "StepContext",
    "TrainResult",
    "Trainer",
    "checkpoint_path",
]
