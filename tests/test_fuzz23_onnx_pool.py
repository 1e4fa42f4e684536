"""Wave 23, ONNX export of max pooling with dilation and ceil_mode, against PyTorch and
onnxruntime.

- A dilated max pool whose ceil_mode end padding reached the kernel size (dilation 3, kernel
  2, stride 2, padding 1 on an odd size) was refused ("its padding at the end of axis ...
  changes with the dynamic axes or reaches the kernel size", with no dynamic axes at all):
  onnxruntime refuses pads as large as the kernel. That end padding is now a Pad of -inf.
- ``return_indices=True`` with ceil_mode was written as MaxPool(ceil_mode=1), whose last window
  may start in the end padding, which PyTorch leaves out: the indices had one more entry along
  that axis than the values, and the export failed inside onnx.checker. They are now cut back.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule.onnx import export  # noqa: E402

CASES = [  # (dims, kernel, stride, padding, dilation, spatial size)
    (2, 2, 2, 1, 3, (7, 9)),  # end padding 2 along both axes, the kernel size
    (1, 2, 3, 1, 3, (9,)),  # end padding 3
    (2, (1, 2), (2, 3), 0, 3, (5, 7)),  # ONNX's ceil keeps a window PyTorch leaves out
    (3, (3, 1, 1), (2, 2, 3), (1, 0, 0), (2, 3, 3), (4, 4, 3)),
]


@pytest.mark.parametrize("indices", [False, True])
@pytest.mark.parametrize("dims, kernel, stride, padding, dilation, size", CASES)
def test_dilated_max_pool_with_ceil_mode_matches_pytorch_in_onnxruntime(
    dims, kernel, stride, padding, dilation, size, indices
):
    rng = np.random.default_rng(23)
    name = f"max_pool{dims}d"

    def pool(t, lib):
        return getattr(lib, name)(
            t, kernel, stride, padding, dilation=dilation, ceil_mode=True, return_indices=indices
        )

    x = rng.standard_normal((2, 3, *size)).astype(np.float32)
    proto = export(
        lambda t: pool(t, F), (cr.tensor(x),), input_names=["x"], dynamic_axes={"x": {0: "b"}}
    )
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (2, 3):
        xb = rng.standard_normal((batch, 3, *size)).astype(np.float32)
        want = pool(torch.from_numpy(xb), torch.nn.functional)
        want = [w.numpy() for w in (want if indices else (want,))]
        got = session.run(None, {"x": xb})
        eager = pool(cr.tensor(xb), F)
        eager = [e.numpy() for e in (eager if indices else (eager,))]
        assert len(got) == len(want)
        for w, g, e in zip(want, got, eager):
            assert g.dtype == w.dtype and e.dtype == w.dtype
            np.testing.assert_array_equal(e, w)
            np.testing.assert_array_equal(g, w)
