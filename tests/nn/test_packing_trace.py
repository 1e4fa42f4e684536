"""A traced model that packs a batch checks the lengths of each call (fuzz wave 17).

Before, ``pack_padded_sequence`` read its lengths into Python while ``cr.trace`` recorded, so the
trace replayed the packing of the example's lengths for every call: a traced GRU over a packed
batch silently gave the states of the wrong steps when a call's lengths differed. The replay now
raises ``TraceError`` then, and computes as the model where the lengths are the traced ones.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.tracing import TraceError


def _model():
    gru = cr.nn.GRU(3, 4, rng=np.random.default_rng(0)).double().eval()

    def fn(x, lengths):
        packed = cr.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        return gru(packed)[1]

    return fn


def test_a_trace_refuses_other_lengths_than_it_packed_for():
    fn = _model()
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((5, 3, 3)))
    fast = cr.trace(fn, x, cr.tensor(np.array([5, 2, 3])))
    other = cr.tensor(rng.standard_normal((5, 3, 3)))
    with cr.no_grad():
        want = fn(other, cr.tensor(np.array([5, 2, 3]))).numpy()
    assert np.array_equal(fast(other, cr.tensor(np.array([5, 2, 3]))).numpy(), want)
    with pytest.raises(TraceError, match=r"lengths .*traced with \[5, 2, 3\].*\[1, 5, 4\]"):
        fast(x, cr.tensor(np.array([1, 5, 4])))


def test_lengths_computed_from_the_ids_are_checked_too():
    emb = cr.nn.Embedding(10, 3, padding_idx=0, rng=np.random.default_rng(2)).double().eval()
    gru = cr.nn.GRU(3, 4, rng=np.random.default_rng(3)).double().eval()

    def fn(ids):
        lengths = (ids != 0).sum(0)
        packed = cr.nn.utils.rnn.pack_padded_sequence(emb(ids), lengths, enforce_sorted=False)
        return gru(packed)[1]

    ids = cr.tensor(np.array([[1, 2, 3], [4, 5, 0], [6, 0, 0]]))
    fast = cr.trace(fn, ids)
    with cr.no_grad():
        assert np.array_equal(fast(ids).numpy(), fn(ids).numpy())
    with pytest.raises(TraceError, match="pack_padded_sequence read lengths"):
        fast(cr.tensor(np.array([[1, 2, 3], [4, 5, 6], [6, 0, 0]])))


def test_lengths_given_as_a_list_are_part_of_the_model():
    fn = _model()
    x = cr.tensor(np.random.default_rng(4).standard_normal((5, 3, 3)))
    fast = cr.trace(lambda x: fn(x, [5, 2, 3]), x)
    with cr.no_grad():
        assert np.array_equal(fast(x).numpy(), fn(x, [5, 2, 3]).numpy())


@pytest.mark.kernel_free
def test_a_traced_unpad_sequence_refuses_other_lengths():
    """``unpad_sequence`` cut the sequences at the traced lengths in every replay (silently,
    sequences of the wrong lengths); now a replay with other lengths raises."""
    def fn(x, lengths):
        return cr.nn.utils.rnn.unpad_sequence(x, lengths, batch_first=True)

    x = cr.tensor(np.arange(12.0).reshape(3, 4))
    fast = cr.trace(fn, x, cr.tensor(np.array([4, 1, 2])))
    assert [t.tolist() for t in fast(x, cr.tensor(np.array([4, 1, 2])))] == \
        [t.tolist() for t in fn(x, cr.tensor(np.array([4, 1, 2])))]
    with pytest.raises(TraceError, match="unpad_sequence read lengths"):
        fast(x, cr.tensor(np.array([1, 4, 2])))
