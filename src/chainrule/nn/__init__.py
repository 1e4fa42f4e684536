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

from . import functional, init, modules, utils
from . import grad as grad  # torch.nn.grad, kept out of __all__ (it would shadow cr.grad)
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
from .activation_extra import (
    CELU,
    GLU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Mish,
    PReLU,
    Softmax2d,
    Softmin,
    Softshrink,
    Tanhshrink,
    Threshold,
)
from .activation_random import AlphaDropout, FeatureAlphaDropout, RReLU
from .adaptive_softmax import AdaptiveLogSoftmaxWithLoss
from .attention import MultiheadAttention
from .bayesian import BayesianConv2d, BayesianLinear
from .bilinear import Bilinear
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .ctc import CTCLoss
from .distance import CosineSimilarity, PairwiseDistance
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from .embedding import Embedding
from .embedding_bag import EmbeddingBag
from .extra_losses import (
    CosineEmbeddingLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    KLDivLoss,
    MarginRankingLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .flatten import Flatten, Unflatten
from .fold import Fold, Unfold
from .fractional_pool import FractionalMaxPool2d, FractionalMaxPool3d
from .fuse import (
    Conv1dReLU,
    Conv2dReLU,
    ConvTranspose1dReLU,
    ConvTranspose2dReLU,
    LinearReLU,
    MaxPool1dReLU,
    MaxPool2dReLU,
    fuse,
    unfuse,
)
from .group_norm import GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, RMSNorm
from .lazy import LazyConv1d, LazyConv2d, LazyConv3d, LazyLinear, UninitializedParameter
from .lazy_more import (
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
    UninitializedBuffer,
)
from .linear import Identity, Linear
from .linear_cross_entropy import LinearCrossEntropyLoss
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .losses_more import MultiLabelMarginLoss, NLLLoss2d, TripletMarginWithDistanceLoss
from .module import IncompatibleKeys, Module, RemovableHandle
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm
from .padding import (
    CircularPad1d,
    CircularPad2d,
    ConstantPad1d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad1d,
    ZeroPad2d,
)
from .padding3d import CircularPad3d, ConstantPad3d, ReflectionPad3d, ReplicationPad3d, ZeroPad3d
from .parallel import DataParallel, SyncBatchNorm
from .param_containers import ParameterDict, ParameterList
from .parameter import Buffer, Parameter
from .pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MinPool1d,
    MinPool2d,
)
from .pool_extra import (
    CrossMapLRN2d,
    LocalResponseNorm,
    LPPool1d,
    LPPool2d,
    LPPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .summary import ModelSummary, SummaryRow
from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from .upsample import (
    ChannelShuffle,
    PixelShuffle,
    PixelUnshuffle,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)

__all__ = [
    # core
    "Buffer", "IncompatibleKeys", "ModelSummary", "Module", "Parameter", "RemovableHandle",
    "SummaryRow", "functional", "init", "modules", "utils",
    # attention
    "MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer",
    "TransformerEncoder", "TransformerEncoderLayer",
    # losses
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "L1Loss", "MSELoss",
    "NLLLoss", "SmoothL1Loss",
    # containers, shape and dropout layers
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "Flatten", "Identity", "ModuleDict",
    "ModuleList", "Sequential", "Unflatten",
    # layers with parameters
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Linear",
    "BayesianConv2d", "BayesianLinear",
    # pooling
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d",
    "AvgPool2d", "MaxPool1d", "MaxPool2d", "MinPool1d", "MinPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool3d", "AvgPool3d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "LPPool1d", "LPPool2d", "LPPool3d", "LocalResponseNorm", "CrossMapLRN2d",
    # lazy layers
    "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyLinear", "UninitializedParameter",
    # activations
    "ELU", "GELU", "SELU", "Hardtanh", "LeakyReLU", "LogSigmoid", "LogSoftmax", "ReLU", "ReLU6",
    "SiLU", "Sigmoid", "Softmax", "Softplus", "Softsign", "Step", "Tanh",
    # normalization, embedding, recurrent
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
    "InstanceNorm3d", "RMSNorm",
    "Embedding", "GRU", "GRUCell", "LSTM", "LSTMCell", "LayerNorm",
    "RNN", "RNNCell", "EmbeddingBag",
    # explicit fusion
    "Conv1dReLU", "Conv2dReLU", "ConvTranspose1dReLU", "ConvTranspose2dReLU", "LinearReLU",
    "MaxPool1dReLU", "MaxPool2dReLU", "fuse", "unfuse",
    # more activations, distances and losses
    "CELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "Mish", "PReLU", "Softmax2d",
    "Softmin", "Softshrink", "Tanhshrink", "Threshold", "CosineSimilarity", "PairwiseDistance",
    "CosineEmbeddingLoss", "GaussianNLLLoss", "HingeEmbeddingLoss", "KLDivLoss",
    "MarginRankingLoss", "MultiLabelSoftMarginLoss", "PoissonNLLLoss", "SoftMarginLoss",
    "TripletMarginLoss",
    # padding, resampling, parameter containers
    "CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d",
    "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d",
    "PixelShuffle", "PixelUnshuffle", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d",
    "ParameterDict", "ParameterList", "Fold", "Unfold", "Bilinear", "ChannelShuffle",
    "MultiMarginLoss",
    # sequence losses
    "CTCLoss",
    # more losses
    "AdaptiveLogSoftmaxWithLoss",
    "MultiLabelMarginLoss", "NLLLoss2d", "TripletMarginWithDistanceLoss",
    "LinearCrossEntropyLoss",
    # random activations and dropouts
    "AlphaDropout", "FeatureAlphaDropout", "RReLU",
    # 3-D padding, more lazy layers, the recurrent base classes
    "CircularPad3d", "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d", "ZeroPad3d",
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConvTranspose1d",
    "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
    "LazyInstanceNorm3d", "UninitializedBuffer", "RNNBase", "RNNCellBase",
    "FractionalMaxPool2d", "FractionalMaxPool3d",
    # one-process forms of the multi-device modules
    "DataParallel", "SyncBatchNorm",
]

# torch.nn.modules.batchnorm._BatchNorm and the other per-kind submodules of nn.modules
modules._PATH_MODULES = modules._paths.install(modules.__name__, globals(), vars(modules))
