"""Complex parameters in the optimizers: updated as their real view (real and imaginary parts as
separate coordinates), as PyTorch's; trajectories, state and state dicts against torch.optim."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "eps": 1e-3, "maximize": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.1}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 5, "weight_decay": 0.1}),
    ("Rprop", {"lr": 0.05}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]

RNG = np.random.default_rng(0)
INIT = [RNG.normal(size=(3, 4)) + 1j * RNG.normal(size=(3, 4)),
        RNG.normal(size=5) + 1j * RNG.normal(size=5),
        RNG.normal(size=(2, 3))]  # a real parameter beside the complex ones


@pytest.fixture
def torch_float64():
    """Both libraries keep NAdam's mu_product and ASGD's eta and mu in the default dtype's
    scalar dtype: float64 in both here."""
    old, ours = torch.get_default_dtype(), cr.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    cr.set_default_dtype(cr.float64)
    yield
    torch.set_default_dtype(old)
    cr.set_default_dtype(ours)


def _grad(z):
    """A gradient that mixes the real and imaginary parts (the same arithmetic on both sides)."""
    if np.iscomplexobj(z):
        return z * np.abs(z) - (0.5 - 0.25j) + np.sin(z.real) * 1j
    return np.tanh(z) + 0.3 * z - 0.1


def _both(name, kwargs, dtypes=(np.complex128, np.complex128, np.float64)):
    ours = [cr.nn.Parameter(cr.tensor(a.astype(d))) for a, d in zip(INIT, dtypes, strict=True)]
    theirs = [torch.nn.Parameter(torch.tensor(a.astype(d))) for a, d in zip(INIT, dtypes,
                                                                             strict=True)]
    return ours, theirs, getattr(optim, name)(ours, **kwargs), \
        getattr(torch.optim, name)(theirs, **kwargs)


def _step(ours, theirs, opt, topt):
    for p, t in zip(ours, theirs, strict=True):
        p.grad = cr.Tensor(_grad(np.array(p._data)))
        t.grad = torch.from_numpy(_grad(t.detach().numpy()))
    opt.step()
    topt.step()


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_equals_torch(torch_float64, name, kwargs):
    ours, theirs, opt, topt = _both(name, kwargs)
    for _ in range(20):
        _step(ours, theirs, opt, topt)
        for p, t in zip(ours, theirs, strict=True):
            assert p.dtype == t.detach().numpy().dtype
            np.testing.assert_allclose(np.array(p._data), t.detach().numpy(), rtol=1e-12,
                                       atol=1e-12)
    # the state: PyTorch's entries, complex where PyTorch's are
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert {k for k, v in sd["state"].items() if v} == set(tsd["state"])
    for k, entries in tsd["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                mine = sd["state"][k][key]
                assert mine.dtype == value.numpy().dtype, key
                np.testing.assert_allclose(mine, value.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_complex64_uses_the_rule_not_the_fused_kernel(name):
    kwargs = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05}
    ours, theirs, opt, topt = _both(name, kwargs, (np.complex64, np.complex64, np.float32))
    for _ in range(20):
        _step(ours, theirs, opt, topt)
    for p, t in zip(ours, theirs, strict=True):
        assert p.dtype == t.detach().numpy().dtype
        np.testing.assert_allclose(np.array(p._data), t.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_state_dict_round_trip_resumes_exactly():
    ours, theirs, opt, topt = _both("Adam", {"lr": 0.05, "amsgrad": True})
    for _ in range(5):
        _step(ours, theirs, opt, topt)
    saved = opt.state_dict()
    assert saved["state"][0]["exp_avg"].dtype == np.complex128
    fresh = [cr.nn.Parameter(cr.tensor(np.array(p._data))) for p in ours]
    opt2 = optim.Adam(fresh, lr=0.05, amsgrad=True)
    opt2.load_state_dict(saved)
    # PyTorch's state dict (tensors) loads too
    tsaved = {"state": {k: {n: v.numpy() if isinstance(v, torch.Tensor) and v.dim() else
                            float(v) for n, v in s.items()} for k, s in
                        topt.state_dict()["state"].items()},
              "param_groups": topt.state_dict()["param_groups"]}
    fresh3 = [cr.nn.Parameter(cr.tensor(np.array(p._data))) for p in ours]
    opt3 = optim.Adam(fresh3, lr=0.05, amsgrad=True)
    opt3.load_state_dict(tsaved)
    for _ in range(5):
        _step(ours, theirs, opt, topt)
        for ps, o in ((fresh, opt2), (fresh3, opt3)):
            for p in ps:
                p.grad = cr.Tensor(_grad(np.array(p._data)))
            o.step()
    for p, q, r in zip(ours, fresh, fresh3, strict=True):
        np.testing.assert_array_equal(np.array(p._data), np.array(q._data))
        np.testing.assert_allclose(np.array(p._data), np.array(r._data), rtol=1e-12)


@pytest.mark.kernel_free
def test_lbfgs_equals_torch():
    ours, theirs = cr.nn.Parameter(cr.tensor(INIT[0])), torch.nn.Parameter(torch.tensor(INIT[0]))
    target = INIT[1][:4]

    def loss_of(lib, p):
        d = p - lib.tensor(target)
        return (d.abs() ** 2).sum() + (p.real ** 4).sum() * 0.1

    for search in (None, "strong_wolfe"):
        p = cr.nn.Parameter(cr.tensor(INIT[0]))
        t = torch.nn.Parameter(torch.tensor(INIT[0]))
        opt = optim.LBFGS([p], lr=0.5, max_iter=8, line_search_fn=search)
        topt = torch.optim.LBFGS([t], lr=0.5, max_iter=8, line_search_fn=search)

        def closure(o=opt, p=p):
            o.zero_grad()
            loss = loss_of(cr, p)
            loss.backward()
            return loss

        def tclosure(o=topt, t=t):
            o.zero_grad()
            loss = loss_of(torch, t)
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
            topt.step(tclosure)
            np.testing.assert_allclose(np.array(p._data), t.detach().numpy(), rtol=1e-12,
                                       atol=1e-12)
    assert ours.dtype == np.complex128 and theirs.dtype == torch.complex128


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_rules_that_pytorch_refuses_are_refused(name):
    p = cr.nn.Parameter(cr.tensor(INIT[0]))
    with pytest.raises(TypeError, match=rf"{name}: params\[0\] is complex \(complex128\), and "
                                        f"{name} does not support complex parameters"):
        getattr(optim, name)([p], lr=0.01)
    t = torch.nn.Parameter(torch.tensor(INIT[0]))
    t.grad = torch.ones_like(t)
    with pytest.raises(RuntimeError, match="does not support complex"):
        getattr(torch.optim, name)([t], lr=0.01).step()


@pytest.mark.kernel_free
def test_zero_grad_keeps_complex_dtype():
    p = cr.nn.Parameter(cr.tensor(INIT[1].astype(np.complex64)))
    (p.abs() ** 2).sum().backward()
    assert p.grad.dtype == np.complex64
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad.dtype == np.complex64 and not np.array(p.grad._data).any()


@pytest.mark.kernel_free
def test_a_gradient_of_the_other_kind_is_refused():
    p = cr.nn.Parameter(cr.tensor(INIT[1]))
    with pytest.raises(RuntimeError, match="gradient with dtype float64 to a tensor with dtype "
                                           "complex128"):  # refused as PyTorch refuses it
        p.grad = cr.tensor(INIT[1].real.copy())
    p._grad = cr.tensor(INIT[1].real.copy())  # past that check: would move both parts alike
    with pytest.raises(TypeError, match="dtype complex128 has a gradient of dtype float64"):
        optim.Adam([p]).step()
    q = cr.nn.Parameter(cr.tensor(INIT[2]))
    with pytest.raises(RuntimeError, match="dtype complex128 to a tensor with dtype float64"):
        q.grad = cr.tensor(INIT[2] + 0j)
    q._grad = cr.tensor(INIT[2] + 0j)
    with pytest.raises(TypeError, match="dtype float64 has a gradient of dtype complex128"):
        optim.SGD([q]).step()
    assert not q._version and not p._version


def test_broadcast_and_strided_gradients_and_parameters():
    """A gradient that is a broadcast view, a parameter stored transposed: the real views."""
    a = INIT[0].T  # a transposed (not C-contiguous) complex parameter
    p, t = cr.nn.Parameter(cr.tensor(np.array(a))), torch.nn.Parameter(torch.tensor(a.copy()))
    p._writable()[...] = a
    opt, topt = optim.Adam([p], lr=0.1), torch.optim.Adam([t], lr=0.1)
    for _ in range(3):
        p.grad = cr.Tensor(np.broadcast_to(np.complex128(0.5 - 2j), a.shape))
        t.grad = torch.full(a.shape, 0.5 - 2j, dtype=torch.complex128)
        opt.step()
        topt.step()
    np.testing.assert_allclose(np.array(p._data), t.detach().numpy(), rtol=1e-12)
