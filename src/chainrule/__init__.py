"""chainrule: error backpropagation you can read, over NumPy (and CuPy).

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""

import sys as _sys
import types as _types

from . import (
    amp,
    autograd,
    backends,
    compiler,
    data,
    distributed,
    distributions,
    fft,
    func,
    functional,
    io,
    jit,
    library,
    linalg,
    models,
    multiprocessing,
    nn,
    onnx,
    ops,
    optim,
    overrides,
    profiler,
    random,
    signal,
    sparse,
    special,
    testing,
    train,
    utils,
    version,
    vision,
)
from . import functional as F  # noqa: N812 - the conventional alias
from .amp import (
    GradScaler,
    autocast,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
)
from .autograd import (
    Function,
    Tensor,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    tensor,
    value_and_grad,
)
from .autograd.anomaly_mode import (
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_anomaly_enabled,
)
from .autograd.gradcheck import gradcheck, gradgradcheck
from .autograd.inference import inference_mode, is_inference_mode_enabled
from .autograd.tensor import Size
from .backend import config, get_num_threads, reference_mode, set_num_threads, set_reference_mode
from .backend import numpy as _numpy_backend
from .backend.defaults import (
    get_default_device,
    get_default_dtype,
    set_default_device,
    set_default_dtype,
)
from .backend.device import accelerator, cuda, device
from .backend.dtypes import (
    bfloat16,
    bool,  # noqa: A004 - PyTorch's dtype name, shadowed here only
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    float,  # noqa: A004 - PyTorch's dtype name, shadowed here only
    float16,
    float32,
    float64,
    half,
    int,  # noqa: A004 - PyTorch's dtype name, shadowed here only
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from .backend.printing import get_printoptions, set_printoptions
from .backend.random import Generator, default_generator, initial_seed, manual_seed, seed
from .backends import (
    are_deterministic_algorithms_enabled,
    get_deterministic_debug_mode,
    get_float32_matmul_precision,
    is_deterministic_algorithms_warn_only_enabled,
    set_deterministic_debug_mode,
    set_float32_matmul_precision,
    use_deterministic_algorithms,
)
from .compiler import compile  # noqa: A004 - PyTorch's name
from .func import vmap
from .io.serialize import load, save
from .nn._toplevel import *  # noqa: F403 - conv2d, batch_norm, dropout... (torch's NN names)
from .nn._toplevel import __all__ as _nn_names
from .nn._toplevel_more import *  # noqa: F403 - kl_div, grid_sampler, lstm_cell...
from .nn._toplevel_more import __all__ as _nn_more_names
from .ops import (
    abs,  # noqa: A004 - PyTorch's top-level name
    add,
    arange,
    argmax,
    argmin,
    argsort,
    cat,
    chunk,
    clamp,
    clip,
    clone,
    concat,
    cos,
    empty,
    empty_like,
    exp,
    eye,
    flatten,
    from_numpy,
    full,
    full_like,
    gather,
    index_select,
    linspace,
    log,
    log_softmax,
    logsumexp,
    masked_fill,
    matmul,
    max,  # noqa: A004 - PyTorch's top-level name
    maximum,
    mean,
    min,  # noqa: A004 - PyTorch's top-level name
    minimum,
    mul,
    multinomial,
    narrow,
    neg,
    one_hot,
    ones,
    ones_like,
    permute,
    pow,  # noqa: A004 - PyTorch's top-level name
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    relu,
    repeat_interleave,
    reshape,
    sigmoid,
    sign,
    sin,
    softmax,
    sort,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,  # noqa: A004 - PyTorch's top-level name
    tanh,
    tile,
    topk,
    transpose,
    tril,
    triu,
    unsqueeze,
    var,
    where,
    zeros,
    zeros_like,
)
from .ops.complex import complex, polar, sgn, view_as_complex, view_as_real  # noqa: A004
from .ops.control_flow import cond, while_loop
from .ops.creation_extra import *  # noqa: F403 - logspace, histc, result_type...
from .ops.creation_extra import __all__ as _creation_extra_names
from .ops.diagonal import diag_embed, diagonal
from .ops.dlpack import from_dlpack, to_dlpack
from .ops.einsum import *  # noqa: F403 - einsum, outer, dot, cdist, diag...
from .ops.einsum import __all__ as _einsum_names
from .ops.fake_quantize import fake_quantize_per_channel_affine, fake_quantize_per_tensor_affine
from .ops.fminmax import fmax, fmin
from .ops.gradient import gradient
from .ops.inplace_methods import *  # noqa: F403 - relu_, exp_, clamp_... (torch.X_)
from .ops.inplace_methods import __all__ as _inplace_names
from .ops.inplace_more import *  # noqa: F403 - gcd_, index_put_, detach_... (torch.X_)
from .ops.inplace_more import __all__ as _inplace_more_names
from .ops.legacy_tensors import *  # noqa: F403 - FloatTensor(2, 3), LongTensor([1]), ByteTensor...
from .ops.legacy_tensors import __all__ as _legacy_tensor_names
from .ops.linalg_extra import pinverse
from .ops.linalg_legacy import (
    cholesky,
    diagflat,
    dist,
    geqrf,
    logdet,
    lu_unpack,
    matrix_power,
    orgqr,
    ormqr,
)
from .ops.linalg_solve import cholesky_inverse, cholesky_solve, matrix_exp, triangular_solve
from .ops.math import *  # noqa: F403 - floor, erf, log1p, atan2, isnan...
from .ops.math import __all__ as _math_names
from .ops.memory_format import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from .ops.order_stats import *  # noqa: F403 - quantile, nanmean, kthvalue, mode...
from .ops.order_stats import __all__ as _order_names
from .ops.products import *  # noqa: F403 - addmm, baddbmm, kron, cross, block_diag...
from .ops.products import __all__ as _product_names
from .ops.rearrange import *  # noqa: F403 - cumsum, flip, roll, unbind, meshgrid...
from .ops.rearrange import __all__ as _rearrange_names
from .ops.scan import *  # noqa: F403 - cumprod, cummax, cummin, logcumsumexp
from .ops.scan import __all__ as _scan_names
from .ops.scatter_reduce import scatter_reduce
from .ops.select import *  # noqa: F403 - nonzero, unique, scatter, isclose, normal...
from .ops.select import __all__ as _select_names
from .ops.shape_extra import *  # noqa: F403 - rot90, tensor_split, masked_scatter, put...
from .ops.shape_extra import __all__ as _shape_extra_names
from .ops.special_fns import *  # noqa: F403 - lgamma, digamma, erfinv, xlogy, logit...
from .ops.special_fns import __all__ as _special_fn_names
from .ops.stats import *  # noqa: F403 - prod, amax, norm, median...
from .ops.stats import __all__ as _stats_names
from .ops.stft import istft, stft
from .ops.strided import as_strided, trace  # trace: torch.trace for a Tensor, else the tracer
from .ops.svd import qr_old as qr
from .ops.svd import svd_old as svd
from .ops.tensor_info import layout, strided
from .ops.torch_copies import *  # noqa: F403 - transpose_copy, view_copy, norm_except_dim...
from .ops.torch_copies import __all__ as _torch_copy_names
from .ops.torch_lowrank import *  # noqa: F403 - svd_lowrank, pca_lowrank, histogramdd...
from .ops.torch_lowrank import __all__ as _torch_lowrank_names
from .ops.torch_math import *  # noqa: F403 - addcmul, ldexp, frexp, isin, real, angle...
from .ops.torch_math import __all__ as _torch_math_names
from .ops.torch_matrix_names import bmm, det, inverse, mm, slogdet
from .ops.torch_misc import *  # noqa: F403 - as_tensor, finfo, get_rng_state, typename...
from .ops.torch_misc import __all__ as _torch_misc_names
from .ops.torch_names import *  # noqa: F403 - eq, logical_and, bitwise_xor, divide, select...
from .ops.torch_names import __all__ as _torch_names
from .ops.torch_names import divide as div
from .ops.torch_names import torch_range as range  # noqa: A004 - PyTorch's (deprecated) torch.range
from .ops.torch_runtime import *  # noqa: F403 - pi, inf, set_flush_denormal, poisson...
from .ops.torch_runtime import __all__ as _torch_runtime_names
from .ops.torch_scatter import *  # noqa: F403 - index_copy, slice_scatter, split_with_sizes...
from .ops.torch_scatter import __all__ as _torch_scatter_names
from .ops.torch_stats import *  # noqa: F403 - cov, corrcoef, renorm, trapezoid, lu...
from .ops.torch_stats import __all__ as _torch_stats_names
from .ops.torch_windows import *  # noqa: F403 - hann_window, kaiser_window...
from .ops.torch_windows import __all__ as _torch_window_names
from .ops.unique import unique_consecutive

dtype = _numpy_backend.dtype  # PyTorch's torch.dtype: chainrule's dtypes are NumPy's
absolute = abs
negative = neg


def is_tensor(obj) -> bool:  # noqa: A001
    """True for a chainrule Tensor."""
    return isinstance(obj, Tensor)


def numel(input) -> int:  # noqa: A002 - PyTorch's name
    """The number of elements of a Tensor."""
    return input.numel()


__version__ = version.__version__


__all__ = [
    # PyTorch's names (docs/pytorch.md)
    "Size", "abs", "accelerator", "add", "arange", "argmax", "argmin", "argsort", "bfloat16",
    "bmm", "bool", "cat", "chunk", "clamp", "clip", "clone", "concat", "cos", "cuda",
    "default_generator", "device", "div", "double", "empty", "empty_like", "exp", "eye",
    "flatten", "float", "float16", "float32", "float64", "from_numpy", "full", "full_like",
    "gather", "half", "initial_seed", "int", "int8", "int16", "int32", "int64", "is_tensor",
    "linspace", "load", "log", "log_softmax", "logsumexp", "long", "manual_seed", "masked_fill",
    "matmul", "max", "maximum", "mean", "min", "minimum", "mm", "mul", "multinomial", "narrow",
    "neg", "numel", "ones", "ones_like", "permute", "pow", "rand", "rand_like", "randint",
    "randn", "randn_like", "randperm", "relu", "reshape", "save", "seed", "short", "sigmoid",
    "sign", "sin", "softmax", "sort", "split", "sqrt", "squeeze", "stack", "std", "sub", "sum",
    "tanh", "topk", "transpose", "tril", "triu", "uint8", "unsqueeze", "var", "where", "zeros",
    "zeros_like", "Generator", "inference_mode", "one_hot", "get_default_device",
    "get_default_dtype", "set_default_device",
    "set_default_dtype", "index_select", "repeat_interleave", "tile", "sgn", "absolute",
    "negative", "linalg", "inverse", "det", "slogdet", "svd", "qr", "distributions",
    "special", "fft", "testing", "pinverse", "cholesky_inverse", "cholesky_solve", "matrix_exp",
    "triangular_solve",
    "diagonal", "diag_embed", "diagflat", "dist", "geqrf", "logdet", "cholesky", "lu_unpack",
    "matrix_power", "orgqr", "ormqr",
    # chainrule's
    "F",
    "Function",
    "Tensor",
    "config",
    "enable_grad",
    "data",
    "func",
    "functional",
    "get_num_threads",
    "io",
    "models",
    "nn",
    "onnx",
    "optim",
    "profiler",
    "train",
    "utils",
    "vision",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "ops",
    "reference_mode",
    "set_grad_enabled",
    "set_num_threads",
    "set_reference_mode",
    "tensor",
    "trace",
    "value_and_grad",
]
__all__ += _einsum_names + _math_names + _rearrange_names + _select_names + _stats_names
cuda.amp = amp.cuda_amp  # torch.cuda.amp.GradScaler / autocast
cpu = _types.SimpleNamespace(  # torch.cpu: the CPU device's module, its older amp spellings
    amp=amp.cpu_amp, is_available=lambda: True, device_count=lambda: 1,
    current_device=lambda: "cpu", synchronize=lambda device=None: None)
autograd.profiler = profiler.legacy  # PyTorch's older path, torch.autograd.profiler
_sys.modules[__name__ + ".autograd.profiler"] = profiler.legacy

__all__ += ["amp", "autocast", "are_deterministic_algorithms_enabled", "backends", "compile",
            "compiler", "distributed", "jit", "library", "multiprocessing", "overrides",
            "get_float32_matmul_precision", "is_deterministic_algorithms_warn_only_enabled",
            "set_float32_matmul_precision", "use_deterministic_algorithms"]
__all__ += _scan_names + _special_fn_names + _product_names + _order_names
__all__ += ["as_strided", "fmax", "fmin", "scatter_reduce", "unique_consecutive", "range"]
__all__ += ["fake_quantize_per_channel_affine", "fake_quantize_per_tensor_affine"]
__all__ += _torch_names
__all__ += _torch_math_names + _torch_stats_names + _torch_window_names
__all__ += _torch_scatter_names + _torch_misc_names + ["dtype", "layout", "strided"]
__all__ += _torch_lowrank_names
__all__ += ["channels_last", "channels_last_3d", "contiguous_format", "memory_format",
            "preserve_format"]
__all__ += ["is_inference_mode_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
            "set_anomaly_enabled"]
__all__ += ["cdouble", "cfloat", "complex", "complex64", "complex128", "istft", "stft",
            "polar", "view_as_complex", "view_as_real"]
__all__ += _shape_extra_names + _creation_extra_names + ["get_printoptions", "set_printoptions"]
__all__ += _nn_names + _nn_more_names
__all__ += _inplace_names + _inplace_more_names + _legacy_tensor_names
__all__ += _torch_runtime_names + ["GradScaler", "cond", "from_dlpack", "gradient", "to_dlpack",
                                   "get_deterministic_debug_mode", "set_deterministic_debug_mode",
                                   "while_loop"]
__all__ += _torch_copy_names + ["clear_autocast_cache", "cpu", "get_autocast_cpu_dtype",
                                "get_autocast_dtype", "get_autocast_gpu_dtype",
                                "is_autocast_cache_enabled", "is_autocast_cpu_enabled",
                                "is_autocast_enabled", "random", "signal", "version",
                                "vmap"]

from .sparse import (  # noqa: E402 - torch.sparse
    SparseTensor,
    sparse_coo,
    sparse_coo_tensor,
    sparse_csc,
    sparse_csc_tensor,
    sparse_csr,
    sparse_csr_tensor,
    spmm,
)

__all__ += ["SparseTensor", "sparse", "sparse_coo", "sparse_coo_tensor", "sparse_csc",
            "sparse_csc_tensor", "sparse_csr", "sparse_csr_tensor", "spmm"]

from .ops import out_arg as _out_arg  # noqa: E402 - PyTorch's out= (ops/out_arg.py)

_out_arg.give_out(globals(), _out_arg.NAMES)
_out_arg.give_out(vars(linalg), _out_arg.LINALG_NAMES, "linalg.")
_out_arg.give_out(vars(special), _out_arg.SPECIAL_NAMES, "special.")
_out_arg.give_out(vars(fft), _out_arg.FFT_NAMES, "fft.")
