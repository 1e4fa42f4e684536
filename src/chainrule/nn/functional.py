"""``chainrule.nn.functional``: the functional API under PyTorch's module path.

``import chainrule.nn.functional as F`` is the same set of functions as ``chainrule.functional``.
"""

from ..ops import *  # noqa: F403
from ..ops import __all__  # noqa: F401
