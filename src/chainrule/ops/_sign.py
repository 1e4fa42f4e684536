"""The array kernel of ``sign``: NumPy's, with PyTorch's 0 (not NaN) at NaN. Its own module so
that the ONNX exporter can recognize it (it converts to ONNX's ``Sign``)."""

from ..backend import get_array_module


def sign_array(a):
    """-1, 0 or 1 by the sign of each entry of ``a`` (0 at NaN); ``a``'s dtype."""
    xp = get_array_module(a)
    return xp.where(a == a, xp.sign(a), 0)
