"""Training: the Trainer (fit / evaluate / predict), callbacks, metrics and the History of a run.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn, optim
>>> from chainrule.train import Trainer
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(64, 2)).astype("float32")
>>> y = (x[:, 0] > 0).astype("int64")
>>> model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.ReLU(), nn.Linear(8, 2, rng=rng))
>>> trainer = Trainer(model, cr.ops.cross_entropy, optim.Adam(model.parameters(), lr=0.05),
...                   metrics=["accuracy"])
>>> history = trainer.fit((x, y), epochs=30, batch_size=16, rng=0, verbose=0)
>>> history.history["accuracy"][-1] > 0.9
True
"""

from .callbacks import (
    Callback,
    CallbackList,
    LearningRateScheduler,
    TerminateOnNaN,
    TrainingDivergedError,
    raise_if_diverged,
)
from .checkpointing import ModelCheckpoint
from .classification import f1_score, precision, recall
from .early_stopping import EarlyStopping
from .history import History
from .metrics import (
    Mean,
    MeanTracker,
    accuracy,
    confusion_matrix,
    get_metric,
    mae,
    mse,
    top_k_accuracy,
)
from .profiling import ProfileSteps
from .reporting import CSVLogger, ProgressBar
from .trainer import Trainer

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "Mean",
    "MeanTracker",
    "ProfileSteps",
    "ModelCheckpoint",
    "ProgressBar",
    "TerminateOnNaN",
    "Trainer",
    "TrainingDivergedError",
    "accuracy",
    "confusion_matrix",
    "f1_score",
    "get_metric",
    "mae",
    "mse",
    "precision",
    "raise_if_diverged",
    "recall",
    "top_k_accuracy",
]
