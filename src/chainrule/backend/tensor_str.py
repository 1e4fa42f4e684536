"""The text of ``repr(tensor)``, laid out by PyTorch's rules so that a printed tensor reads as
PyTorch prints it, character for character.

PyTorch chooses one number format per tensor (per part of a complex tensor) from its nonzero
finite values: values spanning more than three decades (or above 1e8, or below 1e-4) in
scientific notation unless ``sci_mode`` says otherwise, else whole numbers as ``1.`` and the
rest with ``precision`` digits; every number is padded to the widest. A tensor of more than
``threshold`` elements shows ``edgeitems`` rows at each end of each axis, and the format is
chosen from the rows shown. The suffixes (``dtype=``, ``size=``, ``grad_fn=``...) wrap to a new
line where the last line would pass ``linewidth``.
"""

from __future__ import annotations

import math

import numpy

from .settings import config

__all__ = ["tensor_body", "tensor_repr"]


class _Formatter:
    """The format of one real tensor's numbers: its mode (int, scientific, fixed) and width."""

    def __init__(self, values, precision: int, sci_mode):
        self.precision = precision
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            if values.size:
                edges = (values.min().item(), values.max().item())
                self.width = max(len(str(v)) for v in edges)
            return
        finite = values[numpy.isfinite(values) & (values != 0)].astype(numpy.float64)
        if finite.size == 0:
            return  # PyTorch keeps its defaults here, before it reads sci_mode
        magnitudes = numpy.abs(finite)
        low, high = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(numpy.all(finite == numpy.ceil(finite)))
        self.sci_mode = sci_mode if sci_mode is not None else bool(
            high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4)
        positive, negative = finite[finite > 0], finite[finite < 0]
        # the widest text is that of an extreme value of either sign (rounding and the exponent's
        # digits grow with the distance from 1), so the four extremes decide the width
        extremes = [part.min() for part in (positive, negative) if part.size]
        extremes += [part.max() for part in (positive, negative) if part.size]
        if self.sci_mode:
            self.width = max(len(f"{v:.{precision}e}") for v in extremes)
        elif self.int_mode:
            self.width = max(len(f"{v:.0f}") + 1 for v in extremes)
        else:
            self.width = max(len(f"{v:.{precision}f}") for v in extremes)

    def format(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{self.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{self.precision}f}"
        return text.rjust(self.width)


class _Layout:
    """The options and formatters of one repr, and the recursion over the axes."""

    def __init__(self, host, options, summarize):
        self.edge, self.linewidth, self.summarize = options.edgeitems, options.linewidth, summarize
        shown = _summarized(host, self.edge) if summarize else host
        if host.dtype.kind == "c":
            self.real = _Formatter(shown.real, options.precision, options.sci_mode)
            self.imag = _Formatter(shown.imag, options.precision, options.sci_mode)
        else:
            self.real = _Formatter(shown, options.precision, options.sci_mode)
            self.imag = None

    def value(self, v) -> str:
        if self.imag is None:
            return self.real.format(v)
        real = self.real.format(v.real)
        imag = (self.imag.format(v.imag) + "j").lstrip()
        return real + imag if imag[0] in "+-" else real + "+" + imag

    def text(self, a, indent: int) -> str:
        if a.ndim == 0:
            return self.value(a.item())
        if a.ndim == 1:
            return self.vector(a, indent)
        rows = range(a.shape[0])
        if self.summarize and a.shape[0] > 2 * self.edge:
            rows = [*range(self.edge), None, *range(a.shape[0] - self.edge, a.shape[0])]
        parts = ["..." if i is None else self.text(a[i], indent + 1) for i in rows]
        return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"

    def vector(self, a, indent: int) -> str:
        size = self.real.width + 2 + (0 if self.imag is None else self.imag.width + 1)
        per_line = max(1, (self.linewidth - indent) // size)
        if self.summarize and not self.edge:
            items = ["..."]
        elif self.summarize and a.shape[0] > 2 * self.edge:
            items = ([self.value(v) for v in a[:self.edge].tolist()] + [" ..."]
                     + [self.value(v) for v in a[-self.edge:].tolist()])
        else:
            items = [self.value(v) for v in a.tolist()]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _summarized(a, edge: int):
    """The elements a summary shows, as one array (the formatter's sample), as PyTorch's
    ``get_summarized_data`` (a 1-D tensor keeps all of itself when ``edge`` is 0)."""
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return numpy.concatenate((a[:edge], a[-edge:])) if a.shape[0] > 2 * edge else a
    if not edge:
        return a[(slice(0, 0),) * a.ndim]
    rows = range(a.shape[0])
    if a.shape[0] > 2 * edge:
        rows = [*range(edge), *range(a.shape[0] - edge, a.shape[0])]
    return numpy.stack([_summarized(a[i], edge) for i in rows])


def tensor_body(host, indent: int, options=None) -> str:
    """The bracketed numbers of ``host`` (a NumPy array), lines after the first indented by
    ``indent`` + 1 (the length of the prefix before the first bracket)."""
    options = options or config.print_options
    if host.size == 0:
        return "[]"
    summarize = host.size > options.threshold
    return _Layout(host, options, summarize).text(host, indent)


def _add_suffixes(text: str, suffixes, indent: int, linewidth: int) -> str:
    parts = [text]
    last = len(text) - text.rfind("\n") + 1  # PyTorch's count (one more than the line's length)
    for suffix in suffixes:
        if last + len(suffix) + 2 > linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(parts) + ")"


def tensor_repr(host, *, dtype, shape, device: str = "cpu", grad_fn: str | None = None,
                requires_grad: bool = False, tangent: str | None = None,
                prefix: str = "tensor(") -> str:
    """``repr`` of a tensor of ``dtype`` and ``shape`` whose values are ``host`` (a NumPy array;
    None on the meta device), with PyTorch's suffixes: ``device=`` off the default device,
    ``size=`` where the numbers do not show it, ``dtype=`` unless the values imply it (the default
    float dtype, its complex type, int64, bool), then ``grad_fn=<...>`` or
    ``requires_grad=True``, then a dual tensor's ``tangent=`` (its text)."""
    options = config.print_options
    default = numpy.dtype(config.default_dtype)
    implied = (default, numpy.dtype(numpy.complex128 if default == numpy.float64 else
                                    numpy.complex64), numpy.dtype(numpy.int64),
               numpy.dtype(numpy.bool_))
    suffixes = []
    if str(device).split(":")[0] != str(config.default_device).split(":")[0]:
        suffixes.append(f"device='{device}'")
    size = f"size={tuple(int(n) for n in shape)}"
    if host is None or math.prod(shape) == 0:
        if host is None or len(shape) != 1:
            suffixes.append(size)
        if dtype != default:
            suffixes.append(f"dtype={dtype}")
        body = "..." if host is None else "[]"
    else:
        if not options.edgeitems:
            suffixes.append(size)
        if dtype not in implied:
            suffixes.append(f"dtype={dtype}")
        body = tensor_body(host, len(prefix), options)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    if tangent is not None:
        suffixes.append(f"tangent={tangent}")
    return _add_suffixes(prefix + body, suffixes, len(prefix), options.linewidth)
