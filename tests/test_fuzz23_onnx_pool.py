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
from chainrule.onnx import UnsupportedOperatorError, export  # noqa: E402

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


# (kernel, stride, padding, dilation, ceil_mode, return_indices), example length -> exports?
DYNAMIC = [
    ((2, 3, 1, 2, False, False), 5, False),  # floor: the file dropped a last window at 7, 10...
    ((2, 3, 1, 2, False, False), 6, True),
    ((3, 2, 1, 1, True, False), 7, False),  # ceil_mode recorded without its padding
    ((3, 2, 1, 1, True, True), 7, False),
    ((3, 2, 1, 1, False, True), 7, False),  # 7 and 15: both roundings agree, the mode unknown
    ((3, 2, 1, 1, False, False), 8, True),
    ((3, 2, 1, 1, False, True), 8, True),
    ((2, 2, 0, 1, False, False), 7, True),
    ((2, 1, 0, 1, False, True), 7, True),  # stride 1: ceil_mode never changes the size
    ((2, 2, 1, 2, True, False), 8, False),
]


@pytest.mark.parametrize("setting, length, exports", DYNAMIC)
def test_max_pool_along_a_dynamic_axis_is_exact_at_every_length_or_refused(
    setting, length, exports
):
    """The file pools a dynamic axis with floor rounding. Max pooling (dilated, with indices)
    recorded at two lengths where ceil_mode's padding was not needed, or where floor and ceil
    give the same sizes, exported a file that dropped (or kept) a last window at other lengths:
    (2, 2, 5) outputs at length 7 where PyTorch gives (2, 2, 3). Such pools are now refused."""
    kernel, stride, padding, dilation, ceil, indices = setting

    def pool(t, lib):
        y = lib.max_pool1d(
            t, kernel, stride, padding, dilation=dilation, ceil_mode=ceil, return_indices=indices
        )
        return y[1] if indices else y

    rng = np.random.default_rng(length)
    x = rng.standard_normal((2, 2, length)).astype(np.float32)
    if not exports:
        with pytest.raises(UnsupportedOperatorError, match="along the dynamic axis"):
            export(
                lambda t: pool(t, F),
                (cr.tensor(x),),
                input_names=["x"],
                dynamic_axes={"x": {2: "t"}},
            )
        return
    proto = export(
        lambda t: pool(t, F), (cr.tensor(x),), input_names=["x"], dynamic_axes={"x": {2: "t"}}
    )
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in range(4, 12):
        xn = rng.standard_normal((2, 2, n)).astype(np.float32)
        want = pool(torch.from_numpy(xn), torch.nn.functional).numpy()
        np.testing.assert_array_equal(pool(cr.tensor(xn), F).numpy(), want)
        np.testing.assert_array_equal(session.run(None, {"x": xn})[0], want)


def test_adaptive_avg_pool1d_to_one_along_a_dynamic_length():
    """F.adaptive_avg_pool1d(x, 1) (a mean over the length: a text model's pooling) was
    refused along a dynamic length as 'adaptive average pooling to a size other than 1'; its
    one averaging matrix had no GlobalAveragePool form. It is now a ReduceMean."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7)).astype(np.float32)
    proto = export(
        lambda t: F.adaptive_avg_pool1d(t, 1),
        (cr.tensor(x),),
        input_names=["x"],
        dynamic_axes={"x": {0: "b", 2: "t"}},
    )
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for shape in ((2, 3, 7), (1, 3, 1), (4, 3, 12)):
        xn = rng.standard_normal(shape).astype(np.float32)
        want = torch.nn.functional.adaptive_avg_pool1d(torch.from_numpy(xn), 1).numpy()
        np.testing.assert_allclose(
            F.adaptive_avg_pool1d(cr.tensor(xn), 1).numpy(), want, rtol=1e-6, atol=1e-7
        )
        np.testing.assert_allclose(session.run(None, {"x": xn})[0], want, rtol=1e-6, atol=1e-7)
