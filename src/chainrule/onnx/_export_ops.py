"""The converter registry of ``chainrule.onnx.export``, the graph builder converters write into, and
the converters of elementwise ops and activations.

A converter turns one recorded op (a ``Function`` class with the settings its node had, see
``chainrule.trace``) into ONNX nodes. It is registered with ``@converts(SomeFunction)`` and called
as ``convert(g, s)``: ``g`` is the ``GraphBuilder`` (``g.op``, ``g.const``...) and ``s`` the
``OpStep`` (settings, input value names, shapes); it returns the names of the op's outputs.
To support another op, write such a function in one of the ``_export_ops*.py`` modules.
"""

from __future__ import annotations

import math

from ..backend import asnumpy
from ..backend import numpy as np
from ..ops import activation as act
from ..ops import activation_extra as act_extra
from ..ops import elementwise as ew

__all__ = ["CONVERTERS", "GraphBuilder", "OpStep", "UnsupportedOperatorError", "converts"]

# Function class -> (converter, settings the converter handles when they change with the
# dynamic axes, inputs that may be zeros of any size). A setting not named there that changes
# makes the export refuse the op.
CONVERTERS: dict = {}


class UnsupportedOperatorError(ValueError):
    """A recorded op that ``chainrule.onnx.export`` has no converter for, or cannot write
    soundly (a size baked in along a dynamic axis, a constant computed from the input)."""


def converts(*classes, dynamic=(), zeros=()):
    """Register the decorated function as the converter of ``classes``. ``dynamic``: the settings
    it writes symbolically when they change with the dynamic axes; ``zeros``: the input positions
    where it takes zeros of any shape (a recurrent layer's initial state) as an omitted input."""

    def deco(fn):
        for cls in classes:
            CONVERTERS[cls] = (fn, frozenset(dynamic), frozenset(zeros))
        return fn

    return deco


class OpStep:
    """One recorded op as a converter sees it.

    ``params``: the node's settings; ``alt``: the same op's settings in the second recording
    (other sizes along the dynamic axes, other input values), for the settings listed as
    ``dynamic`` at registration. ``inputs``: ONNX value names; ``in_shapes``/``out_shapes``
    and ``alt_in_shapes``/``alt_out_shapes``: the arrays' shapes in both recordings;
    ``dtype``: the NumPy dtype of the first output; ``in_dtypes``: the inputs' dtypes.
    """

    def __init__(self, cls, params, alt, inputs, in_arrays, out_arrays, alt_in, alt_out):
        self.cls, self.params, self.alt, self.inputs = cls, params, alt, inputs
        # The recorded values (both recordings), for converters that check their formula.
        self.recorded = ((in_arrays, out_arrays), (alt_in, alt_out))
        self.in_shapes = [a.shape for a in in_arrays]
        self.in_dtypes = [a.dtype for a in in_arrays]
        self.out_shapes = [a.shape for a in out_arrays]
        self.alt_in_shapes = [a.shape for a in alt_in]
        self.alt_out_shapes = [a.shape for a in alt_out]
        self.dtype = out_arrays[0].dtype
        self.name = cls.__name__

    def __getitem__(self, key):
        return self.params[key]

    def refuse(self, why: str):
        """The error a converter raises for settings it cannot write soundly."""
        return UnsupportedOperatorError(f"export: cannot write {self.name} to ONNX: {why}")


class GraphBuilder:
    """Collects the nodes and initializers of the graph being written."""

    def __init__(self, opset: int):
        import onnx  # noqa: PLC0415 - optional dependency, imported only when exporting

        self.onnx = onnx
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.used: set = set()
        self._consts: dict = {}
        # value name -> its shapes in both recordings, for the values recorded ops read
        self.shapes: dict = {}

    def fresh(self, hint: str) -> str:
        """A value name not used yet, starting with ``hint``."""
        name, k = hint, 1
        while name in self.used:
            name, k = f"{hint}_{k}", k + 1
        self.used.add(name)
        return name

    def initializer(self, array, name: str) -> str:
        """Add ``array`` (NumPy or CuPy) as an initializer called exactly ``name``."""
        self.used.add(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(asnumpy(array), name))
        return name

    def const(self, array, hint: str = "const") -> str:
        """A constant (an initializer), shared by equal small constants."""
        array = np.asarray(asnumpy(array))
        array = array if array.flags.c_contiguous else array.copy()  # (0-d arrays stay 0-d)
        key = None
        if array.size <= 64:
            key = (array.dtype.str, array.shape, array.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.initializer(array, self.fresh(hint))
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values) -> str:
        """A 1-D int64 constant (shapes, axes, pads given as inputs)."""
        return self.const(np.asarray(list(values), dtype=np.int64), "ints")

    def scalar(self, value, dtype) -> str:
        """A 0-d constant of ``dtype``."""
        return self.const(np.asarray(value, dtype=dtype), "scalar")

    def op(self, op_type: str, inputs, *, n_out: int = 1, hint: str | None = None, **attrs):
        """Add a node; returns its output name (a list of them when ``n_out`` > 1)."""
        outs = [self.fresh(f"{hint or op_type}_{len(self.nodes)}") for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs,
                                                     name=f"{op_type}_{len(self.nodes)}", **attrs))
        return outs[0] if n_out == 1 else outs

    def unsqueeze(self, x: str, axes) -> str:
        return self.op("Unsqueeze", [x, self.ints(axes)])

    def squeeze(self, x: str, axes) -> str:
        return self.op("Squeeze", [x, self.ints(axes)])

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """A Reduce* node: axes are an input from opset 13 (ReduceSum) or 18 (the others)."""
        keep = int(bool(keepdims))
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes)], keepdims=keep)
        return self.op(op_type, [x], axes=list(axes), keepdims=keep)


def _as_output_dtype(g, s, indices):
    """The inputs at ``indices``, cast to the output's dtype where NumPy promoted them (ONNX's
    arithmetic takes one dtype)."""
    out = []
    for i in indices:
        x = s.inputs[i]
        if s.in_dtypes[i] != s.dtype:
            x = g.op("Cast", [x], to=g.onnx.helper.np_dtype_to_tensor_dtype(s.dtype))
        out.append(x)
    return out


# ONNX's arithmetic takes no bool: bool + bool (PyTorch's logical or) is Or, bool * bool And.
_BOOL_FORM = {"Add": "Or", "Mul": "And", "Max": "Or", "Min": "And"}


def _binary(op_type):
    def convert(g, s):
        kind = _BOOL_FORM.get(op_type, op_type) if s.dtype.kind == "b" else op_type
        return [g.op(kind, _as_output_dtype(g, s, (0, 1)))]
    return convert


for _cls, _onnx in ((ew.Add, "Add"), (ew.Sub, "Sub"), (ew.Mul, "Mul"), (ew.Div, "Div"),
                    (ew.Pow, "Pow")):
    converts(_cls)(_binary(_onnx))


def _unary(op_type, **attrs):
    def convert(g, s):
        return [g.op(op_type, s.inputs[:1], **attrs)]
    return convert


for _cls, _onnx in ((ew.Neg, "Neg"), (ew.Exp, "Exp"), (ew.Log, "Log"), (ew.Sqrt, "Sqrt"),
                    (ew.Abs, "Abs"), (ew.Sin, "Sin"), (ew.Cos, "Cos"), (act.Sigmoid, "Sigmoid"),
                    (act.Tanh, "Tanh"), (act.ReLU, "Relu"), (act.Softsign, "Softsign")):
    converts(_cls)(_unary(_onnx))


@converts(ew.Clip)
def _clip(g, s):
    """Clip with both bounds; one bound alone is Max or Min: ONNX's Clip takes an omitted bound
    as the dtype's extreme, which would turn an infinity into a finite number."""
    x, low, high = s.inputs[0], s["low"], s["high"]
    if low is None or high is None:
        if low is not None:
            x = g.op("Max", [x, g.scalar(low, s.dtype)])
        if high is not None:
            x = g.op("Min", [x, g.scalar(high, s.dtype)])
        return [x if x != s.inputs[0] else g.op("Identity", [x])]
    return [g.op("Clip", [x, g.scalar(low, s.dtype), g.scalar(high, s.dtype)])]


@converts(act.Hardtanh)
def _hardtanh(g, s):
    low, high = g.scalar(s["min_val"], s.dtype), g.scalar(s["max_val"], s.dtype)
    return [g.op("Clip", [s.inputs[0], low, high])]


@converts(ew._Extremum)
def _extremum(g, s):
    return _binary("Max" if s["largest"] else "Min")(g, s)


@converts(ew.Where)
def _where(g, s):
    cond = s.inputs[0]
    if s.in_dtypes[0].kind != "b":
        cond = g.op("Cast", [cond], to=g.onnx.TensorProto.BOOL)
    return [g.op("Where", [cond, *_as_output_dtype(g, s, (1, 2))])]


@converts(ew.Cast)
def _cast(g, s):
    return [g.op("Cast", s.inputs[:1], to=g.onnx.helper.np_dtype_to_tensor_dtype(s.dtype))]


@converts(act.Step)
def _step(g, s):  # 1 where x > 0, else 0, in x's dtype
    positive = g.op("Greater", [s.inputs[0], g.scalar(0, s.in_dtypes[0])])
    return [g.op("Cast", [positive], to=g.onnx.helper.np_dtype_to_tensor_dtype(s.dtype))]


@converts(act.LeakyReLU)
def _leaky_relu(g, s):
    return [g.op("LeakyRelu", s.inputs[:1], alpha=float(s["negative_slope"]))]


@converts(act_extra.PReLU)
def _prelu(g, s):  # the slope is shaped to broadcast against x, as ONNX's PRelu takes it
    return [g.op("PRelu", s.inputs[:2])]


@converts(act.ELU)
def _elu(g, s):  # scale * (x if x > 0 else alpha * (exp(x) - 1)): ONNX's Selu with any constants
    alpha, scale = float(s["alpha"]), float(s["scale"])
    if scale == 1.0:
        return [g.op("Elu", s.inputs[:1], alpha=alpha)]
    return [g.op("Selu", s.inputs[:1], alpha=alpha, gamma=scale)]


@converts(act.Softplus)
def _softplus(g, s):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, as chainrule's op."""
    x, beta = s.inputs[0], float(s["beta"])
    bx = x if beta == 1.0 else g.op("Mul", [x, g.scalar(beta, s.dtype)])
    soft = g.op("Softplus", [bx])
    if beta != 1.0:
        soft = g.op("Div", [soft, g.scalar(beta, s.dtype)])
    linear = g.op("Greater", [bx, g.scalar(s["threshold"], s.dtype)])
    return [g.op("Where", [linear, x, soft])]


@converts(act.LogSigmoid)
def _log_sigmoid(g, s):  # log(sigmoid(x)) = -softplus(-x)
    return [g.op("Neg", [g.op("Softplus", [g.op("Neg", s.inputs[:1])])])]


@converts(act.SiLU)
def _silu(g, s):
    x = s.inputs[0]
    return [g.op("Mul", [x, g.op("Sigmoid", [x])])]


@converts(act.GELU)
def _gelu(g, s):
    """ONNX's Gelu from opset 20; below, its formula: x * Phi(x) with Phi from Erf, or the tanh
    approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x, approximate = s.inputs[0], s["approximate"]
    if g.opset >= 20:
        return [g.op("Gelu", [x], approximate=approximate)]
    c = partial_scalar(g, s.dtype)
    if approximate == "tanh":
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, c(0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, c(math.sqrt(2.0 / math.pi))])])
    else:
        t = g.op("Erf", [g.op("Mul", [x, c(1.0 / math.sqrt(2.0))])])
    half_x = g.op("Mul", [x, c(0.5)])
    return [g.op("Mul", [half_x, g.op("Add", [t, c(1.0)])])]


def partial_scalar(g, dtype):
    """``c(value)``: a scalar constant of ``dtype`` (for formulas written out as nodes)."""
    return lambda value: g.scalar(value, dtype)
