"""chainrule.onnx.export then chainrule.onnx.load: the library's models come back as Modules
with the same state dict keys and values, the same outputs and the same gradients (float64)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import models as M
from chainrule import nn

pytest.importorskip("onnx")
from chainrule.onnx import export, load  # noqa: E402

MODELS = {
    "mlp": (lambda r: M.MLP((12, 16, 5), activation="tanh", dropout=0.3, rng=r), (12,)),
    "lenet5": (lambda r: M.LeNet5(rng=r), (1, 28, 28)),
    "small_cnn": (lambda r: M.SmallCNN(rng=r), (1, 8, 8)),
    "char_cnn": (lambda r: M.CharCNN(length=130, alphabet_size=8, rng=r), (8, 130)),
    "conv_autoencoder": (lambda r: M.ConvAutoencoder(rng=r), (1, 28, 28)),
    "dcgan_generator": (lambda r: M.DCGAN(rng=r).generator, (64,)),
}


def _stats(model, rng):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with cr.no_grad():
                m.running_mean.copy_(cr.tensor(rng.standard_normal(m.num_features)))
                m.running_var.copy_(cr.tensor(rng.uniform(0.5, 2.0, m.num_features)))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exported_models_load_back_with_their_weights_outputs_and_gradients(name):
    rng = np.random.default_rng(0)
    build, shape = MODELS[name]
    model = build(rng).double().eval()
    _stats(model, rng)
    x = rng.standard_normal((2, *shape))
    proto = export(model, cr.tensor(x), input_names=["x"], output_names=["y"],
                   dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    loaded = load(proto)
    theirs, ours = model.state_dict(), loaded.state_dict()
    assert set(ours) <= set(theirs)  # BatchNorm's num_batches_tracked is not in the graph
    assert not set(theirs) - set(ours) - {k for k in theirs if k.endswith("num_batches_tracked")}
    for key, value in ours.items():
        np.testing.assert_array_equal(value.numpy(), theirs[key].numpy(), err_msg=key)
    x5 = rng.standard_normal((5, *shape))
    w = None
    for net in (model, loaded):
        xt = cr.tensor(x5, requires_grad=True)
        y = net(xt)
        w = rng.standard_normal(y.shape) if w is None else w
        (y * cr.tensor(w)).sum().backward()
        if net is model:
            want_y, want_gx = y.numpy(), xt.grad.numpy()
            want = {k: p.grad.numpy() for k, p in model.named_parameters()}
    np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xt.grad.numpy(), want_gx, rtol=1e-10, atol=1e-10)
    for key, p in loaded.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), want[key], rtol=1e-10, atol=1e-10,
                                   err_msg=key)
