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
    "madry_cnn": (lambda r: M.MadryCNN(input_size=12, rng=r), (1, 12, 12)),
    "wong_cnn": (lambda r: M.WongCNN(rng=r), (1, 28, 28)),
    "autoencoder_tied": (lambda r: M.Autoencoder((20, 8, 4), tied=True, rng=r), (20,)),
    "perceptron": (lambda r: M.Perceptron(5, rng=r), (5,)),
    "mlpgan_discriminator": (lambda r: M.MLPGAN(rng=r).discriminator, (1, 28, 28)),
    "char_lm": (lambda r: M.CharLM("abcdefgh ", embedding_dim=8, hidden_size=8, num_layers=2,
                                   rng=r), None),
    "text_rnn_gru_bidirectional": (lambda r: M.TextRNN(vocab_size=9, hidden_size=8, cell="gru",
                                                       bidirectional=True, rng=r), None),
    "char_transformer": (lambda r: M.CharTransformer("abcdefgh ", block=8, d_model=16,
                                                     num_layers=2, nhead=2, rng=r), None),
}


def _stats(model, rng):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with cr.no_grad():
                m.running_mean.copy_(cr.tensor(rng.standard_normal(m.num_features)))
                m.running_var.copy_(cr.tensor(rng.uniform(0.5, 2.0, m.num_features)))


def _sample(rng, shape, n):
    """Float inputs, or for the text models (shape None) character ids (n, 6) without padding."""
    return rng.integers(1, 9, (n, 6)) if shape is None else rng.standard_normal((n, *shape))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exported_models_load_back_with_their_weights_outputs_and_gradients(name):
    rng = np.random.default_rng(0)
    build, shape = MODELS[name]
    model = build(rng).double().eval()
    _stats(model, rng)
    for m in model.modules():
        if isinstance(m, nn.LeakyReLU):  # ONNX keeps the slope as a float32 attribute
            m.negative_slope = float(np.float32(m.negative_slope))
    proto = export(model, cr.tensor(_sample(rng, shape, 2)), input_names=["x"],
                   dynamic_axes={"x": {0: "batch"}})
    theirs = model.state_dict()
    if name == "char_transformer":  # its recorded constants (a mask, a scale) are initializers
        loaded = load(proto, trainable=[k for k, _ in model.named_parameters()])
    else:
        loaded = load(proto)
    ours = loaded.state_dict()
    assert set(ours) <= set(theirs)  # BatchNorm's num_batches_tracked is not in the graph
    assert not set(theirs) - set(ours) - {k for k in theirs if k.endswith("num_batches_tracked")}
    for key, value in ours.items():
        np.testing.assert_array_equal(value.numpy(), theirs[key].numpy(), err_msg=key)
    x5 = _sample(rng, shape, 5)
    w = None
    for net in (model, loaded):
        xt = cr.tensor(x5, requires_grad=shape is not None)
        y = net(xt)
        y = y[0] if isinstance(y, tuple) else y  # CharLM: (logits, (h, c))
        w = rng.standard_normal(y.shape) if w is None else w
        if y.requires_grad:  # (not the Perceptron's step)
            (y * cr.tensor(w)).sum().backward()
        if net is model:
            want_y, want_gx = y.numpy(), xt.grad
            want = {k: p.grad for k, p in model.named_parameters()}
    np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-10, atol=1e-10)
    if not y.requires_grad:  # the Perceptron's step (Greater, Cast): no gradient in ONNX
        assert name == "perceptron" and not list(loaded.parameters()) and set(ours) == set(theirs)
        return
    if want_gx is not None:
        np.testing.assert_allclose(xt.grad.numpy(), want_gx.numpy(), rtol=1e-10, atol=1e-10)
    for key, p in loaded.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), want[key].numpy(), rtol=1e-10, atol=1e-10,
                                   err_msg=key)
