"""PyTorch's per-kind submodules of ``torch.nn.modules`` under the same names, for the programs
that import a base class or a layer by its file: ``from torch.nn.modules.batchnorm import
_BatchNorm`` (SAM's BatchNorm momentum switch), ``torch.nn.modules.conv._ConvNd``,
``nn.modules.loss._Loss``, ``nn.modules.pooling._MaxPoolNd``. chainrule's layers live in other
files, so each name is a module
object holding the classes PyTorch's file holds (those chainrule has), registered in
``sys.modules`` so that both attribute access and ``from ... import`` find it."""

from __future__ import annotations

import sys
import types

# submodule -> the classes PyTorch's holds; the private bases are taken from their own files
PATHS = {
    "batchnorm": ("_NormBase", "_BatchNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
                  "SyncBatchNorm", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d"),
    "instancenorm": ("_NormBase", "_InstanceNorm", "InstanceNorm1d", "InstanceNorm2d",
                     "InstanceNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
                     "LazyInstanceNorm3d"),
    "normalization": ("LayerNorm", "GroupNorm", "LocalResponseNorm", "CrossMapLRN2d",
                      "RMSNorm"),
    "conv": ("_ConvNd", "Conv1d", "Conv2d", "Conv3d", "_ConvTransposeNd", "ConvTranspose1d",
             "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
             "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"),
    "linear": ("Identity", "Linear", "Bilinear", "LazyLinear"),
    "loss": ("_Loss", "_WeightedLoss", "L1Loss", "MSELoss", "NLLLoss", "CrossEntropyLoss",
             "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "SmoothL1Loss", "HuberLoss"),
    "dropout": ("_DropoutNd", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                "FeatureAlphaDropout"),
    "activation": ("Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid",
                   "Tanh", "SiLU", "Mish", "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU",
                   "Hardshrink", "LeakyReLU", "LogSigmoid", "Softplus", "Softshrink",
                   "MultiheadAttention", "PReLU", "Softsign", "Tanhshrink", "Softmin", "Softmax",
                   "Softmax2d", "LogSoftmax"),
    "container": ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"),
    "rnn": ("RNNBase", "RNNCellBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"),
    "sparse": ("Embedding", "EmbeddingBag"),
    "pooling": ("_MaxPoolNd", "MaxPool1d", "MaxPool2d", "MaxPool3d", "_MaxUnpoolNd",
                "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "_AvgPoolNd", "AvgPool1d",
                "AvgPool2d", "AvgPool3d", "FractionalMaxPool2d", "FractionalMaxPool3d",
                "_LPPoolNd", "LPPool1d", "LPPool2d", "LPPool3d", "_AdaptiveMaxPoolNd",
                "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
                "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"),
    "pixelshuffle": ("PixelShuffle", "PixelUnshuffle"),
    "fold": ("Fold", "Unfold"),
    "transformer": ("Transformer", "TransformerEncoder", "TransformerDecoder",
                    "TransformerEncoderLayer", "TransformerDecoderLayer"),
}


def _other_names(kind: str, nn_namespace: dict) -> dict:
    """Names besides the classes that programs import from PyTorch's files: the class of
    ``MultiheadAttention.out_proj`` (``from torch.nn.modules.linear import
    NonDynamicallyQuantizableLinear``, in copies of PyTorch's attention), and the transformer
    file's helpers (``from torch.nn.modules.transformer import _get_clones, LayerNorm``)."""
    if kind in ("linear", "activation"):
        from ..attention import NonDynamicallyQuantizableLinear

        return {"NonDynamicallyQuantizableLinear": NonDynamicallyQuantizableLinear}
    if kind == "rnn":  # what copies of PyTorch's recurrent forward import from its file
        from .. import init
        from .._rnn_helpers import _apply_permutation, apply_permutation
        from ..packing import PackedSequence

        return {"PackedSequence": PackedSequence, "Parameter": nn_namespace["Parameter"],
                "init": init, "_apply_permutation": _apply_permutation,
                "apply_permutation": apply_permutation}
    if kind != "transformer":
        return {}
    from collections.abc import Callable
    from typing import Any

    from ...autograd.tensor import Tensor
    from .. import functional, transformer
    from ..init import xavier_uniform_

    names = {n: nn_namespace[n] for n in ("Dropout", "LayerNorm", "Linear", "Module",
                                          "ModuleList", "MultiheadAttention")}
    names.update({n: getattr(transformer, n) for n in (
        "_get_clones", "_get_activation_fn", "_generate_square_subsequent_mask",
        "_detect_is_causal_mask", "_get_seq_len")})
    names.update(Any=Any, Callable=Callable, Tensor=Tensor, F=functional,
                 xavier_uniform_=xavier_uniform_)
    return names


def install(package: str, nn_namespace: dict, namespace: dict) -> list[str]:
    """Make each submodule in ``namespace`` (the ``nn.modules`` package's globals) from the
    classes in ``nn_namespace`` (``nn``'s) and the private bases; return the names made."""
    from ..conv import _ConvNd, _ConvTranspose
    from ..dropout import _Dropout
    from ..group_norm import _InstanceNorm
    from ..loss import _Loss, _WeightedLoss
    from ..normalization import _BatchNorm, _NormBase
    from ..pool import _AdaptiveMaxPool, _AvgPool, _MaxPool
    from ..pool_extra import _LPPool, _MaxUnpool

    private = {"_NormBase": _NormBase, "_BatchNorm": _BatchNorm, "_InstanceNorm": _InstanceNorm,
               "_ConvNd": _ConvNd, "_ConvTransposeNd": _ConvTranspose, "_Loss": _Loss,
               "_WeightedLoss": _WeightedLoss, "_MaxPoolNd": _MaxPool, "_AvgPoolNd": _AvgPool,
               "_AdaptiveMaxPoolNd": _AdaptiveMaxPool, "_LPPoolNd": _LPPool,
               "_MaxUnpoolNd": _MaxUnpool, "_DropoutNd": _Dropout}
    made = []
    for name, classes in PATHS.items():
        if isinstance(namespace.get(name), types.ModuleType):
            continue
        module = types.ModuleType(f"{package}.{name}",
                                  f"PyTorch's torch.nn.modules.{name}: {', '.join(classes)}.")
        module.__all__ = list(classes)
        for cls in classes:
            setattr(module, cls, private[cls] if cls in private else nn_namespace[cls])
        for key, value in _other_names(name, nn_namespace).items():
            setattr(module, key, value)
        sys.modules[module.__name__] = module
        namespace[name] = module
        made.append(name)
    return made
