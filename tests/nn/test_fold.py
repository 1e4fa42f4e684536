"""F.unfold/F.fold and nn.Unfold/nn.Fold (im2col and its adjoint) against PyTorch."""

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

from ._torch_compare import compare

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SETTINGS = [
    dict(kernel_size=2),
    dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
    dict(kernel_size=3, padding=(2, 0), stride=2),
]


@pytest.mark.parametrize("kw", SETTINGS)
@pytest.mark.parametrize("batched", [True, False])
def test_unfold_and_fold_match_torch(rng, kw, batched):
    shape = (2, 3, 5, 6) if batched else (3, 5, 6)
    cols = compare(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw),
                   [rng.standard_normal(shape)], rng)
    compare(lambda a: F.fold(a, (5, 6), **kw), lambda a: TF.fold(a, (5, 6), **kw),
            [rng.standard_normal(cols.shape)], rng)
    compare(nn.Unfold(**kw), torch.nn.Unfold(**kw), [rng.standard_normal(shape)], rng)
    compare(nn.Fold((5, 6), **kw), torch.nn.Fold((5, 6), **kw), [rng.standard_normal(cols.shape)],
            rng)


@pytest.mark.parametrize("kw", SETTINGS[1:])
def test_unfold_and_fold_gradcheck(rng, kw):
    x = cr.tensor(rng.standard_normal((1, 2, 5, 6)), requires_grad=True)
    assert cr.gradcheck(lambda a: F.unfold(a, **kw), [x])
    assert cr.gradgradcheck(lambda a: F.unfold(a, **kw) ** 2, [x])
    c = cr.tensor(rng.standard_normal(F.unfold(x, **kw).shape), requires_grad=True)
    assert cr.gradcheck(lambda a: F.fold(a, (5, 6), **kw), [c])
    assert cr.gradgradcheck(lambda a: F.fold(a, (5, 6), **kw) ** 2, [c])


@pytest.mark.kernel_free
def test_signatures_and_repr_follow_pytorch():
    for name in ("unfold", "fold"):
        assert list(inspect.signature(getattr(F, name)).parameters) == \
            list(inspect.signature(getattr(TF, name)).parameters)
    for name in ("Unfold", "Fold"):
        assert list(inspect.signature(getattr(nn, name)).parameters) == \
            list(inspect.signature(getattr(torch.nn, name)).parameters)
    assert repr(nn.Unfold(2, padding=1)) == repr(torch.nn.Unfold(2, padding=1))
    assert repr(nn.Fold((4, 4), 2)) == repr(torch.nn.Fold((4, 4), 2))


@pytest.mark.kernel_free
@pytest.mark.parametrize("call, match", [
    (lambda: F.unfold(cr.tensor(np.zeros((2, 3))), 2), r"3-D or 4-D \(batched\), got shape"),
    (lambda: F.unfold(cr.tensor(np.zeros((1, 1, 3, 3))), 4), r"does not fit spatial size \(3, 3\)"),
    (lambda: F.unfold(cr.tensor(np.zeros((1, 1, 3, 3))), 2, stride=0), "stride must be"),
    (lambda: F.fold(cr.tensor(np.zeros((1, 5, 4))), (3, 3), 2),
     r"input of shape \(1, 5, 4\) does not match kernel_size \(2, 2\)"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
