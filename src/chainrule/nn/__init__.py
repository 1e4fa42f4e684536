"""Neural-network layers: Module, Parameter, containers, initializers and one file per layer family.

>>> import numpy as np
>>> from chainrule import nn
>>> rng = np.random.default_rng(0)
>>> model = nn.Sequential(nn.Linear(784, 256, rng=rng), nn.ReLU(), nn.Linear(256, 10, rng=rng))
>>> model
Sequential(
  (0): Linear(in_features=784, out_features=256, bias=True)
  (1): ReLU()
  (2): Linear(in_features=256, out_features=10, bias=True)
)
>>> model.num_parameters()
203530
"""

from . import init, plans
from .activation import (
    ELU,
    GELU,
    SELU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Step,
    Tanh,
)
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout, Dropout1d, Dropout2d
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .module import IncompatibleKeys, Module, RemovableHandle
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .parameter import Buffer, Parameter
from .plans import set_inference_plans, static_forward
from .pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MinPool1d,
    MinPool2d,
)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .summary import ModelSummary, SummaryRow

# The layers whose forward is a fixed sequence of ops for a given input shape: a model built of
# them alone replays a recorded plan of those ops when called under no_grad (see nn.plans).
# Embedding checks its indices' values, and recurrent layers loop in Python: they are not listed.
plans._leaf(
    ELU, GELU, SELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU,
    Softmax, Softplus, Softsign, Step, Tanh,
    Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Linear, Identity, Flatten, Unflatten,
    Dropout, Dropout1d, Dropout2d, BatchNorm1d, BatchNorm2d, LayerNorm, ModuleList, ModuleDict,
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
    AvgPool2d, MaxPool1d, MaxPool2d, MinPool1d, MinPool2d,
)
static_forward(Sequential)

__all__ = [
    # core
    "Buffer", "IncompatibleKeys", "ModelSummary", "Module", "Parameter", "RemovableHandle",
    "SummaryRow", "init",
    # containers, shape and dropout layers
    "Dropout", "Dropout1d", "Dropout2d", "Flatten", "Identity", "ModuleDict", "ModuleList",
    "Sequential", "Unflatten",
    # layers with parameters
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Linear",
    # pooling
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d",
    "AvgPool2d", "MaxPool1d", "MaxPool2d", "MinPool1d", "MinPool2d",
    # activations
    "ELU", "GELU", "SELU", "Hardtanh", "LeakyReLU", "LogSigmoid", "LogSoftmax", "ReLU", "ReLU6",
    "SiLU", "Sigmoid", "Softmax", "Softplus", "Softsign", "Step", "Tanh",
    # normalization, embedding, recurrent
    "BatchNorm1d", "BatchNorm2d", "Embedding", "GRU", "GRUCell", "LSTM", "LSTMCell", "LayerNorm",
    "RNN", "RNNCell",
    # inference plans
    "set_inference_plans", "static_forward",
]
