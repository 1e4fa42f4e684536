"""The functional API (like ``torch.nn.functional``): every op of chainrule as a plain function.

>>> import chainrule.functional as F
"""

from .ops import *  # noqa: F403
from .ops import __all__  # noqa: F401
