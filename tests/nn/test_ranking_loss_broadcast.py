"""margin_ranking_loss, hinge_embedding_loss and cosine_embedding_loss broadcast their arguments
as PyTorch's do (TransE trains with ``MarginRankingLoss(reduction='none')`` and a target of
``tensor([-1])`` against (N,) distances, which chainrule refused): values, shapes, float64
gradients and errors against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck

from .._case_loop import each_case, grid

pytestmark = pytest.mark.kernel_free

F = cr.nn.functional

A = np.array([1.0, 2.5, 3.0, 4.0])
B = np.array([2.0, 1.0, 3.5, 0.0])
M = np.array([[1.0, 2.0], [3.0, -4.0]])

CASES = [
    ("margin_ranking_loss", (A, B), [-1], {"margin": 1.0}),
    ("margin_ranking_loss", (A, [2.0]), [1, -1, 1, -1], {"margin": 0.5}),
    ("margin_ranking_loss", ([2.0], A), [1, -1, 1, -1], {}),
    ("margin_ranking_loss", (A.reshape(4, 1), B.reshape(1, 4)), [[1]], {"margin": 0.25}),
    ("margin_ranking_loss", (A, B), -1, {}),  # PyTorch: ranks must agree
    ("margin_ranking_loss", (A, B[:3]), [1, 1, 1, 1], {}),
    ("hinge_embedding_loss", (A,), [-1], {"margin": 3.0}),
    ("hinge_embedding_loss", (M,), [[1], [-1]], {"margin": 2.0}),
    ("hinge_embedding_loss", ([0.5],), [1, -1, 1], {}),
    ("hinge_embedding_loss", ([0.5, 1.0],), [1, -1, 1], {}),
    ("cosine_embedding_loss", (M, M[::-1] + 0.5), [-1], {"margin": -0.5}),
    ("cosine_embedding_loss", (M, [[0.5, 2.0]]), [1, -1], {}),
    ("cosine_embedding_loss", (M, M + 1), -1, {}),  # a 0-D target wants 1-D inputs
    ("cosine_embedding_loss", (A, B), -1, {}),
]


def _broadcast_as_pytorch_case(name, inputs, target, kw, reduction):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        xs = [lib.tensor(np.asarray(x, dtype=np.float64), requires_grad=True) for x in inputs]
        try:
            out = getattr(lib.nn.functional, name)(*xs, lib.tensor(target), reduction=reduction,
                                                   **kw)
        except (ValueError, RuntimeError) as e:
            results.append(("error", type(e).__name__))
            continue
        out.sum().backward()
        results.append((tuple(out.shape), out.detach().numpy(), [x.grad.numpy() for x in xs]))
    if results[0][0] == "error" or results[1][0] == "error":
        assert results[0][0] == results[1][0] == "error", results
        return
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12, atol=1e-12)
    for g, h in zip(results[0][2], results[1][2]):
        np.testing.assert_allclose(g, h, rtol=1e-12, atol=1e-12)


def test_broadcast_as_pytorch():
    each_case(_broadcast_as_pytorch_case, grid(
        ("reduction", ["none", "sum", "mean"]),
        ("name, inputs, target, kw", CASES),
    ))


@pytest.mark.parametrize("name, inputs, target, kw",
                         [c for i, c in enumerate(CASES) if i not in (4, 5, 9, 12)])  # no errors
def test_broadcast_gradcheck(name, inputs, target, kw):
    rng = np.random.default_rng(5)
    xs = [cr.tensor(np.asarray(x, dtype=np.float64) + rng.uniform(0.05, 0.1, np.shape(x)),
                    requires_grad=True) for x in inputs]
    fn = getattr(F, name)
    assert gradcheck(lambda *t: fn(*t, cr.tensor(target), reduction="sum", **kw), xs)


def test_margin_ranking_loss_rank_error_names_the_shapes():
    with pytest.raises(ValueError, match=r"margin_ranking_loss: input1, input2 and target must "
                                         r"have the same number of dimensions, got shapes \(4,\), "
                                         r"\(4,\) and \(\)"):
        F.margin_ranking_loss(cr.tensor(A), cr.tensor(B), cr.tensor(-1))
    with pytest.raises(ValueError, match=r"input1 shape \(4,\), input2 shape \(3,\), target "
                                         r"shape \(4,\) do not broadcast"):
        F.margin_ranking_loss(cr.tensor(A), cr.tensor(B[:3]), cr.tensor([1, 1, 1, 1]))
