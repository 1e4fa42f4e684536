"""Optimizers, gradient clipping, learning-rate schedules and weight averaging.

>>> import chainrule as cr
>>> from chainrule import optim
>>> w = cr.tensor([1.0, -1.0], requires_grad=True)
>>> opt = optim.SGD([w], lr=0.5)
>>> (w * w).backward(cr.tensor([1.0, 1.0]))   # d(w^2)/dw = 2w
>>> opt.step()
>>> opt.zero_grad()
>>> w.tolist(), w.grad
([0.0, 0.0], None)
"""

from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .averaging import EMA, AveragedModel, swa_average
from .clip import clip_grad_norm_, clip_grad_value_
from .lbfgs import LBFGS
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LRScheduler,
    MultiStepLR,
    ReduceLROnPlateau,
    StepLR,
    WarmupCosine,
)
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = [
    "ASGD",
    "Adadelta",
    "Adafactor",
    "EMA",
    "LBFGS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "AveragedModel",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "MultiStepLR",
    "Muon",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "ReduceLROnPlateau",
    "SparseAdam",
    "StepLR",
    "WarmupCosine",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
    "swa_average",
    "swa_utils",
]
