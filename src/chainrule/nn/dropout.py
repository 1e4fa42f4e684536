"""Dropout layers: zero random units (or whole channels) while training, the identity in eval mode.

Both are "inverted" dropout: kept values are scaled by 1 / (1 - p) during training, so nothing
changes at evaluation time. Each layer owns a random generator (``rng``), so a seeded model drops
the same units on every run.
"""

from __future__ import annotations

from ..ops.dropout import dropout, dropout1d, dropout2d, dropout3d
from ._checks import check_input, probability, resolve_rng
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]


class _Dropout(Module):
    """A drop probability and the generator that draws the masks."""

    def __init__(self, p: float = 0.5, inplace: bool = False, *, rng=None):
        super().__init__()
        who = type(self).__name__
        self.p = probability(who, p)
        self.inplace = inplace  # True: the input is changed and returned, as PyTorch's
        self.rng = resolve_rng(rng, who)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"  # as PyTorch shows it


class Dropout(_Dropout):
    """Zero each element with probability ``p`` in training mode and scale the rest by 1 / (1 - p).

    Args:
        p: drop probability, in [0, 1).
        rng: numpy Generator for the masks (None: the default generator).

    Shape:
        any -> same.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> layer = Dropout(0.5, rng=np.random.default_rng(0)).eval()
    >>> layer(cr.tensor([1.0, 2.0])).tolist()
    [1.0, 2.0]
    """

    def forward(self, x):
        return dropout(x, self.p, self.training, self.inplace, rng=self.rng)


class Dropout1d(_Dropout):
    """Zero whole channels of (N, C, L) sequences with probability ``p`` in training mode.

    Args:
        p: drop probability, in [0, 1).
        rng: numpy Generator for the masks (None: the default generator).

    Shape:
        (N, C, L) or unbatched (C, L) -> same.
    """

    def forward(self, x):
        check_input("Dropout1d", x, (2, 3), "3-D (N, C, L) or 2-D (C, L)")
        return dropout1d(x, self.p, self.training, self.inplace, rng=self.rng)


class Dropout2d(_Dropout):
    """Zero whole channels of (N, C, H, W) feature maps with probability ``p`` in training mode.

    Neighbouring pixels are strongly correlated, so dropping single pixels barely regularizes a
    convolutional layer; dropping a channel for an example does. Kept channels are scaled by
    1 / (1 - p).

    Args:
        p: drop probability, in [0, 1).
        rng: numpy Generator for the masks (None: the default generator).

    Shape:
        (N, C, H, W) -> same; a 3-D input is taken as (N, C, L), with PyTorch's warning, and
        other ranks run as PyTorch's deprecated forms (see ``F.dropout2d``).
    """

    def forward(self, x):
        return dropout2d(x, self.p, self.training, self.inplace, rng=self.rng)


class Dropout3d(_Dropout):
    """Zero whole channels of (N, C, D, H, W) volumes with probability ``p`` in training mode
    (as ``Dropout2d``, one draw per sample and channel).

    Args:
        p: drop probability, in [0, 1).
        rng: numpy Generator for the masks (None: the default generator).

    Shape:
        (N, C, D, H, W) or unbatched (C, D, H, W) -> same; other ranks as PyTorch's deprecated
        forms, with its warning (taken as unbatched).
    """

    def forward(self, x):
        return dropout3d(x, self.p, self.training, self.inplace, rng=self.rng)
