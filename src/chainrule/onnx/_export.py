"""``chainrule.onnx.export``: write a model to an ONNX file, as ``torch.onnx.export`` does.

The model is run on the example inputs with ``chainrule.trace``'s recorder, and each recorded op
becomes ONNX nodes through a converter (``_export_ops*.py``). What a recording freezes is what
``chainrule.trace`` freezes: Python between the ops (``if`` on values, loops over shapes) runs
once, for the example inputs. The model is therefore recorded a second time on inputs with
other values (and other sizes along ``dynamic_axes``), and the export refuses a model whose ops,
constants or settings change in ways the file could not follow (``UnsupportedOperatorError``).
"""

from __future__ import annotations

import inspect
import os
import re
from numbers import Integral

from ..autograd.tensor import Tensor
from ..autograd.tracing import Traced
from ..backend import asnumpy, device_of, to_device
from ..backend import numpy as np
from ..backend.files import write_atomically
from ._export_ops import UnsupportedOperatorError
from ._export_record import build_graph, compare, record

__all__ = ["UnsupportedOperatorError", "export"]

_MIN_OPSET, _MAX_OPSET = 13, 21
# PyTorch's options that chainrule's exporter has no counterpart for: passing one is an error
# rather than a silent difference (``dynamo=False`` and the defaults of the rest are accepted).
_TORCH_ONLY = {"dynamo": False, "external_data": True, "dynamic_shapes": None,
               "custom_translation_table": None, "report": False, "optimize": True,
               "verify": False, "profile": False, "dump_exported_program": False,
               "artifacts_dir": ".", "operator_export_type": None, "do_constant_folding": True,
               "custom_opsets": None, "export_modules_as_functions": False,
               "autograd_inlining": True}


def _require_onnx():
    try:
        import onnx  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise ImportError('chainrule.onnx.export needs the onnx package: pip install '
                          '"chainrule[onnx]"') from None
    return onnx


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None,
           output_names=None, opset_version=None, export_params=True,
           keep_initializers_as_inputs=False, dynamic_axes=None, training="eval", **options):
    """Write ``model`` (a Module or a function of Tensors) to an ONNX file; PyTorch's names.

    Args:
        model: a ``Module`` (recorded in eval mode, see ``training``) or a callable of Tensors
            returning a Tensor or (nested) tuples/lists of Tensors.
        args: the example input: a Tensor or array, or a tuple of them.
        f: a path (str or PathLike: written atomically, through a temporary file beside it),
            a binary file object with ``write``, or None to only return the model.
        kwargs: keyword arguments of the call; Tensor values become inputs after ``args``,
            others are passed as they are (frozen into the recording).
        verbose: print the graph in ONNX's text form.
        input_names, output_names: the graph's input and output names (default: the
            parameter names of ``model.forward`` or ``input_0``..., ``output`` or ``output_0``...).
        opset_version: the ONNX opset (default 17; 13 to 21).
        export_params: store parameters and buffers in the file as initializers named by their
            ``state_dict`` keys; False makes them graph inputs of those names instead.
        keep_initializers_as_inputs: list the initializers among the graph inputs as well.
        dynamic_axes: ``{name: {axis: dim_name}}`` or ``{name: [axis, ...]}`` for inputs and
            outputs whose sizes along those axes may differ from the example's.
        training: ``"eval"`` (PyTorch's ``TrainingMode.EVAL``, the default): the model is
            recorded in eval mode and its modules' training flags restored afterwards.

    Returns:
        The ``onnx.ModelProto`` written (PyTorch's exporter returns None for ``dynamo=False``).

    Raises:
        ImportError: the ``onnx`` package is missing.
        UnsupportedOperatorError: an op has no converter, or a recorded setting cannot be written
            soundly for the dynamic axes (a ValueError).
        TypeError, ValueError: bad arguments (the message names the argument).
    """
    onnx = _require_onnx()
    _refuse_torch_options(options)
    opset = _MIN_OPSET + 4 if opset_version is None else opset_version
    if isinstance(opset, bool) or not isinstance(opset, Integral) or not (
            _MIN_OPSET <= opset <= _MAX_OPSET):
        raise ValueError(f"export: opset_version must be an int from {_MIN_OPSET} to "
                         f"{_MAX_OPSET}, got {opset_version!r}")
    opset = int(opset)  # a NumPy integer too, as PyTorch's
    if getattr(training, "name", training) not in ("eval", "EVAL"):
        raise ValueError(f"export: training must be 'eval' (a recording of training-mode ops "
                         f"such as dropout cannot be replayed), got {training!r}")
    inputs, call, default_names = _inputs(model, args, kwargs)
    input_names = _names("input_names", input_names, default_names, len(inputs))
    modules = list(model.modules()) if callable(getattr(model, "modules", None)) else []
    flags = [(m, m.training) for m in modules]
    try:
        for m in modules:
            m.training = False
        main = record(call, inputs, model)
        n_out = len(main.out_slots)
        default_out = ["output"] if n_out == 1 else [f"output_{i}" for i in range(n_out)]
        output_names = _names("output_names", output_names, default_out, n_out)
        dims = _dynamic_axes(dynamic_axes, inputs, input_names, output_names)
        alt = _record_alt(call, inputs, model, dims)
        why = "inputs of other sizes along the dynamic axes" if dims else "other input values"
        names = {}
        for method in ("named_parameters", "named_buffers"):
            items = getattr(model, method, None)
            if callable(items):
                names.update((id(t), name) for name, t in items())
        changed = compare(main, alt, why, names)
        g, outs, param_inputs = build_graph(main, alt, opset=opset, names=names,
                                            input_names=input_names, export_params=export_params,
                                            changed=changed)
    finally:
        for m, flag in flags:
            m.training = flag
    proto = _model(onnx, g, main, alt, inputs, input_names, outs, output_names, dynamic_axes,
                   dims, param_inputs, keep_initializers_as_inputs)
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    if f is not None:
        _write(proto.SerializeToString(), f)
    return proto


def _refuse_torch_options(options) -> None:
    for key, value in options.items():
        if key not in _TORCH_ONLY:
            raise TypeError(f"export() got an unexpected keyword argument {key!r}")
        if key == "operator_export_type" and getattr(value, "name", None) == "ONNX":
            continue  # PyTorch's default, OperatorExportTypes.ONNX
        if not (value is _TORCH_ONLY[key] or value == _TORCH_ONLY[key]):
            raise ValueError(
                f"export: PyTorch's option {key}={value!r} is not supported by "
                f"chainrule.onnx.export (it records the model's ops; leave {key} at "
                f"{_TORCH_ONLY[key]!r})"
            )


def _inputs(model, args, kwargs):
    """The input Tensors, the function to record, and the default input names."""
    if not callable(model):
        raise TypeError(f"export: model must be a Module or a callable, got "
                        f"{type(model).__name__}")
    if isinstance(model, Traced):  # its replay runs no recorded ops
        raise TypeError("export: model is a chainrule.trace result; pass the model it traced "
                        "(model.fn)")
    args = args if isinstance(args, tuple) else (args,)
    kwargs = dict(kwargs or {})
    tensor_keys = [k for k, v in kwargs.items() if isinstance(v, Tensor)]
    fixed = {k: v for k, v in kwargs.items() if k not in tensor_keys}
    given = list(args) + [kwargs[k] for k in tensor_keys]
    if not given:
        raise TypeError("export: args must hold at least one input Tensor")
    inputs = []
    for i, x in enumerate(given):
        if not isinstance(x, Tensor):
            if not (hasattr(x, "shape") and hasattr(x, "dtype")):
                raise TypeError(f"export: args[{i}] must be a Tensor or an array, got "
                                f"{type(x).__name__}")
            x = Tensor(x)
        inputs.append(Tensor(x._data))  # detached: a recording is for inference
    n_args = len(args)

    def call(*xs):
        return _drop_none(model(*xs[:n_args], **fixed, **dict(zip(tensor_keys, xs[n_args:]))))

    try:
        params = [p.name for p in inspect.signature(getattr(model, "forward", model))
                  .parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = params[:n_args] + tensor_keys
    if len(names) != len(inputs) or len(set(names)) != len(names):
        names = ["input"] if len(inputs) == 1 else [f"input_{i}" for i in range(len(inputs))]
    return inputs, call, names


def _drop_none(out):
    """The outputs without the Nones in tuples and lists (an unused loss), as PyTorch drops them."""
    if isinstance(out, (tuple, list)):
        return type(out)(_drop_none(o) for o in out if o is not None) if not hasattr(
            out, "_fields") else tuple(_drop_none(o) for o in out if o is not None)
    return out


def _names(what, given, default, n) -> list:
    if given is None:
        return list(default)
    given = list(given)
    if len(given) != n or not all(isinstance(s, str) and s for s in given) or (
            len(set(given)) != n):
        raise ValueError(f"export: {what} must be {n} distinct non-empty strings, got {given!r}")
    return given


def _dynamic_axes(dynamic_axes, inputs, input_names, output_names) -> dict:
    """{input index: {axis: dim name}} after checking every name and axis."""
    if dynamic_axes is None:
        return {}
    if not isinstance(dynamic_axes, dict):
        raise TypeError(f"export: dynamic_axes must be a dict, got {type(dynamic_axes).__name__}")
    dims = {}
    for key, axes in dynamic_axes.items():
        if key not in input_names and key not in output_names:
            raise ValueError(f"export: dynamic_axes names {key!r}, which is neither an input "
                             f"({input_names}) nor an output ({output_names})")
        if isinstance(axes, dict):
            pairs = dict(axes)
        elif isinstance(axes, (list, tuple)):
            pairs = {a: f"{key}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
        else:
            raise TypeError(f"export: dynamic_axes[{key!r}] must be a dict or a list of axes, "
                            f"got {axes!r}")
        if key in input_names:
            i = input_names.index(key)
            ndim = inputs[i].ndim
            for a, name in pairs.items():
                if isinstance(a, bool) or not isinstance(a, Integral) or not -ndim <= a < ndim:
                    raise ValueError(f"export: dynamic_axes[{key!r}] has axis {a!r}, but the "
                                     f"input has shape {inputs[i].shape}")
                if not isinstance(name, str):
                    raise TypeError(f"export: the name of dynamic axis {a} of {key!r} must be a "
                                    f"str, got {name!r}")
            dims[i] = {int(a) % ndim: name for a, name in pairs.items()}
    return dims


def _other_input(x, axes, size=None):
    """``x`` with its values moved around (same values, so ids stay valid) and, along ``axes``,
    another size."""
    a = asnumpy(x._data)
    for axis in axes:
        n = a.shape[axis]
        a = np.take(a, np.arange(size(n)) % max(n, 1), axis=axis)
    if a.size:  # the same values elsewhere: a model's domain (ids, x >= 0) still holds
        moved = np.roll(a.reshape(-1), max(1, a.size // 3)).reshape(a.shape)
        if a.dtype.kind == "f" and np.array_equal(moved, a):  # a constant example (zeros)
            moved = a * 0.5 + 0.25  # other values, between the old ones and 0.5
        a = moved
    return Tensor(to_device(np.ascontiguousarray(a), device_of(x._data)))


def _record_alt(call, inputs, model, dims):
    """The second recording; along dynamic axes, the first of a few sizes the model accepts."""
    sizes = (lambda n: 2 * n + 1, lambda n: 2 * n, lambda n: n + 1)
    last = alt_inputs = None
    for size in sizes if dims else sizes[:1]:
        alt_inputs = [_other_input(x, dims.get(i, {}), size) for i, x in enumerate(inputs)]
        try:
            return record(call, alt_inputs, model)
        except UnsupportedOperatorError:
            raise
        except Exception as e:  # noqa: BLE001 - the model's own error, reported below
            last = e
    shapes = [tuple(x.shape) for x in alt_inputs]
    if not dims:
        raise ValueError(f"export: the model fails on the example inputs with their values moved "
                         f"around ({type(last).__name__}: {last}); the export records it twice "
                         "to check that its ops do not depend on the values") from last
    raise ValueError(f"export: the model fails on inputs of other sizes along the dynamic axes "
                     f"(e.g. shapes {shapes}: {type(last).__name__}: {last}); "
                     "check dynamic_axes") from last


def _model(onnx, g, main, alt, inputs, input_names, outs, output_names, dynamic_axes, dims,
           param_inputs, keep_initializers_as_inputs):
    helper = onnx.helper
    declared = dict(dynamic_axes or {})

    def info(name, array, alt_array, named):
        shape = []
        for a, n in enumerate(array.shape):
            if a in named:
                shape.append(named[a])
            elif alt_array is not None and alt_array.shape[a] != n:
                shape.append(f"{name}_dim{a}")
            else:
                shape.append(int(n))
        return helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(array.dtype), shape)

    graph_inputs = [info(name, x._data, None, dims.get(i, {}))
                    for i, (name, x) in enumerate(zip(input_names, inputs))]
    graph_inputs += [info(name, t._data, None, {}) for name, t in param_inputs]
    if keep_initializers_as_inputs:
        graph_inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                         for t in g.initializers]
    nodes = list(g.nodes)
    graph_outputs = []
    for k, (value, name) in enumerate(zip(outs, output_names)):
        nodes.append(helper.make_node("Identity", [value], [name], name=f"output_{k}"))
        axes = declared.get(name, {})
        if isinstance(axes, (list, tuple)):
            axes = {a: f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
        slot = main.out_slots[k]
        ndim = main.rec.seen[slot]._data.ndim
        for a in axes:
            if isinstance(a, bool) or not isinstance(a, Integral) or not -ndim <= a < ndim:
                raise ValueError(f"export: dynamic_axes[{name!r}] has axis {a!r}, but the "
                                 f"output has shape {main.rec.seen[slot]._data.shape}")
        axes = {int(a) % ndim: dim for a, dim in axes.items()}
        graph_outputs.append(info(name, main.rec.seen[slot]._data, alt.rec.seen[slot]._data,
                                  axes))
    graph = helper.make_graph(nodes, "chainrule", graph_inputs, graph_outputs,
                              initializer=g.initializers)
    opsets = [helper.make_opsetid("", g.opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                              ir_version=helper.find_min_ir_version_for(opsets))
    if proto.ByteSize() >= 2**31:
        raise ValueError("export: the model is over 2 GB, ONNX's limit for one file (external "
                         "data is not supported)")
    _check(onnx, proto, g.origin)
    return proto


def _check(onnx, proto, origin) -> None:
    """``onnx.checker`` with full shape and type inference. A node it rejects (ONNX's Neg takes
    no uint8, its MatMul no bool) is refused naming the chainrule op it was written for."""
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        text = str(e).strip()
        found = re.search(r"node name: ([^)\s]+)\)", text)
        op = origin.get(found.group(1)) if found else None
        where = f"the node written for chainrule's op {op}" if op else "a node"
        hint = ("; ONNX's ops take fewer dtypes than chainrule's (no bool arithmetic or "
                "ordering, no uint8 Neg, no int8 MatMul): cast the tensor (x.long(), x.float()) "
                "before that op") if "type" in text.lower() else ""
        raise UnsupportedOperatorError(
            f"export: cannot write the model to ONNX: {where} is not valid ONNX (onnx.checker: "
            f"{text.splitlines()[0] if text else type(e).__name__}){hint}") from e


def _write(data: bytes, f) -> None:
    """Write to a path atomically (temporary file beside it, then os.replace) or to a file."""
    if isinstance(f, (str, os.PathLike)):
        write_atomically(f, data)
    elif callable(getattr(f, "write", None)):
        f.write(data)
    else:
        raise TypeError(f"export: f must be a path, a binary file object or None, got "
                        f"{type(f).__name__}")
