"""nn.Parameter of part of another Parameter (nanoGPT's crop_block_size:
``wpe.weight = nn.Parameter(wpe.weight[:block_size])``; ``nn.Parameter(w.t())``): it shares that
memory, as PyTorch's does, and trains. Before, it was a ValueError (a read-only array)."""

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _crop_and_train(lib):
    nn = lib.nn
    wpe = nn.Embedding(8, 3).double()
    with lib.no_grad():
        wpe.weight.copy_(lib.tensor(np.linspace(-1, 1, 24).reshape(8, 3)))
    old = wpe.weight
    wpe.weight = nn.Parameter(wpe.weight[:4])
    leaf = (wpe.weight.is_leaf, wpe.weight.requires_grad, tuple(wpe.weight.shape))
    optimizer = lib.optim.SGD(wpe.parameters(), lr=0.5)
    loss = (wpe(lib.tensor([0, 3, 3])) ** 2).sum()
    loss.backward()
    optimizer.step()
    with lib.no_grad():
        tied = nn.Parameter(old.t())
        tied[0, 7] = 5.0  # a write through the transposed parameter
    return leaf, wpe.weight.detach().numpy().copy(), old.detach().numpy().copy(), \
        wpe.weight.grad.numpy().copy()


def test_parameter_of_a_slice_shares_memory_and_trains_as_pytorchs():
    ours, theirs = _crop_and_train(chainrule), _crop_and_train(torch)
    assert ours[0] == theirs[0] == (True, True, (4, 3))
    for a, b in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    # the step on the cropped parameter reached the first rows of the original, the write
    # through the transpose its last row
    np.testing.assert_array_equal(ours[2][:4], ours[1])
    assert ours[2][7, 0] == 5.0


@pytest.mark.kernel_free
def test_parameter_of_a_read_only_array_that_is_no_parameter_is_still_refused():
    a = np.arange(4.0)
    a.flags.writeable = False
    with pytest.raises(ValueError, match=r"the array of shape \(2,\) is read-only"):
        chainrule.nn.Parameter(a[:2])
