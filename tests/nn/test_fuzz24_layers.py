"""Twenty-fourth fuzz wave, the less common layers: each built in PyTorch and chainrule with the
same arguments, their reprs, outputs and gradients compared."""

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402

pytestmark = pytest.mark.torch

REPRS = [
    ("RNNCell", (3, 4), {"nonlinearity": "relu"}),
    ("RNNCell", (3, 4), {"bias": False, "nonlinearity": "relu"}),
    ("RNNCell", (3, 4), {}),
    ("RNN", (3, 4, 2), {"nonlinearity": "relu", "bidirectional": True}),
    ("LSTM", (3, 4), {"proj_size": 2}),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "bicubic", "recompute_scale_factor": True}),
    ("EmbeddingBag", (10, 3), {"mode": "max", "padding_idx": 2, "include_last_offset": True}),
    ("LayerNorm", ((3, 4),), {"elementwise_affine": False, "bias": False}),
    ("RMSNorm", ([3, 4],), {"eps": 1e-3, "elementwise_affine": False}),
]


@pytest.mark.kernel_free
@pytest.mark.parametrize(("name", "args", "kw"), REPRS)
def test_reprs_are_pytorchs(name, args, kw):
    assert repr(getattr(cr.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))
