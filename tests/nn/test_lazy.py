"""LazyLinear and LazyConv1d/2d/3d: shapes inferred at the first call, PyTorch's reprs and
initialization, optimizers built before the first call, state dicts loaded before it."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

LAZY = [
    (nn.LazyLinear, nn.Linear, (3,), {}, (2, 5)),
    (nn.LazyConv1d, nn.Conv1d, (4, 3), {"stride": 2}, (2, 3, 9)),
    (nn.LazyConv2d, nn.Conv2d, (4, 3), {"groups": 2, "padding": 1}, (1, 2, 5, 5)),
    (nn.LazyConv3d, nn.Conv3d, (4, 2), {"bias": False}, (1, 2, 3, 4, 3)),
]
IDS = [c.__name__ for c, *_ in LAZY]


@pytest.mark.parametrize("lazy, plain, args, kwargs, shape", LAZY, ids=IDS)
def test_first_call_sets_shapes_and_draws_as_the_plain_layer(lazy, plain, args, kwargs, shape):
    layer = lazy(*args, **kwargs, rng=np.random.default_rng(3))
    zero = "in_features=0," if lazy is nn.LazyLinear else "0,"
    assert repr(layer).startswith(f"{lazy.__name__}({zero}")
    assert isinstance(layer.weight, nn.UninitializedParameter)
    x = cr.tensor(np.random.default_rng(1).standard_normal(shape).astype("float32"))
    y = layer(x)
    inputs = shape[-1] if plain is nn.Linear else shape[1]
    same = plain(inputs, *args, **kwargs, rng=np.random.default_rng(3))
    assert type(layer) is plain and repr(layer) == repr(same)
    assert type(layer.weight) is nn.Parameter
    for name, v in same.state_dict().items():
        np.testing.assert_array_equal(layer.state_dict()[name].numpy(), v.numpy(), err_msg=name)
    np.testing.assert_array_equal(y.numpy(), same(x).numpy())


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Lazy modules are a new feature")
@pytest.mark.parametrize("lazy, plain, args, kwargs, shape", LAZY, ids=IDS)
def test_reprs_and_state_dict_from_torch_before_the_first_call(lazy, plain, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = lazy(*args, **kwargs), getattr(torch.nn, lazy.__name__)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(1).standard_normal(shape)
    want = theirs.double()(torch.tensor(x))
    ours.double()  # before the first call: the dtype the parameters will have
    ours.load_state_dict(theirs.state_dict())  # PyTorch's tensors, before our first call
    y = ours(cr.tensor(x))
    assert type(ours) is plain and repr(ours) == repr(theirs)
    assert ours.weight.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_an_optimizer_built_before_the_first_call_trains_the_parameters():
    # PyTorch materializes the parameters in place, so an optimizer made first works; so here.
    layer = nn.LazyLinear(2, rng=np.random.default_rng(0))
    opt = cr.optim.SGD(layer.parameters(), lr=0.5)
    held = [p for g in opt.param_groups for p in g["params"]]
    opt.step()  # no gradients yet: nothing to do
    y = layer(cr.ones(3, 4))
    assert [id(p) for p in held] == [id(layer.weight), id(layer.bias)]
    before = layer.weight.numpy().copy()
    y.sum().backward()
    opt.step()
    np.testing.assert_allclose(layer.weight.numpy(), before - 0.5 * 3.0, rtol=1e-6)
    adam_layer = nn.LazyConv2d(2, 3, rng=np.random.default_rng(0))
    adam = cr.optim.Adam(adam_layer.parameters(), lr=0.1)
    w = adam_layer.weight
    adam_layer(cr.ones(1, 2, 4, 4)).sum().backward()
    first = w.numpy().copy()
    adam.step()
    assert np.all(np.abs(w.numpy() - first) > 0.09)  # Adam's first step: lr * sign(grad)


@pytest.mark.kernel_free
def test_errors():
    layer = nn.LazyLinear(3)
    with pytest.raises(RuntimeError, match="uninitialized parameter .* first call"):
        layer.weight.shape  # noqa: B018
    with pytest.raises(ValueError, match=r"LazyConv2d: expected a 3-D \(C, H, W\) or 4-D "
                                         r"\(N, C, H, W\) input, got shape \(5, 5\)"):
        nn.LazyConv2d(4, 3)(cr.ones(5, 5))
    with pytest.raises(ValueError, match=r"LazyConv1d: the input's 3 channels \(shape \(1, 3, 5\)\)"
                                         r" must be divisible by groups=2"):
        nn.LazyConv1d(4, 3, groups=2)(cr.ones(1, 3, 5))
    with pytest.raises(ValueError, match="LazyLinear: out_features"):
        nn.LazyLinear(-1)
