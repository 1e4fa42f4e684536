"""Reading an ONNX file for ``chainrule.onnx.load``: parse (protobuf only, never pickle), check,
and turn the graph into plain Python (nodes with decoded attributes, NumPy initializers) so that
evaluating it needs no ``onnx``. Every refusal happens here, before a Module is built."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from ..backend import numpy
from ._load_ops import OPS

__all__ = ["Graph", "Node", "OnnxLoadError", "Value", "read_graph"]

MIN_OPSET, MAX_OPSET = 11, 22
_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_DEFAULT_DOMAINS = ("", "ai.onnx")


class OnnxLoadError(ValueError):
    """An ONNX model that ``chainrule.onnx.load`` cannot read: a corrupt or invalid file, or
    operators (or variants of them) that chainrule does not evaluate."""


@dataclass
class Value:
    """A graph input or output: its name, NumPy dtype (None if undeclared) and shape (ints for
    fixed axes, a str or None for dynamic ones; None for an undeclared shape)."""

    name: str
    dtype: object = None
    shape: tuple | None = None

    def describe(self) -> str:
        if self.shape is None:
            return "any shape"
        return "(" + ", ".join("?" if d is None else str(d) for d in self.shape) + ")"


@dataclass
class Node:
    op_type: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    name: str = ""


@dataclass
class Graph:
    opset: int
    inputs: list
    outputs: list
    initializers: dict
    constants: dict
    nodes: list
    float_dtype: object
    producer: str


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError('chainrule.onnx.load needs the onnx package: pip install '
                          '"chainrule[onnx]"') from None
    return onnx


def _read_model(f):
    """(ModelProto, description of the source, its directory or None)."""
    onnx = _onnx()
    from google.protobuf.message import DecodeError

    if isinstance(f, onnx.ModelProto):
        return f, "the ModelProto", None
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        with open(path, "rb") as fh:
            data, source, folder = fh.read(), repr(path), os.path.dirname(os.path.abspath(path))
    elif isinstance(f, (bytes, bytearray, memoryview)):
        data, source, folder = bytes(f), "the given bytes", None
    elif hasattr(f, "read"):
        data = f.read()
        if not isinstance(data, bytes):
            raise TypeError("load: a file object must be opened in binary mode ('rb')")
        source, folder = repr(getattr(f, "name", "the file object")), None
    else:
        raise TypeError(f"load: f must be a path, bytes, a binary file object or an "
                        f"onnx.ModelProto, got {type(f).__name__}")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise OnnxLoadError(f"load: {source} is not a valid ONNX file (corrupt or truncated: "
                            f"{e})") from None
    return model, source, folder


def _external(model, source, folder):
    onnx = _onnx()
    external = [t.name for t in model.graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]
    if not external:
        return
    if folder is None:
        raise OnnxLoadError(f"load: {source} keeps initializers ({', '.join(external[:3])}...) in "
                            "external data files; pass the model's path so that they can be read "
                            "from its folder")
    from onnx.external_data_helper import load_external_data_for_model
    try:
        load_external_data_for_model(model, folder)
    except (OSError, ValueError, onnx.checker.ValidationError) as e:
        raise OnnxLoadError(f"load: cannot read the external data of {source} from {folder}: "
                            f"{e}") from None


def _check(model, source):
    onnx = _onnx()
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OnnxLoadError(f"load: {source} is not a valid ONNX model (the ONNX checker "
                            f"says: {first})") from None


def _np_dtype(elem_type):
    onnx = _onnx()
    return numpy.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))


def _value(info):
    t = info.type.tensor_type if info.type.HasField("tensor_type") else None
    if t is None:
        return Value(info.name)
    dtype = _np_dtype(t.elem_type) if t.elem_type else None
    shape = None
    if t.HasField("shape"):
        shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                      for d in t.shape.dim)
    return Value(info.name, dtype, shape)


def _attribute(attr):
    onnx = _onnx()
    from onnx import numpy_helper

    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, list):
        return tuple(v.decode() if isinstance(v, bytes) else v for v in value)
    return value


def _node(proto):
    attrs, subgraphs = {}, False
    for attr in proto.attribute:
        if attr.type in (5, 10):  # GRAPH, GRAPHS: control flow (If, Loop, Scan)
            subgraphs = True
            continue
        attrs[attr.name] = _attribute(attr)
    if proto.op_type == "Cast":
        attrs["to"] = _np_dtype(attrs["to"])
    attrs["_n_outputs"] = len(proto.output)
    node = Node(proto.op_type, [n or None for n in proto.input], [n or None for n in proto.output],
                attrs, proto.name)
    return node, subgraphs


def _constant(node):
    a = node.attrs
    for key, cast in (("value", None), ("value_float", numpy.float32),
                      ("value_floats", numpy.float32), ("value_int", numpy.int64),
                      ("value_ints", numpy.int64)):
        if key in a:
            return numpy.asarray(a[key], dtype=cast)
    return None


def _refuse(source, opset, problems):
    counts = Counter(problems)
    listing = ", ".join(f"{what} (x{n})" for what, n in sorted(counts.items()))
    raise OnnxLoadError(f"load: {source} (opset {opset}) uses what chainrule cannot evaluate: "
                        f"{listing}")


def _problems(nodes, consumed, opset, subgraph_nodes):
    problems = []
    for node in nodes:
        spec = OPS.get(node.op_type)
        if node.op_type == "Constant":
            if node.attrs.get("_value") is None:
                problems.append("Constant holding strings or a sparse tensor")
            continue
        if spec is None or node.op_type in subgraph_nodes:
            problems.append(node.op_type)
            continue
        used = {i for i, name in enumerate(node.outputs) if name in consumed}
        reason = spec.check and spec.check(node.attrs, len(node.inputs), used, opset)
        if reason:
            problems.append(reason)
    return problems


def _float_dtype(inputs, initializers):
    kinds = [v.dtype for v in inputs if v.dtype is not None and v.dtype.kind == "f"]
    kinds += [a.dtype for a in initializers.values() if a.dtype.kind == "f"]
    return numpy.dtype("float64") if kinds and all(k == numpy.float64 for k in kinds) \
        else numpy.dtype("float32")


def _untie(nodes, initializers, outputs):
    """Drop Constant nodes, and turn ``Identity(initializer) -> name`` into an initializer of its
    own: PyTorch's exporter stores equal weights once (two zero biases) and names the others
    this way, and they are separate weights of the model."""
    kept = []
    for node in nodes:
        if node.op_type == "Constant":
            continue
        source, target = node.inputs[0] if node.inputs else None, node.outputs[0]
        if node.op_type == "Identity" and source in initializers and target not in outputs \
                and target not in initializers:
            initializers[target] = initializers[source].copy()
            continue
        kept.append(node)
    return kept


def read_graph(f) -> Graph:
    """Parse, check and translate ``f``; raises ``OnnxLoadError`` for anything unsupported."""
    model, source, folder = _read_model(f)
    _external(model, source, folder)
    _check(model, source)
    from onnx import numpy_helper

    g = model.graph
    opsets = {o.domain: o.version for o in model.opset_import}
    opset = next((opsets[d] for d in _DEFAULT_DOMAINS if d in opsets), None)
    if opset is None or not MIN_OPSET <= opset <= MAX_OPSET:
        raise OnnxLoadError(f"load: {source} uses opset {opset} of the default ONNX domain; "
                            f"chainrule reads opsets {MIN_OPSET} to {MAX_OPSET}")
    initializers = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    if g.sparse_initializer:
        _refuse(source, opset, ["sparse initializers"] * len(g.sparse_initializer))
    inputs = [_value(v) for v in g.input if v.name not in initializers]
    outputs = [_value(v) for v in g.output]
    nodes, constants, subgraph_nodes, problems = [], {}, set(), []
    for proto in g.node:
        node, subgraphs = _node(proto)
        if proto.domain not in _DEFAULT_DOMAINS:
            problems.append(f"{proto.domain}:{proto.op_type}")
            continue
        if subgraphs:
            subgraph_nodes.add(node.op_type)
        if node.op_type == "Constant":
            node.attrs["_value"] = _constant(node)
            if node.attrs["_value"] is not None:
                constants[node.outputs[0]] = node.attrs["_value"]
        nodes.append(node)
    bad_inputs = [f"graph input {v.name!r} of type {v.dtype}" for v in inputs
                  if v.dtype is not None and v.dtype.kind not in "fiub"]
    consumed = {n for node in nodes for n in node.inputs if n} | {v.name for v in outputs}
    problems += bad_inputs + _problems(nodes, consumed, opset, subgraph_nodes)
    if problems:
        _refuse(source, opset, problems)
    nodes = _untie(nodes, initializers, {v.name for v in outputs})
    for name, array in initializers.items():
        if array.dtype.kind == "f" and array.dtype not in (numpy.float32, numpy.float64):
            initializers[name] = array.astype(numpy.float32)  # float16/bfloat16 weights
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return Graph(opset, inputs, outputs, initializers, constants, nodes,
                 _float_dtype(inputs, initializers), producer)
