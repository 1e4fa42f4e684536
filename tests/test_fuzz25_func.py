"""Fuzz wave 25: chainrule.func against torch.func (PyTorch 2.13): containers of the pytrees."""

import warnings
from collections import OrderedDict, defaultdict

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_dict_subclasses_come_back_as_themselves():
    y = np.array([0.5, -1.0, 2.0])

    def loss(lib):
        return lambda d: (d["a"] * d["b"].sin()).sum()

    t = torch.func.grad(loss(torch))(OrderedDict(a=torch.tensor(y), b=torch.tensor(2 * y)))
    c = cr.func.grad(loss(cr))(OrderedDict(a=cr.tensor(y), b=cr.tensor(2 * y)))
    assert type(t) is type(c) is OrderedDict and list(c) == ["a", "b"]
    for k in t:
        np.testing.assert_allclose(c[k].numpy(), t[k].numpy(), rtol=1e-12)
    out = cr.func.vmap(lambda r: defaultdict(list, o=r * 2))(cr.tensor(np.ones((2, 3))))
    assert type(out) is defaultdict and out.default_factory is list
    assert out["o"].tolist() == [[2.0] * 3] * 2


def test_vmap_returns_a_shape_with_out_dims_none():
    x = np.arange(6.0).reshape(2, 3)
    t = torch.func.vmap(lambda r: (r * 2, r.shape), out_dims=(0, None))(torch.tensor(x))
    c = cr.func.vmap(lambda r: (r * 2, r.shape), out_dims=(0, None))(cr.tensor(x))  # TypeError
    assert tuple(c[1]) == tuple(t[1]) == (3,)
    np.testing.assert_allclose(c[0].numpy(), t[0].numpy())


def test_jvp_tangents_of_the_other_complexity():
    x = np.array([1.0, 2.0])

    def f(a):
        return a * a, a.sum() * 2

    # both raised "grad of dtype ... for an output of dtype ..." inside the engine
    for p, t in ((x + 1j, x), (x, x + 1j)):
        with warnings.catch_warnings():  # PyTorch's forward mode warns about torch.jit.script
            warnings.simplefilter("ignore", DeprecationWarning)
            tt = torch.func.jvp(f, (torch.tensor(p),), (torch.tensor(t),))
        ct = cr.func.jvp(f, (cr.tensor(p),), (cr.tensor(t),))
        for a, b in zip(tt[1] + tt[0], ct[1] + ct[0]):
            assert str(b.dtype) == str(a.dtype).split(".")[-1]
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12)
    out, jv, aux = cr.func.jvp(lambda a: (a.sin(), {"k": a}), (cr.tensor(x),),
                               (cr.tensor(x + 1j),), has_aux=True)
    np.testing.assert_allclose(jv.numpy(), np.cos(x) * (x + 1j), rtol=1e-12)
    assert aux["k"].tolist() == x.tolist() and out.dtype == np.float64
