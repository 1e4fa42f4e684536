"""GroupNorm, InstanceNorm1d/2d and RMSNorm (modules and F forms) against PyTorch: values,
gradients, running statistics over train/eval steps, state dicts; gradcheck/gradgradcheck."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free


def _copy_state(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


def _compare(ours, theirs, shape, rng, steps=1, train=True):
    ours.train(train)
    theirs.train(train)
    for _ in range(steps):
        x0 = rng.standard_normal(shape) * 2 + 1
        x, t = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
        y, u = ours(x), theirs(t)
        np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-10, atol=1e-10)
        w = rng.standard_normal(y.shape)
        (y * cr.tensor(w)).sum().backward()
        (u * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-10)
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-10,
                                       err_msg=name)
    for (k, a), (j, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert k == j
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("groups, channels, shape, affine", [
    (2, 4, (3, 4, 5, 6), True), (1, 3, (2, 3, 7), False), (3, 3, (2, 3, 2, 2), True),
    (4, 8, (2, 8), True)])
def test_group_norm_matches_pytorch(groups, channels, shape, affine):
    rng = np.random.default_rng(0)
    ours = nn.GroupNorm(groups, channels, affine=affine, dtype="float64")
    theirs = torch.nn.GroupNorm(groups, channels, affine=affine).double()
    if affine:
        with cr.no_grad():
            ours.weight.copy_(cr.tensor(rng.standard_normal(channels)))
            ours.bias.copy_(cr.tensor(rng.standard_normal(channels)))
    _copy_state(ours, theirs)
    _compare(ours, theirs, shape, rng)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (3, 4, 6)),
                                        ("InstanceNorm2d", (2, 4, 5, 3)),
                                        ("InstanceNorm2d", (4, 5, 3))])  # unbatched
@pytest.mark.parametrize("affine, track, momentum", [(False, False, 0.1), (True, True, 0.1),
                                                      (True, True, None), (False, True, 0.3)])
def test_instance_norm_matches_pytorch_through_train_and_eval(cls, shape, affine, track,
                                                              momentum):
    rng = np.random.default_rng(1)
    ours = getattr(nn, cls)(4, momentum=momentum, affine=affine, track_running_stats=track,
                            dtype="float64")
    theirs = getattr(torch.nn, cls)(4, momentum=momentum, affine=affine,
                                    track_running_stats=track).double()
    _copy_state(ours, theirs)
    _compare(ours, theirs, shape, rng, steps=3, train=True)
    _compare(ours, theirs, shape, rng, steps=1, train=False)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("shape, normalized, eps, affine", [
    ((3, 5), 5, None, True), ((2, 3, 4), (3, 4), 1e-6, True), ((4, 6), 6, 0.1, False)])
def test_rms_norm_matches_pytorch(shape, normalized, eps, affine):
    rng = np.random.default_rng(2)
    ours = nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine, dtype="float64")
    theirs = torch.nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine).double()
    if affine:
        with cr.no_grad():
            ours.weight.copy_(cr.tensor(rng.standard_normal(ours.weight.shape)))
    _copy_state(ours, theirs)
    _compare(ours, theirs, shape, rng)
    x0 = rng.standard_normal(shape)
    np.testing.assert_allclose(F.rms_norm(cr.tensor(x0), normalized, eps=eps).numpy(),
                               torch.nn.functional.rms_norm(torch.tensor(x0), normalized
                                                            if isinstance(normalized, tuple)
                                                            else (normalized,), eps=eps).numpy(),
                               rtol=1e-12)


def test_functional_forms_match_pytorch():
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((2, 6, 4))
    w, b = rng.standard_normal(6), rng.standard_normal(6)
    np.testing.assert_allclose(
        F.group_norm(cr.tensor(x0), 3, cr.tensor(w), cr.tensor(b), 1e-3).numpy(),
        torch.nn.functional.group_norm(torch.tensor(x0), 3, torch.tensor(w), torch.tensor(b),
                                       1e-3).numpy(), rtol=1e-12, atol=1e-12)
    rm, rv = cr.zeros(6, dtype="float64"), cr.ones(6, dtype="float64")
    trm, trv = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    np.testing.assert_allclose(
        F.instance_norm(cr.tensor(x0), rm, rv, momentum=0.2).numpy(),
        torch.nn.functional.instance_norm(torch.tensor(x0), trm, trv, momentum=0.2).numpy(),
        rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)


def test_gradcheck_and_gradgradcheck(rng):
    x = cr.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w = cr.tensor(rng.standard_normal(4), requires_grad=True)
    for fn in (lambda x, w: F.group_norm(x, 2, w, None),
               lambda x, w: F.instance_norm(x, weight=w),
               lambda x, w: F.rms_norm(x.transpose(1, 2), 4, w, 1e-3)):
        assert cr.gradcheck(fn, [x, w])
        assert cr.gradgradcheck(fn, [x, w])


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4, \*\), got \(2, 3\)"):
        nn.GroupNorm(2, 4)(cr.ones(2, 3))
    with pytest.raises(ValueError, match="InstanceNorm2d: expected input of shape"):
        nn.InstanceNorm2d(3)(cr.ones(2, 3))
    with pytest.raises(ValueError, match="rms_norm: the last axes of input must have"):
        F.rms_norm(cr.ones(2, 3), 4)


def test_batch_norm_and_layer_norm_take_pytorchs_bias_flag():
    rng = np.random.default_rng(5)
    ours = nn.BatchNorm1d(3, bias=False, dtype="float64")
    theirs = torch.nn.BatchNorm1d(3, bias=False).double()
    assert ours.bias is None and list(ours.state_dict()) == list(theirs.state_dict())
    _copy_state(ours, theirs)
    _compare(ours, theirs, (5, 3), rng, steps=2)
    assert repr(ours) == repr(theirs)
    assert repr(nn.LayerNorm(4, bias=False)) == repr(torch.nn.LayerNorm(4, bias=False))


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (2, 3, 1)),
                                        ("InstanceNorm2d", (3, 1, 1)),
                                        ("InstanceNorm3d", (2, 3, 1, 1, 1))])
def test_instance_norm_of_one_spatial_element_is_refused_as_in_torch(cls, shape):
    # each instance's only value minus its own mean: chainrule gave zeros where PyTorch raises
    ours, theirs = getattr(nn, cls)(3, affine=True), getattr(torch.nn, cls)(3, affine=True)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        theirs(torch.ones(shape))
    with pytest.raises(ValueError, match=r"instance_norm: expected more than 1 spatial element .*"
                                         r"got input shape \("):
        ours(cr.ones(*shape))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(cr.ones(*shape))
    tracked = getattr(nn, cls)(3, track_running_stats=True).double().eval()  # running stats: fine
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    want = getattr(torch.nn, cls)(3, track_running_stats=True).double().eval()(torch.tensor(x))
    np.testing.assert_allclose(tracked(cr.tensor(x)).numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape, groups", [((1, 3), 3), ((1, 2, 1), 2), ((1, 4, 1, 1), 4)])
def test_group_norm_of_one_value_per_group_is_refused_as_in_torch(shape, groups):
    # one sample, one value per group: the output was the bias whatever the input (PyTorch
    # raises); found by the fifth fuzz wave
    with pytest.raises(ValueError, match="more than 1 value"):
        torch.nn.functional.group_norm(torch.ones(shape), groups)
    with pytest.raises(ValueError, match=r"group_norm: expected more than 1 value per group, got "
                                         rf"input shape \({shape[0]}, .* with num_groups={groups}"):
        nn.GroupNorm(groups, shape[1])(cr.ones(*shape))
    x = np.arange(2 * np.prod(shape), dtype=np.float64).reshape((2,) + shape[1:])  # two: fine
    np.testing.assert_allclose(F.group_norm(cr.tensor(x), groups).numpy(),
                               torch.nn.functional.group_norm(torch.tensor(x), groups).numpy())
