"""Embedding: a lookup table from integer ids to learned vectors (one row of ``weight`` per id)."""

from __future__ import annotations

import numbers

from ..autograd.inplace_record import change
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import MetaArray, get_array_module
from ..ops._logsumexp import _errstate
from ..ops.elementwise import where
from ..ops.shape import getitem
from ..sparse.embedding import sparse_lookup
from . import init
from ._checks import float_dtype, positive_int, resolve_rng
from .module import Module, Parameter

__all__ = ["Embedding", "embedding_renorm_"]


def torch_options(who: str, max_norm, norm_type, scale_grad_by_freq) -> None:
    """PyTorch's options of Embedding and EmbeddingBag: ``max_norm`` (a positive number or None)
    and ``norm_type`` checked; ``scale_grad_by_freq=True``, which chainrule's EmbeddingBag does
    not offer, refused with NotImplementedError (Embedding and ``F.embedding`` pass False and
    take it)."""
    if max_norm is not None and (isinstance(max_norm, bool) or not isinstance(
            max_norm, numbers.Real) or not max_norm > 0):
        raise ValueError(f"{who}: max_norm must be a positive number or None, got {max_norm!r}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"{who}: norm_type must be a number, got {norm_type!r}")
    if scale_grad_by_freq:
        raise NotImplementedError(f"{who}: scale_grad_by_freq=True is not supported")


def embedding_renorm_(input, indices, max_norm, norm_type) -> Tensor:  # noqa: A002 - torch's
    """Scale the rows of ``input`` (num_embeddings, dim) named in ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` down to ``max_norm`` (times ``max_norm / (norm +
    1e-7)``, as PyTorch's), in place; returns ``input``. What ``max_norm=`` of ``Embedding`` and
    ``F.embedding`` does to the weight before each lookup. It has no gradient: call it under
    ``no_grad`` on a tensor in a graph (a leaf that requires grad is refused outside it)."""
    if not isinstance(input, Tensor) or input.ndim != 2 or input.dtype.kind != "f":
        got = f"shape {tuple(input.shape)} {input.dtype}" if isinstance(input, Tensor) else type(
            input).__name__
        raise TypeError(f"embedding_renorm_: input must be a 2-D floating-point Tensor, got {got}")
    xp = get_array_module(input._data)
    ids = xp.asarray(indices._data if isinstance(indices, Tensor) else indices)
    n = input.shape[0]
    if ids.dtype.kind not in "iu" or (ids.size and not (0 <= int(ids.min()) and
                                                        int(ids.max()) < n)):
        raise IndexError(f"embedding_renorm_: indices must be integers in [0, {n - 1}], got "
                         f"dtype {ids.dtype}" + (f" from {int(ids.min())} to {int(ids.max())}"
                                                 if ids.size and ids.dtype.kind in "iu" else ""))
    rows = xp.unique(ids.reshape(-1))
    p = float(norm_type)

    def plain(arr):
        w = arr[rows]
        # float16 rows in float32, as PyTorch's norm accumulates them: a float16 sum of powers
        # overflows to inf from a norm of 256 on, and the row was scaled to zeros
        acc = w.astype(xp.float32) if w.dtype == xp.float16 else w
        mags = xp.abs(acc)
        if p in (float("inf"), float("-inf"), 0.0):  # PyTorch's norms of these orders: the
            # largest or smallest magnitude, the count of nonzeros
            norms = mags.max(axis=1) if p > 0 else mags.min(axis=1) if p < 0 else (
                mags != 0).sum(axis=1).astype(mags.dtype)
        else:
            with _errstate(xp):  # a negative order of a zero entry: an infinite power, norm 0
                norms = (mags ** p).sum(axis=1) ** (1 / p)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(acc.dtype)
        arr[rows] = (acc * scale[:, None]).astype(arr.dtype, copy=False)

    def recorded(x):
        raise RuntimeError("embedding_renorm_ has no gradient: call it under no_grad() (as "
                           "Embedding and F.embedding do with max_norm)")

    return change(input, "embedding_renorm_", recorded, plain=plain)


def given_weight(who: str, weight, num_embeddings, embedding_dim, freeze) -> Parameter:
    """PyTorch's ``_weight=`` of Embedding and EmbeddingBag: a Parameter sharing the memory of
    ``weight`` (a 2-D float Tensor of the table's shape), frozen with ``freeze``."""
    shape = tuple(getattr(weight, "shape", ()))
    if not isinstance(weight, Tensor) or weight.dtype.kind not in "fc":
        got = f"{weight.dtype} Tensor" if isinstance(weight, Tensor) else type(weight).__name__
        raise TypeError(f"{who}: _weight must be a floating-point Tensor, got {got}")
    if shape != (num_embeddings, embedding_dim):
        raise ValueError(f"{who}: _weight must have shape (num_embeddings, embedding_dim) = "
                         f"{(num_embeddings, embedding_dim)}, got {shape}")
    return Parameter(weight.detach(), requires_grad=not freeze)


def scaled_by_frequency(out, index, num_embeddings):
    """``out`` (the rows looked up at ``index``) with the gradient of each position divided by
    how often its id occurs in ``index``: PyTorch's ``scale_grad_by_freq``. The values are
    ``out``'s own."""
    xp = get_array_module(index)
    counts = xp.bincount(index.reshape(-1), minlength=num_embeddings)
    share = Tensor((1.0 / counts[index])[..., None].astype(out.dtype))
    frozen = out.detach()
    return frozen + (out - frozen) * share  # out - frozen is 0: the values stay out's


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by integer id.

    The lookup is indexing, so the weight's gradient is the output gradient scattered (and summed)
    into the rows that were used. The row ``padding_idx`` starts at zero and receives no gradient,
    so it stays what it is during training (as in PyTorch).

    Args:
        num_embeddings: size of the vocabulary (valid ids are 0 .. num_embeddings - 1).
        embedding_dim: size of each vector.
        padding_idx: an id whose row is zero-initialized and never updated (negative counts from
            the end), or None.
        max_norm, norm_type: before each lookup, the rows looked up whose ``norm_type``-norm
            exceeds ``max_norm`` are scaled down to it, in the weight itself (PyTorch's; see
            ``embedding_renorm_``).
        scale_grad_by_freq: divide the gradient reaching each row by how often its id occurs in
            the call's ids (PyTorch's).
        sparse: make ``weight.grad`` a sparse COO tensor (chainrule.sparse) with one entry per
            id looked up, for ``optim.SparseAdam``, ``SGD`` or ``Adagrad`` (PyTorch's).
        _weight, _freeze: PyTorch's: use this Tensor (num_embeddings, embedding_dim) as the weight,
            sharing its memory and as it is (no draw, the padding row not zeroed), frozen with
            ``_freeze``.
        rng: numpy Generator for the N(0, 1) initial weights (None: the default generator).
        dtype: floating-point dtype of the weight.

    Shape:
        ids of any shape ``(*)`` (integer dtype) -> ``(*, embedding_dim)``; ``weight`` is
        ``(num_embeddings, embedding_dim)``.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.nn.embedding import Embedding
    >>> emb = Embedding(10, 3, padding_idx=0, rng=np.random.default_rng(0))
    >>> emb(cr.tensor([[0, 4], [7, 7]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm=None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, *, rng=None,
                 dtype=None):
        super().__init__()
        torch_options("Embedding", max_norm, norm_type, False)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq = bool(scale_grad_by_freq)
        self.sparse = bool(sparse)
        self.num_embeddings = positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = positive_int("Embedding", "embedding_dim", embedding_dim)
        self.padding_idx = _padding_index(padding_idx, self.num_embeddings)
        if _weight is not None:  # PyTorch's: the table itself (shared, kept as it is)
            self.weight = given_weight("Embedding", _weight, num_embeddings, embedding_dim,
                                       _freeze)
            return
        dt = float_dtype(dtype, "Embedding")
        self.weight = Parameter(get_array_module().empty((num_embeddings, embedding_dim), dtype=dt))
        self.reset_parameters(rng=resolve_rng(rng, "Embedding"))

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm=None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False):
        """An Embedding whose weight is a copy of ``embeddings`` (a 2-D float Tensor or array).

        Args:
            embeddings: the table, shape (num_embeddings, embedding_dim).
            freeze: keep the weight fixed (``requires_grad=False``).
            padding_idx: as in the constructor; the given row is kept as it is (not zeroed).
            max_norm, norm_type, scale_grad_by_freq, sparse: as in the constructor.
        """
        data = embeddings._data if isinstance(embeddings, Tensor) else embeddings
        if getattr(data, "ndim", None) != 2:
            raise ValueError(
                "Embedding.from_pretrained: embeddings must be 2-D "
                f"(num_embeddings, embedding_dim), got shape {getattr(data, 'shape', None)}"
            )
        module = cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type,
                     scale_grad_by_freq, sparse, dtype=data.dtype,
                     rng=get_array_module().random.default_rng(0))
        with no_grad():
            module.weight.copy_(data)
        module.weight.requires_grad = not freeze
        return module

    def reset_parameters(self, *, rng=None) -> None:
        """Draw the weight from N(0, 1) and zero the padding row (``rng`` None: the default
        generator, as PyTorch's ``reset_parameters()``)."""
        init.normal_(self.weight, rng=resolve_rng(rng, "Embedding"))
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    def forward(self, ids):
        """Look up the vectors of ``ids`` (an integer Tensor, array or nested list)."""
        # self.weight is read once: a parametrization (spectral_norm's power iteration) runs once
        # per forward pass, as in PyTorch
        weight = self.weight
        index = self._check_ids(ids, weight)
        if self.max_norm is not None:
            with no_grad():
                embedding_renorm_(weight, index, self.max_norm, self.norm_type)
        # The ids as a Tensor: an input of the lookup, which checks their range itself, so that a
        # trace (cr.trace) reads and checks them at every call.
        ids = ids if isinstance(ids, Tensor) and ids._data is index else Tensor(index)
        pad = self.padding_idx  # one set on the layer later may count from the end, as PyTorch's
        pad = pad + weight._data.shape[0] if pad is not None and pad < 0 else pad
        if self.sparse and weight.requires_grad:  # weight.grad: a SparseTensor
            out = sparse_lookup(weight, index, who="Embedding", padding_idx=pad,
                                scale_grad_by_freq=self.scale_grad_by_freq)
        else:
            out = getitem(weight, ids, rows=("Embedding", weight._data.shape[0]))
        if self.scale_grad_by_freq and out.requires_grad:
            out = scaled_by_frequency(out, index, weight._data.shape[0])
        if pad is not None and out.requires_grad:
            keep = (index != pad)[..., None]
            if not bool(keep.all()):
                # Same values, but the padding positions read a detached copy: no gradient reaches
                # the padding row.
                out = where(keep, out, out.detach())
        return out

    def _check_ids(self, ids, weight):
        data = ids._data if isinstance(ids, Tensor) else ids
        xp = get_array_module(weight._data, data)
        if isinstance(data, (list, tuple, numbers.Integral)):
            data = xp.asarray(data)
        if not hasattr(data, "dtype") or data.dtype.kind not in "iu":
            got = getattr(data, "dtype", type(ids).__name__)
            raise TypeError(f"Embedding: ids must be integers (e.g. dtype int64), got {got}")
        # the range is checked by the lookup (ops.shape.GetItem)
        return data if type(data) is MetaArray else xp.asarray(data)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            pad += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            pad += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            pad += ", scale_grad_by_freq=True"
        if self.sparse:
            pad += ", sparse=True"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


def _padding_index(padding_idx, num_embeddings):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral):
        raise TypeError(f"Embedding: padding_idx must be an int or None, got {padding_idx!r}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"Embedding: padding_idx must be within [-{num_embeddings}, {num_embeddings - 1}] "
            f"(num_embeddings={num_embeddings}), got {padding_idx}"
        )
    return int(padding_idx) % num_embeddings
