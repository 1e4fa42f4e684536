"""Wave 25, chainrule.onnx.export: GroupNorm and InstanceNorm (which chainrule computes as a
layer norm over each group's positions, between two reshapes) along dynamic spatial axes were
refused ("LayerNorm's setting normalized_shape=(18,) changes to (98,)"), as was a functional
layer norm without weights over a dynamic axis; PyTorch exports both. So were std and var
over dynamic axes. The layer norm is now
written as its formula over the trailing axes, and a Reshape back to a value's own shape as
Reshape(Shape(value))."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.onnx import UnsupportedOperatorError, export

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _check(model, shape, dynamic, sizes, opset):
    if isinstance(model, nn.Module):
        model.eval()
    r = np.random.default_rng(0)
    x = r.standard_normal(shape).astype(np.float32)
    proto = export(model, (cr.tensor(x),), None, opset_version=opset, input_names=["x"],
                   dynamic_axes={"x": dynamic})
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for size in sizes:
        x = r.standard_normal(size).astype(np.float32)
        with cr.no_grad():
            want = model(cr.tensor(x)).numpy()
        (got,) = session.run(None, {"x": x})
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("opset", [13, 17])
def test_group_and_instance_norm_along_dynamic_spatial_axes(opset):
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, rng=rng), nn.GroupNorm(2, 4),
                          nn.InstanceNorm2d(4, affine=True), nn.ReLU())
    model[1].weight.data = cr.tensor(rng.standard_normal(4).astype(np.float32))
    _check(model, (2, 2, 6, 7), {0: "n", 2: "h", 3: "w"}, [(1, 2, 9, 5), (3, 2, 4, 11)], opset)


def test_layer_norm_without_weights_along_a_dynamic_axis():
    model = nn.Sequential(nn.LayerNorm(5, elementwise_affine=False), nn.Flatten())
    _check(model, (2, 3, 5), {0: "n"}, [(4, 3, 5)], 17)
    f = nn.functional
    _check(lambda x: f.layer_norm(x, x.shape[1:]), (2, 3, 5), {1: "t"}, [(2, 7, 5)], 18)


def test_layer_norm_whose_weights_would_change_shape_is_refused():
    f = nn.functional

    def fn(x):
        return f.layer_norm(x, x.shape[1:], weight=cr.ones(x.shape[1:]))
    with pytest.raises(UnsupportedOperatorError, match="changes"):
        export(fn, (cr.tensor(np.ones((2, 3), np.float32)),), None,
               dynamic_axes={"x": {1: "t"}}, input_names=["x"])


@pytest.mark.parametrize("opset", [13, 18])
def test_std_and_var_over_dynamic_axes(opset):
    """Were refused ('it divides by the count of values on axes [2, 3], which changes with the
    dynamic axes'): the count is now the product of those sizes, read from the input's Shape.
    An AdaIN-style normalization over a dynamic image size, and a variance over the batch."""
    def adain(x):
        centred = x - x.mean((2, 3), keepdim=True)
        return centred / (x.std((2, 3), keepdim=True) + 1e-5)

    _check(adain, (2, 3, 5, 6), {0: "n", 2: "h", 3: "w"}, [(1, 3, 9, 4), (3, 3, 4, 7)], opset)
    _check(lambda x: cr.var(x, (0, 2), correction=2), (3, 4, 5), {0: "n", 2: "t"},
           [(5, 4, 2), (2, 4, 7)], opset)
