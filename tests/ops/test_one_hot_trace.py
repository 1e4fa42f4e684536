"""``one_hot`` with ``num_classes=-1`` under ``cr.trace`` (fuzz wave 17).

The class count is read from the values; before, a replay kept the traced count silently: ids
whose largest is smaller gave rows wider than the model's, a larger id a row of zeros. The replay
now raises where the count differs (PyTorch's traced one_hot counts again), and computes as the
model where it is the same.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.tracing import TraceError

pytestmark = pytest.mark.kernel_free

F = cr.nn.functional


def test_a_traced_inferred_one_hot_checks_the_class_count():
    fast = cr.trace(lambda ids: F.one_hot(ids), cr.tensor(np.array([0, 2, 1])))
    same = cr.tensor(np.array([2, 2, 0]))
    assert np.array_equal(fast(same).numpy(), F.one_hot(same).numpy())
    for ids in ([0, 1, 1], [0, 3, 1]):
        with pytest.raises(TraceError, match="num_classes=-1 was 3"):
            fast(cr.tensor(np.array(ids)))


def test_a_traced_one_hot_with_a_class_count_takes_any_ids_below_it():
    fast = cr.trace(lambda ids: F.one_hot(ids, 5), cr.tensor(np.array([0, 2, 1])))
    ids = cr.tensor(np.array([4, 0, 0]))
    assert np.array_equal(fast(ids).numpy(), F.one_hot(ids, 5).numpy())
