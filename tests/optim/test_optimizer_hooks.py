"""Optimizer hooks around step, state_dict and load_state_dict, as PyTorch's: each scenario runs
in both libraries and must record the same calls and give the same numbers."""

import numpy as np
import pytest

import chainrule as cr


def _model(lib):
    w = lib.nn.Parameter(lib.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=lib.float64))
    return w


def _loss(lib, w):
    return ((w @ lib.tensor([1.0, -2.0], dtype=lib.float64)) ** 2).sum()


def _step_scenario(lib, optimizer="SGD"):
    w, log = _model(lib), []
    opt = getattr(lib.optim, optimizer)([w], lr=0.05)
    opt.register_step_pre_hook(lambda o, args, kwargs: log.append(("pre", len(args), list(kwargs))))
    h = opt.register_step_post_hook(lambda o, args, kwargs: log.append("post"))

    def closure():
        opt.zero_grad()
        loss = _loss(lib, w)
        loss.backward()
        log.append("closure")
        return loss

    loss = opt.step(closure)
    h.remove()
    opt.step(closure=closure)
    return log, float(loss.detach()), np.asarray(w.detach().tolist())


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "LBFGS"])
def test_step_hooks_match_pytorch(optimizer):
    torch = pytest.importorskip("torch")
    ours, theirs = _step_scenario(cr, optimizer), _step_scenario(torch, optimizer)
    assert ours[0] == theirs[0]
    assert ours[0][0] == ("pre", 2, [])  # args: (optimizer, closure), as PyTorch's
    assert ours[1] == pytest.approx(theirs[1], rel=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-10)


def _replacing(lib):
    w = _model(lib)
    opt = lib.optim.SGD([w], lr=0.1)
    calls = []

    def counting_closure():
        calls.append(1)
        opt.zero_grad()
        loss = _loss(lib, w)
        loss.backward()
        return loss

    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": counting_closure}))
    out = opt.step()  # the hook hands step a closure
    return len(calls), float(out.detach())


def test_pre_hook_may_replace_the_arguments_as_pytorch():
    torch = pytest.importorskip("torch")
    assert _replacing(cr) == pytest.approx(_replacing(torch))


def _custom(lib):
    class SignSGD(lib.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            with lib.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.add_(p.grad.sign(), alpha=-group["lr"])

    w, log = _model(lib), []
    opt = SignSGD([w], lr=0.5)
    opt.register_step_pre_hook(lambda o, a, k: log.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: log.append("post"))
    _loss(lib, w).backward()
    opt.step()
    return log, np.asarray(w.detach().tolist())


def test_hand_written_optimizer_step_runs_the_hooks_as_pytorch():
    torch = pytest.importorskip("torch")
    (clog, cw), (tlog, tw) = _custom(cr), _custom(torch)
    assert clog == tlog == ["pre", "post"]
    np.testing.assert_array_equal(cw, tw)


def test_subclass_calling_super_step_runs_hooks_once():
    class Logged(cr.optim.SGD):
        def step(self, closure=None):
            self.calls = getattr(self, "calls", 0) + 1
            return super().step(closure)

    w = _model(cr)
    opt, log = Logged([w], lr=0.1), []
    opt.register_step_pre_hook(lambda o, a, k: log.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: log.append("post"))
    _loss(cr, w).backward()
    opt.step()
    assert log == ["pre", "post"] and opt.calls == 1


def _state_scenario(lib):
    w = _model(lib)
    opt = lib.optim.Adam([w], lr=0.01)
    _loss(lib, w).backward()
    opt.step()
    log = []
    opt.register_state_dict_pre_hook(lambda o: log.append("sd-pre"))
    opt.register_state_dict_post_hook(lambda o, sd: log.append(("sd-post", sorted(sd))))

    def tag(o, sd):
        sd["tag"] = 1  # edited in place

    opt.register_state_dict_post_hook(tag)
    opt.register_state_dict_post_hook(lambda o, sd: log.append("first"), prepend=True)
    sd = opt.state_dict()
    assert sd.pop("tag") == 1
    other = lib.optim.Adam([_model(lib)], lr=0.5)

    def halve_lr(o, state):
        log.append(("load-pre", sorted(state)))
        state["param_groups"] = [dict(g, lr=g["lr"] / 2) for g in state["param_groups"]]

    other.register_load_state_dict_pre_hook(halve_lr)
    other.register_load_state_dict_post_hook(lambda o: log.append("load-post"))
    given = dict(sd)
    other.load_state_dict(given)
    assert given["param_groups"][0]["lr"] == 0.01  # the hook edited a copy
    return log, other.param_groups[0]["lr"]


def test_state_dict_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _state_scenario(cr), _state_scenario(torch)
    assert ours == theirs
    assert ours[0][:2] == ["sd-pre", "first"] and ours[1] == 0.005


@pytest.mark.kernel_free
def test_post_hook_may_return_a_new_state_dict():
    opt = cr.optim.SGD([_model(cr)], lr=0.1)
    opt.register_state_dict_post_hook(lambda o, sd: {"replaced": True})
    assert opt.state_dict() == {"replaced": True}


@pytest.mark.kernel_free
def test_bad_hooks_and_results():
    opt = cr.optim.SGD([_model(cr)], lr=0.1)
    with pytest.raises(TypeError, match="a hook must be callable, got str"):
        opt.register_step_pre_hook("hook")
    with pytest.raises(TypeError, match="prepend must be True or False"):
        opt.register_state_dict_pre_hook(lambda o: None, prepend="yes")
    opt.register_step_pre_hook(lambda o, a, k: "nonsense")
    with pytest.raises(RuntimeError, match=r"must return None or \(args, kwargs\), got str"):
        opt.step()
