"""``optimizer.state`` holds Tensors with PyTorch's keys, types and dtypes: every optimizer a few
steps beside torch.optim from the same weights (state and state dicts to 1e-12 in float64), a
PyTorch state dict loaded and continued, and programs that read and write the state (a Lookahead
wrapper, AWD-LSTM's NT-ASGD averaging, in-place edits), run unchanged on both libraries."""

import copy
import importlib
import inspect
import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("Adamax", {"lr": 0.05}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "t0": 2}),
    ("NAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("Rprop", {"lr": 0.05}),
    ("Adafactor", {"lr": 0.05}),
    ("Muon", {"lr": 0.05}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]
STEPS = 7  # RAdam's rectified branch starts at step 6


def _init(name):
    rng = np.random.default_rng(7)
    shapes = [(3, 4), (4, 5)] if name == "Muon" else [(3, 4), (4,)]  # Muon: matrices only
    return [rng.standard_normal(s) for s in shapes]


def _grads(name, arrays, step):
    if name == "Muon":  # PyTorch's Newton-Schulz runs in bfloat16: gradients that ignore p
        rng = np.random.default_rng(100 + step)
        return [rng.standard_normal(a.shape) for a in arrays]
    return [np.tanh(a) + 0.3 * a - 0.1 for a in arrays]


def _tol(name):
    """Muon's steps agree to PyTorch's bfloat16 Newton-Schulz iteration, the rest to 1e-12."""
    return {"rtol": 0, "atol": 5e-3} if name == "Muon" else {"rtol": 1e-12, "atol": 1e-12}


def _pair(name, kwargs, init=None):
    init = _init(name) if init is None else init
    ours = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    return ours, getattr(optim, name)(ours, **kwargs), theirs, getattr(torch.optim, name)(
        theirs, **kwargs)


def _step(name, step, ours, opt, theirs, topt):
    for p, t, g, h in zip(ours, theirs, _grads(name, [p.numpy() for p in ours], step),
                          _grads(name, [t.detach().numpy() for t in theirs], step)):
        p.grad, t.grad = cr.tensor(g), torch.tensor(h)
    opt.step()
    topt.step()


def _same(mine, theirs, where, rtol=1e-12):
    """A state entry as PyTorch's: a Tensor of its dtype and shape and values, or a number, or a
    list of them."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, cr.Tensor), f"{where}: {type(mine).__name__}"
        assert str(mine.dtype) == str(theirs.dtype).replace("torch.", ""), where
        assert tuple(mine.shape) == tuple(theirs.shape), where
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=rtol,
                                   atol=1e-12, err_msg=where)
    elif isinstance(theirs, list):
        assert isinstance(mine, list) and len(mine) == len(theirs), where
        for i, (a, b) in enumerate(zip(mine, theirs)):
            _same(a, b, f"{where}[{i}]", rtol)
    elif theirs is None:
        assert mine is None, where
    else:
        assert type(mine) is type(theirs) and mine == pytest.approx(theirs, rel=rtol), where


def _same_state(mine: dict, theirs: dict, where: str, rtol=1e-12) -> None:
    assert set(mine) == set(theirs), where
    for key, value in theirs.items():
        _same(mine[key], value, f"{where}[{key!r}]", rtol)


def _same_state_dict(sd, tsd, rtol=1e-12):
    assert list(sd["state"]) == list(tsd["state"])
    for k, entries in tsd["state"].items():
        _same_state(sd["state"][k], entries, f"state[{k}]", rtol)
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for group, tgroup in zip(sd["param_groups"], tsd["param_groups"]):
        for key, value in group.items():
            assert tgroup[key] == value, key


@pytest.mark.kernel_free
def test_every_optimizer_is_covered():
    names = {n for n, c in vars(optim).items() if inspect.isclass(c)
             and issubclass(c, optim.Optimizer) and c is not optim.Optimizer}
    # LBFGS: its own tests below; SparseAdam takes sparse gradients only (tests/sparse)
    assert names == {name for name, _ in CONFIGS} | {"LBFGS", "SparseAdam"}


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_state_and_state_dict_are_pytorchs_step_by_step(name, kwargs):
    ours, opt, theirs, topt = _pair(name, kwargs)
    for step in range(STEPS):
        _step(name, step, ours, opt, theirs, topt)
        for i, (p, t) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.numpy(), t.detach().numpy(),
                                       **_tol(name))
            assert (p in opt.state) == (t in topt.state)  # (no entry without state)
            _same_state(opt.state.get(p, {}), topt.state.get(t, {}), f"step {step} param {i}")
    _same_state_dict(opt.state_dict(), topt.state_dict())


@pytest.mark.parametrize("name", ["Adam", "ASGD", "NAdam", "Adagrad"])
def test_scalar_state_follows_the_default_dtype_as_pytorchs(name):
    kwargs = dict(CONFIGS[[n for n, _ in CONFIGS].index(name)][1])
    old, ours_old = torch.get_default_dtype(), cr.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    cr.set_default_dtype(cr.float64)
    try:
        ours, opt, theirs, topt = _pair(name, kwargs)
        for step in range(3):
            _step(name, step, ours, opt, theirs, topt)
    finally:
        torch.set_default_dtype(old)
        cr.set_default_dtype(ours_old)
    assert opt.state[ours[0]]["step"].dtype == cr.float64
    _same_state_dict(opt.state_dict(), topt.state_dict())


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_a_pytorch_state_dict_loads_and_continues_equal(name, kwargs):
    ours, opt, theirs, topt = _pair(name, kwargs)
    for step in range(3):
        _step(name, step, ours, opt, theirs, topt)
    # a fresh chainrule optimizer over PyTorch's current weights, given PyTorch's state dict
    fresh = [cr.tensor(t.detach().numpy().copy(), requires_grad=True) for t in theirs]
    loaded = getattr(optim, name)(fresh, **kwargs)
    loaded.load_state_dict(topt.state_dict())  # PyTorch's tensors, as they are
    _same_state_dict(loaded.state_dict(), topt.state_dict())
    for step in range(3, 6):
        _step(name, step, fresh, loaded, theirs, topt)
    for p, t in zip(fresh, theirs):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(),
                                   **_tol(name))
        _same_state(loaded.state[p], topt.state[t], name)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_saved_state_resumes_bit_for_bit(name, kwargs):
    ours, opt, theirs, topt = _pair(name, kwargs)
    for step in range(3):
        _step(name, step, ours, opt, theirs, topt)
    buffer = io.BytesIO()
    cr.save(opt.state_dict(), buffer)  # safetensors + JSON, no pickle
    buffer.seek(0)
    fresh = [cr.tensor(p.numpy().copy(), requires_grad=True) for p in ours]
    resumed = getattr(optim, name)(fresh, **kwargs)
    resumed.load_state_dict(cr.load(buffer))
    for step in range(3, 6):
        _step(name, step, ours, opt, theirs, topt)
        for q, g in zip(fresh, _grads(name, [q.numpy() for q in fresh], step)):
            q.grad = cr.tensor(g)
        resumed.step()
    for p, q in zip(ours, fresh):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(resumed.state[q][key].numpy(), value.numpy())
            assert resumed.state[q][key].dtype == value.dtype


@pytest.mark.parametrize("name", ["Adam", "ASGD", "NAdam", "Rprop", "SGD"])
def test_complex_parameters_keep_pytorchs_complex_state(name):
    kwargs = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05}
    rng = np.random.default_rng(3)
    init = [rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)),
            rng.standard_normal(3)]
    ours, opt, theirs, topt = _pair(name, kwargs, init)
    for step in range(4):
        _step(name, step, ours, opt, theirs, topt)
    for i, (p, t) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)
        _same_state(opt.state[p], topt.state[t], f"param {i}")
    assert opt.state[ours[0]]["momentum_buffer" if name == "SGD" else "step"] is not None


@pytest.mark.kernel_free
@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_state_is_pytorchs(line_search):
    init = [np.array([-1.2, 1.0]), np.array([0.5])]

    def run(lib):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        opt = lib.optim.LBFGS(params, lr=0.5, max_iter=4, history_size=3,
                              line_search_fn=line_search)

        def closure():
            opt.zero_grad()
            x, y = params[0][0], params[0][1]
            loss = (1 - x) ** 2 + 10 * (y - x**2) ** 2 + (params[1] ** 2).sum()
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        return params, opt

    ours, opt = run(cr)
    theirs, topt = run(torch)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-10)
    _same_state(opt.state[ours[0]], topt.state[theirs[0]], "LBFGS", rtol=1e-10)
    _same_state_dict(opt.state_dict(), topt.state_dict(), rtol=1e-10)
    loaded = cr.optim.LBFGS([cr.tensor(t.detach().numpy(), requires_grad=True)
                             for t in theirs], lr=0.5, max_iter=4, history_size=3)
    loaded.load_state_dict(topt.state_dict())
    _same_state_dict(loaded.state_dict(), topt.state_dict(), rtol=1e-10)


def lookahead(lib, init, inner, steps=8):
    """timm's Lookahead: slow weights in the inner optimizer's state (``empty_like`` then
    ``copy_``), blended into the fast weights every k steps; the momentum pulled back in place;
    then its state dict (slow buffers included) loaded into a new pair that trains on."""

    class Lookahead(lib.optim.Optimizer):
        def __init__(self, base_optimizer, alpha=0.5, k=3):
            self.base_optimizer = base_optimizer
            self.param_groups = base_optimizer.param_groups
            self.defaults = base_optimizer.defaults
            self.state = base_optimizer.state
            self.alpha, self.k, self.counter = alpha, k, 0

        def update_slow(self):
            for group in self.param_groups:
                for fast_p in group["params"]:
                    param_state = self.state[fast_p]
                    if "slow_buffer" not in param_state:
                        param_state["slow_buffer"] = lib.empty_like(fast_p.data)
                        param_state["slow_buffer"].copy_(fast_p.data)
                    slow = param_state["slow_buffer"]
                    slow.add_(fast_p.data - slow, alpha=self.alpha)
                    fast_p.data.copy_(slow)
                    if "momentum_buffer" in param_state:
                        param_state["momentum_buffer"].mul_(self.alpha)

        def step(self, closure=None):
            loss = self.base_optimizer.step(closure)
            self.counter += 1
            if self.counter % self.k == 0:
                self.update_slow()
            return loss

    def make(arrays):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
        base = (lib.optim.SGD(params, lr=0.1, momentum=0.9) if inner == "SGD"
                else lib.optim.Adam(params, lr=0.05))
        return params, base, Lookahead(base)

    params, base, opt = make(init)
    trail, norms = [], []
    for _i in range(steps):
        for p in params:
            p.grad = lib.tensor(np.tanh(p.detach().numpy()) - 0.2)
        opt.step()
        trail.append([p.detach().numpy().copy() for p in params])
        key = "momentum_buffer" if inner == "SGD" else "exp_avg"
        norms.append([base.state[p][key].norm().item() for p in params])
    saved = copy.deepcopy(base.state_dict())  # PyTorch's shares the live tensors, and so
    params2, base2, opt2 = make([p.detach().numpy() for p in params])  # does a load of it
    base2.load_state_dict(copy.deepcopy(saved))
    opt2.counter = opt.counter
    for _i in range(4):
        for p in params2:
            p.grad = lib.tensor(np.tanh(p.detach().numpy()) - 0.2)
        opt2.step()
        trail.append([p.detach().numpy().copy() for p in params2])
    return trail, norms, saved, base2.state_dict()


@pytest.mark.parametrize("inner", ["SGD", "Adam"])
def test_lookahead_wrapper_runs_unchanged(inner):
    init = _init("SGD")
    ours, theirs = lookahead(cr, init, inner), lookahead(torch, init, inner)
    np.testing.assert_allclose(np.concatenate([np.concatenate([a.ravel() for a in t])
                                               for t in ours[0]]),
                               np.concatenate([np.concatenate([a.ravel() for a in t])
                                               for t in theirs[0]]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    assert "slow_buffer" in ours[2]["state"][0]
    _same_state_dict(ours[2], theirs[2])
    _same_state_dict(ours[3], theirs[3])


def nt_asgd(lib, w, b, xs, ys):
    """awd-lstm-lm's NT-ASGD: SGD, then ``ASGD(t0=0, lambd=0.)``, each evaluation with the
    averages swapped in by ``prm.data = optimizer.state[prm]['ax'].clone()`` and back."""
    model = lib.nn.Linear(4, 3).double()
    with lib.no_grad():
        model.weight.copy_(lib.tensor(w))
        model.bias.copy_(lib.tensor(b))
    criterion = lib.nn.MSELoss()

    def evaluate():
        with lib.no_grad():
            return criterion(model(lib.tensor(xs)), lib.tensor(ys)).item()

    optimizer = lib.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-3)
    history = []
    for epoch in range(4):
        for i in range(0, len(xs), 2):
            optimizer.zero_grad()
            criterion(model(lib.tensor(xs[i:i + 2])), lib.tensor(ys[i:i + 2])).backward()
            optimizer.step()
        if "t0" in optimizer.param_groups[0]:
            tmp = {}
            for prm in model.parameters():
                tmp[prm] = prm.data.clone()
                prm.data = optimizer.state[prm]["ax"].clone()
            history.append(evaluate())
            for prm in model.parameters():
                prm.data = tmp[prm].clone()
        else:
            history.append(evaluate())
            if epoch == 1:
                optimizer = lib.optim.ASGD(model.parameters(), lr=0.1, t0=0, lambd=0.0,
                                           weight_decay=1e-3)
    history.append(evaluate())
    steps = [optimizer.state[prm]["step"].item() for prm in model.parameters()]
    return history, steps, model.weight.detach().numpy()


def test_nt_asgd_averaging_idiom_runs_unchanged():
    rng = np.random.default_rng(11)
    args = (rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal((8, 4)),
            rng.standard_normal((8, 3)))
    ours, theirs = nt_asgd(cr, *args), nt_asgd(torch, *args)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    assert ours[1] == theirs[1] == [8.0, 8.0]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)
    assert ours[0][2] != ours[0][-1]  # the averaged weights were evaluated, then put back


def state_edits(lib, init):
    """Reading and writing the state as PyTorch programs do: ``step.item()``, norms, an in-place
    reset, entries replaced by new tensors (a zeroed moment, a step count)."""
    params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
    opt = lib.optim.Adam(params, lr=0.05)
    log = []
    for i in range(6):
        for p in params:
            p.grad = lib.tensor(np.tanh(p.detach().numpy()) + 0.1)
        opt.step()
        state = opt.state[params[0]]
        log += [state["step"].item(), state["exp_avg"].norm().item(),
                float(state["exp_avg_sq"].sum())]
        if i == 2:
            state["exp_avg"].mul_(0)
            opt.state[params[1]]["exp_avg_sq"] = lib.zeros_like(params[1])
            opt.state[params[1]]["step"] = lib.tensor(10.0)
        if i == 4:
            state["step"].fill_(1)
    return log, [p.detach().numpy() for p in params], opt.state_dict()


def test_state_edits_run_unchanged():
    init = _init("Adam")
    ours, theirs = state_edits(cr, init), state_edits(torch, init)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    _same_state_dict(ours[2], theirs[2])


def global_hooks(lib):
    calls = []
    module = importlib.import_module(f"{lib.__name__}.optim.optimizer")  # as `import ...`
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    before = lib.optim.SGD([a], lr=0.1)
    pre = module.register_optimizer_step_pre_hook(
        lambda o, args, kwargs: calls.append(("pre", type(o).__name__, args[0] is o)))
    post = module.register_optimizer_step_post_hook(
        lambda o, args, kwargs: calls.append(("post", type(o).__name__)))
    own = before.register_step_post_hook(lambda o, args, kwargs: calls.append(("own",)))
    b = lib.tensor([0.5], requires_grad=True)
    after = lib.optim.LBFGS([b], max_iter=2)

    def closure():
        after.zero_grad()
        loss = (b * b).sum()
        loss.backward()
        return loss

    a.grad = lib.tensor([1.0, 1.0])
    before.step()
    after.step(closure)
    pre.remove()
    before.step()
    post.remove()
    own.remove()
    before.step()
    after.step(closure)
    return calls, a.detach().numpy()


def test_global_step_hooks_are_pytorchs():
    ours, theirs = global_hooks(cr), global_hooks(torch)
    assert ours[0] == theirs[0] == [
        ("pre", "SGD", True), ("own",), ("post", "SGD"), ("pre", "LBFGS", True),
        ("post", "LBFGS"), ("own",), ("post", "SGD")]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    # with none registered, a new optimizer's step is its class's (nothing in the way)
    assert "step" not in optim.SGD([cr.tensor([1.0], requires_grad=True)]).__dict__


@pytest.mark.kernel_free
def test_global_hook_must_be_callable():
    with pytest.raises(TypeError, match="register_optimizer_step_pre_hook: hook must be "
                                        "callable, got int"):
        optim.optimizer.register_optimizer_step_pre_hook(3)


def _lbfgs_run(params, opt, calls):
    def closure():
        opt.zero_grad()
        loss = sum(((p - 0.3) ** 4).sum() + (p * p).sum() for p in params)
        loss.backward()
        return loss

    for _ in range(calls):
        opt.step(closure)


@pytest.mark.parametrize(("name", "kwargs"), [*CONFIGS, ("LBFGS", {"max_iter": 3})],
                         ids=[*IDS, "LBFGS"])
def test_training_state_file_resumes_bit_for_bit(tmp_path, name, kwargs):
    """save_training_state/load_training_state (whose checks read every entry first): Adafactor's
    factors and LBFGS's flat vectors and history lists pass them, and the run continues equal."""
    init = _init("SGD" if name == "LBFGS" else name)

    def make(arrays):
        params = [cr.tensor(a.copy(), requires_grad=True) for a in arrays]
        return params, getattr(optim, name)(params, **kwargs)

    def run(params, opt, start, stop):
        if name == "LBFGS":
            _lbfgs_run(params, opt, stop - start)
            return
        for step in range(start, stop):
            for p, g in zip(params, _grads(name, [p.numpy() for p in params], step)):
                p.grad = cr.tensor(g)
            opt.step()

    params, opt = make(init)
    run(params, opt, 0, 3)
    cr.io.save_training_state(tmp_path / "s.safetensors", optimizer=opt, epoch=0)
    fresh, resumed = make([p.numpy() for p in params])
    cr.io.load_training_state(tmp_path / "s.safetensors", optimizer=resumed)
    run(params, opt, 3, 5)
    run(fresh, resumed, 3, 5)
    for p, q in zip(params, fresh):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.kernel_free
def test_training_state_checks_know_adafactors_factor_shapes(tmp_path):
    params = [cr.tensor(a, requires_grad=True) for a in _init("Adafactor")]
    opt = optim.Adafactor(params)
    for p in params:
        p.grad = cr.ones_like(p)
    opt.step()
    opt.state[params[0]]["row_var"] = cr.zeros(3, 4, dtype=cr.float64)  # a wrong shape
    cr.io.save_training_state(tmp_path / "s.safetensors", optimizer=opt, epoch=0)
    with pytest.raises(ValueError, match=r"optimizer.state\[0\].row_var is 'array of shape "
                                         r"\(3, 4\)', expected shape \(3, 1\)"):
        cr.io.load_training_state(tmp_path / "s.safetensors", optimizer=optim.Adafactor(params))
