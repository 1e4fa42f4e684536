"""Eighth fuzz wave, second order: gradients of gradients (``create_graph=True``, a gradient
penalty's or a Hessian-vector product's path) through layers ported from PyTorch, compared with
PyTorch's for the inputs and every parameter (float64)."""

import numpy as np
import pytest

# PyTorch first: the modules imported below skip themselves without it.
torch = pytest.importorskip("torch")

from ._fuzz8_port import check  # noqa: E402
from .test_fuzz8_attention import _draw_mha, _draw_transformer  # noqa: E402
from .test_fuzz8_conv_pool import _draw_conv, _draw_interpolate, _draw_pool  # noqa: E402
from .test_fuzz8_losses import _draw_loss  # noqa: E402
from .test_fuzz8_norm_rnn import _draw_norm, _draw_rnn  # noqa: E402

pytestmark = pytest.mark.torch

# PyTorch has no double backward for these (a RuntimeError of its own, not a refusal)
_NO_DOUBLE = ("MultiMarginLoss", "MultiLabelMarginLoss")


def _run(draw, seed, n, **kw):
    rng = np.random.default_rng(seed)
    counts = {"compared": 0, "raised": 0, "differs": 0}
    for _ in range(n):
        desc, make, arrays, *grad = draw(rng)
        if desc.startswith(_NO_DOUBLE):
            continue
        if "is_causal" in desc and ("'add_bias_kv': True" in desc or "'add_zero_attn': True"
                                    in desc):
            continue  # PyTorch's is_causal hint over appended keys (docs/pytorch.md)
        try:
            counts[check(make, arrays, rng, order=2, grad=grad[0] if grad else None,
                         differ=("smaller than kernel size",), **kw)] += 1
        except ValueError as e:  # chainrule's refusals of empty outputs (docs/pytorch.md)
            assert "the output would be" in str(e) or "must be positive" in str(e), desc
        except AssertionError as e:
            raise AssertionError(desc) from e
    return counts


def _with_values(draw):
    def drawn(rng):
        return draw(rng, lambda r, shape: r.standard_normal(shape))
    return drawn


@pytest.mark.parametrize(("draw", "seed"), [(_draw_conv, 920), (_with_values(_draw_pool), 921),
                                            (_draw_interpolate, 922), (_draw_norm, 923),
                                            (_draw_rnn, 924), (_draw_loss, 925)])
def test_second_order_through_ported_layers(draw, seed):
    counts = _run(draw, seed, 25 if draw is _draw_conv else 40, train=True)
    assert counts["compared"] >= 10, counts


@pytest.mark.parametrize(("draw", "seed", "n"), [(_draw_mha, 926, 30),
                                                 (_draw_transformer, 927, 6)])
def test_second_order_through_ported_attention(draw, seed, n):
    counts = _run(draw, seed, n, train=False)
    assert counts["compared"] >= n // 2, counts
