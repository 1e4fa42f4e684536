"""In-place changes: version counters, the backward check, read-only Parameters, dtype rules."""

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import Parameter

from .._case_loop import each_case, grid

MODIFIED = "modified by an inplace operation"


def _cube_loss():
    p = Parameter([1.0, 2.0])
    return p, (p * p * p).sum()


def test_optimizer_step_between_forward_and_backward_raises():
    p, loss = _cube_loss()
    p.grad = cr.tensor([1.0, 1.0])
    optim.SGD([p], lr=0.1).step()
    assert p._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED) as err:
        loss.backward()
    msg = str(err.value)
    assert "Parameter of shape (2,) is at version 1, changed in place after Mul used it" in msg
    assert "no_grad" in msg


@pytest.mark.parametrize("opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps),
    lambda ps: optim.AdamW(ps), lambda ps: optim.RMSprop(ps), lambda ps: optim.Adagrad(ps),
])
def test_every_optimizer_counts_its_step(opt):
    p, loss = _cube_loss()
    p.grad = cr.tensor([1.0, 1.0])
    opt([p]).step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_raw_write_into_parameter_data_fails():
    p, loss = _cube_loss()
    with pytest.raises(ValueError, match="read-only"):
        p._data[...] = 10
    w = nn.Linear(2, 2, rng=np.random.default_rng(0)).weight
    with pytest.raises(ValueError, match="read-only"):
        w._data[...] = 10
    with pytest.raises(ValueError, match="read-only"):
        w._data += 1
    loss.backward()  # nothing changed: the gradient is right
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 12.0])


def test_assigning_data_after_forward_raises():
    p, loss = _cube_loss()
    p.data = np.array([5.0, 5.0], dtype=np.float32)
    assert p._version == 1 and not p._data.flags.writeable  # the new array is protected too
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_assigning_the_same_array_is_no_change():
    p, loss = _cube_loss()
    p.data = p._data
    assert p._version == 0
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 12.0])


def _each_inplace_method_bumps_the_version_case(change, make):
    t = make([1.0, 2.0])
    with cr.no_grad():
        out = change(t)
    assert t._version == 1
    if out is not None:
        assert out is t


def test_each_inplace_method_bumps_the_version():
    each_case(_each_inplace_method_bumps_the_version_case, grid(
        ("make", [cr.tensor, Parameter]),
        ("change", [
    lambda t: t.__setitem__(0, 5.0), lambda t: t.copy_(cr.tensor([1.0, 1.0])),
    lambda t: t.fill_(2.0), lambda t: t.zero_(), lambda t: t.add_(1.0),
    lambda t: t.add_(cr.tensor([1.0, 1.0]), alpha=-0.5), lambda t: t.sub_(0.5),
    lambda t: t.mul_(2.0), lambda t: t.div_(2.0), lambda t: t.clamp_(0.0, 1.5),
    lambda t: t.clamp_(max=1.5),
]),
    ))


def test_inplace_values():
    t = cr.tensor([1.0, -2.0, 3.0])
    t[1] = 7.0
    t.add_(cr.tensor([1.0, 1.0, 1.0]), alpha=2)
    t.sub_(1.0)
    t.mul_(2)
    t.div_(4)
    np.testing.assert_allclose(t.numpy(), [1.0, 4.0, 2.0])
    t.clamp_(min=1.5, max=3.0)
    np.testing.assert_allclose(t.numpy(), [1.5, 3.0, 2.0])
    t.copy_(np.array([9.0, 8.0, 7.0]))  # float64 into float32: cast, as PyTorch
    assert t.dtype == np.float32 and t.tolist() == [9.0, 8.0, 7.0]
    i = cr.tensor([1, 2, 3])
    i.copy_(np.array([0.5, -1.5, 2.5]))  # a float into an integer tensor truncates, as PyTorch
    assert i.dtype == np.int64 and i.tolist() == [0, -1, 2]


def test_inplace_on_a_tensor_that_requires_grad_needs_no_grad():
    p = Parameter([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"cannot be modified in place.*no_grad"):
        p.add_(1.0)
    y = p * 2
    y[0] = 1.0  # an op's output: recorded, as in PyTorch (tests/autograd/test_inplace_ops.py)
    y.sum().backward()
    assert p.grad.tolist() == [0.0, 2.0] and p._version == 0
    with cr.no_grad():
        p.add_(1.0)
    assert p.tolist() == [2.0, 3.0]


# Into a view of a constant buffer (`out[:2].add_(v)`) a value that requires grad is recorded
# through the buffer (autograd/views.py owner_of), as PyTorch's graph records it: `out` then
# carries the gradient. Into the buffer itself too (tests/autograd/test_inplace_ops.py).
WRITE_VALUE = {
    "setitem_into_a_view": lambda o, v: o[:2].__setitem__(Ellipsis, v),
    "copy_": lambda o, v: o[:2].copy_(v),
    "add_": lambda o, v: o[:2].add_(v),
    "sub_": lambda o, v: o[:2].sub_(v),
    "mul_": lambda o, v: o[:2].mul_(v),
    "div_": lambda o, v: o[:2].div_(v),
    "lerp_": lambda o, v: o[:2].lerp_(v, 0.5),
    "clamp_": lambda o, v: o[1:].clamp_(min=v[0]),
}


@pytest.mark.torch
@pytest.mark.parametrize("write", list(WRITE_VALUE))
def test_writing_a_value_that_requires_grad_into_a_constant_view_matches_pytorch(write):
    # An unrecorded write used to leave v.grad None without a word (found by the fifth fuzz
    # wave); it was then refused, which stopped makemore's dC[ix] += demb[k, j]
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (cr, torch):
        v = lib.tensor([1.0, 2.0], requires_grad=True)
        out = lib.tensor([0.5, 3.0, -1.0])
        WRITE_VALUE[write](out, v)
        assert out.requires_grad and not out.is_leaf
        (out * lib.tensor([1.0, -2.0, 3.0])).sum().backward()
        got[lib] = out.detach().numpy().copy(), v.grad.numpy().copy()
    for a, b in zip(got[cr], got[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    out = cr.zeros(3)
    WRITE_VALUE[write](out, cr.tensor([1.0, 2.0]))  # no gradient: unrecorded
    assert not out.requires_grad


def test_inplace_under_no_grad_then_fresh_forward_gives_right_gradients():
    p = Parameter([1.0, 2.0])
    (p * p * p).sum().backward()
    with cr.no_grad():
        p.sub_(p.grad, alpha=0.1)  # a hand-written SGD step, between backward and forward
    p.grad = None
    (p * p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), 3 * p.numpy() ** 2)


def test_a_change_elsewhere_is_no_error():
    p, loss = _cube_loss()
    other = Parameter([0.0])
    with cr.no_grad():
        other.add_(1.0)  # another tensor changed: not one the graph read
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 12.0])


def test_a_change_before_the_forward_pass_is_no_error():
    p = Parameter([1.0, 2.0])
    with cr.no_grad():
        p.mul_(2.0)
    loss = (p * p * p).sum()
    with cr.no_grad():
        Parameter([0.0]).zero_()
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), [12.0, 48.0])


def test_an_output_changed_in_place_raises():
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    with cr.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"output of Exp of shape \(2,\) is at version 1, "
                                           r"changed in place after Exp computed it"):
        y.sum().backward()


def test_a_saved_input_changed_in_place_raises():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([3.0, 4.0])  # data: no grad, but Mul's backward reads it for w's gradient
    loss = (w * x).sum()
    x[0] = 100.0
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_change_through_a_detached_tensor_counts():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    x.detach().mul_(3)
    assert x._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()
    p = Parameter([1.0, 2.0])
    loss = (p * p).sum()
    p.detach().zero_()  # a detached Parameter writes through the Parameter (as in PyTorch)
    assert p.tolist() == [0.0, 0.0] and p._version == 1
    p.detach().detach().fill_(cr.tensor(2.0))
    assert p.tolist() == [2.0, 2.0] and p._version == 2
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_view_of_a_parameter_made_by_an_op_changes_the_parameter_under_no_grad():
    p = Parameter(np.ones((2, 3)))
    with cr.no_grad():
        view = p.reshape(3, 2)
        view.zero_()  # as PyTorch: written through the Parameter's memory, and counted
    assert not p.numpy().any() and p._version == 1
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(p)[0] = 1.0  # a raw NumPy write, which nothing counts, still fails


def test_retain_graph_second_backward_still_works():
    p = Parameter([1.0, 2.0])
    loss = (p * p * p).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), [6.0, 24.0])


def test_retain_graph_then_step_then_backward_raises():
    p = Parameter([1.0, 2.0])
    loss = (p * p * p).sum()
    loss.backward(retain_graph=True)
    optim.SGD([p], lr=0.1).step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_higher_order_gradients_still_work():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (g,) = cr.grad((x ** 3).sum(), [x], create_graph=True)
    (h,) = cr.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0])


def test_gradcheck_on_parameters_leaves_them_protected():
    rng = np.random.default_rng(0)
    layer = nn.Linear(3, 2, rng=rng, dtype="float64")
    x = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    before = layer.weight.numpy().copy()
    assert cr.gradcheck(lambda x, w, b: cr.F.linear(x, w, b), [x, layer.weight, layer.bias])
    np.testing.assert_array_equal(layer.weight.numpy(), before)
    assert not layer.weight._data.flags.writeable


def test_load_state_dict_counts_as_a_change():
    model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    loss = model(cr.tensor([[1.0, 2.0]])).sum()
    before = model.weight._version  # initialization counted already
    model.load_state_dict({k: v.numpy() + 1 for k, v in model.state_dict().items()})
    assert model.weight._version == before + 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_state_dict_copy_writes_through_to_the_model():
    model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    before = model.bias._version
    model.state_dict()["bias"].fill_(3.0)  # PyTorch's idiom: the state dict shares the memory
    assert model.bias.tolist() == [3.0] and model.bias._version == before + 1


def test_copies_and_pickles_keep_one_memory_and_the_protection():
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):  # noqa: S301
        w = twin.weight
        assert not w._data.flags.writeable and np.shares_memory(w._data, w._writable())
        np.testing.assert_array_equal(w.numpy(), model.weight.numpy())
        w.grad = cr.tensor(np.ones((2, 3), dtype=np.float32))
        optim.SGD([w], lr=1.0).step()
        np.testing.assert_allclose(w.numpy(), model.weight.numpy() - 1)  # the step is seen


def test_state_of_an_older_pickle_still_loads():
    arr = np.array([1.0, 2.0], dtype=np.float32)
    p = Parameter.__new__(Parameter)  # the default (None, slots) state pickles had before
    p.__setstate__((None, {"data": arr, "grad": None, "requires_grad": True, "_ctx": None,
                           "_out_idx": 0, "_retains_grad": False}))
    assert p._version == 0 and not p._data.flags.writeable and p._writable() is arr
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 4.0])


def test_module_to_dtype_keeps_parameters_protected():
    model = nn.Linear(3, 2, rng=np.random.default_rng(0)).to(dtype="float64")
    assert model.weight.dtype == np.float64 and not model.weight._data.flags.writeable
    x = cr.tensor(np.ones((1, 3)))
    model(x).sum().backward()
    optim.SGD(model.parameters(), lr=0.1).step()  # the writable array follows the new one


def test_ema_and_init_count_their_writes():
    model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    w0, b0 = model.weight._version, model.bias._version
    ema = optim.EMA(model, decay=0.5)
    ema.copy_to()
    assert model.weight._version == w0 + 1
    nn.init.zeros_(model.bias)
    assert model.bias._version == b0 + 2 and model.bias.tolist() == [0.0]


def test_batch_norm_counts_its_running_statistics():
    bn = nn.BatchNorm1d(2)
    bn(cr.tensor(np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)))
    assert bn.running_mean._version == 1 and bn.num_batches_tracked._version == 1


def test_a_batch_norm_layer_used_twice_before_backward_is_fine():
    bn = nn.BatchNorm1d(2)
    x = cr.tensor(np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32))
    loss = bn(x).sum() + bn(x * 2).sum()  # a GAN critic on real and fake batches
    loss.backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point and complex tensors can require"):
        cr.Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="only floating-point and complex tensors can require"):
        cr.tensor(np.arange(3), requires_grad=True)
    assert not cr.Tensor(np.arange(3)).requires_grad


@pytest.mark.parametrize("dtype", ["int64", "float64", "int32"])
def test_linear_refuses_another_dtype(dtype):
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    x = cr.tensor(np.ones((1, 3), dtype=dtype))
    with pytest.raises(TypeError, match=f"weight has dtype float32 but input has dtype {dtype}"):
        layer(x)
    with pytest.raises(TypeError, match="one dtype"):
        cr.F.linear_relu(x, layer.weight, layer.bias)
    with pytest.raises(TypeError, match=f"a has dtype {dtype} but b has dtype float32"):
        x @ layer.weight.T


def test_conv_refuses_another_dtype():
    conv = nn.Conv2d(1, 2, 3, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="input dtype int64 and weight dtype float32 differ"):
        conv(cr.tensor(np.zeros((1, 1, 5, 5), dtype=np.int64)))
    with pytest.raises(TypeError, match="input dtype float64 and weight dtype float32 differ"):
        conv(cr.tensor(np.zeros((1, 1, 5, 5))))


@pytest.mark.torch
def test_gradients_match_torch_when_nothing_changes_in_place():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 5, rng=rng, dtype="float64"), nn.Tanh(),
                          nn.Linear(5, 3, rng=rng, dtype="float64"))
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    tmodel = tmodel.double()
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x = rng.standard_normal((6, 4))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):  # forward, backward, step: the step after backward is the sanctioned order
        opt.zero_grad()
        topt.zero_grad()
        (model(cr.tensor(x)) ** 2).sum().backward()
        (tmodel(torch.tensor(x)) ** 2).sum().backward()
        for p, tp in zip(model.parameters(), tmodel.parameters(), strict=True):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10)
        opt.step()
        topt.step()
    p = Parameter([1.0, 2.0])
    tp = torch.tensor([1.0, 2.0], requires_grad=True)
    (p * p * p).sum().backward()
    (tp * tp * tp).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy())
    tloss = (tp * tp * tp).sum()
    with torch.no_grad():
        tp.mul_(2)
    with pytest.raises(RuntimeError, match=MODIFIED):  # the error both libraries raise
        tloss.backward()


def test_a_change_of_the_original_is_seen_through_a_detached_alias():
    """detach() shares the count: a graph that read the alias refuses the original's change."""
    p = Parameter([1.0, 2.0, 3.0])
    w = cr.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = (p.detach() * w).sum()
    with cr.no_grad():
        p.copy_(np.zeros(3, np.float32))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_copies_count_their_own_changes():
    import copy

    p = Parameter([1.0, 2.0])
    with cr.no_grad():
        p.add_(1.0)
    q = copy.deepcopy(p)
    assert (p._version, q._version) == (1, 0)
    with cr.no_grad():
        q.add_(1.0)
    assert p._version == 1


def test_assigning_another_parameters_data_ties_them_and_stays_trainable():
    p, q = Parameter([1.0, 2.0]), Parameter([5.0, 6.0])
    p.data = q._data  # q's read-only view: p now shares q's memory, and can still be stepped
    p.grad = cr.tensor([1.0, 1.0])
    cr.optim.SGD([p], lr=0.5).step()
    np.testing.assert_array_equal(q.numpy(), [4.5, 5.5])
    with pytest.raises(ValueError, match="read-only"):
        p._data[0] = 0.0


def test_a_read_only_array_is_refused_when_assigned():
    frozen = np.zeros(3, np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"Parameter: the array of shape \(3,\) is read-only"):
        Parameter(frozen)


_THROUGH_A_VIEW = {
    "x[0].add_": lambda x: x[0].add_(100.0),
    "x.T.mul_": lambda x: x.T.mul_(2.0),
    "x.reshape(-1).fill_": lambda x: x.reshape(-1).fill_(0.0),
    "x[:, 1:][0] = v": lambda x: x[:, 1:].__setitem__(0, 7.0),
    "split piece": lambda x: cr.split(x, 1, dim=0)[1].add_(1.0),
}


@pytest.mark.parametrize("change", list(_THROUGH_A_VIEW), ids=list(_THROUGH_A_VIEW))
def test_a_change_through_a_view_of_a_saved_input_raises(change):
    # An op's view (reshape, x.T, x[i], split) shares the memory, so it shares the count: the
    # change must make backward refuse, not give the gradient of the changed values.
    w = cr.tensor(np.ones(3), requires_grad=True)
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    loss = (w * x).sum()
    with cr.no_grad():
        _THROUGH_A_VIEW[change](x)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_change_of_the_base_is_seen_by_a_graph_that_read_its_view():
    w = cr.tensor(np.ones(3), requires_grad=True)
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    loss = (w * x[1]).sum()
    with cr.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_view_of_a_changed_parameter_is_no_error():
    # The view starts at its base's version; only changes after the op count.
    p = Parameter(np.ones((2, 3)))
    with cr.no_grad():
        p.add_(1.0)
    (p.T * p.T).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 3), 4.0))
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    view = x.reshape(6)
    with cr.no_grad():
        view.add_(1.0)  # a change of a tensor no graph read
    np.testing.assert_array_equal(x.numpy().ravel(), np.arange(6.0) + 1)


def test_setitem_with_an_int_beside_an_array_writes_what_getitem_reads():
    # PyTorch selects with the int first: x[1, :, idx] of a (7, 7, 3) tensor is (7, len(idx)).
    x = cr.tensor(np.zeros((7, 7, 3)))
    value = np.arange(14.0).reshape(7, 2)
    x[1, :, [0, 2]] = value
    np.testing.assert_array_equal(x[1, :, [0, 2]].numpy(), value)
    want = np.zeros((7, 7, 3))
    want[1][:, [0, 2]] = value
    np.testing.assert_array_equal(x.numpy(), want)
    x[2, :, np.array([True, False, True])] = -1.0
    assert (x.numpy()[2][:, [0, 2]] == -1).all() and (x.numpy()[2][:, 1] == 0).all()
