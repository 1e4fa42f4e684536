"""PyTorch's deprecated ``size_average``/``reduce`` (still honoured by PyTorch 2.13, with a
warning): ``F.binary_cross_entropy(recon_x, x, size_average=False)`` (the older VAE example),
``nn.CrossEntropyLoss(reduce=False)``. chainrule refused them as removed; it now reads them as
PyTorch does. Values against PyTorch for each combination."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)
Z, P = R.standard_normal((3, 4)), R.uniform(0.1, 0.9, (3, 4))
T, Y = np.array([0, 3, 1]), np.sign(R.standard_normal(3))
FUNCTIONAL = {
    "cross_entropy": lambda lib: (lib.tensor(Z), lib.tensor(T)),
    "nll_loss": lambda lib: (lib.log_softmax(lib.tensor(Z), 1), lib.tensor(T)),
    "mse_loss": lambda lib: (lib.tensor(Z), lib.tensor(P)),
    "l1_loss": lambda lib: (lib.tensor(Z), lib.tensor(P)),
    "smooth_l1_loss": lambda lib: (lib.tensor(Z), lib.tensor(P)),
    "binary_cross_entropy": lambda lib: (lib.tensor(P), lib.tensor((Z > 0) * 1.0)),
    "binary_cross_entropy_with_logits": lambda lib: (lib.tensor(Z), lib.tensor(P)),
    "kl_div": lambda lib: (lib.log_softmax(lib.tensor(Z), 1), lib.softmax(lib.tensor(P), 1)),
    "soft_margin_loss": lambda lib: (lib.tensor(Z), lib.tensor(np.sign(Z))),
    "hinge_embedding_loss": lambda lib: (lib.tensor(Z[:, 0]), lib.tensor(Y)),
    "multi_margin_loss": lambda lib: (lib.tensor(Z), lib.tensor(T)),
    "poisson_nll_loss": lambda lib: (lib.tensor(Z), lib.tensor(P)),
}
COMBOS = [(False, None), (None, False), (True, True), (False, True), (True, False)]


def _value(lib, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    assert any("size_average and reduce args will be deprecated" in str(w.message)
               for w in caught) or lib is torch
    return out.detach().numpy()


def _functional_losses_read_size_average_and_reduce_as_pytorch_case(name, combo):
    size_average, reduce = combo
    ours, theirs = (_value(lib, lambda lib=lib: getattr(lib.nn.functional, name)(
        *FUNCTIONAL[name](lib), size_average=size_average, reduce=reduce, reduction="mean"))
        for lib in (cr, torch))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_functional_losses_read_size_average_and_reduce_as_pytorch():
    each_case(_functional_losses_read_size_average_and_reduce_as_pytorch_case, grid(
        ("name", sorted(FUNCTIONAL)),
        ("combo", COMBOS, str),
    ))


_LOSS_MODULES_READ_THEM_AS_PYTORCH_NAME_ARGS = [("CrossEntropyLoss", "cross_entropy"),
                                        ("MSELoss", "mse_loss"), ("BCELoss",
                                                                  "binary_cross_entropy"),
                                        ("KLDivLoss", "kl_div"), ("NLLLoss", "nll_loss")]


def _loss_modules_read_them_as_pytorch_case(name, args, combo):
    size_average, reduce = combo
    ours, theirs = (_value(lib, lambda lib=lib: getattr(lib.nn, name)(
        size_average=size_average, reduce=reduce)(*FUNCTIONAL[args](lib)))
        for lib in (cr, torch))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_loss_modules_read_them_as_pytorch():
    each_case(_loss_modules_read_them_as_pytorch_case, grid(
        ("name, args", _LOSS_MODULES_READ_THEM_AS_PYTORCH_NAME_ARGS),
        ("combo", COMBOS, str),
    ))


@pytest.mark.kernel_free
def test_a_value_other_than_a_bool_is_refused():
    with pytest.raises(TypeError, match="size_average must be a bool or None.*'sum'"):
        cr.nn.functional.mse_loss(cr.ones(2), cr.zeros(2), "sum")
    with pytest.raises(TypeError, match="reduce must be a bool or None"):
        cr.nn.MSELoss(None, "none")
