"""``torch.empty(size=(2, 3))`` and the like: PyTorch's factories take the shape as the ``size``
keyword too (pyGAT writes ``nn.Parameter(torch.empty(size=(in_features, out_features)))``)."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

FACTORIES = ["empty", "zeros", "ones", "rand", "randn"]


@pytest.mark.parametrize("name", FACTORIES)
def test_size_keyword_gives_the_shape_as_positional_sizes_do(name):
    factory = getattr(cr, name)
    for size in [(2, 3), [4], (), (0, 2)]:
        out = factory(size=size, dtype=cr.float64)
        assert out.shape == tuple(size) and out.dtype == np.float64
    assert factory(size=(2, 3)).shape == factory(2, 3).shape == factory((2, 3)).shape


def test_size_keyword_draws_what_the_positional_form_draws():
    np.testing.assert_array_equal(cr.randn(size=(3, 2), rng=np.random.default_rng(1)).numpy(),
                                  cr.randn(3, 2, rng=np.random.default_rng(1)).numpy())


@pytest.mark.parametrize("name", FACTORIES)
def test_size_given_twice_or_badly_is_refused_by_name(name):
    factory = getattr(cr, name)
    with pytest.raises(TypeError, match=rf"{name}: size given both positionally"):
        factory(2, size=(2, 3))
    with pytest.raises(TypeError, match=rf"{name}: size must be non-negative ints"):
        factory(size=(2, -1))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_size_keyword_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    ours = getattr(cr, name)(size=(2, 3), dtype=cr.int64)
    theirs = getattr(torch, name)(size=(2, 3), dtype=torch.int64)
    assert ours.shape == tuple(theirs.shape)
    if name != "empty":
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
