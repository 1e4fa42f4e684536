"""F.bilinear and nn.Bilinear against PyTorch (values, gradients, weight layout)."""

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

from ._torch_compare import compare

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.mark.parametrize("lead", [(), (4,), (2, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(rng, lead, bias):
    arrays = [rng.standard_normal(lead + (3,)), rng.standard_normal(lead + (2,)),
              rng.standard_normal((5, 3, 2))] + ([rng.standard_normal(5)] if bias else [])
    compare(F.bilinear, TF.bilinear, arrays, rng)
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    assert cr.gradcheck(F.bilinear, ours)
    assert cr.gradgradcheck(F.bilinear, ours)


def test_bilinear_module_loads_torchs_weights(rng):
    theirs = torch.nn.Bilinear(3, 2, 4).double()
    ours = nn.Bilinear(3, 2, 4, dtype=np.float64)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    compare(ours, theirs, [rng.standard_normal((5, 3)), rng.standard_normal((5, 2))], rng)
    assert repr(ours) == repr(theirs)
    assert list(inspect.signature(nn.Bilinear).parameters)[:4] == \
        list(inspect.signature(torch.nn.Bilinear).parameters)[:4]
    w = nn.Bilinear(16, 2, 3, rng=np.random.default_rng(0)).weight.numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= 0.25  # U(-1/sqrt(in1), 1/sqrt(in1))
    assert nn.Bilinear(2, 2, 2, bias=False).bias is None


@pytest.mark.kernel_free
@pytest.mark.parametrize("call, match", [
    (lambda: F.bilinear(cr.ones((4, 3)), cr.ones((5, 2)), cr.ones((5, 3, 2))),
     r"\(\*, 3\) and \(\*, 2\).*got \(4, 3\) and \(5, 2\)"),
    (lambda: F.bilinear(cr.ones((4, 3)), cr.ones((4, 2)), cr.ones((3, 2))),
     r"weight must be 3-D \(out, in1, in2\), got shape \(3, 2\)"),
    (lambda: F.bilinear(cr.ones((4, 3)), cr.ones((4, 2)), cr.ones((5, 3, 2)), cr.ones(4)),
     r"bias must have shape \(5,\), got \(4,\)"),
])
def test_bad_shapes_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
