"""The optimizer base: parameter groups, validation, zero_grad, step semantics and state dicts."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

from .._case_loop import each_case, grid, with_rng

ALL = [
    (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.5, "dampening": 0.5, "maximize": True}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.5}),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(ALL)]


def _leaf(values, dtype="float32"):
    return cr.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


@pytest.mark.kernel_free
def test_param_groups_take_defaults_and_overrides():
    a, b = _leaf([1.0]), _leaf([2.0])
    opt = optim.Adam([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.01, betas=(0.8, 0.9))
    assert [g["params"] for g in opt.param_groups] == [[a], [b]]
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.5]
    assert opt.param_groups[1]["betas"] == (0.8, 0.9)


@pytest.mark.kernel_free
def test_generator_and_single_tensor_are_accepted():
    ps = [_leaf([1.0]), _leaf([2.0])]
    assert optim.SGD(p for p in ps).param_groups[0]["params"] == ps
    assert optim.SGD(ps[0]).param_groups[0]["params"] == [ps[0]]


@pytest.mark.kernel_free
def test_add_param_group():
    a, b = _leaf([1.0]), _leaf([2.0])
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match=r"params\[0\] \(param group 2\) is already in another"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match=r"SGD: lr must be a number >= 0, got -1.0 \(param group"):
        opt.add_param_group({"params": [_leaf([0.0])], "lr": -1.0})
    with pytest.raises(TypeError, match="add_param_group: expected a dict"):
        opt.add_param_group([b])
    assert len(opt.param_groups) == 2


_INVALID_ARGUMENTS_ARE_NAMED = [
        (lambda p: optim.SGD([p, p]), ValueError, r"SGD: params\[1\] appears twice"),
        (lambda p: optim.SGD([{"params": [p]}, {"params": [p]}]), ValueError,
         r"params\[0\] \(param group 1\) is already in another parameter group"),
        (lambda p: optim.SGD([p * 2]), ValueError, r"params\[0\] is not a leaf tensor .*Mul"),
        (lambda p: optim.SGD([cr.tensor([1, 2])]), TypeError,
         r"params\[0\] must have a floating-point or complex dtype, got int64"),
        (lambda p: optim.SGD([p._data]), TypeError, r"params\[0\] must be a Tensor, got ndarray"),
        (lambda p: optim.SGD({p}), TypeError, "a set has no fixed order"),
        (lambda p: optim.SGD([]), ValueError, "SGD: got an empty parameter list"),
        (lambda p: optim.SGD([p, {"params": [p]}]), TypeError, "mixes Tensors and dicts"),
        (lambda p: optim.SGD([{"lr": 0.1}]), ValueError, "needs a 'params' entry"),
        (lambda p: optim.SGD([p], lr=-0.1), ValueError, "SGD: lr must be a number >= 0, got -0.1"),
        (lambda p: optim.SGD([p], lr=float("nan")), ValueError, "SGD: lr must be a number"),
        (lambda p: optim.SGD([p], lr="0.1"), TypeError, "SGD: lr must be a number >= 0, got '0.1'"),
        (lambda p: optim.SGD([p], momentum=-0.5), ValueError, "SGD: momentum must be"),
        (lambda p: optim.SGD([p], nesterov=True), ValueError,
         "SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum=0,"),
        (lambda p: optim.SGD([p], nesterov=1), TypeError, "SGD: nesterov must be True or False"),
        (lambda p: optim.Adam([p], betas=(1.2, 0.999)), ValueError,
         r"Adam: betas\[0\] must be a number in \[0, 1\), got 1.2"),
        (lambda p: optim.AdamW([p], betas=(0.9, 1.0)), ValueError,
         r"AdamW: betas\[1\] must be a number in \[0, 1\), got 1.0"),
        (lambda p: optim.Adam([p], betas=0.9), ValueError, "Adam: betas must be a pair"),
        (lambda p: optim.Adam([p], eps=-1e-8), ValueError, "Adam: eps must be"),
        (lambda p: optim.AdamW([p], weight_decay=-0.01), ValueError, "AdamW: weight_decay must"),
        (lambda p: optim.RMSprop([p], alpha=1.5), ValueError,
         r"RMSprop: alpha must be a number in \[0, 1\], got 1.5"),
        (lambda p: optim.Adagrad([p], lr_decay=-1), ValueError, "Adagrad: lr_decay must be"),
        (lambda p: optim.Adagrad([p], initial_accumulator_value=-1), ValueError,
         "Adagrad: initial_accumulator_value must be"),
    ]


def _invalid_arguments_are_named_case(make, error, match):
    with pytest.raises(error, match=match):
        make(_leaf([1.0, 2.0]))


@pytest.mark.kernel_free
def test_invalid_arguments_are_named():
    each_case(_invalid_arguments_are_named_case, grid(
        (("make", "error", "match"), _INVALID_ARGUMENTS_ARE_NAMED),
    ))


@pytest.mark.kernel_free
def test_zero_grad():
    a, b = _leaf([1.0]), _leaf([2.0])
    opt = optim.SGD([a, b])
    a.grad = cr.tensor([3.0])
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    a.grad = held = cr.tensor([3.0])
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0] and b.grad is None
    assert a.grad is held and held.tolist() == [0.0]  # in place, as PyTorch's: a held reference
    # sees the zeros (torch: p.grad.zero_())


def _step_updates_in_place_and_leaves_grads_alone_case(cls, kwargs, dtype, rng):
    p = _leaf(rng.standard_normal((3, 2)), dtype)
    q = _leaf(rng.standard_normal((3, 2)), dtype)
    idle = _leaf(rng.standard_normal(4), dtype)
    g = rng.standard_normal((3, 2)).astype(dtype)
    # Both parameters hold the same gradient array, as the backward walk may hand out.
    p.grad = cr.Tensor(g)
    q.grad = cr.Tensor(g)
    before = g.copy()
    arrays = (p._data, q._data, idle._data.copy())
    opt = cls([p, q, idle], **kwargs)
    for _ in range(3):
        opt.step()
    assert p._data is arrays[0] and q._data is arrays[1]
    assert p._data.dtype == dtype and p.is_leaf and p.grad_fn is None
    np.testing.assert_array_equal(g, before)
    np.testing.assert_array_equal(idle._data, arrays[2])
    if cls is optim.Adagrad:  # its state is made in the constructor, as PyTorch's
        assert opt.state[idle]["step"].item() == 0.0
    else:
        assert idle not in opt.state
    for value in opt.state[p].values():
        assert isinstance(value, cr.Tensor) and not np.shares_memory(value._data, g)


def test_step_updates_in_place_and_leaves_grads_alone():
    each_case(with_rng(_step_updates_in_place_and_leaves_grads_alone_case), grid(
        ("dtype", ["float32", "float64"]),
        (("cls", "kwargs"), ALL, IDS),
    ))


@pytest.mark.kernel_free
def test_step_checks_the_gradient_shape():
    p = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"gradient of size \[1\] to a tensor of size \[2\]"):
        p.grad = cr.tensor([1.0])  # refused at the assignment, as PyTorch refuses it
    p._grad = cr.tensor([1.0])  # past that check, the step refuses it too
    with pytest.raises(RuntimeError, match=r"shape \(2,\) has a gradient of shape \(1,\)"):
        optim.SGD([p]).step()


def test_step_with_closure_records_and_returns_the_loss():
    w = _leaf([3.0])
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = w * w
        loss.backward(cr.tensor([1.0]))
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert w.tolist() == [1.5]


def test_training_through_autograd_reduces_the_loss():
    target = cr.tensor([1.0, -2.0, 0.5])
    w = _leaf([0.0, 0.0, 0.0])
    opt = optim.Adam([w], lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        r = w - target
        (r * r).backward(cr.tensor([1.0, 1.0, 1.0]))
        opt.step()
    np.testing.assert_allclose(w._data, target._data, atol=1e-2)


@pytest.mark.parametrize(("cls", "kwargs"), ALL, ids=IDS)
def test_resume_from_state_dict_is_bit_for_bit(cls, kwargs, problem):
    def run(params, opt, steps):
        for _ in range(steps):
            problem.set_grads(params)
            opt.step()

    full = problem.params("float32")
    opt = cls([{"params": full[:1]}, {"params": full[1:], "lr": 0.003}], **kwargs)
    run(full, opt, 5)
    saved_opt = copy.deepcopy(opt.state_dict())
    saved_params = [p._data.copy() for p in full]
    run(full, opt, 7)

    resumed = [cr.tensor(a, requires_grad=True) for a in saved_params]
    opt2 = cls([{"params": resumed[:1]}, {"params": resumed[1:], "lr": 0.5}], **kwargs)
    opt2.load_state_dict(saved_opt)
    assert opt2.param_groups[1]["lr"] == 0.003
    run(resumed, opt2, 7)
    for a, b in zip(full, resumed, strict=True):
        np.testing.assert_array_equal(a._data, b._data)


def test_state_dict_is_a_snapshot_in_torch_layout():
    a, b = _leaf([1.0, 2.0]), _leaf([3.0])
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}])
    a.grad = cr.tensor([0.1, 0.2])
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert list(sd["state"]) == [0]  # b had no gradient, so it has no state yet
    assert sd["state"][0]["step"] == 1
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5
    m = sd["state"][0]["exp_avg"].clone()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], m)


@pytest.mark.kernel_free
def test_load_state_dict_casts_and_copies():
    a = _leaf([1.0, 2.0], "float64")
    opt = optim.SGD([a], momentum=0.9)
    buf = np.array([0.5, 0.25], dtype=np.float32)
    opt.load_state_dict({"state": {"0": {"momentum_buffer": buf}},
                         "param_groups": [{"lr": 0.1, "momentum": 0.9, "dampening": 0.0,
                                           "weight_decay": 0.0, "nesterov": False,
                                           "maximize": False, "params": [0]}]})
    loaded = opt.state[a]["momentum_buffer"]
    assert isinstance(loaded, cr.Tensor) and loaded.dtype == np.float64
    assert not np.shares_memory(loaded._data, buf)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["params"] == [a]


def test_load_state_dict_rejects_mismatches():
    a, b = _leaf([1.0, 2.0]), _leaf([3.0])
    opt = optim.Adam([a, b])
    a.grad = cr.tensor([1.0, 1.0])
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="the state has 1 parameter groups, the optimizer 2"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter group 0 has 1 parameters, the saved group 2"):
        optim.Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"state 'exp_avg' has shape \(2,\) but its parameter"):
        optim.Adam([b, a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="expected a dict with keys 'param_groups' and 'state'"):
        optim.Adam([a, b]).load_state_dict({"state": {}})
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"Adam: lr must be .* \(saved param group 0\)"):
        optim.Adam([a, b]).load_state_dict(bad)


def test_with_nn_modules_and_parameter_groups(rng):
    nn = pytest.importorskip("chainrule.nn")
    body, head = nn.Linear(3, 4, rng=rng), nn.Linear(4, 2, rng=rng)
    opt = optim.SGD([{"params": body.parameters()}, {"params": head.parameters(), "lr": 0.5}],
                    lr=0.1, momentum=0.9)
    x = cr.tensor(rng.standard_normal((5, 3)).astype("float32"))
    w_before = head.weight._data.copy()
    out = head(body(x))
    out.backward(cr.tensor(np.ones((5, 2), dtype="float32")))
    g = head.weight.grad._data.copy()
    opt.step()
    np.testing.assert_allclose(head.weight._data, w_before - 0.5 * g, rtol=1e-6)
    assert [len(group["params"]) for group in opt.state_dict()["param_groups"]] == [2, 2]


@pytest.mark.kernel_free
def test_repr_lists_groups():
    text = repr(optim.SGD([_leaf([1.0])], lr=0.1))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.1" in text


@pytest.mark.kernel_free
def test_gpu_kernels_leave_host_arrays_to_the_other_paths(monkeypatch):
    """backend.gpu.adam takes CuPy arrays only; on NumPy arrays it does nothing and says so."""
    from chainrule.backend import gpu

    p, g, m, v = (np.ones(4, np.float32) for _ in range(4))
    assert not gpu.adam_takes(p, g, m, v, None)
    assert gpu.adam(p, g, m, v, None, 0.1, 0.999, 0.001, 1.0, 1e-8, 0.01) is False
    np.testing.assert_array_equal(p, np.ones(4, np.float32))
    monkeypatch.setattr(cr.config, "gpu_kernels", False)
    assert not gpu.enabled()


@pytest.mark.kernel_free
def test_optimizer_rejects_a_wrong_gradient_shape_before_updating_the_group():
    a = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    b = cr.tensor(np.ones(4, np.float32), requires_grad=True)
    a.grad, b._grad = cr.tensor(np.ones(3, np.float32)), cr.tensor(np.ones(5, np.float32))
    with pytest.raises(RuntimeError, match="shape \\(4,\\) has a gradient of shape \\(5,\\)"):
        cr.optim.SGD([a, b], lr=0.1).step()
    assert a.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.kernel_free
def test_a_subclass_overriding_update_keeps_its_rule():
    class Halving(cr.optim.SGD):
        def _update(self, param, grad, group, state):
            param *= 0.5

    p = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    p.grad = cr.tensor(np.ones(3, np.float32))
    Halving([p], lr=0.1).step()
    assert p.tolist() == [0.5, 0.5, 0.5]
