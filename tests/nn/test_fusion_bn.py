"""fuse_conv_bn_eval / fuse_linear_bn_eval against PyTorch's: the fused layer's parameters and
outputs equal PyTorch's (and the pair's), for Conv1d/2d, transposed, bias-less, affine=False."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _bn_state(rng, n, affine=True):
    state = {"running_mean": rng.standard_normal(n), "running_var": rng.uniform(0.5, 2, n),
             "num_batches_tracked": np.array(3)}
    if affine:
        state.update(weight=rng.standard_normal(n), bias=rng.standard_normal(n))
    return state


CASES = [
    ("Conv2d", (3, 4, 3), {}, "BatchNorm2d", 4, False, (2, 3, 6, 6), True),
    ("Conv2d", (3, 4, 3), {"bias": False, "groups": 1, "stride": 2}, "BatchNorm2d", 4, False,
     (2, 3, 7, 7), False),
    ("Conv1d", (2, 6, 3), {"groups": 2}, "BatchNorm1d", 6, False, (3, 2, 9), True),
    ("ConvTranspose2d", (4, 3, 2), {"stride": 2}, "BatchNorm2d", 3, True, (2, 4, 3, 3), True),
]


@pytest.mark.parametrize(("conv", "args", "kw", "bn", "n", "transpose", "shape", "affine"),
                         CASES)
def test_fuse_conv_bn_eval_matches_torch(conv, args, kw, bn, n, transpose, shape, affine):
    rng = np.random.default_rng(0)
    tconv = getattr(torch.nn, conv)(*args, **kw).double().eval()
    tbn = getattr(torch.nn, bn)(n, affine=affine).double().eval()
    tbn.load_state_dict({k: torch.tensor(v) for k, v in _bn_state(rng, n, affine).items()})
    ours_conv = getattr(nn, conv)(*args, **kw).double().eval()
    ours_bn = getattr(nn, bn)(n, affine=affine).double().eval()
    ours_conv.load_state_dict({k: v.detach().numpy() for k, v in tconv.state_dict().items()})
    ours_bn.load_state_dict({k: v.numpy() for k, v in tbn.state_dict().items()})
    fused = nn.utils.fuse_conv_bn_eval(ours_conv, ours_bn, transpose)
    tfused = torch.nn.utils.fuse_conv_bn_eval(tconv, tbn, transpose)
    assert type(fused) is type(ours_conv) and list(fused.state_dict()) == list(tfused.state_dict())
    for k, v in tfused.state_dict().items():
        np.testing.assert_allclose(fused.state_dict()[k], v.detach().numpy(), rtol=1e-13,
                                   atol=1e-15)
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(fused(cr.tensor(x)).numpy(),
                               ours_bn(ours_conv(cr.tensor(x))).numpy(), rtol=1e-10, atol=1e-12)
    assert "weight" in ours_conv.state_dict() and ours_conv.weight is not fused.weight


@pytest.mark.parametrize(("affine", "n"), [(True, 5), (False, 5), (True, 1)])
def test_fuse_linear_bn_eval_matches_torch(affine, n):
    rng = np.random.default_rng(1)
    tlin, tbn = torch.nn.Linear(3, 5).double().eval(), torch.nn.BatchNorm1d(n).double().eval()
    tbn.load_state_dict({k: torch.tensor(v) for k, v in _bn_state(rng, n).items()})
    lin, bn = nn.Linear(3, 5).double().eval(), nn.BatchNorm1d(n, affine=affine).double().eval()
    lin.load_state_dict({k: v.detach().numpy() for k, v in tlin.state_dict().items()})
    state = {k: v.numpy() for k, v in tbn.state_dict().items()}
    if not affine:
        state = {k: v for k, v in state.items() if k not in ("weight", "bias")}
        tbn.weight.data.fill_(1.0)
        tbn.bias.data.fill_(0.0)
    bn.load_state_dict(state)
    fused, tfused = nn.utils.fuse_linear_bn_eval(lin, bn), torch.nn.utils.fuse_linear_bn_eval(
        tlin, tbn)
    for k, v in tfused.state_dict().items():
        np.testing.assert_allclose(fused.state_dict()[k], v.detach().numpy(), rtol=1e-13)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(fused(cr.tensor(x)).numpy(), tfused(torch.tensor(x)).detach()
                               .numpy(), rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["fuse_conv_bn_eval", "fuse_conv_bn_weights",
                                  "fuse_linear_bn_eval", "fuse_linear_bn_weights"])
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(nn.utils, name)).parameters
    theirs = inspect.signature(getattr(torch.nn.utils, name)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


@pytest.mark.kernel_free
@pytest.mark.parametrize(("call", "match"), [
    (lambda: nn.utils.fuse_conv_bn_eval(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2).eval()),
     "only for eval mode"),
    (lambda: nn.utils.fuse_conv_bn_eval(nn.Linear(2, 2).eval(), nn.BatchNorm2d(2).eval()),
     "expected a ConvNd layer, got Linear"),
    (lambda: nn.utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(2).eval()),
     r"out_features \(3\) must equal bn.num_features \(2\)"),
    (lambda: nn.utils.fuse_linear_bn_eval(nn.Linear(2, 2).eval(), nn.Linear(2, 2).eval()),
     "bn must be a BatchNorm layer, got Linear"),
    (lambda: nn.utils.fuse_linear_bn_eval(
        nn.Linear(2, 2).eval(), nn.BatchNorm1d(2, track_running_stats=False).eval()),
     "no running statistics"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()
