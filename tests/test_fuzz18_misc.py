"""Eighteenth fuzz wave, small strictness gaps: a class ``weight`` of another dtype than the input
(cross_entropy with labels, nll_loss, multi_margin_loss) was silently cast where PyTorch raises;
Poisson.sample with a rate past NumPy's limit raised NumPy's bare "lam value too large" (PyTorch
returns wrapped int64 counts); checkpoint with use_reentrant=None stays silent (documented)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule.utils.checkpoint import checkpoint  # noqa: E402

from ._case_loop import each_case, grid  # noqa: E402

rng = np.random.default_rng(1818)
Z, T = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
_LOSSES = {
    "cross_entropy": lambda f, z, t, w: f.cross_entropy(z, t, weight=w),
    "cross_entropy_smoothed": lambda f, z, t, w: f.cross_entropy(
        z, t, weight=w, label_smoothing=0.2
    ),
    "nll_loss": lambda f, z, t, w: f.nll_loss(z, t, weight=w, reduction="none"),
    "multi_margin_loss": lambda f, z, t, w: f.multi_margin_loss(z, t, weight=w),
}


def _a_class_weight_of_another_dtype_is_refused_as_pytorch_case(name, xd, wd):
    fn, w = _LOSSES[name], np.array([0.5, 2.0, 1.0])
    with pytest.raises(RuntimeError, match="expected scalar type"):
        fn(
            torch.nn.functional,
            torch.tensor(Z.astype(xd)),
            torch.tensor(T),
            torch.tensor(w.astype(wd)),
        )
    with pytest.raises(TypeError, match=f"weight has dtype {wd} but input has dtype {xd}"):
        fn(F, cr.tensor(Z.astype(xd)), cr.tensor(T), cr.tensor(w.astype(wd)))


def test_a_class_weight_of_another_dtype_is_refused_as_pytorch():
    each_case(_a_class_weight_of_another_dtype_is_refused_as_pytorch_case, grid(
        ("name", sorted(_LOSSES)),
        ("xd, wd", [("float64", "float32"), ("float32", "float64"), ("float32", "int64")]),
    ))


@pytest.mark.parametrize("name", sorted(_LOSSES))
def test_a_class_weight_of_the_input_dtype_or_a_list_matches_pytorch(name):
    fn, w = _LOSSES[name], [0.5, 2.0, 1.0]
    for xd in ("float32", "float64"):
        want = fn(
            torch.nn.functional,
            torch.tensor(Z.astype(xd)),
            torch.tensor(T),
            torch.tensor(w, dtype=getattr(torch, xd)),
        )
        for wc in (cr.tensor(np.array(w, dtype=xd)), w):
            got = fn(F, cr.tensor(Z.astype(xd)), cr.tensor(T), wc)
            assert got.dtype == np.dtype(xd)
            np.testing.assert_allclose(
                got.numpy(), want.numpy(), rtol=1e-6 if xd == "float32" else 1e-13
            )


def test_cross_entropy_with_probabilities_takes_any_weight_dtype_and_modules_refuse():
    p = rng.dirichlet(np.ones(3), size=4)
    want = torch.nn.functional.cross_entropy(
        torch.tensor(Z), torch.tensor(p), weight=torch.tensor([0.5, 2.0, 1.0]).float()
    )
    got = F.cross_entropy(cr.tensor(Z), cr.tensor(p), weight=cr.tensor([0.5, 2.0, 1.0]))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13)
    for mod in (cr.nn.CrossEntropyLoss, cr.nn.NLLLoss, cr.nn.MultiMarginLoss):
        loss = mod(weight=cr.tensor([0.5, 2.0, 1.0]))  # float32
        with pytest.raises(TypeError, match="weight has dtype float32 but input has dtype float64"):
            loss(cr.tensor(Z), cr.tensor(T))


@pytest.mark.parametrize("rate", [1e19, float("inf"), float("nan")])
def test_poisson_sample_past_the_int64_range_raises_naming_rate(rate):
    d = cr.distributions.Poisson(cr.tensor([2.0, rate], dtype="float64"), validate_args=False)
    with pytest.raises(ValueError, match=r"Poisson.sample: rate must be a number in \[0, 9.2"):
        d.sample((2,))
    near = cr.distributions.Poisson(cr.tensor([9.2e18], dtype="float64")).sample((3,))
    assert np.all(np.abs(near.numpy() - 9.2e18) < 1e12)


def test_checkpoint_without_use_reentrant_is_silent_where_pytorch_warns():
    x = torch.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        torch.utils.checkpoint.checkpoint(torch.sin, x)
    a = cr.tensor(x.detach().numpy(), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoint(cr.sin, a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.cos(x.detach().numpy()), rtol=1e-6)
