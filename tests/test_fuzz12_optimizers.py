"""Fuzz wave 12: chainrule.optim against torch.optim 2.13 (CPU) with random flag combinations,
several parameter groups, parameters without gradients, zero-size parameters, inf/nan gradients
and state-dict round trips between the two libraries mid-run: weights, state and param groups.

Bugs this wave found are pinned by the regression tests at the top.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAN, INF = float("nan"), float("inf")


def test_rprop_nan_gradient_leaves_the_weight_as_pytorchs():
    """NumPy's sign(nan) is nan: a nan gradient made the weight nan, and the nan ``prev`` made
    the next step's weight nan too; PyTorch's sign(nan) is 0, so the weight stays."""
    grads = ([1.0, NAN, INF], [1.0, 1.0, -1.0], [NAN, 1.0, 1.0], [-1.0, -1.0, NAN])
    out = []
    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.Rprop([p], lr=0.1)
        for g in grads:
            p.grad = lib.tensor(g, dtype=lib.float64)
            opt.step()
        s = opt.state[p]
        out.append([np.asarray(t.detach().tolist()) for t in (p, s["prev"], s["step_size"])])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(out[0][0]).all()


def test_lbfgs_step_with_inf_loss_is_silent_and_as_pytorchs():
    """LBFGS.step did its arithmetic outside the numpy.errstate(all='ignore') of every other
    step: an inf loss warned 'invalid value encountered in multiply'. The closure itself still
    runs with the caller's NumPy error state."""
    out, seen = [], []
    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.LBFGS([p], lr=1, max_iter=5)
        scale = lib.tensor(INF, dtype=lib.float64)

        def closure(lib=lib, p=p, opt=opt, scale=scale):
            seen.append(np.geterr()["invalid"])
            opt.zero_grad()
            loss = (p ** 2).sum() * scale
            loss.backward()
            return loss

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = opt.step(closure)
        out.append((float(loss.detach()), p.detach().tolist()))
    np.testing.assert_array_equal(np.asarray(out[0][1]), np.asarray(out[1][1]))
    assert out[0][0] == out[1][0] == INF
    assert set(seen) == {np.geterr()["invalid"]}


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_amsgrad_max_keeps_a_nan_as_pytorchs(name):
    """The compiled Adam sweep took AMSGrad's running maximum with Python's max, which drops a
    nan second argument: after a nan gradient max_exp_avg_sq kept its old finite value where
    PyTorch's (torch.maximum) is nan."""
    states = []
    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1, amsgrad=True)
        for g in ([1.0, 2.0, 3.0], [NAN, 1.0, -1.0], [1.0, 1.0, 1.0]):
            p.grad = lib.tensor(g, dtype=lib.float64)
            opt.step()
        states.append([np.asarray(opt.state[p][k].tolist()) for k in ("max_exp_avg_sq",
                                                                        "exp_avg_sq")])
        states[-1].append(np.asarray(p.detach().tolist()))
    for a, b in zip(*states):
        np.testing.assert_allclose(a, b, rtol=1e-14, equal_nan=True)
    assert np.isnan(states[0][0][0])


@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_adafactor_inf_gradient_steps_as_pytorchs(shape):
    """Adafactor moved its variances by beta2 v + (1 - beta2) g**2 where PyTorch's lerp computes
    g**2 - (g**2 - v) beta2 for 1 - beta2 >= 0.5: an inf gradient gave an inf variance where
    PyTorch's is nan, so a later update's rms was finite and clipped the other weights' steps
    (PyTorch's is nan and skips the clipping): finite weights differed by 6%."""
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(shape) for _ in range(3)]
    grads[1].flat[0] = INF
    out = []
    for lib in (cr, torch):
        p = lib.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape),
                       requires_grad=True)
        opt = lib.optim.Adafactor([p], lr=0.001, eps=(1e-30, 0.01), beta2_decay=-0.5)
        for g in grads:
            p.grad = lib.tensor(g.copy())
            opt.step()
        out.append(np.asarray(p.detach().tolist()))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-15, equal_nan=True)


def test_adagrad_state_exists_from_construction_as_pytorchs():
    """PyTorch's Adagrad makes every parameter's state (step 0, sum at the initial value) in its
    constructor: its state_dict() lists a parameter that has not had a gradient yet, chainrule's
    did not (its keys differed). A group added later gets its state at its first step, in
    both."""
    def arrays(state):  # PyTorch's state_dict() shares the live Tensors: copy now
        return {k: {n: np.asarray(v.tolist()) for n, v in s.items()} for k, s in state.items()}

    dicts = []
    for lib in (cr, torch):
        ps = [lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True) for _ in range(3)]
        ps.append(lib.tensor([1.0 + 2.0j], dtype=lib.complex128, requires_grad=True))
        opt = lib.optim.Adagrad([ps[0], ps[1], ps[3]], lr=0.1, initial_accumulator_value=0.5)
        before = arrays(opt.state_dict()["state"])
        opt.add_param_group({"params": [ps[2]]})
        ps[0].grad = lib.tensor([1.0, -1.0], dtype=lib.float64)
        opt.step()
        dicts.append([before, arrays(opt.state_dict()["state"])])
    for ours, theirs in zip(*dicts):
        assert sorted(ours) == sorted(theirs) == [0, 1, 2]
        for k in theirs:
            assert sorted(ours[k]) == sorted(theirs[k])
            for n in theirs[k]:
                np.testing.assert_array_equal(ours[k][n], theirs[k][n])


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_and_foreach_together_refused_as_pytorchs(name):
    """fused=True with foreach=True was accepted; PyTorch refuses the pair (RuntimeError)."""
    with pytest.raises(RuntimeError, match="fused"):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], fused=True, foreach=True)
    with pytest.raises(RuntimeError, match=f"{name}: fused=True and foreach=True"):
        getattr(cr.optim, name)([cr.zeros(2, requires_grad=True)], fused=True, foreach=True)
    getattr(cr.optim, name)([cr.zeros(2, requires_grad=True)], fused=True, foreach=False)


# --- the differential fuzz --------------------------------------------------------------------

FLAGS = {"foreach", "fused", "capturable", "differentiable"}


def _b(r):
    return bool(r.integers(2))


def _pick(r, *values):
    return values[int(r.integers(len(values)))]


def _betas(r):  # beta1 >= 0.3: PyTorch's lerp turns an inf into nan for weights >= 0.5
    return (_pick(r, 0.9, 0.8, 0.3), _pick(r, 0.999, 0.99, 0.5))


def _sgd(r):
    m = _pick(r, 0.0, 0.9, 0.5)
    d = _pick(r, 0.0, 0.1) if m else 0.0
    return dict(lr=_pick(r, 0.1, 0.01), momentum=m, dampening=d, weight_decay=_pick(r, 0, 0.1),
                nesterov=bool(m and not d and _b(r)), maximize=_b(r))


SPACE = {
    "SGD": _sgd,
    "Adam": lambda r: dict(lr=_pick(r, 0.1, 0.01), betas=_betas(r), eps=_pick(r, 1e-8, 1e-3),
                           weight_decay=_pick(r, 0, 0.1), amsgrad=_b(r), maximize=_b(r),
                           decoupled_weight_decay=_b(r)),
    "AdamW": lambda r: dict(lr=_pick(r, 0.1, 0.01), betas=_betas(r), weight_decay=_pick(r, 0, 0.1),
                            amsgrad=_b(r), maximize=_b(r)),
    "Adadelta": lambda r: dict(lr=_pick(r, 1.0, 0.5), rho=_pick(r, 0.9, 0.5),
                               eps=_pick(r, 1e-6, 1e-3), weight_decay=_pick(r, 0, 0.1),
                               maximize=_b(r)),
    # a group's own initial_accumulator_value: a documented difference (docs/pytorch.md)
    "Adagrad": lambda r: dict(lr=_pick(r, 0.1, 0.01), lr_decay=_pick(r, 0, 0.01),
                              weight_decay=_pick(r, 0, 0.1), eps=_pick(r, 1e-10, 1e-3),
                              maximize=_b(r)),
    "Adamax": lambda r: dict(lr=_pick(r, 0.1, 0.01), betas=_betas(r), eps=_pick(r, 1e-8, 1e-3),
                             weight_decay=_pick(r, 0, 0.1), maximize=_b(r)),
    "ASGD": lambda r: dict(lr=_pick(r, 0.1, 0.01), lambd=_pick(r, 1e-4, 0.01),
                           alpha=_pick(r, 0.75, 0.5), t0=_pick(r, 1e6, 2.0, 0.0),
                           weight_decay=_pick(r, 0, 0.1), maximize=_b(r)),
    "NAdam": lambda r: dict(lr=_pick(r, 0.1, 0.01), betas=_betas(r), eps=_pick(r, 1e-8, 1e-3),
                            weight_decay=_pick(r, 0, 0.1), momentum_decay=_pick(r, 4e-3, 0.1),
                            decoupled_weight_decay=_b(r), maximize=_b(r)),
    "RAdam": lambda r: dict(lr=_pick(r, 0.1, 0.01), betas=_betas(r), eps=_pick(r, 1e-8, 1e-3),
                            weight_decay=_pick(r, 0, 0.1), decoupled_weight_decay=_b(r),
                            maximize=_b(r)),
    "RMSprop": lambda r: dict(lr=_pick(r, 0.1, 0.01), alpha=_pick(r, 0.99, 0.5),
                              eps=_pick(r, 1e-8, 1e-3), weight_decay=_pick(r, 0, 0.1),
                              momentum=_pick(r, 0.0, 0.9), centered=_b(r), maximize=_b(r)),
    "Rprop": lambda r: dict(lr=_pick(r, 0.1, 0.01), etas=(_pick(r, 0.5, 0.3), _pick(r, 1.2, 1.5)),
                            step_sizes=(_pick(r, 1e-6, 1e-3), _pick(r, 50.0, 0.05)),
                            maximize=_b(r)),
    "Adafactor": lambda r: dict(lr=_pick(r, 0.1, 0.01), beta2_decay=_pick(r, -0.8, -0.5),
                                eps=(_pick(r, None, 1e-30), _pick(r, 1e-3, 1e-2)),
                                d=_pick(r, 1.0, 2.0), weight_decay=_pick(r, 0, 0.1),
                                maximize=_b(r)),
}
# The implementation flags drawn per optimizer: PyTorch's fused kernels exist on CPU for these;
# its foreach ASGD rounds eta differently from its single-tensor one (chainrule's), so none.
IMPL = {"SGD": ("foreach", "fused"), "Adam": ("foreach", "fused"),
        "AdamW": ("foreach", "fused"), "Adagrad": ("foreach", "fused"), "ASGD": ()}


def _np(v):
    return np.asarray(v.detach().tolist() if hasattr(v, "detach") else v, dtype=np.float64)


def _same(a, b, tol, what):
    """Equal within tol where finite; inf and nan only where the other has inf or nan (PyTorch's
    lerp gives nan where a + w (b - a) gives inf)."""
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, what
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b), err_msg=what)
    fin = np.isfinite(a)
    np.testing.assert_allclose(a[fin], b[fin], rtol=tol, atol=tol, err_msg=what)


def _dtype_name(t):
    return str(t.dtype).rsplit(".", 1)[-1]


def _compare_state_dicts(ours, theirs, tol, where):
    assert sorted(ours["state"]) == sorted(theirs["state"]), where
    for k, want in theirs["state"].items():
        got = ours["state"][k]
        assert sorted(got) == sorted(want), (where, k)
        for key, v in want.items():
            if isinstance(v, torch.Tensor):
                assert isinstance(got[key], cr.Tensor), (where, key)
                assert _dtype_name(got[key]) == _dtype_name(v), (where, key)
            _same(got[key], v, tol, f"{where}: state {k} {key}")
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for g, h in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        assert set(g) - FLAGS == set(h) - FLAGS, where
        for key in set(h) - FLAGS:
            want = list(h[key]) if isinstance(h[key], tuple) else h[key]
            assert (list(g[key]) if isinstance(g[key], tuple) else g[key]) == want, (where, key)


def _to_torch(v):
    if isinstance(v, cr.Tensor):
        return torch.tensor(v.detach().numpy())
    if isinstance(v, dict):
        return {k: _to_torch(x) for k, x in v.items()}
    return [_to_torch(x) for x in v] if isinstance(v, list) else v


def _plan(seed):
    r = np.random.default_rng(seed)
    name = list(SPACE)[seed % len(SPACE)]
    dt = _pick(r, np.float64, np.float32)
    shapes = [(3, 4), (5,), (0, 3), (2, 2), ()]
    if name == "Adafactor":  # PyTorch's refuses 0-d and empty parameters
        shapes = [(3, 4), (5,), (2, 2, 3), (4,)]
    ng = int(r.integers(1, 4))
    assign = r.integers(0, ng, len(shapes))
    assign[:ng] = np.arange(ng)
    impl = {f: _b(r) for f in IMPL.get(name, ("foreach",)) if _b(r)}
    if impl.get("fused") and impl.get("foreach"):
        impl.pop("foreach")
    steps = int(r.integers(3, 10))
    grads = [[(r.standard_normal(s) * _pick(r, 1.0, 10.0, 1e-3)).astype(dt) for s in shapes]
             for _ in range(steps)]
    none = r.random((steps, len(shapes))) < 0.2
    if impl.get("fused"):
        none[:] = False  # PyTorch's fused kernels fail on a None gradient
    elif _b(r):  # PyTorch's fused Adam keeps nan out of amsgrad's maximum: not with fused
        for _ in range(2):
            g = grads[int(r.integers(steps))][int(r.integers(len(shapes)))]
            if g.size:
                g.flat[int(r.integers(g.size))] = _pick(r, np.nan, np.inf, -np.inf)
    swap = int(r.integers(1, steps)) if _b(r) else -1
    if name in ("ASGD", "NAdam") and dt == np.float64:
        swap = -1  # loading keeps eta/mu/mu_product's float32 (docs/pytorch.md)
    return dict(name=name, dt=dt, shapes=shapes, ng=ng, assign=assign, top=SPACE[name](r),
                impl=impl, groups=[SPACE[name](r) if _b(r) else {} for _ in range(ng)],
                grads=grads, none=none, swap=swap,
                late=int(r.integers(0, steps)) if ng > 1 and _b(r) else -1,
                arrays=[r.standard_normal(s).astype(dt) for s in shapes])


def _build(lib, plan, ps):
    groups = [{"params": [p for p, a in zip(ps, plan["assign"]) if a == g], **plan["groups"][g]}
              for g in range(plan["ng"])]
    late = groups.pop() if plan["late"] >= 0 else None
    return getattr(lib.optim, plan["name"])(groups, **plan["top"], **plan["impl"]), late


@pytest.mark.parametrize("seed", range(48))
def test_optimizers_fuzz_against_pytorch(seed):
    """Random flags, several groups (one maybe added by add_param_group mid-run), gradients
    None at random, zero-size and 0-d parameters, inf/nan gradients; after each step the weights,
    at the end the state dicts; state dicts swapped between the libraries mid-run."""
    plan = _plan(seed)
    tol = 1e-12 if plan["dt"] == np.float64 else 2e-5
    libs = (cr, torch)
    ps = [[lib.tensor(a.copy(), requires_grad=True) for a in plan["arrays"]] for lib in libs]
    built = [_build(lib, plan, p) for lib, p in zip(libs, ps)]
    opts = [o for o, _ in built]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's warnings on its own flags
        for t, grads in enumerate(plan["grads"]):
            if t == plan["late"]:
                for o, (_, late) in zip(opts, built):
                    o.add_param_group(late)
            if t == plan["swap"]:
                ours, theirs = opts[0].state_dict(), opts[1].state_dict()
                _compare_state_dicts(ours, theirs, tol, f"before the swap at {t}")
                for i, (lib, p) in enumerate(zip(libs, ps)):
                    opts[i], late = _build(lib, plan, p)
                    if 0 <= plan["late"] <= t:
                        opts[i].add_param_group(late)
                opts[0].load_state_dict(theirs)
                opts[1].load_state_dict(_to_torch(ours))
            for lib, o, p in zip(libs, opts, ps):
                for i, q in enumerate(p):
                    q.grad = None if plan["none"][t, i] else lib.tensor(grads[i].copy())
                o.step()
            for i, (a, b) in enumerate(zip(*ps)):
                _same(a, b, tol, f"{plan['name']} step {t} parameter {i}")
                assert _dtype_name(a) == _dtype_name(b)
    _compare_state_dicts(opts[0].state_dict(), opts[1].state_dict(), tol, plan["name"])


def test_named_parameters_as_pytorchs():
    """torch.optim takes (name, Tensor) pairs (model.named_parameters()) and keeps the names in
    each group's param_names, which its state dicts carry; chainrule refused them ('params[0]
    must be a Tensor, got tuple')."""
    out = []
    for lib in (cr, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Linear(2, 1))
        with lib.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(lib.linspace(-1.0, 1.0, p.numel()).reshape(p.shape) * (i + 1))
        named = list(model.named_parameters())
        opt = lib.optim.AdamW(named[:2], lr=0.1)
        opt.add_param_group({"params": named[2:], "lr": 0.01})
        with pytest.raises(ValueError):  # all groups named or none
            opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)]})
        with pytest.raises(ValueError):  # a group's parameters all named or none
            lib.optim.SGD([named[0], named[1][1]], lr=0.1)
        model(lib.ones(4, 3)).sum().backward()
        opt.step()
        sd = opt.state_dict()
        fresh = lib.optim.AdamW(named[:2], lr=0.1)
        fresh.add_param_group({"params": named[2:], "lr": 0.01})
        fresh.load_state_dict(sd)
        fresh.step()
        out.append(([g["param_names"] for g in sd["param_groups"]],
                    [g["param_names"] for g in fresh.param_groups],
                    [p.detach().numpy().copy() for p in model.parameters()]))
    assert out[0][0] == out[1][0] == [["0.weight", "0.bias"], ["1.weight", "1.bias"]]
    assert out[0][1] == out[1][1]
    for a, b in zip(out[0][2], out[1][2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32
