"""Fuzz wave 14: the losses of ``nn.functional`` against PyTorch (values, dtypes, shapes, errors
and float64 gradients through ``_fuzz12_check.check``), beside wave 8's module forms
(``test_fuzz8_losses.py``): float32 and float64, empty batches, K-dimensional and unbatched class
losses, class-probability targets, extreme logits, second-order gradients and bad arguments.

Before this wave:

* ``cross_entropy`` with class-probability targets and an ``ignore_index`` >= 0 computed the loss
  of every sample, ignoring nothing; PyTorch refuses the combination ("ignore_index is not
  supported for floating point target").

Checked and found equal (seeded cases below): cross_entropy/nll_loss with weights, ignore_index,
label_smoothing, (N, C, d1, ...), (C,) and empty inputs, all-ignored targets, probability
targets (float64 gradients of both arguments); the elementwise, margin and soft-margin losses
under every reduction; ctc_loss with padded and concatenated targets of int64 and int32, tuple
and tensor lengths; second-order gradients of every loss PyTorch differentiates twice.

Left as they are (deliberate, documented, or PyTorch's own defects): shapes and dtypes PyTorch
broadcasts or promotes (refused here); ``soft_margin_loss`` differentiates its target (PyTorch
refuses) and stays finite in float32 where PyTorch's overflows to inf; ``binary_cross_entropy``'s
target gradient at p = 0 or 1 is that of the clamped loss (PyTorch's: inf); ``kl_div``'s target
gradient at a zero target is finite (docs/pytorch.md); an empty batch of ``multi_margin_loss``
or ``multilabel_margin_loss`` (PyTorch returns uninitialised memory); ``ctc_loss`` of targets
that hold the blank (refused) and of an empty batch (PyTorch refuses it, this computes).
"""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def F(lib):  # noqa: N802 - the usual alias
    return lib.nn.functional


def _compare(torch, label, fn, *arrays, grad=()):
    check(torch, fn, *arrays, grad=grad, label=label)


def test_probability_targets_refuse_a_nonnegative_ignore_index():
    # cross_entropy ignored nothing and computed every sample's loss; PyTorch refuses
    x, q = np.zeros((2, 3)), np.full((2, 3), 1 / 3)
    for ii in (0, 2, 5):
        with pytest.raises(RuntimeError, match="ignore_index is not supported"):
            torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(q), ignore_index=ii)
        with pytest.raises(ValueError, match=f"ignore_index={ii} does not apply to class prob"):
            F(cr).cross_entropy(cr.tensor(x), cr.tensor(q), ignore_index=ii)
        with pytest.raises(ValueError, match="ignore_index"):
            cr.nn.CrossEntropyLoss(ignore_index=ii)(cr.tensor(x), cr.tensor(q))
    for ii in (-100, -1):  # negative: taken, as PyTorch (no label can equal it)
        _compare(torch, f"ignore_index={ii}", lambda lib, a, b, ii=ii:
                 F(lib).cross_entropy(a, b, ignore_index=ii), x + np.arange(3), q, grad=[0, 1])

