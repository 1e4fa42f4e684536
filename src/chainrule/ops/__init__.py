"""Every differentiable primitive of chainrule, one family per module.

Importing this package also attaches the operators and methods of ``Tensor`` (``+``, ``@``,
``.sum()``, ``.relu()`` ...); each family's module ends with the block that attaches its own.
"""

from . import activation, elementwise, linalg, loss, normalization, reduce, shape
from ._broadcast import broadcast_to, sum_to
from .activation import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .linalg import *  # noqa: F403
from .loss import *  # noqa: F403
from .normalization import *  # noqa: F403
from .reduce import *  # noqa: F403
from .shape import *  # noqa: F403

__all__ = (
    ["broadcast_to", "sum_to"]
    + activation.__all__
    + elementwise.__all__
    + linalg.__all__
    + loss.__all__
    + normalization.__all__
    + reduce.__all__
    + shape.__all__
)
