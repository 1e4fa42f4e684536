"""Fuzz wave 25: chainrule.func against torch.func (PyTorch 2.13): containers of the pytrees."""

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
