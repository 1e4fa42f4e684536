"""Eighth fuzz wave, inference: layers ported from PyTorch run in eval mode without grad, where
PyTorch takes its fast paths (native attention, fused encoder layers, MKL-DNN kernels), and the
outputs are compared with chainrule's (float64)."""

import warnings

import numpy as np
import pytest

import chainrule as cr

# PyTorch first: the modules imported below skip themselves without it.
torch = pytest.importorskip("torch")

from ._fuzz8_port import _flat, port  # noqa: E402
from .test_fuzz8_attention import _draw_mha, _draw_transformer  # noqa: E402
from .test_fuzz8_conv_pool import _draw_conv  # noqa: E402
from .test_fuzz8_norm_rnn import _draw_norm, _draw_rnn  # noqa: E402

pytestmark = pytest.mark.torch


def _infer(lib, make, arrays, port_from=None):
    m, call = make(lib)
    m = m.double()
    if port_from is not None:
        port(port_from, m)
    m.eval()
    with lib.no_grad():
        out = call(m, *[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
    return m, [t.numpy() for t in _flat(out)]


@pytest.mark.parametrize(("draw", "seed"), [(_draw_conv, 940), (_draw_norm, 941),
                                            (_draw_rnn, 942), (_draw_mha, 943),
                                            (_draw_transformer, 944)])
def test_inference_of_ported_layers(draw, seed):
    rng = np.random.default_rng(seed)
    compared = 0
    for _ in range(40):
        desc, make, arrays, *_ = draw(rng)
        if desc.startswith(("enc", "full")) and any(
                isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.ndim == 2
                and a.shape[0] == a.shape[1] for a in arrays[2:]):
            continue  # a float src_mask on PyTorch's encoder fast path (docs/pytorch.md)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                tm, theirs = _infer(torch, make, arrays)
            except Exception:  # noqa: BLE001 - refusals are checked by the other files
                continue
            _, ours = _infer(cr, make, arrays, port_from=tm)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=desc)
        compared += 1
    assert compared >= 20, compared
