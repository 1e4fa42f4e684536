"""``chainrule.onnx.load``: an ONNX file (from PyTorch or anywhere else) as a trainable Module.

The graph is evaluated node by node with chainrule ops, so a loaded model is differentiable end to
end: with respect to its inputs (attacks, saliency maps) and to its weights (fine-tuning). Float
initializers that feed data inputs become ``nn.Parameter``s; running statistics of
BatchNormalization become buffers; integer and setting-only initializers (reshape targets, axes,
pads) stay constants of the graph. See docs/onnx.md ("Loading an ONNX model").
"""

from __future__ import annotations

from collections import Counter

from ..autograd.tensor import Tensor, tensor
from ..backend import device_of, ensure_array, numpy, to_device
from ..nn.module import Module
from ..nn.parameter import Buffer, Parameter
from . import (  # noqa: F401 - they register their operators
    _load_ops_layout,
    _load_ops_loss,
    _load_ops_nn,
    _load_ops_resize,
    _load_ops_rnn,
    _load_ops_scatter,
    _load_ops_shape,
)
from ._load_graph import OnnxLoadError, read_graph
from ._load_ops import OPS, Context, const

__all__ = ["OnnxLoadError", "OnnxModule", "load"]


def load(f, *, trainable=None) -> OnnxModule:
    """Read an ONNX model as a chainrule Module whose forward evaluates the graph.

    Args:
        f: a path (str or PathLike), the file's bytes, a binary file object, or an
            ``onnx.ModelProto``. Initializers kept in external data files are read from the
            folder of the path (a path is needed for them).
        trainable: None (the default): every float initializer the outputs' gradient can reach
            becomes a Parameter (docs/onnx.md); or a collection of initializer names: exactly
            those do (the other float initializers become constants, left out of
            ``state_dict()``; running statistics stay buffers).

    Returns:
        An ``OnnxModule`` in evaluation mode (as the exported graph computes); call ``.train()``
        to fine-tune with dropout and batch statistics.

    Raises:
        ImportError: the ``onnx`` package is missing (``pip install "chainrule[onnx]"``).
        OnnxLoadError: (a ValueError) a corrupt, truncated or invalid file, an opset outside 11
            to 22, or operators chainrule does not evaluate (all of them listed, with counts).
    """
    graph = read_graph(f)
    return OnnxModule(graph, trainable=_trainable(graph, trainable))


class _Scope(Module):
    """A level of a dotted initializer name ("features" in "features.0.weight"): holds members
    only, so that ``state_dict()`` keys equal the ONNX names."""

    def forward(self, *args, **kwargs):
        raise TypeError("this is a namespace of an OnnxModule's weights; call the OnnxModule")


_RANK = {"const": 0, "state": 1, "stat": 2, "param": 3}


def _roles(graph, trainable):
    """Initializer name -> "param", "state", "stat" or "const".

    A float initializer is a weight ("param") when the outputs' gradient can reach it: along a
    path to a graph output through data inputs of nodes, not through settings (shapes, axes,
    pads) or inputs that are not differentiated (comparisons, a Where condition). One that feeds
    data inputs only off such paths (a perceptron's weights before its step) is "state": saved,
    not trained. BatchNormalization's running statistics are "stat"; the rest "const".
    ``trainable`` (a set of names), when given, decides "param" and "state" instead.
    """
    live, roles = {v.name for v in graph.outputs}, {}
    for node in reversed(graph.nodes):  # the checker has made sure that they are sorted
        on_path = any(n in live for n in node.outputs if n is not None)
        spec = OPS[node.op_type]
        for i, name in enumerate(node.inputs):
            if name is None:
                continue
            role = "stat" if i in spec.stat else ("const" if i in spec.const else "param")
            if role == "param" and on_path:
                live.add(name)
            elif role == "param":
                role = "state"
            if name in graph.initializers:
                roles[name] = max(role, roles.get(name, "const"), key=_RANK.get)
    if trainable is not None:
        roles = {name: "const" if role in ("param", "state") else role
                 for name, role in roles.items()}
        roles.update({name: "param" for name in trainable})
    return roles


def _trainable(graph, trainable):
    if trainable is None:
        return None
    if isinstance(trainable, str) or not hasattr(trainable, "__iter__"):
        raise TypeError(f"load: trainable must be a collection of initializer names, got "
                        f"{trainable!r}")
    names = set(trainable)
    floats = {n for n, a in graph.initializers.items() if a.dtype.kind == "f"}
    unknown = sorted(names - floats)
    if unknown:
        raise ValueError(f"load: trainable names {unknown} are not float initializers of the "
                         f"graph (its float initializers: {sorted(floats)})")
    return names


class OnnxModule(Module):
    """An ONNX graph as a Module: ``forward(*inputs)`` evaluates it with chainrule ops.

    Inputs are taken positionally in the graph's order or by name as keywords (arrays or
    Tensors); their ranks and fixed axes are checked against the graph. One output is returned
    as a Tensor, several as a tuple in the graph's order.

    ``state_dict()`` keys are the ONNX initializer names (``features.0.weight`` is the parameter
    ``weight`` of the submodule ``features.0``), so that a PyTorch state dict of the exported
    model loads with ``load_state_dict``. A name that cannot be such a path (an empty part, or a
    prefix of another name) is stored with its dots replaced by ``_``; ``initializer_keys`` maps
    every ONNX name to its key. Integer and setting-only initializers are non-persistent buffers.

    Every float type of the graph is computed in one float dtype: float64 for an all-double
    graph, else float32; ``.double()``/``.float()``/``.to(dtype)`` change it (constants and
    ``Cast`` nodes follow), so a float32 export can be checked by ``gradcheck`` in float64.

    Attributes:
        opset: the default-domain opset of the graph.
        input_names, output_names: the graph's inputs (initializers excluded) and outputs.
        initializer_keys: ONNX initializer name -> its key in the Module's members.
    """

    def __init__(self, graph, *, trainable=None):
        super().__init__()
        self._graph = graph
        self._dtype = graph.float_dtype
        self.opset = graph.opset
        self.input_names = [v.name for v in graph.inputs]
        self.output_names = [v.name for v in graph.outputs]
        self.initializer_keys = {}
        self._members = {}  # ONNX name -> (owning module, store, attribute)
        roles = _roles(graph, trainable)
        for name, array in graph.initializers.items():
            role = roles.get(name, "const")
            if role == "param" and array.dtype.kind == "f":
                member = Parameter(array.astype(self._dtype))
            else:
                if array.dtype.kind == "f":
                    array = array.astype(self._dtype)
                member = Buffer(array, persistent=role in ("stat", "state")
                                and array.dtype.kind == "f")
            self._place(name, member)
        self.eval()

    def _place(self, name, member):
        parts = name.split(".")
        owner, created = self, []
        try:
            if not all(parts):
                raise ValueError(name)
            for part in parts[:-1]:
                child = owner._modules.get(part)
                if child is None:
                    owner.add_module(part, _Scope())
                    created.append((owner, part))
                    child = owner._modules[part]
                elif not isinstance(child, _Scope):
                    raise ValueError(name)
                owner = child
            self._attach(owner, parts[-1], member)
            key = name
        except (KeyError, ValueError, TypeError):
            for parent, part in reversed(created):  # no empty scopes left behind
                del parent._modules[part]
            owner, key = self, name.replace(".", "_")
            while key in self._parameters or key in self._buffers or key in self._modules \
                    or hasattr(self, key):
                key += "_"
            self._attach(owner, key, member)
        self.initializer_keys[name] = key
        store = "_parameters" if isinstance(member, Parameter) else "_buffers"
        self._members[name] = (owner, store, key.rsplit(".", 1)[-1])

    @staticmethod
    def _attach(owner, attr, member):
        if attr in owner._modules:
            raise ValueError(attr)  # a prefix of another name: keep both reachable
        if isinstance(member, Parameter):
            owner.register_parameter(attr, member)
        else:
            owner.register_buffer(attr, member, persistent=member.persistent)

    def _cast(self, name, dtype, kinds: str) -> OnnxModule:
        """``Module``'s cast behind ``to``/``double``/``float``/``half``; a float ``dtype`` also
        becomes the dtype the graph computes in."""
        super()._cast(name, dtype, kinds)
        if dtype is not None and numpy.dtype(dtype).kind == "f":
            self._dtype = numpy.dtype(dtype)
        return self

    def _bind(self, args, kwargs):
        specs = self._graph.inputs
        if len(args) > len(specs):
            raise TypeError(f"OnnxModule: the graph takes {len(specs)} inputs "
                            f"({', '.join(self.input_names)}), got {len(args)}")
        given = dict(zip(self.input_names, args))
        for key, value in kwargs.items():
            if key not in self.input_names:
                raise TypeError(f"OnnxModule: unknown input {key!r}; the graph's inputs are "
                                f"{self.input_names}")
            if key in given:
                raise TypeError(f"OnnxModule: input {key!r} given twice")
            given[key] = value
        missing = [n for n in self.input_names if n not in given]
        if missing:
            raise TypeError(f"OnnxModule: missing inputs {missing}")
        return {spec.name: self._check_input(spec, given[spec.name]) for spec in specs}

    def _check_input(self, spec, value):
        if isinstance(value, Tensor):
            x = value
        elif hasattr(value, "dtype") and hasattr(value, "shape"):  # an array, kept on its device
            x = Tensor(ensure_array(value))
        else:
            x = tensor(value)
        have, want = x._data.dtype, spec.dtype
        if want is not None and want.kind == "f":
            if have != self._dtype:
                raise TypeError(f"OnnxModule: input {spec.name!r} must be {self._dtype} (the "
                                f"model's float dtype; .double()/.float() change it), got {have}")
        elif want is not None and have != want:
            if have.kind != want.kind or want.kind not in "iu":
                raise TypeError(f"OnnxModule: input {spec.name!r} must have dtype {want}, got "
                                f"{have}")
            x = Tensor(x._data.astype(want))
        if spec.shape is not None:
            fixed = len(spec.shape) == x.ndim and all(
                not isinstance(d, int) or d == n for d, n in zip(spec.shape, x.shape))
            if not fixed:
                raise ValueError(f"OnnxModule: input {spec.name!r} must have shape "
                                 f"{spec.describe()}, got shape {tuple(x.shape)}")
        return x

    def forward(self, *args, **kwargs):
        env = self._bind(args, kwargs)
        first = next(iter(env.values()), None)
        device = "cpu" if first is None else device_of(first._data)
        ctx = Context(training=self.training, dtype=self._dtype, opset=self.opset)
        for name, (owner, store, attr) in self._members.items():
            env[name] = getattr(owner, store)[attr]
        for name, array in self._graph.constants.items():
            env[name] = const(ctx, array if device == "cpu" else to_device(array, device))
        for index, node in enumerate(self._graph.nodes):
            args = [None if n is None else env[n] for n in node.inputs]
            while args and args[-1] is None:
                args.pop()
            try:
                out = OPS[node.op_type].fn(ctx, node.attrs, *args)
            except Exception as e:
                if hasattr(e, "add_note"):  # Python 3.11: say which node failed
                    e.add_note(f"OnnxModule: in node {index} ({node.op_type} {node.name!r}) of "
                               "the graph (see graph_summary())")
                raise
            for name, value in zip(node.outputs, out if isinstance(out, tuple) else (out,)):
                if name is not None:
                    env[name] = value
        results = tuple(env[n] for n in self.output_names)
        return results[0] if len(results) == 1 else results

    def graph_summary(self) -> str:
        """One line per node: its index, op_type, input names and output names."""
        lines = [f"ONNX graph, opset {self.opset}"
                 + (f", from {self._graph.producer}" if self._graph.producer else "")]
        lines += [f"  input  {v.name}: {v.dtype} {v.describe()}" for v in self._graph.inputs]
        for i, node in enumerate(self._graph.nodes):
            ins = ", ".join(n or "-" for n in node.inputs)
            outs = ", ".join(n or "-" for n in node.outputs)
            lines.append(f"  {i:4d} {node.op_type}({ins}) -> {outs}")
        lines += [f"  output {name}" for name in self.output_names]
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts = Counter(n.op_type for n in self._graph.nodes)
        ops = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.most_common())
        params = sum(1 for _ in self.parameters())
        return (f"OnnxModule(opset={self.opset}, inputs={self.input_names}, "
                f"outputs={self.output_names}, {len(self._graph.nodes)} nodes: {ops}; "
                f"{params} parameters, {self.num_parameters()} weights)")
