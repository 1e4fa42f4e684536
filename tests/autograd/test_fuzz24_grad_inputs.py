"""Fuzz wave 24: ``autograd.grad``'s and ``autograd.backward``'s arguments as PyTorch 2.13 takes
them. ``inputs`` may be a dict (``dict(model.named_parameters())``): ``grad`` returns a dict
with its keys, ``backward`` accumulates into its values; another Mapping is a TypeError. Both
were refused ('inputs[0] must be a Tensor, got str'). ``only_inputs=False`` is ignored with
PyTorch's FutureWarning (it was a ValueError), ``autograd.backward(grad_variables=)`` is the
deprecated name of ``grad_tensors``, and ``materialize_grads``' zeros require grad under
``create_graph``, as PyTorch's."""

import collections

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

X = np.random.default_rng(24).standard_normal((2, 3))


def _leaves(lib):
    return {name: lib.tensor(X * k, requires_grad=True) for k, name in enumerate("xwu", 1)}


@pytest.mark.parametrize("batched", [False, True])
def test_grad_of_a_dict_of_inputs_is_a_dict(batched):
    results = []
    for lib in (torch, cr):
        t = _leaves(lib)
        y = t["x"] * t["w"]
        go = lib.ones(2, 2, 3, dtype=lib.float64) if batched else lib.ones(2, 3, dtype=lib.float64)
        results.append(lib.autograd.grad(y, t, go, allow_unused=True, is_grads_batched=batched))
    expected, got = results
    assert type(got) is dict and list(got) == list(expected) == ["x", "w", "u"]
    assert got["u"] is None and expected["u"] is None
    for k in "xw":
        np.testing.assert_allclose(got[k].numpy(), expected[k].numpy(), rtol=1e-12)


def test_named_parameters_and_backward_inputs_dict():
    m = cr.nn.Linear(3, 2)
    g = cr.autograd.grad(m(cr.ones(4, 3)).sum(), dict(m.named_parameters()))
    assert list(g) == ["weight", "bias"] and g["bias"].tolist() == [4.0, 4.0]
    for lib in (torch, cr):
        t = _leaves(lib)
        (t["x"] * t["w"]).sum().backward(inputs={"a": t["w"]})
        assert t["x"].grad is None
        np.testing.assert_allclose(t["w"].grad.numpy(), X)


@pytest.mark.parametrize("call", ["grad", "backward"])
def test_other_mappings_are_refused(call):
    for lib in (torch, cr):
        t = _leaves(lib)
        y = (t["x"] * 2).sum()
        inputs = collections.OrderedDict(x=t["x"])
        with pytest.raises(TypeError, match="Other Mapping types are not supported|must be a dict"):
            if call == "grad":
                lib.autograd.grad(y, inputs)
            else:
                y.backward(inputs=inputs)


def test_only_inputs_false_is_ignored_with_a_warning():
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        with pytest.warns(FutureWarning, match="only_inputs argument is deprecated"):
            (g,) = lib.autograd.grad((x * 3).sum(), x, only_inputs=False)
        np.testing.assert_array_equal(g.numpy(), np.full(X.shape, 3.0))


def test_grad_variables_is_grad_tensors_deprecated_name():
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        with pytest.warns(FutureWarning, match="grad_variables"):
            lib.autograd.backward(x * 2, grad_variables=lib.ones(2, 3, dtype=lib.float64))
        np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 2.0))
        with pytest.raises(RuntimeError), pytest.warns(FutureWarning):
            lib.autograd.backward(
                x * 2,
                lib.ones(2, 3, dtype=lib.float64),
                grad_variables=lib.ones(2, 3, dtype=lib.float64),
            )


@pytest.mark.parametrize("create_graph", [False, True])
def test_materialized_zeros_follow_create_graph(create_graph):
    flags = []
    for lib in (torch, cr):
        t = _leaves(lib)
        g = lib.autograd.grad(
            (t["x"] ** 2).sum(), [t["x"], t["w"]], materialize_grads=True, create_graph=create_graph
        )
        flags.append([v.requires_grad for v in g])
    assert flags[1] == flags[0] == [create_graph, create_graph]
