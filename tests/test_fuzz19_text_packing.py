"""Wave 19, text: the padding value of ``pad_sequence`` and ``pad_packed_sequence`` against
PyTorch 2.13. A value the steps' dtype cannot take (NaN, an infinity or an out-of-range value for
an integer dtype, a finite value beyond float16's or float32's range) was written as another
number (-2**63, inf) where PyTorch raises "value cannot be converted ... without overflow"."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402
import torch.nn.utils.rnn as trnn  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.nn.utils import rnn as crnn  # noqa: E402

from ._case_loop import each_case, grid  # noqa: E402

CASES = [
    ("int64", float("nan")),
    ("int64", float("inf")),
    ("int64", 1e30),
    ("int32", 2.0**31),
    ("int8", 128.0),
    ("uint8", 256.0),
    ("uint8", 255.9),  # beyond 255 before truncation
    ("float16", 70000.0),
    ("float32", 1e39),
    # taken, as PyTorch takes them
    ("int64", 0.5),
    ("int8", -128.0),
    ("bool", 0.5),
    ("float16", 65504.0),
    ("float16", float("inf")),
    ("float32", float("nan")),
    ("float64", -1e300),
]


def _both(fn):
    out = []
    for lib, rnn in ((cr, crnn), (torch, trnn)):
        try:
            out.append(fn(lib, rnn).tolist())
        except (ValueError, RuntimeError) as err:
            out.append(err)
    return out


def _padding_values_are_refused_or_written_as_pytorch_case(dtype, value):
    seqs = [np.array([1, 0], dtype), np.array([1], dtype)]
    ours, theirs = _both(
        lambda lib, rnn: rnn.pad_sequence([lib.tensor(s) for s in seqs], padding_value=value)
    )
    x = np.array([[1, 1], [0, 1]], dtype)

    def packed(lib, rnn):
        p = rnn.pack_padded_sequence(lib.tensor(x), [2, 1], batch_first=True)
        return rnn.pad_packed_sequence(p, True, padding_value=value, total_length=3)[0]

    ours_p, theirs_p = _both(packed)
    for got, want, who in ((ours, theirs, "pad_sequence"), (ours_p, theirs_p, "pad_packed")):
        if isinstance(want, RuntimeError):
            assert isinstance(got, ValueError), (who, got)
            assert f"padding_value {value!r} cannot be converted" in str(got)
            assert str(np.dtype(dtype)) in str(got)
        else:
            np.testing.assert_array_equal(np.array(got), np.array(want), err_msg=who)


def test_padding_values_are_refused_or_written_as_pytorch():
    each_case(_padding_values_are_refused_or_written_as_pytorch_case, grid(("dtype, value", CASES)))
