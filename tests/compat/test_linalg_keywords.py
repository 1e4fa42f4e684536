"""``chainrule.linalg`` takes the keyword names PyTorch's ``torch.linalg`` accepts when called
(``det(A=)``, ``solve(A=, B=)``, ``cholesky(input=)``...); they were ``a``, ``b``, ``x``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

M = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
R = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.25]])

CALLS = {
    "det": lambda lib, a, b: lib.linalg.det(A=a),
    "inv": lambda lib, a, b: lib.linalg.inv(A=a),
    "slogdet": lambda lib, a, b: lib.linalg.slogdet(A=a)[1],
    "solve": lambda lib, a, b: lib.linalg.solve(A=a, B=b),
    "solve_left": lambda lib, a, b: lib.linalg.solve(A=a, B=b.mT, left=False),
    "norm": lambda lib, a, b: lib.linalg.norm(input=a, ord=2),
    "cholesky": lambda lib, a, b: lib.linalg.cholesky(input=a, upper=True),
    "eigh": lambda lib, a, b: lib.linalg.eigh(input=a, UPLO="U")[0],
    "eigvalsh": lambda lib, a, b: lib.linalg.eigvalsh(input=a),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CALLS))
def test_pytorchs_keywords_give_pytorchs_values_and_gradients(name):
    outs, grads = [], []
    for lib in (cr, torch):
        a = lib.tensor(M, requires_grad=True)
        b = lib.tensor(R, requires_grad=True)
        out = CALLS[name](lib, a, b)
        (out * lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)))).sum() \
            .backward()
        outs.append(out.detach().numpy())
        grads.append((a.grad.numpy(), None if b.grad is None else b.grad.numpy()))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-8, atol=1e-10)
    if grads[1][1] is not None:
        np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-8, atol=1e-10)


def test_the_old_names_are_gone():
    with pytest.raises(TypeError):
        cr.linalg.det(a=cr.tensor(M))
    with pytest.raises(TypeError):
        cr.linalg.solve(a=cr.tensor(M), b=cr.tensor(R))
