"""Fifteenth fuzz wave: normalization layers and weight reparametrizations against PyTorch 2.13
(class hierarchy and the helpers that find BatchNorm layers by it, fusion, mixed dtypes of the
functional normalizations)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _with_instance_norm(lib):
    """A net with BatchNorm and InstanceNorm layers (running statistics on both), float64."""
    nn = lib.nn
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3, momentum=0.3),
                        nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
                        nn.Sequential(nn.InstanceNorm1d(3), nn.BatchNorm1d(3))).double()
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape))))
    return net


def test_instance_norms_are_not_batch_norms():
    # chainrule's InstanceNorm subclassed _BatchNorm: isinstance(m, _BatchNorm) (how programs
    # and PyTorch's helpers find BatchNorm layers) caught instance norms too
    for lib in (torch, cr):
        base = lib.nn.modules.batchnorm
        norms = [lib.nn.InstanceNorm1d(3), lib.nn.InstanceNorm2d(3, affine=True),
                 lib.nn.InstanceNorm3d(3, track_running_stats=True), lib.nn.LazyInstanceNorm2d()]
        assert not any(isinstance(m, base._BatchNorm) for m in norms), lib.__name__
        assert all(isinstance(m, base._NormBase) for m in norms), lib.__name__
        assert all(isinstance(m, lib.nn.modules.instancenorm._InstanceNorm) for m in norms)
        for m in (lib.nn.BatchNorm2d(3), lib.nn.SyncBatchNorm(3), lib.nn.LazyBatchNorm1d()):
            assert isinstance(m, base._BatchNorm) and isinstance(m, base._NormBase)


def test_convert_sync_batchnorm_leaves_instance_norms_alone():
    # it turned every InstanceNorm into a SyncBatchNorm: batch statistics instead of each
    # sample's own, silently
    x = np.random.default_rng(1).standard_normal((4, 2, 3, 3))
    outs = {}
    for lib in (torch, cr):
        net = lib.nn.SyncBatchNorm.convert_sync_batchnorm(_with_instance_norm(lib))
        kinds = [type(m).__name__ for m in net.modules()]
        y = net[:3](lib.tensor(x))
        outs[lib.__name__] = kinds, y.detach().numpy(), net[2].running_mean.numpy()
    assert outs["chainrule"][0] == outs["torch"][0]
    np.testing.assert_allclose(outs["chainrule"][1], outs["torch"][1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs["chainrule"][2], outs["torch"][2], rtol=1e-12, atol=1e-12)


def test_update_bn_and_replace_batch_norms_leave_instance_norms_alone():
    # swa_utils.update_bn reset an InstanceNorm's running statistics and averaged them anew;
    # torch.func.replace_all_batch_norm_modules_ dropped them
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((4, 2, 3, 3)) for _ in range(3)]
    got = {}
    for lib in (torch, cr):
        net = _with_instance_norm(lib)[:3]
        net.train()
        for b in batches:
            net(lib.tensor(b))
        lib.optim.swa_utils.update_bn([lib.tensor(b) for b in batches[:2]], net)
        stats = [net[k].running_mean.numpy().copy() for k in (1, 2)]
        lib.func.replace_all_batch_norm_modules_(net)
        got[lib.__name__] = stats, [net[k].running_mean is None for k in (1, 2)]
    for c, t in zip(got["chainrule"][0], got["torch"][0]):
        np.testing.assert_allclose(c, t, rtol=1e-12, atol=1e-12)
    assert got["chainrule"][1] == got["torch"][1] == [True, False]


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("kind", ["conv", "convT", "linear"])
def test_fused_parameters_require_grad_as_the_layers_did(kind, bias, frozen):
    # the fused weight and bias always required grad: a frozen layer's fused copy trained, and
    # a bias-less layer's made-up bias (PyTorch's: requires none) too
    got = {}
    for lib in (torch, cr):
        nn = lib.nn
        layer = {"conv": lambda: nn.Conv2d(2, 3, 2, bias=bias),
                 "convT": lambda: nn.ConvTranspose2d(2, 3, 2, bias=bias),
                 "linear": lambda: nn.Linear(2, 3, bias=bias)}[kind]().double().eval()
        bn = (nn.BatchNorm1d(3) if kind == "linear" else nn.BatchNorm2d(3)).double().eval()
        layer.requires_grad_(not frozen)
        if kind == "linear":
            fused = nn.utils.fuse_linear_bn_eval(layer, bn)
        else:
            fused = nn.utils.fuse_conv_bn_eval(layer, bn, transpose=kind == "convT")
        got[lib.__name__] = [(n, p.requires_grad) for n, p in fused.named_parameters()]
    assert got["chainrule"] == got["torch"]
