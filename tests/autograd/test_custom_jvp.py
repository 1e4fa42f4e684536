"""A custom Function that writes only ``jvp`` (PyTorch's forward-mode tutorial): its tangents
in ``forward_ad`` and ``func.jvp`` match PyTorch's, and its backward is the jvp's transpose."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def _functions(lib):
    class Scale(lib.autograd.Function):
        """y = exp(a) * b, its jvp reading (and freeing) what forward left on ctx."""

        @staticmethod
        def forward(ctx, a, k, b):
            result = lib.exp(a) * b
            ctx.ea, ctx.b, ctx.k = lib.exp(a), b, k
            return result, a * k

        @staticmethod
        def jvp(ctx, ta, _tk, tb):
            out = (ta * ctx.ea * ctx.b + ctx.ea * tb, ta * ctx.k)
            del ctx.ea, ctx.b
            return out

    return Scale


def _tangents(lib, a, b, ta, tb):
    fwAD = lib.autograd.forward_ad
    Scale = _functions(lib)
    with fwAD.dual_level():
        y, z = Scale.apply(fwAD.make_dual(a, ta), 3.0, fwAD.make_dual(b, tb))
        return [fwAD.unpack_dual(t).tangent.detach().numpy().copy() for t in (y, z)]


def test_jvp_only_function_tangents_match_pytorch():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 4)) for _ in range(4)]
    ours = _tangents(chainrule, *(chainrule.tensor(v) for v in arrays))
    theirs = _tangents(torch, *(torch.tensor(v) for v in arrays))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-13, atol=1e-14)
    # PyTorch's func.jvp wants the setup_context form; chainrule's agrees with forward_ad
    def fn(a, b):
        return _functions(chainrule).apply(a, 3.0, b)[0]

    _, tangent = chainrule.func.jvp(fn, tuple(chainrule.tensor(v) for v in arrays[:2]),
                                    tuple(chainrule.tensor(v) for v in arrays[2:]))
    np.testing.assert_allclose(tangent.numpy(), theirs[0], rtol=1e-13, atol=1e-14)


def test_jvp_only_function_backward_is_the_transpose_and_runs_jvp_once():
    rng = np.random.default_rng(1)
    a = chainrule.tensor(rng.standard_normal(5), requires_grad=True)
    b = chainrule.tensor(rng.standard_normal(5), requires_grad=True)
    y, z = _functions(chainrule).apply(a, 3.0, b)
    u, w = rng.standard_normal(5), rng.standard_normal(5)
    ga, gb = chainrule.autograd.grad((y * chainrule.tensor(u)).sum() + (z * chainrule.tensor(w))
                                     .sum(), (a, b), retain_graph=True)
    ea = np.exp(a.detach().numpy())
    np.testing.assert_allclose(ga.numpy(), u * ea * b.detach().numpy() + 3.0 * w, rtol=1e-13)
    np.testing.assert_allclose(gb.numpy(), u * ea, rtol=1e-13)
    again = chainrule.autograd.grad(y.sum(), a)[0]  # the jvp freed ctx: its graph is reused
    np.testing.assert_allclose(again.numpy(), ea * b.detach().numpy(), rtol=1e-13)
    assert chainrule.autograd.gradcheck(lambda a, b: _functions(chainrule).apply(a, 3.0, b),
                                        (a, b), check_forward_ad=True)
