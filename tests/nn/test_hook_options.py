"""Forward-hook options as PyTorch's: with_kwargs, prepend, always_call; prepend for backward
hooks. Each scenario runs in both libraries and records the same calls."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _scaled(lib):
    class Scaled(lib.nn.Module):
        def forward(self, x, scale=1.0):
            if scale < 0:
                raise ValueError("negative scale")
            return x * scale

    return Scaled()


def _run_scenario(lib):
    m, log = _scaled(lib), []
    m.register_forward_pre_hook(lambda mod, args: log.append("pre-a"))
    m.register_forward_pre_hook(lambda mod, args: log.append("pre-b"), prepend=True)

    def pre_kw(mod, args, kwargs):
        log.append(("pre-kw", sorted(kwargs)))
        return args, {**kwargs, "scale": kwargs.get("scale", 1.0) * 2}

    m.register_forward_pre_hook(pre_kw, with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: log.append("post-a"))

    def post_kw(mod, args, kwargs, out):
        log.append(("post-kw", kwargs["scale"]))
        return out + 1

    m.register_forward_hook(post_kw, with_kwargs=True, prepend=True)
    out = m(lib.ones(2), scale=3.0)
    return log, np.asarray(out.tolist())


@pytest.mark.kernel_free
def test_with_kwargs_and_prepend_match_pytorch():
    torch = pytest.importorskip("torch")
    tlog, tout = _run_scenario(torch)
    clog, cout = _run_scenario(cr)
    assert clog == tlog == ["pre-b", "pre-a", ("pre-kw", ["scale"]), ("post-kw", 6.0), "post-a"]
    np.testing.assert_array_equal(cout, tout)


def _failing(lib):
    m, log = _scaled(lib), []
    m.register_forward_hook(lambda mod, args, out: log.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda mod, args, out: log.append("plain"))
    m.register_forward_hook(lambda mod, args, kw, out: log.append(("always-kw", kw, out)),
                            with_kwargs=True, always_call=True)
    with pytest.raises(ValueError, match="negative scale"):
        m(lib.ones(1), scale=-1.0)
    return log


@pytest.mark.kernel_free
def test_always_call_runs_when_forward_raises_as_pytorch():
    torch = pytest.importorskip("torch")
    assert _failing(cr) == _failing(torch) == [("always", None),
                                               ("always-kw", {"scale": -1.0}, None)]


@pytest.mark.kernel_free
def test_always_call_hook_error_is_a_warning_and_forward_error_wins():
    m = _scaled(cr)

    def broken(mod, args, out):
        raise KeyError("hook bug")

    m.register_forward_hook(broken, always_call=True)
    with pytest.warns(UserWarning, match="always_call=True raised KeyError"):
        with pytest.raises(ValueError, match="negative scale"):
            m(cr.ones(1), scale=-2.0)


@pytest.mark.kernel_free
def test_bad_pre_hook_result_and_flag_types():
    m = _scaled(cr)
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args,), with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"must return None or \(args, kwargs\)"):
        m(cr.ones(1))
    with pytest.raises(TypeError, match="prepend must be True or False, got 1"):
        nn.Linear(1, 1).register_forward_hook(lambda *a: None, prepend=1)


@pytest.mark.kernel_free
def test_removed_hooks_keep_order_of_the_rest():
    m, log = _scaled(cr), []
    h1 = m.register_forward_hook(lambda mod, a, o: log.append(1))
    m.register_forward_hook(lambda mod, a, o: log.append(2))
    h3 = m.register_forward_hook(lambda mod, a, o: log.append(3), prepend=True)
    m(cr.ones(1))
    h1.remove()
    m(cr.ones(1))
    h3.remove()
    m(cr.ones(1))
    assert log == [3, 1, 2, 3, 2, 2]


def _backward_order(lib):
    lin, log = lib.nn.Linear(2, 1), []
    lin.register_full_backward_hook(lambda m, gi, go: log.append("a"))
    lin.register_full_backward_hook(lambda m, gi, go: log.append("b"), prepend=True)
    lin.register_full_backward_pre_hook(lambda m, go: log.append("pa"))
    lin.register_full_backward_pre_hook(lambda m, go: log.append("pb"), prepend=True)
    x = lib.ones(3, 2, requires_grad=True)
    lin(x).sum().backward()
    return log


def test_backward_hook_prepend_matches_pytorch():
    torch = pytest.importorskip("torch")
    assert _backward_order(cr) == _backward_order(torch) == ["pb", "pa", "b", "a"]
