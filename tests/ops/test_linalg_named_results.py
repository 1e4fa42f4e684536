"""``linalg.eigh``, ``linalg.eig``, ``geqrf`` and ``Tensor.slogdet`` return PyTorch's named
tuples: programs read ``.eigenvalues``/``.eigenvectors`` (PCA, whitening), ``.a``/``.tau`` and
``.sign``/``.logabsdet`` by name; the values and gradients are unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _spd(seed=0, n=4):
    a = np.random.default_rng(seed).standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name, fields, make", [
    ("eigh", ("eigenvalues", "eigenvectors"), lambda lib, a: lib.linalg.eigh(a)),
    ("eig", ("eigenvalues", "eigenvectors"), lambda lib, a: lib.linalg.eig(a)),
    ("geqrf", ("a", "tau"), lambda lib, a: lib.geqrf(a)),
    ("Tensor.slogdet", ("sign", "logabsdet"), lambda lib, a: a.slogdet()),
])
def test_named_fields_match_pytorch(name, fields, make):
    a = _spd()
    ours, theirs = make(chainrule, chainrule.tensor(a)), make(torch, torch.tensor(a))
    assert ours._fields == fields and all(hasattr(theirs, f) for f in fields)
    for f in fields:
        o, t = getattr(ours, f), getattr(theirs, f)
        if name == "eig":  # eigenvalues' order: compare sorted values and |columns| of V
            o, t = np.sort_complex(o.numpy().ravel()), np.sort_complex(t.numpy().ravel())
            if f == "eigenvectors":
                o, t = np.sort(np.abs(o)), np.sort(np.abs(t))
        elif f == "eigenvectors":  # up to each column's sign
            o, t = np.abs(o.numpy()), np.abs(t.numpy())
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-10, atol=1e-12)


def test_eigh_by_name_keeps_its_gradient():
    a = _spd(1)
    grads = []
    for lib in (chainrule, torch):
        x = lib.tensor(a, requires_grad=True)
        result = lib.linalg.eigh(x)
        (result.eigenvalues.sum() + result.eigenvectors[:, -1].abs().sum()).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-9, atol=1e-11)
