"""Twenty-fourth fuzz wave, the less common layers: each built in PyTorch and chainrule with the
same arguments, their reprs, outputs and gradients compared."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402

pytestmark = pytest.mark.torch

REPRS = [
    ("RNNCell", (3, 4), {"nonlinearity": "relu"}),
    ("RNNCell", (3, 4), {"bias": False, "nonlinearity": "relu"}),
    ("RNNCell", (3, 4), {}),
    ("RNN", (3, 4, 2), {"nonlinearity": "relu", "bidirectional": True}),
    ("LSTM", (3, 4), {"proj_size": 2}),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "bicubic", "recompute_scale_factor": True}),
    ("EmbeddingBag", (10, 3), {"mode": "max", "padding_idx": 2, "include_last_offset": True}),
    ("LayerNorm", ((3, 4),), {"elementwise_affine": False, "bias": False}),
    ("RMSNorm", ([3, 4],), {"eps": 1e-3, "elementwise_affine": False}),
]


@pytest.mark.kernel_free
@pytest.mark.parametrize(("name", "args", "kw"), REPRS)
def test_reprs_are_pytorchs(name, args, kw):
    assert repr(getattr(cr.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


def _instance_norm_step(lib, shape):
    m = lib.nn.InstanceNorm2d(3, track_running_stats=True, momentum=0.3)
    m.load_state_dict(
        {
            "running_mean": lib.tensor([0.5, -1.0, 2.0]),
            "running_var": lib.tensor([1.5, 0.25, 3.0]),
            "num_batches_tracked": lib.tensor(0),
        }
    )
    y = m(lib.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32)))
    return tuple(y.shape), m.running_mean.numpy(), m.running_var.numpy()


def test_instance_norm_of_an_input_without_positions_keeps_its_running_statistics():
    # they became NaN (a mean over no positions); PyTorch's keep their values
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _instance_norm_step(cr, (2, 3, 0, 4))
    want = _instance_norm_step(torch, (2, 3, 0, 4))
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])


def test_instance_norm_of_an_empty_batch_keeps_its_running_statistics():
    # it raised NumPy's "cannot reshape array of size 0"; PyTorch's statistics become NaN
    # (docs/pytorch.md): chainrule's keep their values, as for an input without positions
    shape, mean, var = _instance_norm_step(cr, (0, 3, 2, 2))
    assert shape == (0, 3, 2, 2)
    np.testing.assert_array_equal(mean, np.float32([0.5, -1.0, 2.0]))
    np.testing.assert_array_equal(var, np.float32([1.5, 0.25, 3.0]))
    # and a batch that has elements still moves them as PyTorch's
    got, want = _instance_norm_step(cr, (2, 3, 2, 2)), _instance_norm_step(torch, (2, 3, 2, 2))
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-6)


def _ported(name, *args):
    t = getattr(torch.nn, name)(*args).double()
    c = getattr(cr.nn, name)(*args, dtype=cr.float64)
    c.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, c


def test_rnn_cell_reads_its_nonlinearity_at_every_step():
    # a nonlinearity changed after construction was ignored: the cell kept its first one
    t, c = _ported("RNNCell", 3, 4)
    x = np.random.default_rng(0).standard_normal((2, 3))
    for name in ("relu", "tanh"):
        t.nonlinearity = c.nonlinearity = name
        np.testing.assert_allclose(c(cr.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy())
        assert repr(c) == repr(t)
    c.nonlinearity = "gelu"
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        c(cr.tensor(x))


@pytest.mark.kernel_free
def test_flatten_and_unflatten_take_pytorchs_names_set_after_construction():
    # setting them raised "property 'start_dim' of 'Flatten' object has no setter"
    x = np.arange(24.0).reshape(2, 4, 3)
    for lib in (torch, cr):
        flat, unflat = lib.nn.Flatten(), lib.nn.Unflatten(1, (2, 2))
        flat.start_dim, flat.end_dim = 0, 1
        unflat.dim, unflat.unflattened_size = 2, (3, 1)
        got = flat(lib.tensor(x)).shape, unflat(lib.tensor(x)).shape, repr(flat), repr(unflat)
        if lib is torch:
            want = got
    assert tuple(got[0]) == tuple(want[0]) and tuple(got[1]) == tuple(want[1])
    assert got[2:] == want[2:]
    with pytest.raises(ValueError, match="at most one -1"):
        cr.nn.Unflatten(1, (2, 2)).unflattened_size = (-1, -1)
    with pytest.raises(TypeError, match="start_dim must be an int"):
        cr.nn.Flatten().start_dim = 1.5


def test_relu6_clamps_to_bounds_set_after_construction():
    # PyTorch's ReLU6 is a Hardtanh(0, 6) and reads min_val/max_val at every call; chainrule's
    # showed the attributes but kept clamping to [0, 6]
    x = np.random.default_rng(0).standard_normal((3, 4)) * 3
    t, c = torch.nn.ReLU6(), cr.nn.ReLU6()
    t.min_val = c.min_val = -0.5
    t.max_val = c.max_val = 0.25
    np.testing.assert_array_equal(c(cr.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
    assert repr(c) == repr(t)


def _bicubic(lib, t):
    f = lib.nn.functional.interpolate
    return f(t, scale_factor=(1.104, 1.0), mode="bicubic", align_corners=False)


def test_bicubic_resize_that_keeps_a_length_has_its_forwards_gradient():
    # PyTorch's backward is not its forward's adjoint here (its own gradcheck fails;
    # docs/pytorch.md): chainrule's forward is PyTorch's, its gradient the forward's
    x = np.random.default_rng(0).standard_normal((1, 1, 7, 4))
    want = _bicubic(torch, torch.tensor(x)).numpy()
    np.testing.assert_allclose(_bicubic(cr, cr.tensor(x)).numpy(), want, rtol=1e-12, atol=1e-12)
    assert cr.autograd.gradcheck(lambda t: _bicubic(cr, t), (cr.tensor(x, requires_grad=True),))
