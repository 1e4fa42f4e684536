"""``flex_attention`` (PyTorch's ``torch.nn.attention.flex_attention``): scaled dot-product
attention whose scores a user function rewrites (``score_mod``) and whose mask a user function
describes (``mask_mod``, through ``create_block_mask``).

PyTorch calls the functions once per (batch, head, query, key) entry under ``vmap``; here they
are called once, on index tensors shaped (B, 1, 1, 1), (1, H, 1, 1), (1, 1, L, 1) and
(1, 1, 1, S) that broadcast to the scores (B, H, L, S). Functions of elementwise ops, ``where``
and indexing (``bias[h]``, ``doc_id[b, q_idx] == doc_id[b, kv_idx]``) mean the same either way,
and their gradients are those of the ops they use. The computation is PyTorch's eager one: the
scores in float32 (float64 for float64 inputs), ``score_mod`` on every entry, then the mask; a
query that sees no key gets the output 0 and the log-sum-exp -inf.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .attention import attention_weights
from .cast import cast
from .elementwise import where
from .linalg import matmul
from .reduce import logsumexp
from .repeat import repeat_interleave
from .shape import broadcast_to, transpose

__all__ = ["AuxOutput", "AuxRequest", "BlockMask", "and_masks", "create_block_mask",
           "create_mask", "flex_attention", "noop_mask", "or_masks"]


def noop_mask(batch, head, token_q, token_kv):
    """The mask_mod that lets every query attend to every key."""
    return Tensor(get_array_module(batch._data).ones((), dtype=bool))


def and_masks(*mask_mods):
    """The mask_mod that is True where every one of ``mask_mods`` is."""
    _check_callables("and_masks", mask_mods)

    def and_mask(b, h, q_idx, kv_idx):
        result = noop_mask(b, h, q_idx, kv_idx)
        for mod in mask_mods:
            result = result & mod(b, h, q_idx, kv_idx)
        return result
    return and_mask


def or_masks(*mask_mods):
    """The mask_mod that is True where any one of ``mask_mods`` is."""
    _check_callables("or_masks", mask_mods)

    def or_mask(b, h, q_idx, kv_idx):
        result = ~noop_mask(b, h, q_idx, kv_idx)
        for mod in mask_mods:
            result = result | mod(b, h, q_idx, kv_idx)
        return result
    return or_mask


def _check_callables(who, mods):
    if not all(callable(m) for m in mods):
        raise TypeError(f"{who}: every argument must be a mask_mod function, got {mods!r}")


def _indices(B, H, L, S):
    """The (b, h, q_idx, kv_idx) int64 index tensors, broadcasting to (B, H, L, S)."""
    xp = get_array_module()
    return tuple(Tensor(xp.arange(n, dtype="int64").reshape([n if i == k else 1
                                                              for i in range(4)]))
                 for k, n in enumerate((B, H, L, S)))


def _as_bool(out, shape):
    """A mask_mod's answer as a boolean Tensor of ``shape``."""
    if not isinstance(out, Tensor):
        out = Tensor(get_array_module().asarray(out))
    if out.dtype.kind != "b":
        raise TypeError(f"flex_attention: a mask_mod must return booleans, got {out.dtype}")
    return broadcast_to(out, shape)


def create_mask(mod_fn, B, H, Q_LEN: int, KV_LEN: int, device=None) -> Tensor:  # noqa: N803
    """The dense boolean (B, H, Q_LEN, KV_LEN) mask of a mask_mod (``mod_fn(b, h, q_idx,
    kv_idx)``) or of a score_mod (``mod_fn(score, b, h, q_idx, kv_idx)``: True where it does
    not give -inf to a score of 0). ``B``/``H`` None mean 1."""
    B, H = B or 1, H or 1
    idx = _indices(B, H, Q_LEN, KV_LEN)
    if _arity(mod_fn) == 5:
        xp = get_array_module()
        out = mod_fn(Tensor(xp.zeros((B, H, Q_LEN, KV_LEN), dtype="float32")), *idx)
        return Tensor(~xp.isneginf(broadcast_to(out, (B, H, Q_LEN, KV_LEN))._data))
    return _as_bool(mod_fn(*idx), (B, H, Q_LEN, KV_LEN))


def _arity(fn):
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 4
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


class BlockMask:
    """The mask of ``flex_attention``, made by ``create_block_mask``: the ``mask_mod`` and the
    sizes it was made for. ``to_dense()`` gives PyTorch's block-level view (1 for a block of
    ``BLOCK_SIZE`` queries by keys with any entry to compute); ``sparsity()`` the percentage of
    blocks skipped. The attention itself uses ``mask_mod`` entry by entry."""

    def __init__(self, mask_mod, B, H, Q_LEN, KV_LEN, BLOCK_SIZE):  # noqa: N803
        self.mask_mod = mask_mod
        self.seq_lengths = (Q_LEN, KV_LEN)
        self.shape = (B or 1, H or 1, Q_LEN, KV_LEN)
        self.BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) \
            else tuple(BLOCK_SIZE)

    def to_dense(self) -> Tensor:
        xp = get_array_module()
        dense = create_mask(self.mask_mod, *self.shape)._data
        (bq, bk), (B, H, L, S) = self.BLOCK_SIZE, self.shape
        nq, nk = -(-L // bq), -(-S // bk)
        padded = xp.zeros((B, H, nq * bq, nk * bk), dtype=bool)
        padded[:, :, :L, :S] = dense
        blocks = padded.reshape(B, H, nq, bq, nk, bk).any(axis=(3, 5))
        return Tensor(blocks.astype("int32"))

    def sparsity(self) -> float:
        """The percentage of blocks with nothing to compute."""
        dense = self.to_dense()._data
        return 100.0 * (1.0 - float(dense.sum()) / dense.size) if dense.size else 0.0

    def __repr__(self) -> str:
        return (f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, "
                f"mask_mod={getattr(self.mask_mod, '__name__', self.mask_mod)})")


def create_block_mask(mask_mod, B, H, Q_LEN: int, KV_LEN: int, device=None,  # noqa: N803
                      BLOCK_SIZE=128, _compile=False, **_options) -> BlockMask:  # noqa: N803
    """The ``BlockMask`` of ``mask_mod(b, h, q_idx, kv_idx) -> bool`` (True: may attend) for
    ``B`` batches and ``H`` heads (None: the same for all) of ``Q_LEN`` queries and ``KV_LEN``
    keys."""
    if not callable(mask_mod):
        raise TypeError(f"create_block_mask: mask_mod must be a function, got {mask_mod!r}")
    if _arity(mask_mod) == 5:
        raise ValueError("create_block_mask: give a mask_mod(b, h, q_idx, kv_idx), not a "
                         "score_mod(score, b, h, q_idx, kv_idx)")
    create_mask(mask_mod, B, H, Q_LEN, KV_LEN)  # its errors now, not at the first attention
    return BlockMask(mask_mod, B, H, Q_LEN, KV_LEN, BLOCK_SIZE)


@dataclass(frozen=True)
class AuxRequest:
    """Which statistics ``flex_attention(return_aux=...)`` returns besides the output."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    lse: Tensor | None = None
    max_scores: Tensor | None = None


def _check(query, key, value, block_mask, enable_gqa):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim != 4:
            raise ValueError(f"flex_attention: {name} must be a 4-D Tensor (B, H, L, E), got "
                             f"{getattr(t, 'shape', type(t).__name__)}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(f"flex_attention: query, key and value must have one dtype, got "
                        f"{query.dtype}, {key.dtype}, {value.dtype}")
    (Bq, Hq, L, E), (Bk, Hk, S, Ek) = query.shape, key.shape
    if Ek != E or value.shape[:3] != key.shape[:3]:
        raise ValueError(f"flex_attention: key (B, H, S, E) and value (B, H, S, Ev) must match "
                         f"the query's E and each other, got query {tuple(query.shape)}, key "
                         f"{tuple(key.shape)}, value {tuple(value.shape)}")
    if Hq != Hk and not (enable_gqa and Hq % Hk == 0):
        raise ValueError(f"flex_attention: query has {Hq} heads and key/value {Hk}; with "
                         f"enable_gqa=True the query's must be a multiple of theirs")
    if Bq != Bk and Bk != 1:
        raise ValueError(f"flex_attention: key/value batch {Bk} must be the query's {Bq} or 1")
    if block_mask is not None and block_mask.seq_lengths != (L, S):
        raise ValueError(f"flex_attention: block_mask was created for (Q_LEN, KV_LEN) = "
                         f"{block_mask.seq_lengths} but got q_len={L} and kv_len={S}")


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None,
                   enable_gqa: bool = False, return_lse: bool = False, kernel_options=None, *,
                   return_aux=None):
    """Attention of ``query`` (B, H, L, E) to ``key`` (B, Hkv, S, E) and ``value``
    (B, Hkv, S, Ev): ``softmax(where(mask, score_mod(q @ k^T * scale, b, h, q_idx, kv_idx),
    -inf)) @ value`` over the keys, the mask from ``block_mask.mask_mod`` (every key when None).
    ``enable_gqa``: key/value heads serve groups of query heads. ``return_lse`` (deprecated in
    PyTorch for ``return_aux=AuxRequest(lse=True)``) also returns the log-sum-exp (B, H, L) of
    the modified scores. ``kernel_options`` are accepted and ignored.
    """
    _check(query, key, value, block_mask, enable_gqa)
    if return_lse and return_aux is not None:
        raise ValueError("flex_attention: give return_lse or return_aux, not both")
    if return_lse:
        warnings.warn("return_lse is deprecated and will be removed in v2.10. Please use "
                      "return_aux=AuxRequest(lse=True) instead.", FutureWarning, stacklevel=2)
    B, H, L, E = query.shape
    group = H // key.shape[1]
    if group > 1:
        key, value = (repeat_interleave(t, group, dim=1) for t in (key, value))
    work = "float64" if query.dtype == "float64" else "float32"
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    scores = matmul(cast(query, work), transpose(cast(key, work), -2, -1)) * scale
    shape = (B, H, L, key.shape[2])
    idx = _indices(*shape)
    if score_mod is not None:  # in the dtype it gives (a float64 bias promotes, as PyTorch's)
        scores = broadcast_to(score_mod(scores, *idx), shape)
    if block_mask is not None:
        xp = get_array_module(scores._data)
        keep = _as_bool(block_mask.mask_mod(*idx), shape)
        scores = where(keep, scores, Tensor(xp.asarray(-math.inf, dtype=scores.dtype)))
    out = matmul(cast(attention_weights(scores), query.dtype), value)
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores
    lse = _lse(scores) if want_lse else None
    top = scores.max(dim=-1).values if want_max else None
    if return_aux is not None:
        return out, AuxOutput(lse, top)
    return (out, lse) if return_lse else out


def _lse(scores):
    """The log-sum-exp over the keys, -inf for a query that sees none."""
    xp = get_array_module(scores._data)
    dead = Tensor(xp.all(scores._data == -math.inf, axis=-1))
    zero, ninf = (Tensor(xp.asarray(v, dtype=scores.dtype)) for v in (0.0, -math.inf))
    safe = where(dead.unsqueeze(-1), zero, scores)
    return where(dead, ninf, logsumexp(safe, dim=-1))
