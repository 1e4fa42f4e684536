"""Call forms of PyTorch that programs still use and chainrule refused: ``torch.where(condition)``
(``nonzero(as_tuple=True)``) and ``scatter(..., reduce="add" | "multiply")``."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free


def test_where_of_a_condition_alone_is_nonzero_as_tuple():
    a = np.array([[1.0, -2.0, 3.0], [0.0, 5.0, -1.0]])
    for cond in (lambda L, t: t > 0, lambda L, t: t):
        ours = cr.where(cond(cr, cr.tensor(a)))
        theirs = torch.where(cond(torch, torch.tensor(a)))
        assert isinstance(ours, tuple) and len(ours) == 2
        assert [o.tolist() for o in ours] == [t.tolist() for t in theirs]
    with pytest.raises(TypeError, match="give both input and other, or neither"):
        cr.where(cr.tensor(a) > 0, cr.tensor(a))


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_matches_pytorch(reduce):
    rng = np.random.default_rng(0)
    x, index = rng.standard_normal((3, 4)), rng.integers(0, 3, (2, 4))
    src = rng.standard_normal((2, 5))
    got = {}
    for L in (cr, torch):
        t = L.tensor(x)
        got[L.__name__] = (t.scatter(0, L.tensor(index), L.tensor(src), reduce=reduce).numpy(),
                           t.clone().scatter_(1, L.tensor(index), 1.5, reduce=reduce).numpy())
    for ours, theirs in zip(got["chainrule"], got["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_scatter_with_reduce_has_a_gradient_and_names_a_bad_reduce():
    """PyTorch has no derivative for scatter with reduce; chainrule's is scatter_add's and
    scatter_reduce("prod")'s."""
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float64, requires_grad=True)
    s = cr.tensor([[0.5, 2.0]], dtype=cr.float64, requires_grad=True)
    index = cr.tensor([[1, 0]])
    for reduce in ("add", "multiply"):
        assert cr.gradcheck(lambda a, b, r=reduce: a.scatter(0, index, b, reduce=r), [x, s])
    with pytest.raises(ValueError, match="reduce must be None, 'add' or 'multiply', got 'mean'"):
        x.scatter(0, index, s, reduce="mean")
