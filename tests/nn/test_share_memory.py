"""``share_memory_()``/``Module.share_memory()``: parameters that forked workers update in
place, Hogwild-style (pytorch/examples mnist_hogwild), are seen by the parent. Before, both
returned the tensor unchanged, so forked workers silently trained copies."""

import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.multiprocessing as mp  # torch.multiprocessing's names, as mnist_hogwild imports

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork start method (Linux)")


def _worker(model, rank):
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x = cr.tensor(np.full((4, 3), rank + 1.0, np.float32))
    model(x).sum().backward()
    opt.step()


@pytest.mark.kernel_free
def test_forked_workers_update_the_parents_parameters():
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 2)
    assert not model.weight.is_shared()
    model.share_memory()
    assert model.weight.is_shared() and model.bias.is_shared()
    before = model.weight.detach().numpy().copy()
    bias = model.bias.detach().numpy().copy()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(model, r)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    # each worker took one SGD step: -0.1 * 4 * (rank + 1) on every weight entry (a batch of 4
    # rows of rank + 1), -0.1 * 4 on every bias entry
    np.testing.assert_allclose(model.weight.detach().numpy(), before - 0.4 - 0.8, rtol=1e-6)
    np.testing.assert_allclose(model.bias.detach().numpy(), bias - 0.4 - 0.4, rtol=1e-6)
    assert model.weight.grad is None  # the gradients stayed in the workers


def test_share_memory_keeps_values_dtype_and_training():
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4))
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    assert model.share_memory() is model
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), state[k])
        assert v.dtype == state[k].dtype and v.is_shared()
    out = model(cr.randn(5, 3))
    out.sum().backward()
    cr.optim.Adam(model.parameters()).step()      # in place, into the shared memory
    assert model[0].weight.is_shared() and not model[0].weight._data.flags.writeable
    t = cr.arange(6.0).reshape(2, 3)
    assert t.share_memory_() is t and t.is_shared() and t.tolist() == [[0, 1, 2], [3, 4, 5]]
    t.add_(1)
    assert t.tolist() == [[1, 2, 3], [4, 5, 6]]
