"""Fuzz wave 24, small PyTorch behaviours met while checking the utilities against PyTorch 2.13.

What this wave found (fixed): ``nn.Parameter()`` without data was a TypeError (``missing 1
required positional argument: 'data'``); PyTorch's is an empty Parameter of the default dtype
(a placeholder that a later ``.data =`` fills).
"""

from __future__ import annotations

import pytest

import chainrule as cr


@pytest.mark.torch
def test_a_parameter_without_data_is_empty_as_pytorchs():
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        made = [lib.nn.Parameter(), lib.nn.Parameter(requires_grad=False)]
        lib.set_default_dtype(lib.float64)
        try:
            made.append(lib.nn.Parameter())
        finally:
            lib.set_default_dtype(lib.float32)
        seen.append(
            [
                (tuple(p.shape), str(p.dtype).replace("torch.", ""), p.requires_grad, p.is_leaf)
                for p in made
            ]
        )
    assert (
        seen[0]
        == seen[1]
        == [
            ((0,), "float32", True, True),
            ((0,), "float32", False, True),
            ((0,), "float64", True, True),
        ]
    )
    m = cr.nn.Module()
    m.w = cr.nn.Parameter()
    m.w.data = cr.ones(2, 3)
    assert m.w.shape == (2, 3) and isinstance(m.w, cr.nn.Parameter)
    assert [n for n, _ in m.named_parameters()] == ["w"]


@pytest.mark.torch
def test_vector_to_parameters_keeps_the_parameters_dtype():
    """Documented difference: PyTorch's replaces each parameter's ``.data`` with a slice of the
    vector, so a float64 vector turns float32 parameters into float64 ones; chainrule copies."""
    torch = pytest.importorskip("torch")
    ours, theirs = cr.nn.Parameter(cr.zeros(2, 2)), torch.nn.Parameter(torch.zeros(2, 2))
    cr.nn.utils.vector_to_parameters(cr.arange(4, dtype=cr.float64), [ours])
    torch.nn.utils.vector_to_parameters(torch.arange(4, dtype=torch.float64), [theirs])
    assert ours.dtype == cr.float32 and theirs.dtype == torch.float64
    assert ours.tolist() == theirs.tolist() == [[0.0, 1.0], [2.0, 3.0]]


@pytest.mark.torch
def test_stateless_functional_call_warns_as_pytorchs_and_func_does_not():
    """``nn.utils.stateless.functional_call`` ran silently; PyTorch's gives a FutureWarning
    (deprecated since 2.0 for ``torch.func.functional_call``, which stays silent)."""
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        net = lib.nn.Linear(2, 1)
        weights = {"weight": lib.ones(1, 2), "bias": lib.zeros(1)}
        with pytest.warns(
            FutureWarning,
            match=r"^`torch.nn.utils.stateless.functional_call` is "
            r"deprecated as of PyTorch 2.0",
        ):
            out = lib.nn.utils.stateless.functional_call(net, weights, (lib.ones(3, 2),))
        assert out.tolist() == lib.func.functional_call(net, weights, lib.ones(3, 2)).tolist()


@pytest.mark.torch
def test_the_hook_based_weight_norm_warns_as_pytorchs():
    """``nn.utils.weight_norm`` ran silently; PyTorch's gives a FutureWarning pointing to
    ``parametrizations.weight_norm`` (which stays silent)."""
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        with pytest.warns(
            FutureWarning,
            match=r"^`torch.nn.utils.weight_norm` is deprecated in "
            r"favor of `torch.nn.utils.parametrizations",
        ):
            lib.nn.utils.weight_norm(lib.nn.Linear(2, 2))
        lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(2, 2))
