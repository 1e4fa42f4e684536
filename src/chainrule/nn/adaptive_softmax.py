"""Adaptive softmax (Grave et al., 2017), PyTorch's ``nn.AdaptiveLogSoftmaxWithLoss``: an
efficient softmax over a large vocabulary sorted by frequency.

The frequent classes (below ``cutoffs[0]``, the shortlist) sit in the head with one extra entry per
tail cluster; the rarer classes sit in tail clusters, each reached through a low-rank projection
(``in_features // div_value ** (i + 1)`` units). The log-probability of a tail class is the head's
log-probability of its cluster plus its log-probability within the cluster, so a batch pays for
a cluster only for the rows whose target falls in it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.indexing import gather
from ..ops.join import concat
from ..ops.reduce import argmax, mean
from ..ops.reduce import sum as _sum
from ..ops.shape import getitem, reshape
from ..ops.softmax import log_softmax
from ._checks import positive_int, resolve_rng
from .containers import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]


class _ASMoutput(NamedTuple):
    """What ``AdaptiveLogSoftmaxWithLoss`` returns: each row's target log-probability and the
    mean negative log-likelihood."""

    output: Tensor
    loss: Tensor


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: a log-softmax over ``n_classes`` split into a head and tail clusters.

    Args:
        in_features: the size of each input row.
        n_classes: the number of classes, ordered from most to least frequent.
        cutoffs: increasing ints in [1, n_classes - 1]: the first is the shortlist size, each
            next one ends a cluster (the last cluster ends at n_classes).
        div_value: the factor by which each cluster's projection is smaller than the previous.
        head_bias: whether the head's Linear has a bias.
        rng: numpy Generator for the weights (None: the default generator).

    Shape:
        input (N, in_features) and target (N,) -> output (N,), loss (); unbatched (in_features,)
        and () -> (), ().

    ``forward`` returns ``(output, loss)`` (a named tuple); ``log_prob(input)`` gives all
    (N, n_classes) log-probabilities and ``predict(input)`` the most likely class of each row.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> asm = AdaptiveLogSoftmaxWithLoss(16, 100, [10, 40], rng=np.random.default_rng(0))
    >>> x = cr.tensor(np.ones((3, 16), dtype="float32"))
    >>> out = asm(x, cr.tensor([1, 20, 99]))
    >>> out.output.shape, out.loss.shape, asm.log_prob(x).shape
    ((3,), (), (3, 100))
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0,
                 head_bias: bool = False, *, rng=None, dtype=None):
        super().__init__()
        who = "AdaptiveLogSoftmaxWithLoss"
        in_features = positive_int(who, "in_features", in_features)
        n_classes = positive_int(who, "n_classes", n_classes)
        cutoffs = list(cutoffs)
        if (not cutoffs or cutoffs != sorted(cutoffs) or len(set(cutoffs)) != len(cutoffs)
                or any(isinstance(c, bool) or int(c) != c for c in cutoffs)
                or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1):
            raise ValueError(f"{who}: cutoffs should be a sequence of unique, positive integers "
                             f"sorted in an increasing order, where each value is between 1 and "
                             f"n_classes-1 = {n_classes - 1}; got {cutoffs}")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        rng = resolve_rng(rng, who)
        self.head = Linear(in_features, self.head_size, bias=head_bias, rng=rng, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            if hidden < 1:
                raise ValueError(f"{who}: cluster {i} would project to in_features // "
                                 f"div_value ** {i + 1} = {hidden} units; use a larger "
                                 f"in_features or a smaller div_value (got in_features="
                                 f"{in_features}, div_value={div_value})")
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, rng=rng,
                                               dtype=dtype),
                                        Linear(hidden, size, bias=False, rng=rng, dtype=dtype)))

    def forward(self, input_, target_) -> _ASMoutput:
        # PyTorch names these ``input_`` and ``target_``, so keyword calls must use those names.
        x, target = input_, target_
        xp = get_array_module(x._data)
        t = xp.asarray(target._data if isinstance(target, Tensor) else target)
        if t.dtype.kind not in "iu":
            raise TypeError(f"AdaptiveLogSoftmaxWithLoss: target must hold integer classes, got "
                            f"dtype {t.dtype}")
        if t.ndim == 1:
            if x.ndim != 2 or x.shape[0] != t.shape[0]:
                raise ValueError(f"AdaptiveLogSoftmaxWithLoss: a 1-D target (N,) needs 2-D input "
                                 f"(N, in_features) with the same N; got input shape "
                                 f"{tuple(x.shape)}, target shape {tuple(t.shape)}")
        elif t.ndim == 0:
            if x.ndim != 1:
                raise ValueError(f"AdaptiveLogSoftmaxWithLoss: a 0-D target needs 1-D input "
                                 f"(in_features,), got input shape {tuple(x.shape)}")
        else:
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: target must be 0-D or 1-D (one class "
                             f"per row), got shape {tuple(t.shape)}")
        batched = t.ndim > 0
        if not batched:
            x, t = reshape(x, (1, -1)), t.reshape(1)
        if t.size and (int(t.min()) < 0 or int(t.max()) >= self.n_classes):
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: target values should be in [0, "
                             f"{self.n_classes - 1}], but values in [{int(t.min())}, "
                             f"{int(t.max())}] were found")
        t = t.astype(xp.int64)
        # Each row's head entry: its class in the shortlist, else its cluster's entry.
        bounds = xp.asarray(self.cutoffs[:-1])
        cluster = xp.searchsorted(bounds, t, side="right") - 1  # -1: in the shortlist
        head_entry = xp.where(cluster < 0, t, self.shortlist_size + cluster)
        head_lp = log_softmax(self.head(x), 1)
        output = reshape(gather(head_lp, 1, Tensor(head_entry[:, None])), (-1,))
        order, pieces = [xp.nonzero(cluster < 0)[0]], []
        for i in range(self.n_clusters):
            rows = xp.nonzero(cluster == i)[0]
            if rows.size == 0:
                continue
            local = (t[rows] - self.cutoffs[i])[:, None]
            lp = log_softmax(self.tail[i](getitem(x, Tensor(rows))), 1)
            pieces.append(reshape(gather(lp, 1, Tensor(local)), (-1,)))
            order.append(rows)
        if pieces:  # the tail parts, zeros for shortlist rows, put back in row order
            zeros = Tensor(xp.zeros(order[0].shape[0], dtype=x._data.dtype))
            placed = concat([zeros] + pieces, 0)
            output = getitem(placed, Tensor(xp.argsort(xp.concatenate(order)))) + output
        # the mean of no rows is NaN, as PyTorch's (mean refuses an empty tensor)
        loss = mean(-output) if output.shape[0] else _sum(-output) * math.nan
        return _ASMoutput(output if batched else reshape(output, ()), loss)

    def _full_log_prob(self, x, head_out):
        head_lp = log_softmax(head_out, 1)
        parts = [getitem(head_lp, (slice(None), slice(0, self.shortlist_size)))]
        for i in range(self.n_clusters):
            entry = self.shortlist_size + i
            cluster_lp = getitem(head_lp, (slice(None), slice(entry, entry + 1)))
            parts.append(log_softmax(self.tail[i](x), 1) + cluster_lp)
        return concat(parts, 1)

    def log_prob(self, input) -> Tensor:  # noqa: A002
        """Log-probabilities of every class: (N, n_classes), or (n_classes,) unbatched."""
        if input.ndim not in (1, 2):
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss.log_prob: input must be (N, "
                             f"in_features) or (in_features,), got shape {tuple(input.shape)}")
        x = input if input.ndim == 2 else reshape(input, (1, -1))
        out = self._full_log_prob(x, self.head(x))
        return out if input.ndim == 2 else reshape(out, (-1,))

    def predict(self, input) -> Tensor:  # noqa: A002
        """The most likely class of each row of (N, in_features) input: an int Tensor (N,).

        Only rows whose head prefers a cluster over every shortlist class need the full
        distribution (a shortlist class that beats every cluster's entry beats its classes)."""
        if input.ndim != 2:
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss.predict: input must be (N, "
                             f"in_features), got shape {tuple(input.shape)}")
        head_out = self.head(input)
        best = argmax(head_out, 1)._data.copy()
        outside = best >= self.shortlist_size
        if outside.any():
            xp = get_array_module(best)
            rows = Tensor(xp.nonzero(outside)[0])
            full = self._full_log_prob(getitem(input, rows), getitem(head_out, rows))
            best[outside] = argmax(full, 1)._data
        return Tensor(best)
