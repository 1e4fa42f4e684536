"""Dropout layers: train-only inverted dropout, statistics, determinism, gradients."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops.dropout import dropout, dropout1d, dropout2d, dropout3d

pytestmark = pytest.mark.kernel_free


def _x(rng, *shape, dtype="float32", requires_grad=False):
    # Values away from 0, so a zero in the output can only come from the mask.
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1, 1], size=shape)
    return cr.tensor(x.astype(dtype), requires_grad=requires_grad)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_training_statistics(rng, p):
    x = _x(rng, 200, 100)
    y = nn.Dropout(p, rng=rng)(x)
    dropped = y._data == 0
    n = x.numel()
    assert abs(dropped.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y._data[~dropped], x._data[~dropped] / (1 - p), rtol=1e-6)
    assert y.dtype == np.float32


@pytest.mark.parametrize("cls, fn, shape", [(nn.Dropout, dropout, (4, 5)),
                                            (nn.Dropout1d, dropout1d, (4, 5, 3)),
                                            (nn.Dropout2d, dropout2d, (4, 5, 3, 2)),
                                            (nn.Dropout3d, dropout3d, (4, 5, 2, 3, 2))])
def test_forward_equals_functional_op(cls, fn, shape):
    x = _x(np.random.default_rng(0), *shape)
    y = cls(0.3, rng=np.random.default_rng(7))(x)
    z = fn(x, 0.3, True, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(y._data, z._data)
    assert (y._data == 0).any() and (y._data != 0).any()


def test_dropout_is_identity_in_eval_mode_and_for_p0(rng):
    x = _x(rng, 10, 10)
    layer = nn.Dropout(0.5, rng=rng)
    model = nn.Sequential(nn.Identity(), layer).eval()
    np.testing.assert_array_equal(model(x)._data, x._data)
    np.testing.assert_array_equal(nn.Dropout(0.0, rng=rng)(x)._data, x._data)
    model.train()
    assert (model(x)._data == 0).any()


def test_dropout_determinism_and_fresh_masks():
    x = _x(np.random.default_rng(0), 50)
    a = nn.Dropout(0.5, rng=np.random.default_rng(3))
    b = nn.Dropout(0.5, rng=np.random.default_rng(3))
    first = a(x)._data
    np.testing.assert_array_equal(first, b(x)._data)
    assert not np.array_equal(first, a(x)._data)  # the generator moves on: a new mask each call


def test_dropout_gradient_is_the_mask(rng):
    x = _x(rng, 6, 7, requires_grad=True)
    y = nn.Dropout(0.4, rng=rng)(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, (y._data != 0) / 0.6, rtol=1e-6)


@pytest.mark.parametrize("cls, shape", [(nn.Dropout, (3, 4)), (nn.Dropout1d, (2, 3, 4)),
                                        (nn.Dropout2d, (2, 3, 2, 2)),
                                        (nn.Dropout3d, (2, 3, 2, 1, 2))])
def test_gradcheck_with_a_fixed_mask(rng, cls, shape):
    # A generator seeded anew for every call draws the same mask each time finite differences run.
    def fn(x):
        return cls(0.5, rng=np.random.default_rng(11))(x)

    assert cr.gradcheck(fn, _x(rng, *shape, dtype="float64", requires_grad=True))


def test_dropout2d_drops_whole_channels(rng):
    p = 0.3
    x = _x(rng, 40, 50, 3, 4)
    y = nn.Dropout2d(p, rng=rng)(x)
    zero = (y._data == 0).reshape(40, 50, -1)
    channel_dropped = zero.all(axis=2)
    assert (zero.any(axis=2) == channel_dropped).all()  # all or nothing per channel
    n = channel_dropped.size
    assert abs(channel_dropped.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    kept = ~channel_dropped
    np.testing.assert_allclose(y._data.reshape(40, 50, -1)[kept],
                               x._data.reshape(40, 50, -1)[kept] / (1 - p), rtol=1e-6)


def test_dropout1d_drops_whole_channels(rng):
    x = _x(rng, 30, 20, 6)
    y = nn.Dropout1d(0.5, rng=rng)(x)
    zero = y._data == 0
    assert (zero.any(axis=2) == zero.all(axis=2)).all() and zero.any()
    with pytest.raises(ValueError, match=r"Dropout1d: expected a 3-D \(N, C, L\) or 2-D \(C, L\) "
                                         r"input"):
        nn.Dropout1d(rng=rng)(_x(rng, 3))


def test_dropout2d_eval_float64_and_determinism(rng):
    x = _x(rng, 2, 3, 4, 4, dtype="float64")
    layer = nn.Dropout2d(0.5, rng=np.random.default_rng(1))
    assert layer.eval()(x) is x
    layer.train()
    y = layer(x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y._data, nn.Dropout2d(0.5, rng=np.random.default_rng(1))(x)._data)


def test_reprs_and_no_state():
    assert repr(nn.Dropout()) == "Dropout(p=0.5, inplace=False)"  # PyTorch's repr
    assert repr(nn.Dropout2d(0.25, inplace=True)) == "Dropout2d(p=0.25, inplace=True)"
    assert nn.Dropout().state_dict() == {} and list(nn.Dropout2d().parameters()) == []


@pytest.mark.parametrize("build, error, match", [
    (lambda: nn.Dropout(1.01), ValueError, r"Dropout: p must be in \[0, 1\], got 1.01"),
    (lambda: nn.Dropout(-0.1), ValueError, r"Dropout: p must be in \[0, 1\], got -0.1"),
    (lambda: nn.Dropout2d(1.5), ValueError, r"Dropout2d: p must be in \[0, 1\]"),
    (lambda: nn.Dropout("0.5"), TypeError, "Dropout: p must be a number"),
    (lambda: nn.Dropout(0.5, rng=42), TypeError, "Dropout: rng must be a numpy.random.Generator"),
])
def test_validation(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("shape", [(), (9,), (9, 8), (9, 8, 3), (9, 8, 2, 2), (9, 8, 2, 2, 2)])
def test_dropout2d_and_3d_of_any_rank_drop_as_pytorch(shape):
    # pytorch/examples mnist_rnn puts nn.Dropout2d after an LSTM, on (N, 64): PyTorch warns that
    # the rank is deprecated and drops single elements; chainrule refused every rank but 3 and 4
    # (Dropout3d every rank but 4 and 5). The pattern of whole zeroed blocks must be PyTorch's.
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape)
    for ours, theirs in [(nn.Dropout2d, torch.nn.Dropout2d), (nn.Dropout3d, torch.nn.Dropout3d)]:
        outcome = []
        for lib_layer, wrap in [(ours(0.5, rng=np.random.default_rng(0)), cr.tensor),
                                (theirs(0.5), torch.tensor)]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    y = lib_layer(wrap(x)).numpy()
                except (ValueError, RuntimeError):
                    outcome.append(("error", len(caught) > 0))
                    continue
                lib_layer.eval()
                assert np.array_equal(lib_layer(wrap(x)).numpy(), x)
            blocks = set()  # which sub-blocks are wholly kept/dropped: the mask's granularity
            for k in range(y.ndim + 1):
                flat = y.reshape(int(np.prod(y.shape[:k], dtype=int)), -1) if y.ndim else y
                if all(len(set((row == 0).tolist())) == 1 for row in np.atleast_2d(flat)):
                    blocks.add(k)
            outcome.append((min(blocks) if blocks else None, len(caught) > 0,
                            set(np.unique(y).tolist()) <= set((2 * x).ravel().tolist()) | {0.0}))
        assert outcome[0] == outcome[1], (ours.__name__, shape, outcome)


@pytest.mark.torch
def test_same_rules_as_torch(rng):
    torch = pytest.importorskip("torch")
    # Masks come from different generators, so compare the rules: eval is the identity, kept
    # elements are scaled by 1 / (1 - p), and Dropout2d keeps or drops whole channels.
    x = _x(rng, 8, 6, 3, 3)
    tx = torch.from_numpy(x.numpy().copy())
    for ours, theirs in [(nn.Dropout(0.3, rng=rng), torch.nn.Dropout(0.3)),
                         (nn.Dropout2d(0.3, rng=rng), torch.nn.Dropout2d(0.3)),
                         (nn.Dropout3d(0.3, rng=rng), torch.nn.Dropout3d(0.3))]:
        # Dropout3d (missing until the fifth fuzz wave) gets a 5-D view of the same values
        if isinstance(ours, nn.Dropout3d):
            x, tx = x.reshape(8, 6, 3, 3, 1), tx.reshape(8, 6, 3, 3, 1)
        y, ty = ours(x)._data, theirs(tx).numpy()
        for out in (y, ty):
            kept = out != 0
            np.testing.assert_allclose(out[kept], x._data[kept] / 0.7, rtol=1e-6)
        if isinstance(ours, (nn.Dropout2d, nn.Dropout3d)):
            for out in (y, ty):
                zero = (out == 0).reshape(8, 6, -1)
                assert (zero.any(axis=2) == zero.all(axis=2)).all()
        np.testing.assert_array_equal(ours.eval()(x)._data, theirs.eval()(tx).numpy())


@pytest.mark.parametrize("name, shape", [
    ("Dropout", (2, 3, 4, 4)), ("Dropout1d", (2, 3, 4)), ("Dropout2d", (2, 3, 4, 4)),
    ("Dropout3d", (2, 3, 2, 4, 4)), ("AlphaDropout", (2, 3)), ("FeatureAlphaDropout", (2, 3, 4)),
])
def test_p_one_drops_everything_as_pytorch(name, shape):
    """p = 1 is a valid probability in PyTorch (every entry dropped, a zero gradient); the
    layers refused it."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal(shape)
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = getattr(nn, name)(1.0)(x), getattr(torch.nn, name)(1.0)(xt)
    (y * cr.tensor(a)).sum().backward()
    (yt * torch.tensor(a)).sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
