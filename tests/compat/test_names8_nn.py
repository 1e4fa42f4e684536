"""nn names PyTorch has that chainrule lacked: nn.utils.rnn's unpad_sequence, unpack_sequence and
invert_permutation; nn.utils' skip_init, clip_grad_norm and the weight memory-format
conversions; nn.SyncBatchNorm (one process) and nn.DataParallel (one device). Against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd.gradcheck import gradcheck
from chainrule.nn.utils import rnn

RNG = np.random.default_rng(808)
SEQS = [RNG.normal(size=(n, 2)) for n in (3, 5, 1)]


@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_and_unpack_sequence_match_torch(batch_first):
    torch = pytest.importorskip("torch")
    tr = torch.nn.utils.rnn
    ours = [cr.tensor(s, requires_grad=True) for s in SEQS]
    theirs = [torch.tensor(s, requires_grad=True) for s in SEQS]
    padded = rnn.pad_sequence(ours, batch_first=batch_first)
    tpadded = tr.pad_sequence(theirs, batch_first=batch_first)
    lengths = [3, 5, 1]
    back = rnn.unpad_sequence(padded, cr.tensor(lengths), batch_first=batch_first)
    tback = tr.unpad_sequence(tpadded, torch.tensor(lengths), batch_first=batch_first)
    assert len(back) == 3
    for a, b, s in zip(back, tback, SEQS):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        np.testing.assert_array_equal(a.detach().numpy(), s)
    assert [tuple(t.shape) for t in rnn.unpad_sequence(padded, lengths, batch_first)] == [
        (3, 2), (5, 2), (1, 2)]
    sum(((t * t).sum() for t in back), cr.tensor(0.0)).backward()
    sum(((t * t).sum() for t in tback), torch.tensor(0.0)).backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())
    packed = rnn.pack_sequence([cr.tensor(s) for s in SEQS], enforce_sorted=False)
    tpacked = tr.pack_sequence([torch.tensor(s) for s in SEQS], enforce_sorted=False)
    for a, b in zip(rnn.unpack_sequence(packed), tr.unpack_sequence(tpacked)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_unpad_sequence_gradcheck_and_errors():
    x = cr.tensor(RNG.normal(size=(4, 3, 2)), requires_grad=True)
    assert gradcheck(lambda p: cr.cat(rnn.unpad_sequence(p, [4, 2, 3])), (x,))
    with pytest.raises(ValueError, match=r"lengths must hold 3 ints in \[0, 4\].*got \[4, 5, 1\]"):
        rnn.unpad_sequence(x, [4, 5, 1])
    with pytest.raises(ValueError, match="lengths must hold 4 ints"):
        rnn.unpad_sequence(x, [1, 1, 1], batch_first=True)
    with pytest.raises(TypeError, match="padded_sequences must be a Tensor of at least 2"):
        rnn.unpad_sequence([x], [1])
    with pytest.raises(TypeError, match="unpack_sequence: packed_sequences must be a "
                                        "PackedSequence, got Tensor"):
        rnn.unpack_sequence(x)


@pytest.mark.torch
def test_invert_permutation_matches_torch():
    torch = pytest.importorskip("torch")
    p = RNG.permutation(7)
    ours = rnn.invert_permutation(cr.tensor(p))
    theirs = torch.nn.utils.rnn.invert_permutation(torch.tensor(p))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == np.int64 and rnn.invert_permutation(None) is None
    with pytest.raises(ValueError, match=r"each of 0..2 once, got \[0, 0, 2\]"):
        rnn.invert_permutation(cr.tensor([0, 0, 2]))
    with pytest.raises(TypeError, match="1-D integer Tensor or None"):
        rnn.invert_permutation(cr.tensor([0.0, 1.0]))


@pytest.mark.torch
def test_nn_utils_skip_init_clip_grad_norm_and_memory_format():
    torch = pytest.importorskip("torch")
    layer = nn.utils.skip_init(nn.Linear, 3, 2, bias=False)
    assert isinstance(layer, nn.Linear) and layer.weight.shape == (2, 3) and layer.bias is None
    with pytest.raises(TypeError, match="skip_init: module_cls must be an nn.Module class"):
        nn.utils.skip_init(nn.Linear(2, 2))
    w = RNG.normal(size=(4,))
    p, tp = cr.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    (p * p).sum().backward()
    (tp * tp).sum().backward()
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        norm = nn.utils.clip_grad_norm([p], 1.0)
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        tnorm = torch.nn.utils.clip_grad_norm([tp], 1.0)
    np.testing.assert_allclose(norm.item(), tnorm.item(), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    before = model[0].weight.detach().numpy().copy()
    assert nn.utils.convert_conv2d_weight_memory_format(model, cr.channels_last) is model
    assert nn.utils.convert_conv3d_weight_memory_format(model, cr.channels_last_3d) is model
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), before)
    with pytest.raises(TypeError, match="memory_format must be one of"):
        nn.utils.convert_conv2d_weight_memory_format(model, "channels_last")
    with pytest.raises(TypeError, match="module must be an nn.Module, got list"):
        nn.utils.convert_conv3d_weight_memory_format([model], cr.channels_last_3d)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(6, 3), (6, 3, 4), (4, 3, 2, 3, 2, 2)])
def test_sync_batch_norm_matches_torch(shape):
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=shape)
    ours, theirs = nn.SyncBatchNorm(3, momentum=0.3).double(), torch.nn.SyncBatchNorm(
        3, momentum=0.3).double()
    xs, txs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(xs), theirs(txs)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    scale = RNG.normal(size=shape)
    (y * cr.tensor(scale)).sum().backward()
    (ty * torch.from_numpy(scale)).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), txs.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(ours, name).numpy(),
                                   getattr(theirs, name).numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_sync_batch_norm_gradcheck_and_errors():
    bn = nn.SyncBatchNorm(2).double()
    assert gradcheck(lambda x: bn(x), (cr.tensor(RNG.normal(size=(3, 2, 2, 2, 2)),
                                                 requires_grad=True),))
    with pytest.raises(ValueError, match=r"SyncBatchNorm: expected input of shape \(N, C, \.\.\.\)"
                                         r" with at least 2 dimensions, got shape \(4,\)"):
        bn(cr.ones(4))
    with pytest.raises(ValueError, match="expected 2 channels on axis 1"):
        bn(cr.ones(4, 5))
    with pytest.raises(ValueError, match="process_group must be None"):
        nn.SyncBatchNorm(2, process_group="world")


@pytest.mark.torch
def test_convert_sync_batchnorm_keeps_state_as_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        m = lib.nn.Sequential(lib.nn.Conv2d(2, 3, 1), lib.nn.BatchNorm2d(3),
                              lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4)))
        m[1].running_mean.fill_(0.5)
        m[2][1].eval()
        return m

    model, tmodel = build(cr), build(torch)
    old = model[1]
    out = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    tout = torch.nn.SyncBatchNorm.convert_sync_batchnorm(tmodel)
    assert out is model and repr(out) == repr(tout)
    assert type(out[1]) is nn.SyncBatchNorm and type(out[2][1]) is nn.SyncBatchNorm
    assert out[1].weight is old.weight and out[1].running_mean is old.running_mean
    assert out[1].running_mean.tolist() == [0.5] * 3
    assert out[2][1].training is False and out[1].training is True
    assert list(out.state_dict()) == list(tout.state_dict())
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(2))
    assert type(single) is nn.SyncBatchNorm
    with pytest.raises(TypeError, match="convert_sync_batchnorm: module must be an nn.Module"):
        nn.SyncBatchNorm.convert_sync_batchnorm("bn")


@pytest.mark.torch
def test_data_parallel_passes_through_with_torch_keys():
    torch = pytest.importorskip("torch")
    inner = nn.Linear(3, 2).double()
    dp = nn.DataParallel(inner)
    tdp = torch.nn.DataParallel(torch.nn.Linear(3, 2).double())
    assert dp.module is inner and repr(dp) == repr(tdp)
    assert list(dp.state_dict()) == list(tdp.state_dict()) == ["module.weight", "module.bias"]
    tdp.load_state_dict({k: torch.tensor(v.numpy()) for k, v in dp.state_dict().items()})
    x = RNG.normal(size=(5, 3))
    np.testing.assert_allclose(dp(cr.tensor(x)).detach().numpy(),
                               tdp(torch.tensor(x)).detach().numpy(), rtol=1e-13, atol=1e-15)
    assert [p is q for p, q in zip(dp.parameters(), inner.parameters())] == [True, True]
    with pytest.raises(ValueError, match="does not split batches, so device_ids must name at "
                                         r"most one, got \[0, 1\]"):
        nn.DataParallel(inner, device_ids=[0, 1])
    with pytest.raises(TypeError, match="DataParallel: module must be an nn.Module"):
        nn.DataParallel(lambda x: x)
