"""Ninth fuzz wave, optimizer hooks: every optimizer class of both libraries with random step
pre/post hooks (one returning new args), state-dict pre/post hooks (adding keys, in place or in
a new dict), load-state-dict pre/post hooks (dropping them again, or not), prepend, steps with
and without a closure, then a state_dict/load_state_dict round trip. The hooks' calls (arguments
and order), the returned losses, the parameters and the loads must be PyTorch's (float64;
PyTorch with float64 as its default dtype, so that its scalar state is float64 too). Not here:
a subclass's step calling super().step() (PyTorch runs the hooks twice once the parent class
was instantiated; chainrule once, docs/pytorch.md) and the global step hooks (not provided)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

_NAMES = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS",
          "NAdam", "RAdam", "RMSprop", "Rprop", "SGD"]


@pytest.fixture
def torch_float64():
    saved, ours = torch.get_default_dtype(), cr.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    cr.set_default_dtype(cr.float64)  # the scalar state (ASGD's eta...) in float64 in both
    yield
    torch.set_default_dtype(saved)
    cr.set_default_dtype(ours)


def _hooks(rng, opt, log):
    for i in range(int(rng.integers(0, 7))):
        kind, act, prepend = int(rng.integers(0, 6)), int(rng.integers(0, 3)), rng.random() < 0.3
        prepend = bool(prepend)
        if kind == 0:
            def pre(o, args, kwargs, i=i, act=act):
                log.append(("step pre", i, len(args), sorted(kwargs)))
                return (args, dict(kwargs)) if act == 1 else None
            opt.register_step_pre_hook(pre)
        elif kind == 1:
            opt.register_step_post_hook(
                lambda o, a, k, i=i: log.append(("step post", i, len(a), sorted(k))))
        elif kind == 2:
            opt.register_state_dict_pre_hook(lambda o, i=i: log.append(("sd pre", i)),
                                             prepend=prepend)
        elif kind == 3:
            def post(o, sd, i=i, act=act):
                log.append(("sd post", i, sorted(sd)))
                if act == 1:
                    return {**sd, "extra": i}
                if act == 2:
                    sd["extra2"] = i
                return None
            opt.register_state_dict_post_hook(post, prepend=prepend)
        elif kind == 4:
            def load_pre(o, sd, i=i, act=act):
                log.append(("load pre", i, sorted(sd)))
                return {k: v for k, v in sd.items() if "extra" not in k} if act == 1 else None
            opt.register_load_state_dict_pre_hook(load_pre, prepend=prepend)
        else:
            opt.register_load_state_dict_post_hook(lambda o, i=i: log.append(("load post", i)),
                                                   prepend=prepend)


def _run(lib, seed):
    rng = np.random.default_rng(seed)
    name = _NAMES[seed % len(_NAMES)]
    w = lib.nn.Parameter(lib.tensor(rng.standard_normal(3)))
    b = lib.nn.Parameter(lib.tensor(rng.standard_normal(2)))
    lr = {"Adafactor": 0.01, "Adadelta": 1.0}.get(name, 0.1)
    opt, log, out = getattr(lib.optim, name)([w, b], lr=lr), [], {}
    _hooks(rng, opt, log)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum() * 0.5 + ((b - 1) ** 2).sum() + (w[0] * b[1]) ** 2
        loss.backward()
        return loss

    for step in range(3):
        if name == "LBFGS" or rng.random() < 0.5:
            out[f"loss {step}"] = float(opt.step(closure).detach())
        else:
            closure()
            out[f"loss {step}"] = opt.step()
    out["w"], out["b"] = w.detach().numpy(), b.detach().numpy()
    sd = opt.state_dict()
    out["keys"] = sorted(sd)
    opt.load_state_dict(sd)
    out["log"] = log
    return out


@pytest.mark.parametrize("block", range(3))
def test_optimizer_hooks_as_pytorchs(torch_float64, block):
    for seed in range(block * 45, block * 45 + 45):
        want, got = _run(torch, seed), _run(cr, seed)
        for key in ("w", "b"):
            np.testing.assert_allclose(got.pop(key), want.pop(key), rtol=1e-10, atol=1e-12,
                                       err_msg=f"seed {seed}")
        for key in [k for k in want if k.startswith("loss") and want[k] is not None]:
            assert got.pop(key) == pytest.approx(want.pop(key), rel=1e-10), seed
        assert got == want, seed


def test_load_state_dict_leaves_extra_keys_alone_as_pytorchs():
    """A state-dict post-hook that adds a key (PyTorch's documented use) makes a state that
    PyTorch's load_state_dict takes; chainrule's refused anything but the two keys."""
    for lib in (torch, cr):
        w = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.Adam([w], lr=0.1)
        opt.register_state_dict_post_hook(lambda o, sd: sd.update(scheduler={"epoch": 3}))
        w.grad = lib.ones(2)
        opt.step()
        state = opt.state_dict()
        assert state["scheduler"] == {"epoch": 3}
        lib.optim.Adam([w], lr=0.1).load_state_dict(state)
        with pytest.raises((ValueError, KeyError)):
            lib.optim.Adam([w], lr=0.1).load_state_dict({"state": {}})
