"""ln_structured(n="fro") against torch 2.13: a vector norm for 2-D, a matrix norm for 3-D, and
PyTorch's RuntimeError for more dims (chainrule used to compute the 2-norm there); n="nuc", the
nuclear norm of 3-D parameters' channels (chainrule refused it)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.nn.utils import prune  # noqa: E402

pytestmark = pytest.mark.kernel_free


def _pair(w):
    ours, theirs = nn.Module(), torch.nn.Module()
    ours.weight = nn.Parameter(cr.tensor(w))
    theirs.weight = torch.nn.Parameter(torch.tensor(w))
    return ours, theirs


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (3, 4, 2)])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_fro_masks_match_torch(rng, shape, dim):
    ours, theirs = _pair(rng.standard_normal(shape))
    prune.ln_structured(ours, "weight", 2, "fro", dim)
    tprune.ln_structured(theirs, "weight", 2, "fro", dim)
    np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())


@pytest.mark.parametrize("shape", [(4, 3, 2, 2), (2, 3, 2, 2, 1)])
@pytest.mark.parametrize("amount", [1, 0])
def test_fro_over_three_dims_raises_like_torch_and_rolls_back(rng, shape, amount):
    w = rng.standard_normal(shape)
    ours, theirs = _pair(w)
    with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
        tprune.ln_structured(theirs, "weight", amount, "fro", 0)
    with pytest.raises(RuntimeError, match=r"n='fro'.*4-D|n='fro'.*5-D"):
        prune.ln_structured(ours, "weight", amount, "fro", 0)
    # as in PyTorch, the failed pruning leaves the module as it was
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict()) == ["weight"]
    assert not prune.is_pruned(ours)
    np.testing.assert_array_equal(ours.weight.detach().numpy(), w)
    # n=2 is the same norm and takes any number of dims, in both libraries
    prune.ln_structured(ours, "weight", 1, 2, 0)
    tprune.ln_structured(theirs, "weight", 1, 2, 0)
    np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_nuclear_norm_masks_match_torch_on_3d_and_others_raise_like_torch(rng, dim):
    ours, theirs = _pair(rng.standard_normal((4, 3, 5)))
    prune.ln_structured(ours, "weight", 0.5, "nuc", dim)
    tprune.ln_structured(theirs, "weight", 0.5, "nuc", dim)
    np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())
    for shape in [(4, 3), (2, 3, 2, 2)]:
        ours, theirs = _pair(rng.standard_normal(shape))
        with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
            tprune.ln_structured(theirs, "weight", 1, "nuc", 0)
        with pytest.raises(RuntimeError, match=r"n='nuc' takes a parameter of 3 dims"):
            prune.ln_structured(ours, "weight", 1, "nuc", 0)
        assert not prune.is_pruned(ours)


def test_fro_over_three_dims_raises_when_pruned_again(rng):
    ours, _ = _pair(rng.standard_normal((4, 3, 2, 2)))
    prune.ln_structured(ours, "weight", 1, 2, 0)
    mask = ours.weight_mask.numpy().copy()
    with pytest.raises(RuntimeError, match="n='fro'"):
        prune.ln_structured(ours, "weight", 1, "fro", 1)
    np.testing.assert_array_equal(ours.weight_mask.numpy(), mask)
