"""Ninth fuzz wave, anomaly mode: random small graphs with NaN and inf injected (0 * inf, sqrt and
log at 0, 0 / 0, pow at 0, masked activations fed an infinite gradient), run by backward() and by
grad(), with and without create_graph, on both libraries: gradients must be PyTorch's, and under
detect_anomaly chainrule must raise where PyTorch raises (same output index), and only there."""

import contextlib
import re
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]

_UNARY = ["sqrt", "log", "exp", "sin", "abs", "relu", "tanh", "sigmoid", "neg", "rsqrt",
          "reciprocal", "square", "log1p", "atan"]
_BINARY = ["mul", "add", "sub", "div", "pow", "maximum", "atan2"]  # hypot: see test below


def _graph(lib, seed, xs):
    rng = np.random.default_rng(seed)
    vals = list(xs)
    for _ in range(int(rng.integers(1, 6))):
        if rng.random() < 0.5:
            vals.append(getattr(lib, _UNARY[rng.integers(len(_UNARY))])(
                vals[rng.integers(len(vals))]))
        else:
            op = _BINARY[rng.integers(len(_BINARY))]
            a, b = vals[rng.integers(len(vals))], vals[rng.integers(len(vals))]
            if op == "pow" and rng.random() < 0.5:
                vals.append(a ** float(rng.choice([0.5, 2.0, -1.0, 0.0])))
            else:
                vals.append(getattr(lib, op)(a, b))
        if rng.random() < 0.2:
            vals[-1] = vals[-1] * float(rng.choice([0.0, np.inf, -1.0]))
    return vals[-1].sum()


def _run(lib, seed, anomaly):
    rng = np.random.default_rng(1000 + seed)
    datas, n = [], int(rng.integers(1, 3))
    for _ in range(n):
        d = rng.standard_normal(3)
        mask = rng.random(3) < 0.3
        d[mask] = rng.choice([0.0, 1.0, -1.0], mask.sum())
        datas.append(d)
    req = [bool(rng.random() < 0.8) for _ in range(n)]
    req[0] = req[0] or not any(req)
    xs = [lib.tensor(d, dtype=lib.float64, requires_grad=r) for d, r in zip(datas, req)]
    create_graph, use_grad = bool(rng.random() < 0.3), bool(rng.random() < 0.5)
    try:
        with lib.autograd.detect_anomaly() if anomaly else contextlib.nullcontext():
            out = _graph(lib, seed, xs)
            if not out.requires_grad:
                return ("constant",)
            if use_grad:
                gs = lib.autograd.grad(out, [x for x in xs if x.requires_grad],
                                       create_graph=create_graph, allow_unused=True)
            else:
                out.backward(create_graph=create_graph)
                gs = [x.grad for x in xs]
    except RuntimeError as e:
        found = re.search(r"returned nan values in its (\d+)th output", str(e))
        return ("error", found.group(1) if found else str(e))
    assert not lib.is_anomaly_enabled()
    return ("ok", [None if g is None else g.detach().numpy() for g in gs])


@pytest.mark.parametrize("block", range(6))
def test_random_graphs_raise_and_differentiate_as_pytorch(block):
    for seed in range(block * 60, block * 60 + 60):
        for anomaly in (False, True):
            want, got = _run(torch, seed, anomaly), _run(cr, seed, anomaly)
            assert want[0] == got[0], (seed, anomaly, want, got)
            if want[0] == "error":
                assert want[1] == got[1], (seed, anomaly, want, got)
            elif want[0] == "ok":
                for w, g in zip(want[1], got[1], strict=True):
                    assert (w is None) == (g is None), (seed, anomaly)
                    if w is not None:
                        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15,
                                                   err_msg=f"seed {seed} anomaly {anomaly}")


def _grads(lib, fn, data, g):
    x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
    (r,) = lib.autograd.grad(fn(lib, x), x, lib.tensor(g, dtype=lib.float64))
    return r.detach().numpy()


_INF, _NAN = float("inf"), float("nan")
_MASKED = {  # an infinite or NaN upstream gradient where the op passes none, and a NaN input
    "relu": lambda lib, x: lib.relu(x),
    "relu6": lambda lib, x: lib.nn.functional.relu6(x),
    "hardtanh": lambda lib, x: lib.nn.functional.hardtanh(x),
    "threshold": lambda lib, x: lib.nn.functional.threshold(x, 0.1, 2.0),
    "maximum": lambda lib, x: lib.maximum(x, lib.zeros_like(x)),
    "minimum": lambda lib, x: lib.minimum(x, lib.zeros_like(x)),
    "abs": lambda lib, x: lib.abs(x),
    "atan2": lambda lib, x: lib.atan2(x, x),
    "pow_exponent": lambda lib, x: lib.pow(lib.zeros_like(x), x),
    "linear_relu": lambda lib, x: lib.relu(lib.nn.functional.linear(
        x.reshape(5, 1), lib.ones(1, 1, dtype=lib.float64))).reshape(5),
}


@pytest.mark.parametrize("name", sorted(_MASKED))
def test_masked_gradients_take_infinite_and_nan_values_as_pytorch(name):
    fn = _MASKED[name]
    for data in ([-1.0, 0.0, 1.0, _NAN, 3.0], [0.0] * 5, [-2.0, -0.5, 0.5, 2.0, 0.0]):
        for g in ([_INF, _NAN, _INF, 1.0, _INF], [1.0] * 5, [-_INF, 0.0, 1.0, _INF, 0.0]):
            want = _grads(torch, fn, data, g)
            np.testing.assert_array_equal(_grads(cr, fn, data, g), want, err_msg=f"{data} {g}")
            with cr.autograd.detect_anomaly():  # a NaN only where PyTorch's has one
                try:
                    _grads(cr, fn, data, g)
                except RuntimeError:
                    assert np.isnan(want).any() or np.isnan(g).any()


def test_threshold_keeps_a_nan_input_as_pytorch():
    x = [_NAN, 0.0, 1.0]
    want = torch.nn.functional.threshold(torch.tensor(x), 0.5, 2.0).numpy()
    np.testing.assert_array_equal(cr.nn.functional.threshold(cr.tensor(x), 0.5, 2.0).numpy(), want)


def test_anomaly_checks_only_the_gradients_the_walk_passes_on():
    """atan2(a, b) with only b requiring grad: its formula for a's gradient is NaN (a is NaN),
    which PyTorch never computes; the error must name b's output, as PyTorch's."""
    for lib in (torch, cr):
        a = lib.tensor([_NAN, 1.0], dtype=lib.float64)
        b = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        with lib.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="1th output"):
            lib.atan2(a, b).sum().backward()
        a = lib.tensor([0.0, 1.0], dtype=lib.float64)
        with lib.autograd.detect_anomaly():
            (lib.sqrt(a) * b).sum().backward()  # sqrt(a)'s side is never asked for
        assert not lib.is_anomaly_enabled()


def test_reciprocal_is_its_own_node_as_pytorch():
    for lib, name in ((torch, "ReciprocalBackward0"), (cr, "Reciprocal")):
        x = lib.tensor([0.0, 1.0], dtype=lib.float64, requires_grad=True)
        y = lib.reciprocal(x / x)  # 0 / 0: NaN reaches reciprocal's gradient
        with lib.autograd.detect_anomaly(), pytest.raises(RuntimeError, match=f"'{name}'.* 0th"):
            y.sum().backward()
    x = cr.tensor([0.5, -2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(cr.reciprocal, (x,))
    assert cr.autograd.gradgradcheck(cr.reciprocal, (x,))
    ints = cr.tensor([2, 4])  # integers: 1 / t, in its dtype (docs/pytorch.md: float64)
    assert cr.reciprocal(ints).dtype == (1 / ints).dtype


def test_hypot_gradient_at_the_origin_is_zero_where_pytorchs_is_nan():
    """docs/pytorch.md: chainrule's hypot gradient at (0, 0) is 0 (a subgradient, as norm's at
    the zero vector in both libraries); PyTorch's formula gives 0 / 0 = NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _grads(torch, lambda lib, x: lib.hypot(x, x), [0.0, 1.0], [1.0, 1.0])
        got = _grads(cr, lambda lib, x: lib.hypot(x, x), [0.0, 1.0], [1.0, 1.0])
    assert np.isnan(want[0]) and got[0] == 0.0
    np.testing.assert_allclose(got[1], want[1], rtol=1e-15)


def _custom(lib, nan_at):
    class Product(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            grads = [g * b, g * a]
            if nan_at is not None:
                grads[nan_at] = grads[nan_at] * _NAN
            return tuple(grads)

    return Product


def _custom_run(lib, seed):
    rng = np.random.default_rng(seed)
    nan_at = [None, 0, 1][rng.integers(3)]
    hook, check = int(rng.integers(0, 3)), bool(rng.random() < 0.8)
    a = lib.tensor(rng.standard_normal(3), requires_grad=True)
    b = lib.tensor(rng.standard_normal(3), requires_grad=bool(rng.random() < 0.7))
    try:
        with lib.autograd.detect_anomaly(check_nan=check):
            y = _custom(lib, nan_at).apply(a * 1.0, b)
            if hook == 1:
                y.register_hook(lambda g: g * _NAN)
            elif hook == 2:
                a.register_hook(lambda g: g * _NAN)
            z = (y * 2).sum()
            if rng.random() < 0.5:
                z.backward()
                grads = [t.grad for t in (a, b)]
            else:
                grads = lib.autograd.grad(z, [t for t in (a, b) if t.requires_grad])
    except RuntimeError as e:
        found = re.search(r"returned nan values in its (\d+)th output", str(e))
        return "error", found.group(1) if found else str(e), lib.is_anomaly_enabled()
    return ([None if g is None else np.isnan(g.numpy()).tolist() for g in grads],
            lib.is_anomaly_enabled())


def test_custom_functions_and_hooks_under_anomaly_mode_as_pytorch():
    """A custom Function's backward is checked whole, as PyTorch's: a NaN returned for an
    input that needs no gradient raises there too (its index counts the tensor inputs)."""
    for seed in range(150):
        assert str(_custom_run(cr, seed)) == str(_custom_run(torch, seed)), seed


def test_detect_anomaly_restores_the_setting_found_on_entering():
    """docs/pytorch.md: PyTorch's restores the setting seen when the object was made."""
    after = []
    for lib in (torch, cr):
        made = lib.autograd.detect_anomaly()
        with lib.autograd.set_detect_anomaly(True):
            with made:
                pass
            after.append(lib.is_anomaly_enabled())
        assert not lib.is_anomaly_enabled()
    assert after == [False, True]
