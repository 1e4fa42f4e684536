"""A trace of attention follows each call's masks (fuzz wave 17).

Before, ``attention_mask_bias`` inverted a boolean MultiheadAttention mask on the raw array and
``attention_weights`` found the queries that may attend to no key in Python; a trace
(``cr.trace``) froze both at the example's mask, so a traced Transformer layer or
MultiheadAttention silently applied the first call's key padding mask to every later call, and
gave nan instead of 0 to a query whose keys a later mask hid entirely.
"""

import numpy as np
import pytest

import chainrule as cr


def _replays_as_the_model(fn, example, others):
    fast = cr.trace(fn, *example)
    for args in others:
        with cr.no_grad():
            want = fn(*args)
        got = fast(*args)
        want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
        for w, g in zip(want, got):
            assert np.array_equal(g.numpy(), w.numpy(), equal_nan=True)


def test_a_traced_encoder_layer_follows_its_key_padding_mask():
    layer = cr.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True).double().eval()
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)))
    masks = [cr.tensor(np.array(m)) for m in ([[False, False, True], [False, False, False]],
                                              [[False, True, False], [False, False, True]])]
    _replays_as_the_model(lambda x, m: layer(x, src_key_padding_mask=m), (x, masks[0]),
                          [(x, masks[1]), (x, masks[0])])


def test_a_traced_attention_gives_zero_to_a_query_a_later_mask_hides_whole():
    mha = cr.nn.MultiheadAttention(4, 2, batch_first=True).double().eval()
    x = cr.tensor(np.random.default_rng(1).standard_normal((1, 3, 4)))
    open_ = np.zeros((3, 3), dtype=bool)
    hidden = open_.copy()
    hidden[1] = True  # the second query may attend to no key: its output is 0, not nan

    def fn(x, mask):
        return mha(x, x, x, attn_mask=mask, need_weights=False)[0]

    _replays_as_the_model(fn, (x, cr.tensor(open_)), [(x, cr.tensor(hidden))])
    _replays_as_the_model(fn, (x, cr.tensor(hidden)), [(x, cr.tensor(open_))])
    out = cr.trace(fn, x, cr.tensor(open_))(x, cr.tensor(hidden)).numpy()
    assert np.isfinite(out).all()


@pytest.mark.kernel_free
def test_traced_scaled_dot_product_attention_follows_a_boolean_mask():
    rng = np.random.default_rng(2)
    q, k, v = (cr.tensor(rng.standard_normal((2, 3, 4))) for _ in range(3))
    a = rng.random((3, 3)) < 0.5
    b = ~a
    a[:, 0] = True
    b[0] = False  # the first query may attend to no key

    def fn(q, k, v, m):
        return cr.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)

    _replays_as_the_model(fn, (q, k, v, cr.tensor(a)), [(q, k, v, cr.tensor(b))])
