"""Model summary: run a zero batch through a model, tabulate each layer's output shape and size."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["ModelSummary", "SummaryRow", "summarize"]

SummaryRow = namedtuple("SummaryRow", ["name", "type", "output_shape", "params"])

_HEADER = SummaryRow("Layer", "Type", "Output shape", "Params")


@dataclass(repr=False)
class ModelSummary:
    """The result of ``Module.summary``: one row per module (depth first) and the totals.

    Attributes:
        input_shape: shape of the zero batch that was run through the model.
        rows: ``SummaryRow(name, type, output_shape, params)`` per module; ``name`` is the dotted
            path ("" for the model itself), ``output_shape`` a tuple (a list for several outputs,
            None when the module was not called) and ``params`` counts the parameters the module
            itself owns (a shared one at its first appearance, so the column adds up to the total).
        total_params, trainable_params, non_trainable_params: parameter elements (frozen ones are
            non-trainable).
        buffer_elements: elements of the buffers (running statistics): saved, but not trained.
    """

    input_shape: tuple
    rows: list
    total_params: int
    trainable_params: int
    non_trainable_params: int
    buffer_elements: int

    def __str__(self) -> str:
        cells = [_HEADER] + [
            SummaryRow(r.name, r.type, _shape_text(r.output_shape), f"{r.params:,}")
            for r in self.rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(4)]

        def line(row):
            left = "  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths[:3], strict=True))
            return f"{left}  {row[3].rjust(widths[3])}"

        rule = "=" * len(line(_HEADER))
        body = [line(_HEADER), rule] + [line(row) for row in cells[1:]] + [rule]
        body += [
            f"Input shape: {self.input_shape}",
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Buffer elements (saved, not trained): {self.buffer_elements:,}",
        ]
        return "\n".join(body)

    __repr__ = __str__


def _shape_text(shape) -> str:
    if shape is None:
        return "-"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return str(shape)


def _shape_of(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [_shape_of(o) for o in output]
    return type(output).__name__


def _check_shape(input_shape) -> tuple:
    ok = isinstance(input_shape, (tuple, list)) and all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in input_shape
    )
    if not ok or not input_shape:
        raise ValueError(
            "summary: input_shape must be a tuple of positive ints, with or without the batch "
            f"axis, e.g. (1, 784) or (784,), got {input_shape!r}"
        )
    return tuple(input_shape)


def summarize(model, input_shape, dtype) -> ModelSummary:
    """The ``ModelSummary`` of ``model`` for a zero input (see Module.summary).

    ``input_shape`` is tried as given; when the model rejects it (a ValueError, as a Conv2d does
    for a 3-D input), it is tried again with a batch axis of 1 in front, so the shape of one
    sample works as in Keras and torchinfo: ``summary((1, 28, 28))`` for a LeNet runs (1, 1, 28,
    28). The summary's ``input_shape`` is the shape that ran.
    """
    input_shape = _check_shape(input_shape)
    named = list(model.named_modules())
    params = list(model.parameters())
    try:
        shapes = _output_shapes(model, named, params, input_shape, dtype)
    except ValueError as err:
        try:
            shapes = _output_shapes(model, named, params, (1, *input_shape), dtype)
        except ValueError as err_batched:
            raise ValueError(
                f"summary: the model rejects input_shape {input_shape} ({err}) and, with a batch "
                f"axis of 1, {(1, *input_shape)} ({err_batched})"
            ) from None
        input_shape = (1, *input_shape)
    rows, seen = [], set()
    for name, m in named:
        own = [p for p in m._parameters.values() if p is not None and id(p) not in seen]
        seen.update(id(p) for p in own)
        rows.append(SummaryRow(name, type(m).__name__, shapes.get(id(m)),
                               sum(p.numel() for p in own)))
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    buffers = sum(b.numel() for b in model.buffers())
    return ModelSummary(input_shape, rows, total, trainable, total - trainable, buffers)


def _output_shapes(model, named, params, input_shape, dtype) -> dict:
    """id(module) -> the shape of its output, from one forward pass of a zero batch."""
    xp = get_array_module(*[p._data for p in params[:1]])
    x = Tensor(xp.zeros(input_shape, dtype=xp.dtype(dtype)))
    shapes = {}

    def record(module, inputs, output):
        shapes.setdefault(id(module), _shape_of(output))

    handles = [m.register_forward_hook(record) for _, m in named]
    modes = [(m, m.training) for _, m in named]
    model.eval()  # a zero batch must not move running statistics, nor be dropped out
    try:
        with no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    return shapes
