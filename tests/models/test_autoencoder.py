import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn, optim
from chainrule.io import load_weights, save_weights
from chainrule.models import Autoencoder, ConvAutoencoder, TiedLinear


def _digits(n):
    from chainrule.data.datasets import digits

    (x, _), _ = digits()
    return x[:n, None].astype(np.float32)


def test_dense_autoencoder_shapes_and_code():
    ae = Autoencoder((784, 64, 8), rng=np.random.default_rng(0))
    x = cr.tensor(np.random.default_rng(1).random((5, 1, 28, 28), dtype=np.float32))
    y = ae(x)
    assert y.shape == (5, 1, 28, 28)
    assert ae.encode(x).shape == (5, 8) and ae.decode(ae.encode(x)).shape == (5, 784)
    assert float(y._data.min()) >= 0 and float(y._data.max()) <= 1  # sigmoid output
    assert ae.latent_dim == 8
    assert Autoencoder((10, 4), output_activation="none", rng=np.random.default_rng(0))(
        cr.tensor(np.ones((2, 10), np.float32))).shape == (2, 10)


def test_conv_autoencoder_shapes():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.random((2, 1, 28, 28), dtype=np.float32))
    plain = ConvAutoencoder(1, (4, 8), rng=rng)
    assert plain.encode(x).shape == (2, 8, 7, 7) and plain(x).shape == (2, 1, 28, 28)
    coded = ConvAutoencoder(1, (4, 8), latent_dim=5, out_channels=3, rng=rng)
    assert coded.encode(x).shape == (2, 5)
    assert coded(x).shape == (2, 3, 28, 28)
    assert ConvAutoencoder(1, (4, 8), input_size=8, rng=rng)(
        cr.tensor(np.zeros((1, 1, 8, 8), np.float32))).shape == (1, 1, 8, 8)
    # The fully convolutional one reads any multiple of 4 (12 x 8 here); a 9 x 9 image came back
    # 12 x 12, silently (found by fuzzing image sizes).
    assert plain(cr.tensor(np.zeros((1, 1, 12, 8), np.float32))).shape == (1, 1, 12, 8)
    with pytest.raises(ValueError, match=r"multiples of 2 \*\* len\(channels\) = 4, got shape "
                                         r"\(1, 1, 9, 9\)"):
        plain(cr.tensor(np.zeros((1, 1, 9, 9), np.float32)))


@pytest.mark.kernel_free
def test_tied_weights_share_one_parameter():
    ae = Autoencoder((20, 8, 3), tied=True, rng=np.random.default_rng(0))
    enc = [m for m in ae.encoder if isinstance(m, nn.Linear)]
    dec = [m for m in ae.decoder if isinstance(m, TiedLinear)]
    assert dec[0].weight is enc[1].weight and dec[1].weight is enc[0].weight
    names = [n for n, _ in ae.named_parameters()]
    assert names == ["encoder.1.weight", "encoder.1.bias", "encoder.3.weight", "encoder.3.bias",
                     "decoder.0.bias", "decoder.2.bias"]
    untied = Autoencoder((20, 8, 3), rng=np.random.default_rng(0))
    assert ae.num_parameters() == untied.num_parameters() - 20 * 8 - 8 * 3
    assert len(list(optim.SGD(ae.parameters(), lr=0.1).param_groups[0]["params"])) == 6


def test_tied_gradient_sums_both_uses():
    rng = np.random.default_rng(0)
    tied = Autoencoder((6, 4), tied=True, output_activation="none", rng=rng).to(dtype="float64")
    untied = Autoencoder((6, 4), output_activation="none", rng=rng).to(dtype="float64")
    with cr.no_grad():
        untied.encoder[1].weight.copy_(tied.encoder[1].weight)
        untied.encoder[1].bias.copy_(tied.encoder[1].bias)
        untied.decoder[0].weight.copy_(tied.encoder[1].weight._data.T)
        untied.decoder[0].bias.copy_(tied.decoder[0].bias)
    x = cr.tensor(rng.random((3, 6)))
    cr.F.mse_loss(tied(x), x).backward()
    cr.F.mse_loss(untied(x), x).backward()
    expected = untied.encoder[1].weight.grad._data + untied.decoder[0].weight.grad._data.T
    np.testing.assert_allclose(tied.encoder[1].weight.grad._data, expected, rtol=1e-12)


def test_tied_linear_gradcheck():
    rng = np.random.default_rng(0)
    source = nn.Linear(5, 3, rng=rng, dtype="float64")
    layer = TiedLinear(source)
    with cr.no_grad():
        layer.bias.copy_(rng.normal(size=5))
    x = cr.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    assert cr.gradcheck(lambda x, w, b: layer(x), [x, source.weight, layer.bias])
    np.testing.assert_allclose(layer(x)._data, x._data @ source.weight._data + layer.bias._data)
    with pytest.raises(TypeError, match="nn.Linear"):
        TiedLinear(nn.Tanh())
    with pytest.raises(ValueError, match="last dimension 3"):
        layer(cr.tensor(np.zeros((2, 5))))


def test_tied_autoencoder_saves_and_loads(tmp_path):
    ae = models.build("autoencoder", sizes=(12, 5, 2), tied=True, rng=np.random.default_rng(0))
    path = save_weights(ae, tmp_path / "ae.safetensors", config=ae.config)
    other = models.build_from_config(ae.config, rng=np.random.default_rng(9))
    load_weights(other, path)
    x = cr.tensor(np.random.default_rng(1).random((3, 12), dtype=np.float32))
    np.testing.assert_array_equal(other(x)._data, ae(x)._data)
    assert other.decoder[0].weight is other.encoder[3].weight


def _reconstruction_losses(ae, x, lr, steps):
    """Train ``ae`` to reconstruct ``x`` with Adam; the first and the last loss."""
    opt = optim.Adam(ae.parameters(), lr=lr)
    x = cr.tensor(x)
    losses = []
    for _ in range(steps):
        loss = cr.F.mse_loss(ae(x), x)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses[0], losses[-1]


@pytest.mark.parametrize("tied", [False, True])
def test_dense_autoencoder_overfits_a_few_digits(tied):
    ae = Autoencoder((64, 32, 16), tied=tied, rng=np.random.default_rng(0))
    first, last = _reconstruction_losses(ae, _digits(32), lr=3e-3, steps=300)
    assert last < 0.1 * first and last < 0.01


def test_conv_autoencoder_overfits_a_few_digits():
    ae = ConvAutoencoder(1, (8, 16), input_size=8, rng=np.random.default_rng(0))
    first, last = _reconstruction_losses(ae, _digits(16), lr=1e-2, steps=150)
    assert last < 0.15 * first


@pytest.mark.kernel_free
def test_bad_arguments_are_reported():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least two positive ints"):
        Autoencoder((784,), rng=rng)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Autoencoder((4, 2), activation="swish", rng=rng)
    with pytest.raises(ValueError, match="output_activation"):
        Autoencoder((4, 2), output_activation="softmax", rng=rng)
    with pytest.raises(ValueError, match="multiple of 2 \\*\\* len\\(channels\\) = 8"):
        ConvAutoencoder(1, (4, 8, 16), input_size=28, rng=rng)
    with pytest.raises(ValueError, match="latent_dim"):
        ConvAutoencoder(1, (4,), latent_dim=0, rng=rng)
    with pytest.raises(ValueError, match=r"expected images \(N, C, H, W\)"):
        ConvAutoencoder(1, (4,), input_size=8, rng=rng)(cr.tensor(np.zeros((2, 64), np.float32)))
