"""Module mechanics: registration, modes, state dicts, weight sharing, summary, containers."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Net(nn.Module):
    """A module that mixes sub-modules, a parameter, a buffer and a plain attribute."""

    def __init__(self, rng):
        super().__init__()
        self.fc1 = nn.Linear(4, 3, rng=rng)
        self.scale = nn.Parameter(np.ones(3, dtype="float32"))
        self.register_buffer("count", np.zeros((), dtype="int64"))
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(3, 2, rng=rng)
        self.note = "not registered"

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x) * self.scale))


def _x(rng, *shape, dtype="float32"):
    return cr.tensor(rng.standard_normal(shape).astype(dtype))


@pytest.mark.kernel_free
def test_registration_order_and_traversal(rng):
    net = Net(rng)
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert list(net.state_dict()) == [
        "scale", "count", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_buffers()] == ["count"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert len(list(net.parameters())) == 5
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert net.note == "not registered" and "note" not in net._parameters
    assert "fc1" in dir(net) and "scale" in dir(net)


@pytest.mark.kernel_free
def test_reassignment_and_deletion(rng):
    net = Net(rng)
    net.fc2 = nn.Identity()  # replacing a module keeps it registered under the same name
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    net.scale = None
    assert net.scale is None and "scale" not in net.state_dict()
    del net.act
    assert not hasattr(net, "act")
    net.count = cr.tensor(np.array(5))  # a Tensor assigned to a buffer name stays a buffer
    assert isinstance(net.count, nn.Buffer) and net.state_dict()["count"].item() == 5
    with pytest.raises(TypeError, match="cannot assign Tensor to parameter 'weight'"):
        net.fc1.weight = cr.tensor(np.zeros((3, 4), dtype="float32"))
    with pytest.raises(TypeError, match="cannot assign int to submodule 'fc1'"):
        net.fc1 = 3


@pytest.mark.kernel_free
def test_assignment_before_init_is_explained():
    class Forgetful(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2, dtype="float32"))

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first in Forgetful"):
        Forgetful()


@pytest.mark.kernel_free
def test_register_validation():
    m = nn.Module()
    with pytest.raises(ValueError, match="contain no '.'"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="must be a Parameter or None"):
        m.register_parameter("w", cr.tensor([1.0]))
    with pytest.raises(TypeError, match="must be a Module or None"):
        m.add_module("sub", 3)
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        m(1)


@pytest.mark.kernel_free
def test_parameter_and_buffer():
    p = nn.Parameter([1.0, 2.0])
    assert p.requires_grad and p.is_leaf and p.dtype == np.float32
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")
    arr = np.zeros(3)
    shared = nn.Parameter(arr)
    assert np.shares_memory(shared._data, arr)  # shares memory, like torch.nn.Parameter
    assert not shared._data.flags.writeable and arr.flags.writeable  # a read-only view of it
    arr[0] = 5.0
    assert shared._data[0] == 5.0
    assert not nn.Parameter(arr, requires_grad=False).requires_grad
    with pytest.raises(TypeError, match="data must be floating-point or complex, got dtype int64"):
        nn.Parameter(np.arange(3))
    b = nn.Buffer(np.arange(3), persistent=False)
    assert not b.requires_grad and not b.persistent and b.dtype == np.int64


@pytest.mark.kernel_free
def test_train_eval_recursive(rng):
    net = nn.Sequential(Net(rng), nn.Sequential(nn.ReLU(), nn.Tanh()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net[1].train()
    assert not net.training and net[1].training and net[1][1].training
    with pytest.raises(TypeError, match="mode must be a bool"):
        net.train("no")


def test_zero_grad_and_requires_grad(rng):
    net = Net(rng)
    net(_x(rng, 5, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.fc1.requires_grad_(False)
    assert net.num_parameters() == 3 + 15 + 8
    assert net.num_parameters(trainable_only=True) == 3 + 8


def test_state_dict_round_trip(rng):
    a, b = Net(np.random.default_rng(1)), Net(np.random.default_rng(2))
    x = _x(rng, 5, 4)
    assert not np.allclose(a(x)._data, b(x)._data)
    weight = b.fc1.weight
    result = b.load_state_dict(a.state_dict())
    assert result == ([], []) and result.missing_keys == []
    np.testing.assert_array_equal(a(x)._data, b(x)._data)
    assert b.fc1.weight is weight  # copied in place: optimizers holding it still see it
    state = a.state_dict()
    assert all(type(t) is cr.Tensor and not t.requires_grad for t in state.values())
    assert np.shares_memory(state["fc1.weight"]._data, a.fc1.weight._data)
    assert isinstance(state, OrderedDict)
    assert state["count"].dtype == np.int64


@pytest.mark.kernel_free
def test_load_accepts_arrays_and_casts_dtype(rng):
    net = Net(rng)
    state = {k: v.numpy().astype("float64") + 1 for k, v in net.state_dict().items()}
    state["count"] = np.array(7)
    net.load_state_dict(state)
    assert net.fc1.weight.dtype == np.float32
    np.testing.assert_allclose(net.fc1.weight._data, state["fc1.weight"], rtol=1e-6)
    assert net.count.item() == 7


@pytest.mark.kernel_free
def test_load_reports_every_problem_and_loads_nothing(rng):
    net = Net(rng)
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    state = {k: v.numpy() + 1 for k, v in net.state_dict().items()}
    del state["fc2.bias"], state["scale"]
    state["fc3.weight"] = np.zeros(2)
    state["fc1.weight"] = np.zeros((3, 5))
    state["count"] = "seven"
    with pytest.raises(ValueError) as err:
        net.load_state_dict(state)
    msg = str(err.value)
    assert "the state does not fit Net (nothing was loaded)" in msg
    assert "missing keys (in the model, not in the state): scale, fc2.bias" in msg
    assert "unexpected keys (in the state, not in the model): fc3.weight" in msg
    assert "fc1.weight: state has shape (3, 5), model has (3, 4)" in msg
    assert "count: value of type str has non-numeric dtype" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


@pytest.mark.kernel_free
def test_load_non_strict_returns_keys_but_rejects_shapes(rng):
    net = Net(rng)
    state = {k: v.numpy() + 1 for k, v in net.state_dict().items()}
    del state["fc2.bias"]
    state["extra"] = np.zeros(1)
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert (missing, unexpected) == (["fc2.bias"], ["extra"])
    np.testing.assert_array_equal(net.fc2.weight._data, state["fc2.weight"])
    state["fc2.weight"] = np.zeros((1, 1))
    with pytest.raises(ValueError, match="fc2.weight: state has shape"):
        net.load_state_dict(state, strict=False)
    with pytest.raises(TypeError, match="state must be a mapping"):
        net.load_state_dict([1, 2])


def test_shared_module_gets_one_accumulated_gradient(rng):
    lin = nn.Linear(3, 3, rng=rng)
    net = nn.Sequential(lin, nn.Tanh(), lin)
    assert len(list(net.parameters())) == 2
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as torch
    x = _x(rng, 4, 3)
    net(x).sum().backward()
    # By hand: y = W tanh(W x + b) + b, loss = sum(y).
    W, b = lin.weight._data.astype("float64"), lin.bias._data.astype("float64")
    h = np.tanh(x._data @ W.T + b)
    g_pre = (np.ones((4, 3)) @ W) * (1 - h**2)
    np.testing.assert_allclose(lin.weight.grad._data, np.ones((4, 3)).T @ h + g_pre.T @ x._data,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lin.bias.grad._data, 4 + g_pre.sum(0), rtol=1e-5, atol=1e-6)
    assert net.num_parameters() == 12
    assert net.summary((4, 3)).total_params == 12


def test_shared_parameter_appears_once(rng):
    a, b = nn.Linear(3, 3, rng=rng), nn.Linear(3, 3, rng=rng)
    b.weight = a.weight  # tied weights
    net = nn.Sequential(a, b)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    net(_x(rng, 2, 3)).sum().backward()
    assert a.weight.grad is b.weight.grad
    net.load_state_dict(net.state_dict())


def test_to_casts_and_keeps_identity(rng):
    net = Net(rng)
    w = net.fc1.weight
    net(_x(rng, 2, 4)).sum().backward()
    assert net.to(dtype="float64") is net
    assert net.fc1.weight is w and w.dtype == np.float64 and w.grad.dtype == np.float64
    assert net.count.dtype == np.int64  # integers are not cast
    net.to("cpu")
    assert net.fc1.weight.device == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        net.to("tpu")
    with pytest.raises(TypeError, match="dtype must be floating-point"):
        net.to(dtype="int32")


@pytest.mark.kernel_free
def test_apply_visits_children_first(rng):
    seen = []
    model = nn.Sequential(nn.ReLU(), nn.Sequential(nn.Tanh()))
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["ReLU", "Tanh", "Sequential", "Sequential"]


@pytest.mark.kernel_free
def test_forward_hooks_can_replace_and_be_removed(rng):
    m = nn.Identity()
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, inputs: (inputs[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, inputs, out: calls.append(out.item()) or out + 1)
    assert m(cr.tensor(1.0)).item() == 3.0 and calls == [2.0]
    h1.remove()
    with h2:
        assert m(cr.tensor(1.0)).item() == 2.0
    assert m(cr.tensor(1.0)).item() == 1.0


@pytest.mark.kernel_free
def test_repr_is_nested():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
            self.head = nn.Linear(2, 1, bias=False)

    assert repr(Block()) == (
        "Block(\n"
        "  (body): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=2, bias=True)\n"
        "    (1): ReLU()\n"
        "  )\n"
        "  (head): Linear(in_features=2, out_features=1, bias=False)\n"
        ")"
    )


def test_summary_table(rng):
    net = Net(rng)
    net.fc2.requires_grad_(False)
    net.fc1.train(False)
    s = net.summary((5, 4))
    assert [r.name for r in s.rows] == ["", "fc1", "act", "fc2"]
    assert [r.type for r in s.rows] == ["Net", "Linear", "Tanh", "Linear"]
    assert [r.output_shape for r in s.rows] == [(5, 2), (5, 3), (5, 3), (5, 2)]
    assert [r.params for r in s.rows] == [3, 15, 0, 8]
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (26, 18, 8)
    assert s.buffer_elements == 1
    text = str(s)
    assert "fc1    Linear  (5, 3)" in text and "Total params: 26" in text
    assert "Non-trainable params: 8" in text and repr(s) == text
    assert net.training and not net.fc1.training and net.act.training  # flags restored
    assert all(p.grad is None for p in net.parameters())  # ran under no_grad


@pytest.mark.kernel_free
def test_summary_runs_in_eval_mode_and_lists_tuple_outputs():
    class Probe(nn.Module):
        def forward(self, x):
            self.saw_training = self.training
            return x, (x, x)

    probe = Probe()
    s = nn.Sequential(probe).summary((2, 3))
    assert probe.saw_training is False and probe.training
    assert s.rows[1].output_shape == [(2, 3), [(2, 3), (2, 3)]]
    assert "[(2, 3), [(2, 3), (2, 3)]]" in str(s)
    with pytest.raises(ValueError, match=r"input_shape must be a tuple of positive ints"):
        probe.summary(784)


def test_summary_leaves_running_statistics_alone(rng):
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.BatchNorm1d(4))
    model[1].running_mean.fill_(0.5)
    s = model.summary((2, 3))
    np.testing.assert_array_equal(model[1].running_mean._data, 0.5)
    assert model[1].num_batches_tracked.item() == 0 and model.training
    assert s.buffer_elements == 4 + 4 + 1 and s.total_params == 16 + 8


@pytest.mark.kernel_free
def test_deepcopy_is_independent(rng):
    net = Net(rng)
    clone = copy.deepcopy(net)
    assert clone.fc1.weight is not net.fc1.weight
    np.testing.assert_array_equal(clone.fc1.weight._data, net.fc1.weight._data)
    with pytest.raises(ValueError, match="read-only"):  # the copy's values stay protected
        clone.fc1.weight._data[...] = 0
    with cr.no_grad():
        clone.fc1.weight.zero_()
    assert not clone.fc1.weight._data.any()  # the protected view and the written array are one
    assert net.fc1.weight._data.any()
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]


@pytest.mark.torch
def test_state_dict_keys_and_repr_match_torch(rng):
    torch = pytest.importorskip("torch")

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(4, 3)
            self.scale = torch.nn.Parameter(torch.ones(3))
            self.register_buffer("count", torch.zeros((), dtype=torch.int64))
            self.act = torch.nn.Tanh()
            self.fc2 = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x) * self.scale))

    ours, theirs = Net(rng), TorchNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    x = _x(rng, 5, 4)
    np.testing.assert_allclose(ours(x)._data, theirs(torch.from_numpy(x.numpy())).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    ours.load_state_dict(TorchNet().state_dict())  # torch tensors are accepted as values
    seq = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10, bias=False))
    tseq = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 10, bias=False))
    assert repr(seq) == repr(tseq)


def test_sequential_indexing_and_editing(rng):
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b and list(seq) == [a, b]
    assert seq.append(c) is seq and seq[2] is c
    sliced = seq[1:]
    assert isinstance(sliced, nn.Sequential) and list(sliced) == [b, c]
    assert list(sliced._modules) == ["1", "2"]  # slices keep their names, as in torch
    seq.insert(0, nn.Identity())
    assert [type(m).__name__ for m in seq] == ["Identity", "ReLU", "Tanh", "Sigmoid"]
    assert list(seq._modules) == ["0", "1", "2", "3"]
    del seq[0]
    assert list(seq) == [a, b, c] and list(seq._modules) == ["0", "1", "2"]
    seq[1] = nn.Identity()
    x = cr.tensor([-1.0, 2.0])
    np.testing.assert_allclose(seq(x)._data, 1 / (1 + np.exp(-np.array([0.0, 2.0]))), rtol=1e-6)
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        seq[3]
    with pytest.raises(TypeError, match="Sequential: expected a Module, got int"):
        seq.append(3)
    named = nn.Sequential(OrderedDict([("conv", nn.Identity()), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_children()] == ["conv", "act"] and named.act is named[1]


@pytest.mark.kernel_free
def test_module_list_and_dict(rng):
    layers = nn.ModuleList([nn.Linear(2, 2, rng=rng) for _ in range(3)])
    holder = nn.Module()
    holder.layers = layers
    assert len(list(holder.parameters())) == 6
    assert [n for n, _ in holder.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]
    layers.extend([nn.ReLU()])
    assert len(layers) == 4 and isinstance(layers[-1], nn.ReLU)
    assert isinstance(layers[1:3], nn.ModuleList) and list(layers[1:3]._modules) == ["0", "1"]
    assert layers[1:3][0] is layers[1]
    with pytest.raises(NotImplementedError):
        layers(cr.tensor([1.0]))

    heads = nn.ModuleDict({"a": nn.Linear(2, 1, rng=rng)})
    heads["b"] = nn.Linear(2, 3, rng=rng)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert list(heads.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert [k for k, _ in heads.items()] == ["a", "b"]
    del heads["a"]
    assert list(heads.keys()) == ["b"]
    with pytest.raises(KeyError, match="no module 'z'"):
        heads["z"]
    with pytest.raises(ValueError, match="contain no '.'"):
        heads["x.y"] = nn.ReLU()


@pytest.mark.kernel_free
def test_replacing_a_member_keeps_its_place_as_in_torch(rng):
    torch = pytest.importorskip("torch")

    def edit(lib, t):
        lin = lib.Linear(3, 2)
        lin.weight = lib.Parameter(t.zeros(2, 3))  # the order stayed weight, bias
        net = lib.Module()
        net.a, net.b = lib.Linear(1, 1), lib.Linear(1, 1)
        net.a = lib.Linear(1, 1)  # e.g. a backbone's first layer swapped for fine-tuning
        net.register_buffer("x", t.zeros(1))
        net.register_buffer("y", t.zeros(1))
        net.register_buffer("x", t.ones(1))
        seq = lib.Sequential(lib.Linear(1, 1), lib.Tanh(), lib.Linear(1, 1))
        setattr(seq, "0", lib.Sigmoid())
        return list(lin.state_dict()), list(net.state_dict()), [type(m).__name__ for m in seq]

    assert edit(nn, cr) == edit(torch.nn, torch)
    seq = nn.Sequential(nn.Identity(), nn.Tanh())
    setattr(seq, "0", nn.Sigmoid())  # still applied first: sigmoid, then tanh
    np.testing.assert_allclose(seq(cr.tensor([0.0]))._data, np.tanh([0.5]), rtol=1e-6)


@pytest.mark.kernel_free
def test_register_refuses_other_attributes():
    m = nn.Linear(2, 2)
    m.note = 1
    for name in ("training", "forward", "weight", "note"):  # torch: KeyError "already exists"
        with pytest.raises(KeyError, match=f"attribute '{name}' already exists on Linear"):
            m.register_buffer(name, cr.zeros(1))
    with pytest.raises(KeyError, match="attribute 'bias' already exists"):
        m.add_module("bias", nn.ReLU())
    with pytest.raises(KeyError, match="attribute 'eval' already exists"):
        m.eval = nn.Parameter(cr.zeros(1))
    m.register_parameter("bias", None)  # its own kind: replaced in place
    assert m.training is True and list(m.state_dict()) == ["weight"]
    with pytest.raises(TypeError, match="cannot assign ReLU to parameter 'weight'"):
        m.weight = nn.ReLU()
    with pytest.raises(TypeError, match="cannot assign Buffer to parameter 'weight'"):
        m.weight = nn.Buffer(cr.zeros(2, 2))


def test_empty_buffer_keeps_persistence_and_zero_grad_in_place(rng):
    m = nn.Module()
    m.register_buffer("a", None, persistent=False)
    m.a = cr.zeros(2)  # still unsaved, as in torch
    m.register_buffer("b", cr.zeros(1), persistent=False)
    m.b = None
    m.b = cr.ones(1)
    m.register_buffer("c", None)
    m.c = cr.zeros(1)
    assert list(m.state_dict()) == ["c"]
    net = Net(rng)
    net(_x(rng, 5, 4)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad._data.any() for p in net.parameters())


@pytest.mark.kernel_free
def test_container_edits_as_in_torch():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    seq = nn.Sequential(a, b)
    with pytest.raises(IndexError, match="index 3 is out of range for 2 modules"):
        seq.insert(3, c)  # list.insert would append silently; torch refuses
    assert seq.insert(-1, c) is seq and list(seq) == [a, c, b]
    assert seq.pop(1) is c and list(seq) == [a, b] and list(seq._modules) == ["0", "1"]
    both = seq + nn.Sequential(c)
    assert isinstance(both, nn.Sequential) and list(both) == [a, b, c]
    layers = nn.ModuleList([a])
    layers += [b]
    assert list(layers) == [a, b] and list(layers + [c]) == [a, b, c]
    heads = nn.ModuleDict({"ab": a, "c": c})
    copy_of = nn.ModuleDict(heads)  # a ModuleDict is a mapping here too
    assert list(copy_of.items()) == [("ab", a), ("c", c)]
    with pytest.raises(TypeError, match=r"expected \(key, module\) pairs, got 'ab'"):
        nn.ModuleDict().update(["ab"])
    copy_of.clear()
    assert len(copy_of) == 0 and len(heads) == 2
