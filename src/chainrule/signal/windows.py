"""PyTorch's ``torch.signal.windows``: SciPy-style window functions (``sym=`` rather than
``periodic=``); see ``chainrule.ops.signal_windows``."""

from ..ops.signal_windows import (
    bartlett,
    blackman,
    cosine,
    exponential,
    gaussian,
    general_cosine,
    general_hamming,
    hamming,
    hann,
    kaiser,
    nuttall,
)

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]
