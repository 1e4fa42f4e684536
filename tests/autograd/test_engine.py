"""The backward walk: long chains, shared nodes, retain_graph, grad modes, higher order, errors.

Only elementwise ops and the broadcast helper are used, so these tests exercise the engine alone.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import Function
from chainrule.backend import cuda_available
from chainrule.ops import sum_to


def total(x):
    """Sum of all elements (sum_to the empty shape); differentiable to any order."""
    return sum_to(x, ())


def leaf(values, dtype=np.float64):
    return cr.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


class Counting(Function):
    """Identity that counts how often its backward runs."""

    calls = 0

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        type(self).calls += 1
        return g


@pytest.fixture
def counting():
    Counting.calls = 0
    return Counting


def test_ten_thousand_op_chain_without_recursion_error():
    x = leaf([0.5, -1.0, 2.0])
    y = x
    for _ in range(5000):
        y = y * 0.999
        y = y + 0.001
    total(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 0.999**5000), rtol=1e-10)
    assert y.grad_fn.inputs is None  # the walk freed the saved values


def test_deep_chain_through_grad_and_create_graph():
    x = leaf(0.3)
    y = x * x
    for _ in range(3000):
        y = y * 1.0001
    (dx,) = cr.grad(y, x, create_graph=True)
    assert dx.grad_fn is not None
    np.testing.assert_allclose(dx.item(), 2 * 0.3 * 1.0001**3000, rtol=1e-10)
    (ddx,) = cr.grad(dx, x)
    np.testing.assert_allclose(ddx.item(), 2 * 1.0001**3000, rtol=1e-10)


def test_reused_node_accumulates():
    a = leaf([1.0, -2.0, 3.0])
    b = a + a
    c = b * b
    total(c).backward()
    np.testing.assert_allclose(a.grad.numpy(), 8 * a.numpy())


def test_diamond_graph():
    x = leaf([0.5, 1.5])
    u = x * 2.0
    v = x.exp()
    w = u * v
    total(w).backward()
    xn = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(xn) + 2 * xn * np.exp(xn))


def test_each_node_is_visited_once(counting):
    x = leaf([1.0, 2.0])
    h = counting.apply(x)
    y = h * h + h * 3.0 + h.exp()
    total(y).backward()
    assert counting.calls == 1
    xn = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xn + 3 + np.exp(xn))


def test_repeated_doubling_stays_linear(counting):
    # 2**40 paths lead back to x; a walk that followed paths instead of nodes would never finish.
    x = leaf([1.0])
    h = x
    for _ in range(40):
        h = counting.apply(h)
        h = h + h
    total(h).backward()
    assert counting.calls == 40
    assert x.grad.item() == 2.0**40


def test_nodes_that_cannot_reach_a_target_are_skipped(counting):
    x = leaf([1.0, 2.0])
    c = cr.tensor([3.0, 4.0], dtype="float64", requires_grad=True)
    y = x * counting.apply(c)
    (gx,) = cr.grad(total(y), x)
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    assert counting.calls == 0


def test_second_backward_needs_retain_graph():
    x = leaf([1.0, 2.0])
    y = total(x.exp())
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf([1.0, 2.0])
    y = total(x.exp() * x)
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="freed"):
        y.backward()


def test_leaf_gradients_accumulate_across_graphs():
    x = leaf([1.0, 2.0])
    total(x * 3.0).backward()
    total(x * x).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 + 2 * x.numpy())


def test_sum_of_two_leaves_gives_distinct_grad_arrays():
    x = leaf([1.0, 2.0])
    y = leaf([3.0, 4.0])
    (x + y).backward(np.ones(2))
    assert x.grad is not y.grad
    assert not np.shares_memory(x.grad._data, y.grad._data)
    x.grad._data[0] = 10.0
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_leaf_grads_own_writeable_memory():
    x = leaf([1.0, 2.0])
    y = leaf([3.0, 4.0])
    g = np.ones(2)
    (x + y).backward(g)
    assert not np.shares_memory(x.grad._data, g) and not np.shares_memory(y.grad._data, g)
    z = leaf([1.0, 2.0])
    total(z).backward()
    z.grad._data *= 0.5  # in-place updates (gradient clipping, weight decay) must work
    np.testing.assert_allclose(z.grad.numpy(), [0.5, 0.5])


def test_a_second_gradient_into_a_leaf_leaves_gradients_in_flight_alone():
    """a + m gives a and m one array; a * m then adds into a's .grad before m's node runs: an
    in-place sum there changed the gradient still on its way to c (c.grad was wrong)."""
    a, c = leaf([0.5, -1.0, 2.0]), leaf([0.3, 0.1, -0.7])
    g = np.array([1.0, -2.0, 0.5])
    m = c.exp()
    ((a + m + a * m) * 2.0).backward(g)
    e = np.exp(c.numpy())
    np.testing.assert_allclose(a.grad.numpy(), 2 * g * (1 + e))
    np.testing.assert_allclose(c.grad.numpy(), 2 * g * (1 + a.numpy()) * e)
    torch = pytest.importorskip("torch")
    ta, tc = (torch.tensor(v.numpy(), requires_grad=True) for v in (a, c))
    tm = tc.exp()
    ((ta + tm + ta * tm) * 2.0).backward(torch.tensor(g))
    np.testing.assert_allclose(c.grad.numpy(), tc.grad.numpy(), rtol=1e-12)


def test_retained_grads_do_not_share_memory_with_leaf_grads_or_the_callers_gradient():
    a, c = leaf([0.5, -1.0]), leaf([0.3, 0.1])
    s = c * 2.0
    s.retain_grad()
    y = (s + a) * 2.0
    g = np.array([1.0, -2.0])
    y.backward(g, retain_graph=True)
    assert not np.shares_memory(s.grad._data, a.grad._data)
    y.backward(g)  # a's .grad accumulates in place; s's retained grad must not follow it
    np.testing.assert_allclose(s.grad.numpy(), 4 * g)
    np.testing.assert_allclose(a.grad.numpy(), 4 * g)
    h = a * 3.0
    h.retain_grad()
    root = cr.tensor(g)
    h.backward(root)
    assert not np.shares_memory(h.grad._data, root._data)  # PyTorch's retained grad is a copy


def test_create_graph_gives_two_leaves_distinct_grads():
    x, y, w = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([3.0, 4.0])
    total((x + y) * w).backward(create_graph=True)  # add gives x and y one recorded tensor
    assert x.grad is not y.grad and not np.shares_memory(x.grad._data, y.grad._data)
    total(x.grad * x.grad).backward()
    np.testing.assert_allclose(w.grad.numpy(), [10.0, 14.0])


def test_root_that_is_a_leaf():
    x = leaf([1.0, 2.0])
    x.backward(np.array([0.5, 0.25]))
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.25])


def test_retain_grad_on_non_leaves():
    x = leaf([1.0, -2.0])
    h = x * 2.0
    h.retain_grad()
    k = h * 1.0
    total(k * k).backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())
    assert k.grad is None  # not retained
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.numpy())


def test_retain_grad_accumulates_with_retain_graph():
    x = leaf([1.0])
    h = x * 3.0
    h.retain_grad()
    y = total(h * h)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 2 * h.numpy())


class SplitScale(Function):
    """Two outputs (2x, 3x); records which output gradients its backward received."""

    seen = None

    def forward(self, x):
        return 2 * x, 3 * x

    def backward(self, g2, g3):
        type(self).seen = (g2.numpy().copy(), g3.numpy().copy())
        return g2 * 2.0 + g3 * 3.0


def test_multi_output_function_with_one_output_unused():
    x = leaf([1.0, 2.0])
    first, second = SplitScale.apply(x)
    assert first.grad_fn is second.grad_fn
    total(first * first).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * first.numpy())
    g2, g3 = SplitScale.seen
    np.testing.assert_allclose(g2, 2 * first.numpy())
    np.testing.assert_array_equal(g3, np.zeros(2))
    assert g3.dtype == np.float64


def test_multi_output_function_with_both_outputs_used():
    x = leaf([1.0, 2.0])
    first, second = SplitScale.apply(x)
    total(first + second * second).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 + 3.0 * 2 * second.numpy())


def test_nothing_is_recorded_for_constants():
    a = cr.tensor([1.0, 2.0])
    b = a * 2.0 + 1.0
    assert not b.requires_grad and b.grad_fn is None


# ---- grad modes


def test_no_grad_and_enable_grad_nest():
    x = leaf([1.0])
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert cr.is_grad_enabled()
            assert (x * 2).requires_grad
            with cr.set_grad_enabled(False):
                assert not (x * 2).requires_grad
            assert cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_grad_modes_are_restored_after_exceptions():
    with pytest.raises(KeyError):
        with cr.no_grad():
            raise KeyError("boom")
    assert cr.is_grad_enabled()
    with cr.no_grad():
        with pytest.raises(ValueError):
            with cr.enable_grad():
                raise ValueError("boom")
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_grad_modes_as_decorators():
    x = leaf([1.0])

    @cr.no_grad()
    def infer(t):
        assert not cr.is_grad_enabled()
        return t * 2

    @cr.enable_grad()
    def record(t):
        return t * 2

    @cr.set_grad_enabled(False)
    def fails(t):
        raise RuntimeError("inside")

    assert not infer(x).requires_grad
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert record(x).requires_grad
        assert not cr.is_grad_enabled()
    with pytest.raises(RuntimeError, match="inside"):
        fails(x)
    assert cr.is_grad_enabled()
    assert infer.__name__ == "infer"


def test_one_context_manager_object_can_be_reused_and_nested():
    off = cr.no_grad()
    with off:
        with off:
            assert not cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_set_grad_enabled_called_on_its_own_switches_at_once_as_pytorchs():
    """torch.set_grad_enabled(False) at the top of an inference script turns recording off until
    it is turned on again; chainrule's only acted inside a with block, so such a script recorded
    every op (its outputs required grad). The with-block and decorator forms are unchanged."""
    x = leaf([1.0])
    try:
        cr.set_grad_enabled(False)
        assert not cr.is_grad_enabled() and not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad
        assert not cr.is_grad_enabled()
        cr.set_grad_enabled(True)
        assert cr.is_grad_enabled() and (x * 2).requires_grad
        with cr.no_grad():
            cr.set_grad_enabled(True)
            assert cr.is_grad_enabled()
        assert cr.is_grad_enabled()

        @cr.set_grad_enabled(False)
        def off():
            return cr.is_grad_enabled()

        assert cr.is_grad_enabled() and not off() and cr.is_grad_enabled()
        cr.inference_mode()
        cr.enable_grad()
        assert cr.is_grad_enabled()  # these two switch inside their blocks only, as PyTorch's
    finally:
        cr.set_grad_enabled(True)


@pytest.mark.torch
def test_set_grad_enabled_sequence_matches_torch():
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (torch, cr):
        modes = []
        try:
            lib.set_grad_enabled(False)
            modes.append(lib.is_grad_enabled())
            with lib.set_grad_enabled(True):
                modes.append(lib.is_grad_enabled())
            modes.append(lib.is_grad_enabled())
            with lib.no_grad():
                with lib.set_grad_enabled(True):
                    modes.append(lib.is_grad_enabled())
                lib.set_grad_enabled(True)
                modes.append(lib.is_grad_enabled())
            modes.append(lib.is_grad_enabled())
        finally:
            lib.set_grad_enabled(True)
        seen.append(modes)
    assert seen[0] == seen[1]


def test_set_grad_enabled_true_inside_no_grad():
    x = leaf([2.0])
    with cr.no_grad(), cr.set_grad_enabled(True):
        y = x * x
    assert y.requires_grad


def test_backward_pass_itself_is_not_recorded_by_default():
    x = leaf([1.0, 2.0])
    total(x.exp()).backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    (g,) = cr.grad(total(x.exp()), x)
    assert g.grad_fn is None and not g.requires_grad


# ---- higher order


def test_second_and_third_derivative_of_a_cube():
    x = leaf([0.5, -1.0, 2.0])
    (d1,) = cr.grad(total(x**3), x, create_graph=True)
    (d2,) = cr.grad(total(d1), x, create_graph=True)
    (d3,) = cr.grad(total(d2), x)
    xn = x.numpy()
    np.testing.assert_allclose(d1.numpy(), 3 * xn**2)
    np.testing.assert_allclose(d2.numpy(), 6 * xn)
    np.testing.assert_allclose(d3.numpy(), np.full(3, 6.0))
    assert d3.grad_fn is None


def test_backward_with_create_graph_gives_differentiable_grads():
    x = leaf([0.5, 2.0])
    total(x**3).backward(create_graph=True)
    assert x.grad.grad_fn is not None
    g = x.grad
    x.grad = None
    total(g).backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_gradient_penalty_style_double_backward():
    # d/dx of |d(sum exp(w x))/dx|^2 = d/dx sum (w exp(wx))^2 = 2 w^3 exp(2wx)
    x = leaf([0.1, -0.3])
    w = 1.7
    (gx,) = cr.grad(total((x * w).exp()), x, create_graph=True)
    total(gx * gx).backward()
    xn = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * w**3 * np.exp(2 * w * xn))


def _sigmoid(a):
    return 1.0 / (1.0 + (-a).exp())


def _mlp_loss(params, x, t):
    """A 2-layer sigmoid MLP with squared error, built from elementwise ops only.

    Activations are kept features-first; each layer broadcasts W (out, in, 1...) against z (in, ...)
    and sums the `in` axis away with sum_to, which is a matrix product without a matmul op.
    """
    w1, b1, w2, b2 = params
    a1 = sum_to(w1 * x, (w1.shape[0], 1, x.shape[-1])) + b1  # (H, 1, N)
    z1 = _sigmoid(a1)
    a2 = sum_to(w2 * z1, (w2.shape[0], 1, 1, x.shape[-1])) + b2  # (K, 1, 1, N)
    r = a2 - t
    return total(r * r) * 0.5


def _mlp_problem(rng, n_in=3, n_hidden=4, n_out=2, n=5):
    params = [
        leaf(rng.standard_normal((n_hidden, n_in, 1))),
        leaf(rng.standard_normal((n_hidden, 1, 1))),
        leaf(rng.standard_normal((n_out, n_hidden, 1, 1))),
        leaf(rng.standard_normal((n_out, 1, 1, 1))),
    ]
    x = cr.tensor(rng.standard_normal((n_in, n)))
    t = cr.tensor(rng.standard_normal((n_out, 1, 1, n)))
    return params, x, t


def test_hessian_vector_product_of_an_mlp_matches_finite_differences(rng):
    params, x, t = _mlp_problem(rng)
    vs = [rng.standard_normal(p.shape) for p in params]
    loss = _mlp_loss(params, x, t)
    grads = cr.grad(loss, params, create_graph=True)
    gv = total(grads[0] * cr.tensor(vs[0]))
    for g, v in zip(grads[1:], vs[1:], strict=True):
        gv = gv + total(g * cr.tensor(v))
    hvp = cr.grad(gv, params)

    def flat_grad(shift):
        shifted = [leaf(p.numpy() + shift * v) for p, v in zip(params, vs, strict=True)]
        return [g.numpy() for g in cr.grad(_mlp_loss(shifted, x, t), shifted)]

    eps = 1e-5
    plus, minus = flat_grad(eps), flat_grad(-eps)
    for h, gp, gm in zip(hvp, plus, minus, strict=True):
        np.testing.assert_allclose(h.numpy(), (gp - gm) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_mlp_gradient_passes_gradcheck_and_gradgradcheck(rng):
    params, x, t = _mlp_problem(rng, n=3)
    assert cr.gradcheck(lambda *p: _mlp_loss(p, x, t), params)
    assert cr.gradgradcheck(lambda *p: _mlp_loss(p, x, t), params)


def test_hessian_of_a_quadratic_form_in_closed_form(rng):
    # f(x) = sum_ij A_ij x_i x_j has Hessian A + A^T; the HVP is (A + A^T) v.
    a = rng.standard_normal((3, 3))
    x = leaf(rng.standard_normal((3, 1)))
    v = rng.standard_normal((3, 1))
    f = total(cr.tensor(a) * x * _row(x))
    (g,) = cr.grad(f, x, create_graph=True)
    (hv,) = cr.grad(total(g * cr.tensor(v)), x)
    np.testing.assert_allclose(hv.numpy(), (a + a.T) @ v)


def _row(x):
    """(n, 1) -> (1, n) with elementwise ops only: sum_to over a broadcast identity."""
    n = x.shape[0]
    return sum_to(x * cr.tensor(np.eye(n)), (1, n))


# ---- errors


def test_backward_on_a_non_scalar_needs_a_gradient():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match=r"one-element output, got shape \(2,\)"):
        y.backward()


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()
    x = leaf([1.0])
    with cr.no_grad():
        y = x * 2
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_backward_with_a_gradient_of_the_wrong_shape():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the output has shape \(2,\)"):
        y.backward(cr.tensor(np.ones(3)))


class BadShape(Function):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return g[:1] if g.shape[0] > 1 else g


def test_function_returning_a_gradient_of_the_wrong_shape():
    x = leaf([1.0, 2.0])
    y = BadShape.apply(x)
    match = r"BadShape\.backward returned a gradient of shape \(1,\)"
    with pytest.raises(RuntimeError, match=match):
        y.backward(np.ones(2))


class ForgetsAGradient(Function):
    """a * b whose backward returns b's gradient only (or a third one, or an array)."""

    returns = "one"

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        if self.returns == "array":
            return (g * b)._data, None
        return (g * b,) if self.returns == "one" else (g * b, g * a, g)


@pytest.mark.parametrize(("returns", "error", "match"), [
    ("one", RuntimeError, r"ForgetsAGradient\.backward returned 1 gradients for 2 inputs"),
    ("three", RuntimeError, r"returned 3 gradients for 2 inputs"),
    ("array", TypeError, r"returned a ndarray as a gradient"),
])
def test_function_returning_the_wrong_number_of_gradients(monkeypatch, returns, error, match):
    """zip dropped the missing gradient (b.grad stayed None) or the extra one, silently; PyTorch
    raises."""
    monkeypatch.setattr(ForgetsAGradient, "returns", returns)
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    with pytest.raises(error, match=match):
        total(ForgetsAGradient.apply(a, b)).backward()


class ValueAndIndex(Function):
    """(max over axis 1, argmax): a float output and an integer one."""

    def forward(self, x):
        return x.max(1), x.argmax(1)

    def backward(self, gv, gi):
        x = self.inputs[0]
        hot = (np.arange(x.shape[1]) == x.numpy().argmax(1)[:, None]).astype(x.dtype)
        return cr.tensor(hot) * gv.reshape(-1, 1)


def test_an_integer_output_of_a_function_does_not_require_grad():
    """As PyTorch's: it was marked as requiring grad, and backward through it gave zeros."""
    x = leaf([[1.0, 3.0], [4.0, 2.0]])
    values, index = ValueAndIndex.apply(x)
    assert values.requires_grad and not index.requires_grad and index.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        index.sum().backward()
    total(values * 2.0).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 2.0], [2.0, 0.0]])


def test_explicit_gradient_may_be_an_array():
    x = leaf([1.0, 2.0])
    (x * 3.0).backward(np.array([1.0, -1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, -3.0])


def test_mixing_devices_is_refused(monkeypatch):
    # A fake second device: the engine asks device_of() for each input's device.
    import chainrule.autograd.function as function_module

    a = leaf([1.0])
    b = leaf([2.0])
    marked = id(b._data)
    monkeypatch.setattr(
        function_module, "device_of", lambda arr: "cuda" if id(arr) == marked else "cpu"
    )
    monkeypatch.setattr(function_module, "GPU_POSSIBLE", True)  # as when CuPy is installed
    with pytest.raises(RuntimeError, match=r"different devices \(cpu and cuda\)"):
        a + b


@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a GPU")
def test_mixing_real_devices_is_refused():
    a = leaf([1.0])
    b = leaf([2.0]).to("cuda")
    with pytest.raises(RuntimeError, match="different devices"):
        a * b


def test_leaf_gradients_accumulate_in_place_like_pytorch(rng):
    """A second gradient into a leaf is added into its .grad array; recorded sums stay nodes."""
    w = cr.tensor(rng.standard_normal((300, 200)), requires_grad=True)
    x1, x2 = rng.standard_normal((300, 200)), rng.standard_normal((300, 200))
    ((w * x1).sum() + (w * x2).sum()).backward()  # two paths into w in one backward
    first = w.grad
    array = first._data
    np.testing.assert_allclose(first.numpy(), x1 + x2)
    (w * x1).sum().backward()  # and a second backward accumulates too
    assert w.grad is first and w.grad._data is array
    np.testing.assert_allclose(w.grad.numpy(), 2 * x1 + x2)

    v = cr.tensor(rng.standard_normal(5), requires_grad=True)
    ((v * v).sum() + (v * v * v).sum()).backward(create_graph=True)
    assert v.grad.requires_grad  # the accumulated gradient is a node, differentiable again
    np.testing.assert_allclose(v.grad.numpy(), 2 * v.numpy() + 3 * v.numpy() ** 2)
