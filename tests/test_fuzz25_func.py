"""Fuzz wave 25: chainrule.func against torch.func (PyTorch 2.13): containers of the pytrees."""

from collections import OrderedDict, defaultdict

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_dict_subclasses_come_back_as_themselves():
    y = np.array([0.5, -1.0, 2.0])
    c = cr.func.grad(lambda d: (d["a"] * d["b"].sin()).sum())(
        OrderedDict(a=cr.tensor(y), b=cr.tensor(2 * y)))
    assert type(c) is OrderedDict and list(c) == ["a", "b"]  # PyTorch's pytrees keep the class
    np.testing.assert_allclose(c["a"].numpy(), np.sin(2 * y), rtol=1e-12)
    np.testing.assert_allclose(c["b"].numpy(), y * np.cos(2 * y), rtol=1e-12)
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

    # both raised "grad of dtype ... for an output of dtype ..." inside the engine; PyTorch's
    # forward mode gives (2 p t, 2 sum(t)), complex (hand-computed: its first call is slow)
    for p, t in ((x + 1j, x), (x, x + 1j)):
        ct = cr.func.jvp(f, (cr.tensor(p),), (cr.tensor(t),))
        for got, want in zip(ct[1], (2 * p * t, 2 * t.sum())):
            assert got.dtype == np.complex128
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    out, jv, aux = cr.func.jvp(lambda a: (a.sin(), {"k": a}), (cr.tensor(x),),
                               (cr.tensor(x + 1j),), has_aux=True)
    np.testing.assert_allclose(jv.numpy(), np.cos(x) * (x + 1j), rtol=1e-12)
    assert aux["k"].tolist() == x.tolist() and out.dtype == np.float64


def test_stack_module_state_names_the_tensor_whose_shapes_differ():
    models = [cr.nn.Linear(2, 2), cr.nn.Linear(3, 2)]  # was "stack: shapes must match"
    with pytest.raises(ValueError, match=r"'weight' has shape \(2, 3\) in models\[1\] and "
                                         r"\(2, 2\) in models\[0\]"):
        cr.func.stack_module_state(models)
    params, _ = cr.func.stack_module_state([cr.nn.Linear(3, 2), cr.nn.Linear(3, 2)])
    assert tuple(params["weight"].shape) == (2, 2, 3)
