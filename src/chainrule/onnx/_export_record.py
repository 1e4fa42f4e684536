"""Recording a model for ``chainrule.onnx.export`` and writing its ops as an ONNX graph.

The model runs twice under ``chainrule.trace``'s recorder: on the example inputs, and on inputs
with other values (and other sizes along the dynamic axes). The two recordings must hold the
same ops on the same values: an op list or a constant that changes shows Python that depends on
the input values (frozen by a recording, so the file would be wrong for other inputs), and an
op setting that changes (a reshape's target, a pool's input size) tells the converters what
must stay symbolic in the file.
"""

from __future__ import annotations

from ..autograd.function import NonDifferentiable
from ..autograd.tensor import Tensor
from ..autograd.tracing import TraceError, _Recorder
from ..backend import asnumpy
from ..backend import numpy as np
from ..nn.conv import ConvTranspose3d, _ConvTranspose
from ..nn.normalization import _BatchNorm
from . import (  # noqa: F401 - they register their converters
    _export_ops_math,
    _export_ops_nn,
    _export_ops_nondiff,
    _export_ops_rnn,
    _export_ops_scan,
    _export_ops_scatter,
    _export_ops_shape,
)
from ._export_ops import CONVERTERS, GraphBuilder, OpStep, UnsupportedOperatorError
from ._export_ops_nn import conv_transpose3d

__all__ = ["Recording", "build_graph", "record", "same"]


class Recording:
    """One run of the model: the recorder's steps, consts and live tensors, the output slots,
    and the layers written as one ONNX node each, whatever ops chainrule runs them with (batch
    norm, 3-D transposed convolution): (start step, end step, input slot, output slot, module)."""

    def __init__(self, fn, inputs, model):
        self.rec = _Recorder(tuple(Tensor(x._data) for x in inputs))
        self.norms: list = []
        handles = []
        for m in _modules(model):
            if (isinstance(m, _BatchNorm) and type(m).forward is _BatchNorm.forward) or (
                    isinstance(m, ConvTranspose3d) and type(m).forward is _ConvTranspose.forward):
                handles.append(m.register_forward_pre_hook(self._enter))
                handles.append(m.register_forward_hook(self._leave))
        self._open: list = []
        try:
            self.out_slots, _ = self.rec.run(fn)
        finally:
            for h in handles:
                h.remove()

    def _enter(self, module, args):
        self._open.append((len(self.rec.steps), args[0] if args else None))

    def _leave(self, module, args, output):
        start, x = self._open.pop()
        src = self.rec.slot.get(id(x)) if isinstance(x, Tensor) else None
        dst = self.rec.slot.get(id(output)) if isinstance(output, Tensor) else None
        if src is not None and dst is not None and getattr(module, "running_mean", 0) is not None:
            self.norms.append((start, len(self.rec.steps), src, dst, module))


def _modules(model):
    modules = getattr(model, "modules", None)
    return list(modules()) if callable(modules) else []


def record(fn, inputs, model) -> Recording:
    try:
        return Recording(fn, inputs, model)
    except TraceError as e:
        raise TraceError(f"export: {e}") from None


def same(a, b, depth=0) -> bool:
    """Whether two op settings are equal (arrays by value, objects by their public attributes)."""
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return (hasattr(b, "shape") and a.shape == b.shape and a.dtype == b.dtype
                and bool(np.array_equal(asnumpy(a), asnumpy(b), equal_nan=a.dtype.kind in "fc")))
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], depth + 1) for k in a)
    if callable(a) or depth > 4:
        return a is b or a == b
    if hasattr(a, "__dict__"):
        return same({k: v for k, v in vars(a).items() if not k.startswith("_")},
                    {k: v for k, v in vars(b).items() if not k.startswith("_")}, depth + 1)
    return a == b


def compare(one: Recording, two: Recording, why: str, names: dict) -> dict:
    """Refuse a model whose two recordings hold different ops or wiring; returns the constants
    that differ between them (slot -> the error to raise where one is used)."""
    r1, r2 = one.rec, two.rec
    s1 = [(s[0], s[3], s[4], s[5]) for s in r1.steps]
    s2 = [(s[0], s[3], s[4], s[5]) for s in r2.steps]
    if s1 != s2 or one.out_slots != two.out_slots:
        k = next((i for i, (a, b) in enumerate(zip(s1, s2)) if a != b), min(len(s1), len(s2)))
        at = f"op {k} ({s1[k][0].__name__})" if k < len(s1) else f"after op {k}"
        raise UnsupportedOperatorError(
            f"export: the model runs other ops for {why} than for the example inputs (first "
            f"difference at {at}): its Python depends on the input values or sizes, which an "
            "exported graph cannot follow"
        )
    if [n for n, _ in r1.live] != [n for n, _ in r2.live]:
        raise UnsupportedOperatorError(f"export: the model reads other tensors for {why}")
    changed = []
    for (n, a), (_, b) in zip(r1.live, r2.live):
        if a is not b and (id(a) in names or id(b) in names):
            raise UnsupportedOperatorError(f"export: the model reads other parameters or "
                                           f"buffers for {why}")
        if a is not b and not same(a._data, b._data):
            changed.append(n)  # a tensor made outside any op, e.g. cr.tensor(x.numpy() > 0)
    consumers = {}
    for cls, _, _, _, sources, _ in r1.steps:
        for n in sources:
            consumers.setdefault(n, cls.__name__)
    changed += [n for (n, a), (m, b) in zip(r1.consts, r2.consts) if n != m or not same(a, b)]
    message = (f"export: {{}} is a constant that the model made outside any op and "
               f"that changes (values or size) for {why} (e.g. a mask made from x.numpy(), zeros "
               "of the batch size); the exported graph would keep the first")
    # Refused when used, unless where a converter takes zeros of any size (a recurrent state).
    return {n: message.format(f"an input of {consumers[n]}" if n in consumers
                              else "an output of the model") for n in changed}


def build_graph(main: Recording, alt: Recording, *, opset, names, input_names, export_params,
                changed):
    """The graph's nodes and initializers; returns (builder, output value names, parameter
    names that became graph inputs)."""
    g = GraphBuilder(opset)
    g.origin = {}  # node name -> the chainrule op it was written for (for export's errors)
    rec = main.rec
    clash = set(input_names) & set(names.values())
    if clash:
        raise ValueError(f"export: input name(s) {sorted(clash)} are also parameter or buffer "
                         "names of the model (its initializers'); choose other input_names")
    g.used.update(input_names, names.values())  # generated names stay clear of all of them
    value: dict = dict(enumerate(input_names))  # slot -> ONNX value name
    param_inputs: list = []
    stored: set = set()

    def tensor_value(t):
        name = names.get(id(t))
        if name is None:
            return g.const(t._data, "constant")
        if name not in stored:
            stored.add(name)
            if export_params:
                g.initializer(t._data, name)
            else:
                param_inputs.append((name, t))
        return name

    constant = set()
    for n, t in rec.live:
        value[n] = tensor_value(t)
        constant.add(n)
    for n, array in rec.consts:
        value[n] = g.const(array)
        constant.add(n)
    norms = {start: (end, src, dst, m) for start, end, src, dst, m in main.norms}
    used_after = _last_uses(rec, main.out_slots)
    steps, alt_steps = rec.steps, alt.rec.steps
    needed = _needed(steps, main.out_slots)
    k = 0
    while k < len(steps):
        if not needed[k]:  # e.g. the indices of max(x, dim) when only the values are used
            k += 1
            continue
        cls, _, params, dests, sources, _ = steps[k]
        entry = CONVERTERS.get(cls, (None, (), ()))
        inputs = _inputs(rec, alt.rec, sources, value, changed, entry[2])
        region = norms.get(k)
        if region is not None and _whole(region, k, steps, used_after):
            end, src, dst, m = region
            if isinstance(m, _BatchNorm):
                value[dst] = _batch_norm(g, value[src], m, tensor_value,
                                         rec.seen[dst]._data.dtype)
            else:
                shapes = [(r.seen[src]._data.shape, r.seen[dst]._data.shape)
                          for r in (rec, alt.rec)]
                value[dst] = conv_transpose3d(g, value[src], m, tensor_value, shapes)
            k = end
            continue
        if cls is NonDifferentiable and all(n in constant for n in sources):
            _fold(g, rec, steps[k], value, names, export_params)
            constant.update(dests)
            k += 1
            continue
        entry = _converter(cls)
        for n, name in zip(sources, inputs):  # a Reshape may take its target from one
            if name:
                g.shapes.setdefault(name, (rec.seen[n]._data.shape, alt.rec.seen[n]._data.shape))
        alt_params = alt_steps[k][2]
        _check_settings(cls, params, alt_params, entry[1])
        s = OpStep(cls, params, alt_params, inputs,
                   [rec.seen[n]._data for n in sources], [rec.seen[n]._data for n in dests],
                   [alt.rec.seen[n]._data for n in sources],
                   [alt.rec.seen[n]._data for n in dests])
        before = len(g.nodes)
        outs = entry[0](g, s)
        g.origin.update((node.name, _op_name(cls, steps[k])) for node in g.nodes[before:])
        if len(outs) != len(dests):  # pragma: no cover - a converter's own bug
            raise RuntimeError(f"export: the converter of {cls.__name__} gave {len(outs)} "
                               f"outputs for {len(dests)}")
        value.update(zip(dests, outs))
        k += 1
    for n in main.out_slots:
        if n in changed:
            raise UnsupportedOperatorError(changed[n])
    outs = [value[n] for n in main.out_slots]
    # Values read only by ops left out (dead, or an omitted zero state) are not stored.
    read = {name for node in g.nodes for name in node.input} | set(outs)
    g.initializers = [t for t in g.initializers if t.name in read]
    return g, outs, [(name, t) for name, t in param_inputs if name in read]


def _inputs(rec, alt, sources, value, changed, zeros) -> list:
    """The value names of a step's inputs; a changing constant is refused, or left out ("")
    where the converter takes zeros of any size and it holds zeros in both recordings."""
    names = []
    for i, n in enumerate(sources):
        if n in changed:
            if i not in zeros or rec.seen[n]._data.any() or alt.seen[n]._data.any():
                raise UnsupportedOperatorError(changed[n])
            names.append("")
        else:
            names.append(value[n])
    return names


def _needed(steps, out_slots) -> list:
    """Per step, whether an output of the graph depends on it."""
    wanted, needed = set(out_slots), [False] * len(steps)
    for k in range(len(steps) - 1, -1, -1):
        if any(n in wanted for n in steps[k][3]):
            needed[k] = True
            wanted.update(steps[k][4])
    return needed


def _op_name(cls, step) -> str:
    """The recorded op's name for an error: its class, or a non-differentiable op's function."""
    fn = step[2].get("fn") if cls.__name__ == "NonDifferentiable" else None
    return getattr(fn, "__qualname__", cls.__name__)


def _converter(cls):
    entry = CONVERTERS.get(cls)
    if entry is None:
        raise UnsupportedOperatorError(
            f"export: no ONNX converter for the op {cls.__name__} ({cls.__module__}."
            f"{cls.__qualname__}); add one with @converts({cls.__name__}) in a "
            "chainrule/onnx/_export_ops*.py module"
        )
    return entry


def _check_settings(cls, params, alt_params, dynamic) -> None:
    for key, v in params.items():
        if key not in dynamic and not same(v, alt_params.get(key)):
            raise UnsupportedOperatorError(
                f"export: {cls.__name__}'s setting {key}={_short(v)} changes to "
                f"{_short(alt_params.get(key))} for inputs of other sizes along the dynamic "
                "axes (or other values); the exported graph would keep the first. Export "
                "without those dynamic axes, or add a converter that writes it symbolically"
            )


def _short(v) -> str:
    text = f"array of shape {v.shape}" if hasattr(v, "shape") else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _last_uses(rec, out_slots) -> dict:
    """slot -> index of the last step that reads it (outputs: past the end)."""
    last = {}
    for k, step in enumerate(rec.steps):
        for n in step[4]:
            last[n] = k
    for n in out_slots:
        last[n] = len(rec.steps)
    return last


def _whole(region, start, steps, last) -> bool:
    """Whether a batch-norm layer's ops make only its output for the rest of the graph."""
    end, src, dst, _ = region
    if end <= start or dst not in steps[end - 1][3]:
        return False
    inside = {n for step in steps[start:end] for n in step[3]}
    return all(last.get(n, -1) < end for n in inside if n != dst)


def _batch_norm(g, x, m, tensor_value, dtype) -> str:
    """A BatchNorm layer in eval mode: ONNX's BatchNormalization with its running statistics."""
    channels = m.num_features
    scale = (tensor_value(m.weight) if m.weight is not None
             else g.const(np.ones(channels, dtype=dtype), "bn_ones"))
    bias = (tensor_value(m.bias) if m.bias is not None
            else g.const(np.zeros(channels, dtype=dtype), "bn_zeros"))
    return g.op("BatchNormalization", [x, scale, bias, tensor_value(m.running_mean),
                                       tensor_value(m.running_var)], epsilon=float(m.eps))


def _fold(g, rec, step, value, names, export_params) -> None:
    """A non-differentiable op of parameters and constants alone: its value, as a constant."""
    _, _, _, dests, sources, _ = step
    if not export_params:
        raise UnsupportedOperatorError(
            "export: export_params=False, but a non-differentiable op computes a constant "
            "from the parameters or buffers (it would not follow the parameters fed as inputs)"
        )
    base = value[sources[0]] if sources else "folded"
    for n in dests:
        value[n] = g.initializer(rec.seen[n]._data, g.fresh(f"{base}.folded"))
