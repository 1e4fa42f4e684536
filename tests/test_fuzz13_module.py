"""Thirteenth fuzz wave, the Module API as programs use it, side by side with PyTorch: random
sequences of Sequential/ModuleList edits (append, extend, insert, del of indices and slices, pop,
item assignment, slicing, ``+``, ``*``) on the same layers, named (OrderedDict) Sequentials
included; the kinds of error PyTorch raises for a bad name, a bad training mode or a bad value;
``named_modules(memo=)``, ``zero_grad(set_to_none=False)`` in place, ``copy.deepcopy`` of a
trained model (no gradients on the copy), ModuleList's repr of repeated layers, and the global
module hooks (``nn.modules.module.register_module_forward_hook`` and the rest)."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]


def _layers(lib, n, start=1):
    return [lib.nn.Linear(1, start + i) for i in range(n)]  # out_features names each layer


def _view(container):
    return [(k, m.out_features) for k, m in container._modules.items()]


def _edit(lib, rng, kind, named):
    n0 = int(rng.integers(1, 5))
    if kind == "Sequential" and named:
        box = lib.nn.Sequential(OrderedDict((f"l{i}", m) for i, m in enumerate(_layers(lib, n0))))
    elif kind == "Sequential":
        box = lib.nn.Sequential(*_layers(lib, n0))
    else:
        box = lib.nn.ModuleList(_layers(lib, n0))
    log, fresh = [], iter(range(100, 200))
    for _ in range(8):
        op, n = int(rng.integers(0, 10)), len(box)
        try:
            if op == 0:
                box.append(lib.nn.Linear(1, next(fresh)))
            elif op == 1:
                box.extend(_layers(lib, int(rng.integers(0, 3)), next(fresh) * 10))
            elif op == 2 and not named:  # PyTorch's insert fails on named layers (KeyError),
                low = -n if kind == "Sequential" else 0  # ModuleList's on a negative index
                box.insert(int(rng.integers(low, n + 1)), lib.nn.Linear(1, next(fresh)))
            elif op == 3 and n:
                del box[int(rng.integers(-n, n))]
            elif op == 4:
                a, b = sorted(int(x) for x in rng.integers(-n - 1, n + 2, 2))
                del box[a:b:int(rng.choice([1, 2]))]
            elif op == 5 and n:
                log.append(("pop", box.pop(int(rng.integers(-n, n))).out_features))
            elif op == 6 and n:
                box[int(rng.integers(-n, n))] = lib.nn.Linear(1, next(fresh))
            elif op == 7:
                a, b = (int(x) for x in rng.integers(-n - 1, n + 2, 2))
                log.append(("slice", type(box[a:b]).__name__, _view(box[a:b])))
            elif op == 8:
                other = type(box)(_layers(lib, 1, next(fresh)))
                if kind == "Sequential":
                    log.append(("add", _view(box + other)))
                box += other
            elif op == 9 and kind == "Sequential" and n:
                k = int(rng.integers(1, 3))
                log.append(("mul", _view(box * k), _view(k * box)))
                if not named:  # PyTorch's *= fails on named layers (KeyError)
                    box *= k
        except (IndexError, TypeError, ValueError, KeyError) as e:
            log.append(("error", type(e).__name__))
        log.append(_view(box))
    log.append(list(box.state_dict()))
    return log


@pytest.mark.parametrize("kind", ["Sequential", "ModuleList"])
@pytest.mark.parametrize("named", [False, True])
def test_random_container_edits_match_pytorchs(kind, named):
    if named and kind == "ModuleList":
        pytest.skip("a ModuleList has no named form")
    for seed in range(60):
        want = _edit(torch, np.random.default_rng(seed), kind, named)
        got = _edit(cr, np.random.default_rng(seed), kind, named)
        assert got == want, seed


def test_sequential_multiplication_shares_the_layers_as_pytorchs():
    for lib in (torch, cr):
        s = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
        twice = s * 2
        assert list(twice._modules) == ["0", "1", "2", "3"] and twice[2] is s[0]
        assert len(list(twice.parameters())) == 2  # shared, counted once
        with pytest.raises(ValueError):
            s * 0
        with pytest.raises(TypeError):
            s * 1.5
        s *= 3
        assert len(s) == 6 and s[4] is s[0]


def test_deleting_from_a_named_sequential_renumbers_as_pytorchs():
    for lib in (torch, cr):
        s = lib.nn.Sequential(OrderedDict(a=lib.nn.Linear(1, 1), b=lib.nn.Linear(1, 2)))
        del s[0]
        assert list(s.state_dict()) == ["0.weight", "0.bias"], lib


def _errors(lib):
    nn, out = lib.nn, []

    def record(fn):
        try:
            fn()
            out.append("ok")
        except Exception as e:  # noqa: BLE001 - the kind is what is compared
            out.append(next(k.__name__ for k in (KeyError, ValueError, TypeError, AttributeError,
                                                 IndexError) if isinstance(e, k)))

    for name in ("a.b", "", 3, "ok2", "training"):
        m = nn.Module()
        record(lambda: m.add_module(name, nn.ReLU()))
        record(lambda: m.register_parameter(name, nn.Parameter(lib.ones(1))))
        record(lambda: m.register_buffer(name, lib.ones(1)))
    for mode in (1, "no", None, True):
        record(lambda: nn.ReLU().train(mode))
    for value in (3, [1.0], "x", lib.ones(1), None):
        record(lambda: nn.Module().register_buffer("b", value))
    record(lambda: nn.Sequential(nn.ReLU()).set_submodule("0", 3))
    record(lambda: nn.ModuleDict()["a.b"] == 1)
    md = nn.ModuleDict()
    record(lambda: md.__setitem__("", nn.ReLU()))
    return out


def test_error_kinds_match_pytorchs():
    assert _errors(cr) == _errors(torch)


def test_named_modules_memo_and_positions_as_pytorchs():
    for lib in (torch, cr):
        a, b = lib.nn.ReLU(), lib.nn.Tanh()
        s = lib.nn.Sequential(a, lib.nn.Sequential(b, a))
        memo = {b}
        assert [n for n, _ in s.named_modules(memo, "r")] == ["r", "r.0", "r.1"]
        assert a in memo and s in memo
        assert [n for n, _ in s.named_modules(None, "", False)] == ["", "0", "1", "1.0", "1.1"]
        assert [n for n, _ in s.named_modules(prefix="p")][:2] == ["p", "p.0"]


def test_zero_grad_without_none_zeroes_the_same_tensor_as_pytorchs():
    for lib in (torch, cr):
        m = lib.nn.Linear(2, 1)
        m(lib.ones(3, 2)).sum().backward()
        held = m.weight.grad
        m.zero_grad(set_to_none=False)
        assert m.weight.grad is held and float(held.abs().sum()) == 0.0
        m(lib.ones(3, 2)).sum().backward()
        np.testing.assert_array_equal(held.numpy(), np.full((1, 2), 3.0))


def test_deepcopy_of_a_trained_model_has_no_gradients_as_pytorchs():
    for lib in (torch, cr):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
        m.register_buffer("seen", lib.ones(1))
        m(lib.ones(1, 2)).sum().backward()
        c = copy.deepcopy(m)
        assert [p.grad for p in c.parameters()] == [None, None], lib
        assert all(p.grad is not None for p in m.parameters())
        assert c[0].weight.requires_grad and type(c[0].weight).__name__ == "Parameter"
        x = lib.ones(2, requires_grad=True)
        (x * 2).sum().backward()
        assert copy.deepcopy(x).grad is not None  # a plain tensor keeps its gradient (PyTorch)


def test_module_list_repr_folds_repeated_layers_as_pytorchs():
    def build(lib):
        nn = lib.nn
        return nn.Sequential(
            nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)]),
            nn.ModuleList([nn.Sequential(nn.Tanh(), nn.Dropout(0.1)) for _ in range(3)]),
            nn.ModuleList(), nn.Sequential(nn.ReLU(), nn.ReLU()))
    assert repr(build(cr)) == repr(build(torch))


def _parameter_dict_ops(lib, seed):
    rng, log = np.random.default_rng(seed), []
    pd = lib.nn.ParameterDict({"b": lib.ones(1), "a": lib.zeros(2)})
    for _ in range(10):
        op, key = int(rng.integers(0, 9)), str(rng.choice(["a", "b", "c", "d"]))
        value = lib.full((int(rng.integers(1, 4)),), float(rng.integers(0, 9)))
        try:
            if op == 0:
                pd[key] = value
            elif op == 1:
                log.append(("pop", pd.pop(key).tolist()))
            elif op == 2:
                log.append(("popitem", pd.popitem()[0]))
            elif op == 3:
                log.append(("setdefault", pd.setdefault(key, value).tolist()))
            elif op == 4:
                other = {key: value, "z": value}
                log.append(("or", list(pd | other), list(pd.copy()), list(reversed(pd))))
                pd |= lib.nn.ParameterDict(other)
            elif op == 5:
                log.append(("fromkeys", list(pd.fromkeys([key, "y"], value))))
            elif op == 6:
                del pd[key]
            elif op == 7:
                pd.update([(key, value)])
            else:
                log.append(("get", key in pd, pd.get(key, "none") if key not in pd else key))
        except (KeyError, AttributeError):  # PyTorch's missing key: AttributeError, ours KeyError
            log.append("missing")
        log.append([(k, type(v).__name__, v.tolist()) for k, v in pd.items()])
    log.append([n for n, _ in pd.named_parameters()])
    return log


def test_random_parameter_dict_operations_match_pytorchs():
    for seed in range(40):
        assert _parameter_dict_ops(cr, seed) == _parameter_dict_ops(torch, seed), seed


def test_load_state_dict_result_shows_as_pytorchs():
    for lib in (torch, cr):
        m = lib.nn.Linear(1, 1)
        result = m.load_state_dict(m.state_dict())
        assert repr(result) == str(result) == "<All keys matched successfully>"
        assert list(result) == [[], []] and result.missing_keys == []
        result = m.load_state_dict({"weight": lib.ones(1, 1), "x": lib.ones(1)}, strict=False)
        assert repr(result).endswith("IncompatibleKeys(missing_keys=['bias'], "
                                     "unexpected_keys=['x'])")
        assert result == (["bias"], ["x"])


def _r(t):  # sums in another order: the last bits differ
    return np.round(t.detach().numpy(), 10).tolist()


def _global_hooks_run(lib, seed):
    rng, log, handles = np.random.default_rng(seed), [], []
    g = lib.nn.modules.module
    net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Tanh(), lib.nn.Linear(3, 1)).double()
    with lib.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) + i))
    names = {id(m): n or "root" for n, m in net.named_modules()}

    def name(m):
        return names.get(id(m), type(m).__name__)

    for i in range(int(rng.integers(1, 6))):
        kind, ret = int(rng.integers(0, 6)), bool(rng.random() < 0.3)
        if kind == 0:
            handles.append(g.register_module_forward_pre_hook(
                lambda m, a, i=i, ret=ret: (log.append(("gpre", i, name(m))),
                                            (a[0] * 2,) if ret else None)[1]))
        elif kind == 1:
            kw = bool(rng.random() < 0.5)

            def fwd(m, *a, i=i, ret=ret, kw=kw):
                log.append(("gfwd", i, name(m), sorted(a[1]) if kw else None))
                return a[-1] + 1 if ret else None
            handles.append(g.register_module_forward_hook(fwd, with_kwargs=kw))
        elif kind == 2:
            handles.append(g.register_module_full_backward_hook(
                lambda m, gi, go, i=i: log.append(
                    ("gbwd", i, name(m), [None if t is None else _r(t) for t in gi],
                     [_r(t) for t in go]))))
        elif kind == 3:
            handles.append(g.register_module_full_backward_pre_hook(
                lambda m, go, i=i, ret=ret: (log.append(("gbpre", i, name(m))),
                                             tuple(t * 3 for t in go) if ret else None)[1]))
        else:
            target = list(net.modules())[int(rng.integers(0, 4))]
            handles.append(target.register_forward_hook(
                lambda m, a, o, i=i: log.append(("local", i, name(m)))))
            handles.append(target.register_full_backward_hook(
                lambda m, gi, go, i=i: log.append(("local bwd", i, name(m)))))
    x = lib.tensor(np.array([[0.5, -1.0]]), requires_grad=bool(rng.random() < 0.7))
    try:
        out = net(x)
        out.sum().backward()
        log.append(("out", _r(out), _r(net[0].weight.grad),
                    None if x.grad is None else _r(x.grad)))
    finally:
        for h in handles[::2]:
            h.remove()
    log.append(("after removal", _r(net(x))))
    for h in handles:
        h.remove()
    return log


def test_global_module_hooks_run_as_pytorchs():
    for seed in range(40):
        assert _global_hooks_run(cr, seed) == _global_hooks_run(torch, seed), seed


def test_global_forward_hook_always_called_when_forward_raises():
    for lib in (torch, cr):
        log = []

        class Boom(lib.nn.Module):
            def forward(self, x):
                raise KeyError("boom")
        h = lib.nn.modules.module.register_module_forward_hook(
            lambda m, a, o: log.append((type(m).__name__, o)), always_call=True)
        try:
            with pytest.raises(KeyError):
                Boom()(lib.ones(1))
        finally:
            h.remove()
        lib.nn.ReLU()(lib.ones(1))
        assert log == [("Boom", None)], lib


def _buffer_set_in_forward(lib):
    class Gated(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2).double()
            with lib.no_grad():
                self.lin.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, -1.0]]))
                self.lin.bias.fill_(0.5)
            self.register_buffer("gate", lib.ones(1, 2, dtype=lib.float64))
            self.register_buffer("scratch", lib.ones(1, 2, dtype=lib.float64), persistent=False)

        def forward(self, x):
            self.gate = lib.sigmoid(self.lin(x))  # a buffer set to a tensor with a graph
            self.scratch = self.gate * 2
            return x * self.gate + self.scratch

    m = Gated()
    x = lib.tensor([[0.5, -1.0]], dtype=lib.float64, requires_grad=True)
    m(x).sum().backward()
    out = [_r(x.grad), _r(m.lin.weight.grad), list(m.state_dict()), m.gate.requires_grad,
           [n for n, _ in m.named_buffers()]]
    m.register_buffer("param_as_buffer", m.lin.bias)
    out.append((m.param_as_buffer is m.lin.bias, list(m.state_dict())))
    m.float()
    out.append([str(t.dtype).replace("torch.", "") for t in (m.gate, m.scratch)])
    return out


def test_a_buffer_set_to_a_tensor_with_a_graph_passes_gradients_as_pytorchs():
    assert _buffer_set_in_forward(cr) == _buffer_set_in_forward(torch)


def _backward_hook_shapes(lib):
    log = []

    def grads(gs):
        return [None if g is None else _r(g) for g in gs]

    class Outputs(lib.nn.Module):
        def __init__(self, kind):
            super().__init__()
            self.kind = kind

        def forward(self, x):
            if self.kind == "dict":
                return {"a": x * 2}
            return (x * 2, x.sum()) if self.kind == "tuple" else x * 3

    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    for kind in ("dict", "tuple", "tensor"):
        m = Outputs(kind)
        m.register_full_backward_hook(lambda m, gi, go: log.append((m.kind, grads(gi), grads(go))))
        m.register_full_backward_pre_hook(lambda m, go: log.append(("pre", m.kind, grads(go))))
        out = m(x)
        total = out["a"].sum() if kind == "dict" else (
            out[0].sum() * 3 + out[1] * 5 if kind == "tuple" else out.sum())
        total.backward()
        log.append(_r(x.grad))
    shared = lib.nn.Linear(2, 2).double()
    with lib.no_grad():
        shared.weight.copy_(lib.tensor([[1.0, -1.0], [0.5, 2.0]]))
        shared.bias.fill_(0.1)
    shared.register_full_backward_hook(lambda m, gi, go: log.append(("shared", grads(gi))))
    lib.nn.Sequential(shared, lib.nn.Tanh(), shared)(x[None]).sum().backward()
    return log


def test_backward_hooks_on_dict_tuple_and_shared_modules_as_pytorchs():
    # a module returning a dict: PyTorch runs no backward hook (chainrule's called the hook with
    # grad_output None); a module called twice: its hooks run once per call
    assert _backward_hook_shapes(cr) == _backward_hook_shapes(torch)


def _overrides(lib, case):
    class Renaming(lib.nn.Module):  # an old checkpoint's key renamed before the usual loading
        def __init__(self):
            super().__init__()
            self.w = lib.nn.Parameter(lib.zeros(2))
            self.register_buffer("count", lib.zeros(1))

        def _load_from_state_dict(self, sd, prefix, meta, strict, missing, unexpected, errors):
            if prefix + "old_w" in sd:
                sd[prefix + "w"] = sd.pop(prefix + "old_w")
            if case == "error":
                errors.append("refused")
            super()._load_from_state_dict(sd, prefix, meta, strict, missing, unexpected, errors)

        def _save_to_state_dict(self, destination, prefix, keep_vars):
            super()._save_to_state_dict(destination, prefix, keep_vars)
            destination[prefix + "version_tag"] = lib.ones(1)

    class Manual(lib.nn.Module):  # loads its own entries itself, without super()
        def __init__(self):
            super().__init__()
            self.v = lib.nn.Parameter(lib.zeros(3))

        def _load_from_state_dict(self, sd, prefix, meta, strict, missing, unexpected, errors):
            if prefix + "v_half" in sd:
                with lib.no_grad():
                    self.v.copy_(sd.pop(prefix + "v_half") * 2)

    net = lib.nn.Sequential(Renaming(), lib.nn.Sequential(Manual(), lib.nn.Linear(1, 1)))
    log = []
    net[1][1]._register_load_state_dict_pre_hook(
        lambda sd, prefix, *rest: log.append(("old-style pre", prefix, sorted(sd), len(rest))))
    keys = list(net.state_dict())
    state = {"0.old_w": lib.tensor([1.0, 2.0]), "0.count": lib.tensor([4.0]),
             "1.0.v_half": lib.tensor([1.0, 2.0, 3.0]), "1.1.weight": lib.ones(1, 1),
             "1.1.bias": lib.ones(1)}
    if case == "missing":
        state.pop("0.count")
    if case == "extra":
        state["0.junk"] = lib.ones(1)
    try:
        result = net.load_state_dict(state, strict=case != "missing")
    except (RuntimeError, ValueError):
        return keys, log, "refused"
    return (keys, log, list(result.missing_keys), list(result.unexpected_keys),
            [_r(t) for t in net.state_dict().values()])


@pytest.mark.parametrize("case", ["plain", "missing", "extra", "error"])
def test_load_and_save_overrides_run_as_pytorchs(case):
    """A module overriding _load_from_state_dict (an old checkpoint's keys converted before
    super(), or its entries loaded by hand) or _save_to_state_dict: PyTorch calls them, chainrule
    ignored them (the renamed key was unexpected, the added one absent)."""
    assert _overrides(cr, case) == _overrides(torch, case)


def test_module_bfloat16_refuses_as_to_bfloat16_does():
    model = cr.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot compute in bfloat16"):
        model.bfloat16()
    assert model.weight.dtype == cr.float32
    assert torch.nn.Linear(2, 2).bfloat16().weight.dtype == torch.bfloat16  # PyTorch computes


@pytest.mark.parametrize("call", [
    lambda lib, m: m.to("cpu", lib.float64), lambda lib, m: m.to(lib.float16, True),
    lambda lib, m: m.to(lib.zeros(1, dtype=lib.float64), False),
    lambda lib, m: m.to(lib.device("cpu"), lib.complex128, True),
    lambda lib, m: m.to(device="cpu", dtype=lib.float64, non_blocking=True),
    lambda lib, m: m.to(lib.float64, "cpu")])
def test_module_to_takes_pytorchs_positional_forms(call):
    def dtypes(lib):
        m = lib.nn.BatchNorm1d(2)
        m.register_buffer("z", lib.ones(1, dtype=lib.complex64))
        try:
            assert call(lib, m) is m
        except (TypeError, RuntimeError, ValueError):
            return "refused"
        return [str(t.dtype).replace("torch.", "") for t in [*m.parameters(), *m.buffers()]]
    assert dtypes(cr) == dtypes(torch)


def _always_call_log(lib, failing):
    log = []
    m = lib.nn.ReLU()

    def pre(mod, a):
        log.append("pre")
        if failing == "pre-hook":
            raise KeyError("pre")

    def plain(mod, a, o):
        log.append(("plain", o is None))
        if failing == "forward hook":
            raise KeyError("hook")

    m.register_forward_pre_hook(pre)
    m.register_forward_hook(lambda mod, a, o: log.append(("always 1", o is None)), always_call=True)
    m.register_forward_hook(plain)
    m.register_forward_hook(lambda mod, a, kw, o: log.append(("always 2", o is None, kw)),
                            always_call=True, with_kwargs=True)
    try:
        m(lib.ones(1))
    except KeyError:
        log.append("raised")
    return log


@pytest.mark.parametrize("failing", ["pre-hook", "forward hook", None])
def test_always_call_hooks_run_when_a_hook_raises_as_pytorchs(failing):
    """PyTorch runs the always_call forward hooks that have not run when a pre-hook or a forward
    hook raises (with the output so far); chainrule ran them only when forward itself raised."""
    assert _always_call_log(cr, failing) == _always_call_log(torch, failing)


def _grad_input_of_two_inputs(lib, which):
    log = []

    class Mix(lib.nn.Module):
        def forward(self, a, k, b):
            return a * b * k

    m = Mix()
    m.register_full_backward_hook(
        lambda mod, gi, go: log.append([None if g is None else _r(g) for g in gi]))
    a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad="a" in which)
    b = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad="b" in which)
    out = m(a, 2.0, b)
    if out.requires_grad:
        out.sum().backward()
    return log


@pytest.mark.parametrize("which", ["a", "b", "ab", ""])
def test_grad_input_of_an_input_that_needs_no_gradient_is_zeros_as_pytorchs(which):
    """PyTorch's full backward hook shows zeros for a tensor input that needs no gradient when
    another one does (None for a non-tensor input); chainrule showed None."""
    assert _grad_input_of_two_inputs(cr, which) == _grad_input_of_two_inputs(torch, which)


def _shared_buffer(lib):
    first, second = lib.nn.Module(), lib.nn.Module()
    first.register_buffer("x", lib.ones(2))
    second.register_buffer("y", first.x)  # one buffer registered in two modules
    s = lib.nn.Sequential(first, second)
    return ([n for n, _ in s.named_buffers()],
            [n for n, _ in s.named_buffers(remove_duplicate=False)],
            list(s.state_dict()), second.y is first.x, len(list(s.buffers())))


def test_a_buffer_registered_in_two_modules_is_one_buffer_as_pytorchs():
    """chainrule wrapped it in a second Buffer, so named_buffers()/buffers() listed it twice."""
    assert _shared_buffer(cr) == _shared_buffer(torch)


def _random_hooks(lib, seed):
    rng, log, handles = np.random.default_rng(seed), [], []
    net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.Tanh(),
                            lib.nn.Linear(3, 2)), lib.nn.Sigmoid()).double()
    with lib.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) * (i + 1)))
    mods, g = list(net.named_modules()), lib.nn.modules.module

    def maybe(gs):
        return [None if t is None else _r(t) for t in gs]

    for i in range(int(rng.integers(1, 8))):
        n, m = mods[int(rng.integers(len(mods)))]
        kind, first, ret = int(rng.integers(0, 6)), bool(rng.random() < 0.4), rng.random() < 0.3
        if kind == 0:
            def bwd(mod, gi, go, i=i, n=n, ret=ret):
                log.append(("bwd", i, n, maybe(gi)))
                return tuple(None if t is None else t * 0.5 for t in gi) if ret else None
            handles.append(m.register_full_backward_hook(bwd, prepend=first))
        elif kind == 1:
            handles.append(m.register_full_backward_pre_hook(
                lambda mod, go, i=i, n=n, ret=ret: (log.append(("bwd pre", i, n, maybe(go))),
                                                    tuple(t * 2 for t in go) if ret else None)[1],
                prepend=first))
        elif kind == 2:
            handles.append(m.register_forward_hook(
                lambda mod, a, o, i=i, n=n, ret=ret: (log.append(("fwd", i, n)),
                                                      o * 1.5 if ret else None)[1], prepend=first))
        elif kind == 3:
            handles.append(m.register_forward_pre_hook(
                lambda mod, a, i=i, n=n, ret=ret: (log.append(("fwd pre", i, n)),
                                                   (a[0] - 0.25,) if ret else None)[1],
                prepend=first))
        elif kind == 4:
            handles.append(g.register_module_full_backward_pre_hook(
                lambda mod, go, i=i: log.append(("global bwd pre", i, type(mod).__name__))))
        else:
            handles.append(g.register_module_forward_pre_hook(
                lambda mod, a, i=i: log.append(("global fwd pre", i, type(mod).__name__))))
    x = lib.tensor(np.array([[0.3, -0.7], [1.0, 0.1]]), requires_grad=bool(rng.random() < 0.7))
    try:
        y = net(x)
        y.sum().backward()
        log.append((_r(y), _r(net[0].weight.grad), None if x.grad is None else _r(x.grad)))
    finally:
        for h in handles:
            h.remove()
    return log


@pytest.mark.parametrize("block", range(2))
def test_random_local_and_global_hooks_match_pytorchs(block):
    """Forward and backward (pre-)hooks on random submodules, prepended or not, replacing
    inputs, outputs and gradients, with global ones: calls, order, values and gradients."""
    for seed in range(block * 60, block * 60 + 60):
        assert _random_hooks(cr, seed) == _random_hooks(torch, seed), seed
