"""The functions ``chainrule.nn.functional`` adds to ``chainrule.ops``'s: PyTorch's names for the
activations, distances, im2col, losses and resampling of ``ops.activation_extra``,
``ops.distance``, ``ops.fold``, ``ops.loss_extra`` and ``ops.resample``, and
``embedding``/``softmin``, which follow PyTorch's module-level conventions (an embedding's
padding row, the implicit softmax axis)."""

from __future__ import annotations

import numbers
import warnings

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import MetaArray, get_array_module
from ..ops import (
    activation_extra,
    activation_random,
    bilinear,
    ctc,
    distance,
    fold,
    grid_sample,
    linear_cross_entropy,
    loss_extra,
    loss_margin,
    resample,
)
from ..ops.conv import conv1d
from ..ops.elementwise import neg, where
from ..ops.embedding_bag import reduce_bags
from ..ops.shape import getitem
from ..ops.softmax import implicit_softmax_dim, softmax
from ..sparse.embedding import sparse_lookup
from ._attention_core import attend
from .embedding import embedding_renorm_, scaled_by_frequency, torch_options

__all__ = ["conv_tbc", "embedding", "embedding_bag", "multi_head_attention_forward", "softmin",
           "upsample", "upsample_bilinear", "upsample_nearest"]

extra_names = (list(__all__) + activation_extra.__all__ + activation_random.__all__
               + bilinear.__all__ + ctc.__all__ + distance.__all__ + fold.__all__
               + grid_sample.__all__ + linear_cross_entropy.__all__ + loss_extra.__all__
               + loss_margin.__all__ + resample.__all__)


def softmin(input, dim=None, _stacklevel: int = 3, dtype=None):  # noqa: A002 - PyTorch's names
    """``softmax(-input, dim)``; ``dim=None`` takes PyTorch's implicit axis, with its warning."""
    if dim is None and hasattr(input, "ndim"):
        dim = implicit_softmax_dim("softmin", input.ndim, _stacklevel)
    return softmax(neg(input), dim=dim, dtype=dtype)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,  # noqa: A002
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` (num_embeddings, dim) at the integer ids ``input``: shape
    ``input.shape + (dim,)``. No gradient reaches row ``padding_idx``. ``sparse``: the gradient
    of ``weight`` is a sparse COO tensor (chainrule.sparse), one entry per id. ``max_norm``: the
    rows looked up whose ``norm_type``-norm exceeds it are first scaled down to it, in ``weight``
    itself, as PyTorch's (``embedding_renorm_``); ``scale_grad_by_freq`` divides each row's
    gradient by the count of its id in ``input``."""
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        got = tuple(weight.shape) if hasattr(weight, "shape") else type(weight).__name__
        raise ValueError(f"embedding: weight must be a 2-D Tensor (num_embeddings, dim), got {got}")
    n = weight.shape[0]
    data = input._data if isinstance(input, Tensor) else input
    xp = get_array_module(weight._data)
    data = data if type(data) is MetaArray else xp.asarray(data)
    if data.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer ids (e.g. dtype int64), got dtype "
                        f"{data.dtype}")
    if padding_idx is not None:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral) \
                or not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be an int within [-{n}, {n - 1}], got "
                             f"{padding_idx!r}")
        padding_idx = int(padding_idx) % n
    if max_norm is not None:
        torch_options("embedding", max_norm, norm_type, False)
        with no_grad():
            embedding_renorm_(weight, data, max_norm, norm_type)
    ids = input if isinstance(input, Tensor) and input._data is data else Tensor(data)
    if sparse and weight.requires_grad:  # weight.grad: a SparseTensor
        out = sparse_lookup(weight, data, who="embedding", padding_idx=padding_idx,
                            scale_grad_by_freq=scale_grad_by_freq)
    else:
        out = getitem(weight, ids, rows=("embedding", n))
    if scale_grad_by_freq and out.requires_grad:
        out = scaled_by_frequency(out, data, n)
    if padding_idx is not None and out.requires_grad:
        keep = (data != padding_idx)[..., None]
        if not bool(keep.all()):
            out = where(keep, out, out.detach())
    return out


def embedding_bag(input, weight, offsets=None, max_norm=None,  # noqa: A002 - torch's names
                  norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                  sparse: bool = False, per_sample_weights=None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> Tensor:
    """``ops.embedding_bag`` (see there for the arguments) in PyTorch's order, with PyTorch's
    ``max_norm``/``norm_type`` (the rows of the ids given are first scaled down to ``max_norm``,
    in ``weight`` itself, as ``F.embedding``) and ``sparse``: the gradient of ``weight`` is then a
    sparse COO tensor (chainrule.sparse) with one entry per id kept, in input order
    (``padding_idx`` left out), holding the gradient of that lookup's row, as PyTorch's. Mode
    "max" refuses it, as PyTorch does. ``scale_grad_by_freq=True`` raises NotImplementedError
    (PyTorch's CPU kernel divides by the counts of other ids when the ids are not sorted)."""
    torch_options("embedding_bag", max_norm, norm_type, scale_grad_by_freq)
    if sparse and mode == "max":
        raise ValueError("embedding_bag: max mode does not support sparse weights (sparse=True "
                         "with mode='max'; as in PyTorch, use mode 'sum' or 'mean')")
    if max_norm is not None and isinstance(weight, Tensor):
        with no_grad():
            embedding_renorm_(weight, getattr(input, "_data", input), max_norm, norm_type)
    sparse_grad = sparse and isinstance(weight, Tensor) and weight.requires_grad
    return reduce_bags(input, weight, offsets, mode, per_sample_weights, include_last_offset,
                       padding_idx, _sparse_rows if sparse_grad else None)


def _sparse_rows(weight, ids):
    return sparse_lookup(weight, ids, who="embedding_bag")


def _deprecated(name):
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", UserWarning, stacklevel=3)


def upsample(input, size=None, scale_factor=None, mode: str = "nearest",  # noqa: A002
             align_corners=None) -> Tensor:
    """PyTorch's deprecated ``F.upsample``: ``interpolate``, with PyTorch's warning."""
    _deprecated("upsample")
    return resample.interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None) -> Tensor:  # noqa: A002
    """PyTorch's deprecated ``F.upsample_nearest``: ``interpolate(mode="nearest")``."""
    _deprecated("upsample_nearest")
    return resample.interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None) -> Tensor:  # noqa: A002
    """PyTorch's deprecated ``F.upsample_bilinear``: ``interpolate(mode="bilinear",
    align_corners=True)``."""
    _deprecated("upsample_bilinear")
    return resample.interpolate(input, size, scale_factor, "bilinear", True)


def multi_head_attention_forward(
        query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight, in_proj_bias,
        bias_k, bias_v, add_zero_attn: bool, dropout_p: float, out_proj_weight, out_proj_bias,
        training: bool = True, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
        use_separate_proj_weight: bool = False, q_proj_weight=None, k_proj_weight=None,
        v_proj_weight=None, static_k=None, static_v=None, average_attn_weights: bool = True,
        is_causal: bool = False, *, rng=None):
    """PyTorch's functional multi-head attention: ``nn.MultiheadAttention``'s computation from
    weights given as arguments (the same code). Inputs are (L, N, E), (S, N, kdim),
    (S, N, vdim), or unbatched (L, E)...; ``in_proj_weight`` (3E, E) holds the query, key and
    value projections, or with ``use_separate_proj_weight`` ``q_proj_weight`` (E, E),
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim). ``static_k``/``static_v``
    (N*num_heads, S, E/num_heads) replace the projected keys/values. ``rng`` draws the dropout
    of the attention weights (when ``training`` and ``dropout_p`` > 0). Returns ``(output,
    weights or None)``."""
    who = "multi_head_attention_forward"
    E = embed_dim_to_check
    if getattr(query, "shape", (None,))[-1] != E:
        raise ValueError(f"{who}: query must have embed_dim_to_check = {E} features, got shape "
                         f"{tuple(getattr(query, 'shape', ()))}")
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1 \
            or E % num_heads:
        raise ValueError(f"{who}: num_heads must be a positive int dividing embed_dim {E}, got "
                         f"{num_heads!r}")
    if (bias_k is None) != (bias_v is None):
        raise ValueError(f"{who}: bias_k and bias_v must be given together, got "
                         f"{'bias_k' if bias_v is None else 'bias_v'} alone")
    biases = [None] * 3 if in_proj_bias is None else [in_proj_bias[i * E:(i + 1) * E]
                                                      for i in range(3)]
    if use_separate_proj_weight:
        weights = [q_proj_weight, k_proj_weight, v_proj_weight]
        if any(w is None for w in weights):
            raise ValueError(f"{who}: use_separate_proj_weight=True needs q_proj_weight, "
                             f"k_proj_weight and v_proj_weight")
    else:
        if in_proj_weight is None or tuple(in_proj_weight.shape) != (3 * E, E):
            got = None if in_proj_weight is None else tuple(in_proj_weight.shape)
            raise ValueError(f"{who}: in_proj_weight must have shape (3 * embed_dim, embed_dim) "
                             f"= {(3 * E, E)}, got {got}")
        weights = [in_proj_weight[i * E:(i + 1) * E] for i in range(3)]
    return attend(who, query, key, value, num_heads, list(zip(weights, biases, strict=True)),
                  (out_proj_weight, out_proj_bias), bias_k=bias_k, bias_v=bias_v,
                  add_zero_attn=add_zero_attn, dropout_p=dropout_p, training=training, rng=rng,
                  key_padding_mask=key_padding_mask, need_weights=need_weights,
                  attn_mask=attn_mask, average_attn_weights=average_attn_weights,
                  is_causal=is_causal, static_k=static_k, static_v=static_v)


def conv_tbc(input, weight, bias, pad: int = 0) -> Tensor:  # noqa: A002 - PyTorch's names
    """A 1-D convolution of a time-major sequence: input (time, batch, in_channels), weight
    (kernel width, in_channels, out_channels), bias (out_channels), ``pad`` steps of zeros at
    both ends; output (time', batch, out_channels). ``conv1d`` on the permuted tensors."""
    for name, t, rank in (("input", input, 3), ("weight", weight, 3), ("bias", bias, 1)):
        if not isinstance(t, Tensor) or t.ndim != rank:
            got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"conv_tbc: {name} must be a {rank}-D Tensor, got {got}")
    if input.shape[2] != weight.shape[1] or bias.shape[0] != weight.shape[2]:
        raise ValueError(f"conv_tbc: input (time, batch, in) {tuple(input.shape)}, weight "
                         f"(width, in, out) {tuple(weight.shape)} and bias (out,) "
                         f"{tuple(bias.shape)} do not agree")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)
