"""``chainrule.nn.functional.pad`` takes PyTorch's flat ``pad`` tuple (last axis first);
``chainrule.functional.pad`` keeps NumPy's ``pad_width``."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling

from .._case_loop import each_case, grid, with_rng

CASES = [
    ((2, 3), (1, 2), "constant"),
    ((1, 2, 5, 6), (1, 1, 2, 0), "reflect"),
    ((2, 3, 4), (0, 2, 1, 1), "replicate"),
    ((2, 3, 4), (1, 2, 1, 1, 0, 1), "constant"),
    ((3, 5), (2, 3), "reflect"),
    ((1, 2, 5, 6), (1, 3, 2, 5), "circular"),
    ((2, 3, 4), (4, 0, 0, 3), "circular"),
]


def _pad_pads_the_last_axes_first_as_in_torch_case(shape, pad, mode, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, want = F.pad(ours, pad, mode), torch.nn.functional.pad(theirs, pad, mode)
    assert y.shape == tuple(want.shape)
    np.testing.assert_array_equal(y.numpy(), want.detach().numpy())
    g = rng.standard_normal(y.shape)
    (y * cr.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_pad_pads_the_last_axes_first_as_in_torch():
    each_case(with_rng(_pad_pads_the_last_axes_first_as_in_torch_case), grid(
        ("shape, pad, mode", CASES),
    ))


def test_pad_values_and_gradients():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(F.pad(x, (1, 2), value=-1.0).numpy(),
                                  [[-1, 0, 1, 2, -1, -1], [-1, 3, 4, 5, -1, -1]])
    np.testing.assert_array_equal(F.pad(x, (0, 0, 1, 0)).numpy(), [[0, 0, 0], [0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(F.pad(x, (1, 1), "replicate").numpy()[0], [0, 0, 1, 2, 2])
    t = cr.tensor(np.random.default_rng(0).standard_normal((2, 4)), requires_grad=True)
    assert cr.gradcheck(lambda t: F.pad(t, (2, 1), "reflect"), (t,))
    assert cr.gradgradcheck(lambda t: F.pad(t, (2, 1), "reflect"), (t,))
    # chainrule.functional keeps NumPy's convention: (1, 2) for every axis.
    assert cr.functional.pad(x, (1, 2)).shape == (5, 6)


@pytest.mark.kernel_free
@pytest.mark.parametrize("pad, mode, match", [
    ((1,), "constant", "even number"),
    ((1, 1, 1, 1, 1, 1), "constant", "pads 3 axes"),
    ((1, -4), "constant", r"pads \(1, -4\) crop 4 entries from axis 1 of size 3"),
    ((0, -3), "replicate", r"crop 3 entries from axis 1 of size 3 \(after padding; at least"),
    ((4, 0), "circular", r"circular padding \(4, 0\) wraps around axis 1 of size 3 more than"),
    ((1, 1), "reflect-ish", "mode"),
])
def test_pad_rejects_what_it_cannot_do(pad, mode, match):
    with pytest.raises(ValueError, match=match):
        F.pad(cr.zeros((2, 3)), pad, mode)
    with pytest.raises(ValueError, match="value"):
        F.pad(cr.zeros((2, 3)), (1, 1), "reflect", value=2.0)
