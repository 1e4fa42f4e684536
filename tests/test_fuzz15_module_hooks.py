"""Fuzz wave 15, module backward hooks: register_full_backward_pre_hook and _hook
on modules of several tensor inputs (positional, some not requiring grad) and several outputs
(some unused by the loss, some used twice), an in-place op inside forward, hooks that log,
return scaled replacements or keep the gradients, prepended or not; each run in chainrule and
PyTorch 2.13 and compared: the hooks' calls (order and arguments: None for an output that got
no gradient, zeros for an input that needs none), the gradients, and errors."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _plain(o):
    if o is None or isinstance(o, (bool, int, float, str)):
        return o
    if isinstance(o, (tuple, list)):
        return [_plain(x) for x in o]
    return np.round(o.detach().numpy().astype(np.float64), 9).tolist()


_FORWARDS = [
    lambda a, b: (a * b, a + 1.5),
    lambda a, b: ((a * b).tanh(), b.exp(), a - b),
    lambda a, b: (a.sin() * 2,),
    lambda a, b: (a * b * a,),
    lambda a, b: _inplace(a, b),
]


def _inplace(a, b):
    y = a * b
    y.mul_(2).add_(a)  # in-place on a tensor made inside forward
    return y, b * 3


def _run(lib, seed):
    rng = np.random.default_rng(seed)
    forward = _FORWARDS[seed % len(_FORWARDS)]
    b_needs = bool(rng.random() < 0.7)

    class M(lib.nn.Module):
        def forward(self, a, b):
            return forward(a, b)

    m, log = M(), []
    for i in range(int(rng.integers(1, 4))):
        kind, act, prepend = int(rng.integers(2)), int(rng.integers(3)), bool(rng.random() < 0.3)
        scale = float(rng.uniform(0.5, 2))
        if kind == 0:
            def pre(mod, go, i=i, act=act, scale=scale):
                log.append(("pre", i, _plain(go)))
                if act == 1:
                    return tuple(None if g is None else g * scale for g in go)
                return tuple(go) if act == 2 else None
            m.register_full_backward_pre_hook(pre, prepend=prepend)
        else:
            def post(mod, gi, go, i=i, act=act, scale=scale):
                log.append(("post", i, _plain(gi), _plain(go)))
                if act == 1:
                    return tuple(None if g is None else g * scale for g in gi)
                return tuple(gi) if act == 2 else None
            m.register_full_backward_hook(post, prepend=prepend)
    a = lib.tensor(rng.uniform(-1, 1, 3), requires_grad=True)
    b = lib.tensor(rng.uniform(-1, 1, 3), requires_grad=b_needs)
    outs = m(a, b)
    used = [j for j in range(len(outs)) if rng.random() < 0.7] or [0]
    twice = bool(rng.random() < 0.3)
    loss = sum((outs[j] * float(j + 1)).sum() for j in used)
    if twice:
        loss = loss + (outs[used[0]] ** 2).sum()
    if not loss.requires_grad:  # only outputs of b, which needs no gradient
        return "no backward"
    loss.backward()
    return log, _plain(a.grad), _plain(b.grad) if b_needs else None


@pytest.mark.parametrize("block", range(3))
def test_random_module_backward_hooks_match_pytorch(block):
    for seed in range(block * 50, block * 50 + 50):
        want, got = _run(torch, seed), _run(cr, seed)
        assert got == want, seed


@pytest.mark.parametrize("kind", ["pre", "post"])
def test_a_wrong_number_of_gradients_from_a_module_hook_is_a_runtime_error_as_pytorchs(kind):
    for lib in (cr, torch):
        m = lib.nn.Bilinear(2, 2, 1).double()
        if kind == "pre":
            m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
        else:
            m.register_full_backward_hook(lambda mod, gi, go: (gi[0],))
        x = lib.ones(1, 2, dtype=lib.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="invalid number of grad"):
            m(x, x * 2).sum().backward()
