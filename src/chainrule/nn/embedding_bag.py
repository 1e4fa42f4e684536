"""EmbeddingBag: one vector per bag of ids, the sum, mean or maximum of their rows (PyTorch's)."""

from __future__ import annotations

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.embedding_bag import MODES
from . import init
from ._checks import float_dtype, positive_int, resolve_rng
from ._functional_extra import embedding_bag
from .embedding import _padding_index, embedding_renorm_, given_weight, torch_options
from .module import Module, Parameter

__all__ = ["EmbeddingBag"]


class EmbeddingBag(Module):
    """A table of ``num_embeddings`` vectors reduced over bags of ids, never building one-hots.

    The sparse input path of a bag-of-words or bag-of-n-grams model: ``mode="sum"`` with
    ``per_sample_weights`` (e.g. TF-IDF values) is the product of a sparse document-feature
    matrix with ``weight``; ``mode="mean"`` is fastText's averaged word vectors.

    Args:
        num_embeddings: how many ids (valid ids are 0 .. num_embeddings - 1).
        embedding_dim: size of each vector.
        mode: ``"sum"``, ``"mean"`` (the default, as PyTorch's) or ``"max"``.
        include_last_offset: offsets carry the end of the last bag too (CSR ``indptr``).
        padding_idx: an id left out of every bag; its row starts at zero and gets no gradient.
        rng: numpy Generator for the N(0, 1) initial weights (None: the default generator).
        dtype: floating-point dtype of the weight (None: the default dtype).
        max_norm, norm_type, scale_grad_by_freq, sparse: PyTorch's options, in PyTorch's
            positional order (``max_norm`` third; a string there is taken as ``mode``, the third
            argument chainrule took before): ``sparse=True`` makes ``weight.grad`` a sparse COO
            tensor (chainrule.sparse), one entry per id looked up, as PyTorch's (not with mode
            "max"); ``scale_grad_by_freq=True`` raises NotImplementedError; ``_weight``: a Tensor
            (num_embeddings, embedding_dim) used as the weight, shared and as it is.

    Shape:
        ``input`` (B, N) with ``offsets=None``, or (L,) with ``offsets`` (B,) (B + 1 with
        ``include_last_offset``) -> (B, embedding_dim). ``weight``: (num_embeddings,
        embedding_dim), the state-dict key ``weight`` as in PyTorch.

    >>> import numpy as np
    >>> bag = EmbeddingBag(10, 3, mode="sum", rng=np.random.default_rng(0))
    >>> bag([1, 2, 4, 5, 4], offsets=[0, 2]).shape
    (2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False,
                 padding_idx: int | None = None, *, rng=None, dtype=None):
        super().__init__()
        if isinstance(max_norm, str):  # chainrule's earlier order, mode third: a mode name
            if mode != "mean":
                raise TypeError(f"EmbeddingBag: mode given twice ({max_norm!r} third and "
                                f"mode={mode!r}); the third argument is max_norm, as PyTorch's")
            max_norm, mode = None, max_norm
        torch_options("EmbeddingBag", max_norm, norm_type, scale_grad_by_freq)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq = bool(scale_grad_by_freq)  # False: True is refused above
        self.sparse = bool(sparse)
        self.num_embeddings = positive_int("EmbeddingBag", "num_embeddings", num_embeddings)
        self.embedding_dim = positive_int("EmbeddingBag", "embedding_dim", embedding_dim)
        if mode not in MODES:
            raise ValueError(f"EmbeddingBag: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.include_last_offset = bool(include_last_offset)
        self.padding_idx = _padding_index(padding_idx, self.num_embeddings)
        if _weight is not None:  # PyTorch's: the table itself (shared, kept as it is)
            self.weight = given_weight("EmbeddingBag", _weight, num_embeddings, embedding_dim,
                                       False)
            return
        dt = float_dtype(dtype, "EmbeddingBag")
        self.weight = Parameter(get_array_module().empty((num_embeddings, embedding_dim), dtype=dt))
        self.reset_parameters(rng=resolve_rng(rng, "EmbeddingBag"))

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        mode: str = "mean", sparse: bool = False,
                        include_last_offset: bool = False, padding_idx: int | None = None):
        """An EmbeddingBag whose weight is a copy of ``embeddings`` (a 2-D float Tensor or array),
        as PyTorch's (its arguments in PyTorch's order).

        Args:
            embeddings: the table, shape (num_embeddings, embedding_dim).
            freeze: keep the weight fixed (``requires_grad=False``).
            mode, include_last_offset, padding_idx: as in the constructor; the padding row is
                kept as it is (not zeroed).
            max_norm, norm_type, scale_grad_by_freq, sparse: as in the constructor.
        """
        data = embeddings._data if isinstance(embeddings, Tensor) else embeddings
        if getattr(data, "ndim", None) != 2:
            raise ValueError(
                "EmbeddingBag.from_pretrained: embeddings must be 2-D "
                f"(num_embeddings, embedding_dim), got shape {getattr(data, 'shape', None)}"
            )
        module = cls(data.shape[0], data.shape[1], mode=mode,
                     include_last_offset=include_last_offset,
                     padding_idx=padding_idx, dtype=data.dtype, max_norm=max_norm,
                     norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse,
                     rng=get_array_module().random.default_rng(0))
        with no_grad():
            module.weight.copy_(data)
        module.weight.requires_grad = not freeze
        return module

    def reset_parameters(self, *, rng=None) -> None:
        """Draw the weight from N(0, 1) and zero the padding row (``rng`` None: the default
        generator, as PyTorch's ``reset_parameters()``)."""
        init.normal_(self.weight, rng=resolve_rng(rng, "EmbeddingBag"))
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):  # noqa: A002 - torch
        """The reduced vectors of each bag; see ``ops.embedding_bag`` for the arguments. With
        ``max_norm``, the rows of the ids given are first scaled down to it, in the weight."""
        if self.max_norm is not None:
            with no_grad():
                embedding_renorm_(self.weight, input, self.max_norm, self.norm_type)
        return embedding_bag(input, self.weight, offsets, mode=self.mode,
                             per_sample_weights=per_sample_weights,
                             include_last_offset=self.include_last_offset,
                             padding_idx=self.padding_idx, sparse=self.sparse)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        text += f", mode={self.mode!r}"  # include_last_offset and sparse not shown, as PyTorch
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
