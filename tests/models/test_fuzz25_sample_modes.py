"""CharLM.sample / CharTransformer.sample put every module back in its own mode: a dropout the
user switched off with ``.eval()`` was back on in training mode after sampling
(``model.train(was)``), silently changing the next training steps."""

import numpy as np

from chainrule.models import CharLM, CharTransformer


def test_char_lm_sample_keeps_each_module_mode():
    lm = CharLM("ab", 2, 3, 1, dropout=0.5, rng=np.random.default_rng(0))
    lm.dropout.eval()
    text = lm.sample(3, prime="a", top_k=1)
    assert len(text) == 3 and set(text) <= set("ab")
    assert lm.training and lm.lstm.training and not lm.dropout.training


def test_char_transformer_sample_keeps_each_module_mode():
    model = CharTransformer("ab", block=4, d_model=4, num_layers=1, nhead=1, dropout=0.1,
                            rng=np.random.default_rng(0))
    frozen = [m for m in model.modules() if type(m).__name__ == "Dropout"]
    assert frozen
    for m in frozen:
        m.eval()
    model.sample(2, prime="a", top_k=1)
    assert model.training and not any(m.training for m in frozen)
