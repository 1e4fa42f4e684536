"""``nn.Parameter(x.expand(...))``: several elements are one memory location (wave 25, modoptim).

Before, the Parameter made that memory writable, and an optimizer's step wrote each location once
per element that shares it, the last write winning: the elements stayed tied and the update was
wrong, silently. PyTorch's step refuses it; here the optimizer refuses it when made, and an
in-place change under ``no_grad`` is refused as for any expand()."""

import numpy as np
import pytest

import chainrule as cr


def test_an_optimizer_refuses_an_expanded_parameter():
    torch = pytest.importorskip("torch")
    tp = torch.nn.Parameter(torch.zeros(1, 3).expand(2, 3))
    tp.grad = torch.ones(2, 3)
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.optim.SGD([tp], lr=0.1).step()
    base = cr.zeros(1, 3)
    p = cr.nn.Parameter(base.expand(2, 3))
    with pytest.raises(RuntimeError, match=r"SGD: params\[0\] is read-only memory .*clone\(\)"):
        cr.optim.SGD([p], lr=0.1)
    with pytest.raises(RuntimeError, match="one memory location"), cr.no_grad():
        p.add_(cr.ones(2, 3))
    assert base.tolist() == [[0.0, 0.0, 0.0]]


def test_an_expanded_parameter_still_reads_and_takes_gradients():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (torch, cr):
        p = lib.nn.Parameter(lib.tensor(np.array([[1.0, 2.0, 3.0]])).expand(2, 3))
        (p * lib.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
        grads.append(p.grad.numpy().tolist())
    assert grads[0] == grads[1] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    frozen = cr.nn.Parameter(cr.ones(1, 2).expand(3, 2), requires_grad=False)
    cr.optim.SGD([frozen, cr.nn.Parameter(cr.ones(2))], lr=0.1).step()  # never written
