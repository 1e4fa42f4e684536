"""Fuzz wave 23, nn.Module API: a layer whose weight was replaced by hand (model surgery) takes
the input that weight fits, as PyTorch's layers do (they read the weight, not in_features)."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402


def _surgery(lib, layer, state, surgery, x):
    layer.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    surgery(lib, layer)
    out = layer(lib.tensor(x))
    out.sum().backward()
    return out.detach().numpy(), layer.weight.grad.numpy()


def _grayscale(lib, conv):  # a pretrained RGB stem summed into a one-channel one
    conv.weight = lib.nn.Parameter(conv.weight.detach().sum(1, keepdim=True))


def _wider(lib, lin):  # a head that now reads four features (in_features still says 3)
    lin.weight = lib.nn.Parameter(lib.cat([lin.weight.detach(), lin.weight.detach()[:, :1]], 1))


def _more_inputs(lib, deconv):  # a transposed convolution fed 3 channels instead of 2
    deconv.weight = lib.nn.Parameter(lib.cat([deconv.weight.detach()] * 2)[:3])


CASES = {
    "conv2d grayscale": (lambda lib: lib.nn.Conv2d(3, 2, 2), _grayscale, (1, 1, 4, 4)),
    "conv1d grouped": (lambda lib: lib.nn.Conv1d(4, 4, 2, groups=2), _grayscale, (2, 2, 5)),
    "linear": (lambda lib: lib.nn.Linear(3, 2), _wider, (2, 4)),
    "conv_transpose2d": (lambda lib: lib.nn.ConvTranspose2d(2, 3, 2), _more_inputs, (1, 3, 3, 3)),
}


@pytest.mark.parametrize("case", CASES)
def test_a_replaced_weight_sets_the_input_it_takes_as_pytorchs(case):
    build, surgery, x_shape = CASES[case]
    layer = build(torch)
    state = {k: v.detach().numpy().astype(np.float64) for k, v in layer.state_dict().items()}
    x = np.random.default_rng(0).standard_normal(x_shape)
    want = _surgery(torch, layer.double(), state, surgery, x)
    got = _surgery(cr, build(cr).double(), state, surgery, x)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_an_input_that_does_not_fit_the_replaced_weight_names_its_channels():
    conv = cr.nn.Conv2d(3, 2, 2)
    _grayscale(cr, conv)
    # the layer's own message, or the op's when the input fits the stale in_channels
    with pytest.raises(ValueError, match=r"(input with|weight expects) 1 "):
        conv(cr.ones(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"Conv2d: expected input with 1 channels.*\(1, 2, 4, 4\)"):
        conv(cr.ones(1, 2, 4, 4))
    lin = cr.nn.Linear(3, 2)
    _wider(cr, lin)
    with pytest.raises(ValueError, match=r"weight expects 4"):
        lin(cr.ones(1, 3))
    with pytest.raises(ValueError, match=r"Linear: expected input with last dimension 4"):
        lin(cr.ones(1, 5))


@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_an_embedding_given_more_rows_looks_them_up_as_pytorchs(scale_grad_by_freq):
    # a vocabulary grown by hand: new token ids index the new rows (num_embeddings still says 5)
    rows = np.random.default_rng(1).standard_normal((8, 3))
    ids = [[7, 1, 7], [5, 0, 6]]
    seen = []
    for lib in (torch, cr):
        emb = lib.nn.Embedding(5, 3, scale_grad_by_freq=scale_grad_by_freq)
        emb.weight = lib.nn.Parameter(lib.tensor(rows))
        out = emb(lib.tensor(ids))
        (out * lib.tensor(rows[:3])).sum().backward()
        seen.append((out.detach().numpy(), emb.weight.grad.numpy()))
    for want, got in zip(*seen):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    with pytest.raises(IndexError, match="id 8 is out of range for 8 embeddings"):
        emb(cr.tensor([8]))
