"""RAdam, NAdam and Adamax update their first moment as PyTorch's ``exp_avg.lerp_(grad,
1 - beta1)`` computes it (wave 25, modoptim): after an inf gradient the moment is nan there, and
PyTorch's RAdam steps its parameter to nan in the steps that do not divide by the second moment;
here the moment stayed inf and RAdam's parameter became -inf."""

import numpy as np
import pytest

import chainrule as cr


def _run(lib, name, kw, grads):
    p = lib.nn.Parameter(lib.tensor(np.array([0.5, -0.5])))
    opt = getattr(lib.optim, name)([p], **kw)
    for g in grads:
        p.grad = lib.tensor(np.array([g, 1.0]))
        opt.step()
    return p.detach().numpy().copy(), opt.state[p]["exp_avg"].numpy().copy()


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("name,kw,grads", [
    ("RAdam", {}, [np.inf, 1.0]),
    ("RAdam", {"betas": (0.5, 0.6), "maximize": True}, [-np.inf]),
    ("NAdam", {}, [1.0, np.inf, 1.0]),
    ("Adamax", {}, [-np.inf, 1.0]),
])
def test_inf_gradient_as_torch(name, kw, grads, reference):
    torch = pytest.importorskip("torch")
    want = _run(torch, name, kw, grads)
    if reference:
        with cr.reference_mode():
            got = _run(cr, name, kw, grads)
    else:
        got = _run(cr, name, kw, grads)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True)
    assert np.isnan(got[0][0])  # not an inf
