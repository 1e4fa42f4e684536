"""The PyTorch-named API against the PyTorch oracle, and float64 gradient checks of its new ops."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

from .._case_loop import each_case, grid, with_rng


def _t(rng, *shape, requires_grad=True):
    return cr.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def test_gradchecks_of_the_new_ops(rng):
    x = _t(rng, 3, 4)
    idx = cr.tensor(rng.integers(0, 4, (3, 5)))
    mask = cr.tensor(rng.random((3, 4)) < 0.3)
    for f in (cr.sin, cr.cos, cr.clone, lambda a: cr.tril(a, -1), lambda a: cr.triu(a, 1),
              lambda a: cr.gather(a, 1, idx), lambda a: a.masked_fill(mask, 2.0),
              lambda a: cr.sort(a, dim=1).values, lambda a: cr.topk(a, 2, dim=0).values,
              lambda a: a.narrow(1, 1, 2), lambda a: a.chunk(3, 1)[1], lambda a: a.t(),
              lambda a: cr.max(a, 1).values, lambda a: a.expand(2, 3, 4)):
        assert cr.gradcheck(f, x)
        assert cr.gradgradcheck(f, x)


def test_sizes_and_dtypes():
    x = cr.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4 and x.size().numel() == 24
    assert x.dim() == 3 and x.numel() == 24 and cr.numel(x) == 24 and not x.is_cuda
    with pytest.raises(IndexError, match="size\\(\\): dim 3 is out of range"):
        x.size(3)
    assert cr.float is cr.float32 and x.dtype == cr.float32 and cr.long == np.int64
    assert cr.arange(3).dtype == cr.int64 and cr.arange(0.0, 1.0, 0.5).dtype == cr.float32
    assert x.type() == "chainrule.FloatTensor" and x.long().dtype == cr.long
    assert x.to(cr.float64).dtype == cr.float64 and x.to("cpu", cr.float64).dtype == cr.float64
    assert [i for i in range(10)][cr.tensor(3)] == 3 and float(cr.tensor([2.5])) == 2.5


def test_dim_and_axis_are_one_argument(rng):
    x = _t(rng, 3, 4, requires_grad=False)
    np.testing.assert_array_equal(x.sum(dim=1, keepdim=True).numpy(),
                                  x.sum(axis=1, keepdims=True).numpy())
    np.testing.assert_array_equal(cr.cat([x, x], dim=1).numpy(), cr.cat([x, x], axis=1).numpy())
    with pytest.raises(TypeError, match="sum: give dim or axis, not both"):
        x.sum(dim=1, axis=1)
    with pytest.raises(TypeError, match="softmax: give dim or axis, not both"):
        cr.softmax(x, axis=0, dim=1)
    with pytest.raises(TypeError, match="keepdim or keepdims"):
        x.mean(dim=0, keepdim=True, keepdims=True)
    assert x.max(axis=1).shape == (3,) and len(x.max(1)) == 2  # NumPy: values; PyTorch: a pair


def test_seeding_repeats_every_default_draw():
    def draws():
        layer = nn.Linear(3, 2)
        drop = nn.Dropout(0.5)(cr.ones(100))
        order = [b.tolist() for (b,) in cr.data.DataLoader(cr.data.ArrayDataset(np.arange(8)), 4,
                                                           shuffle=True)]
        w = cr.zeros(5)
        nn.init.normal_(w)
        return [layer.weight.numpy(), drop.numpy(), np.array(order), cr.randn(3).numpy(),
                cr.rand(2).numpy(), cr.randint(0, 9, (4,)).numpy(), cr.randperm(5).numpy(),
                cr.multinomial(cr.ones(4), 2).numpy(), w.numpy(), cr.zeros(3).normal_().numpy()]

    cr.manual_seed(7)
    first = draws()
    cr.manual_seed(7)
    again = draws()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert cr.initial_seed() == 7
    explicit = nn.Linear(3, 2, rng=np.random.default_rng(0)).weight.numpy()
    cr.manual_seed(8)
    np.testing.assert_array_equal(nn.Linear(3, 2, rng=np.random.default_rng(0)).weight.numpy(),
                                  explicit)


def test_in_place_updates_keep_identity_and_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    before = w
    with cr.no_grad():
        w -= 0.5 * w.grad
    assert w is before and w.grad is not None and w.tolist() == [0.0, 0.0]
    y = w * 2
    z = y
    y += 1  # recorded in place, as in PyTorch: z is y and sees the change
    assert y is z and z.tolist() == [1.0, 1.0]
    y.sum().backward()
    assert w.grad.tolist() == [4.0, 6.0]
    m = cr.zeros(3)
    m.masked_fill_(cr.tensor([True, False, True]), 5.0)
    assert m.tolist() == [5.0, 0.0, 5.0]


def test_save_and_load_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0)), nn.ReLU(),
                          nn.Linear(4, 2, rng=np.random.default_rng(1)))
    opt = cr.optim.Adam(model.parameters(), lr=0.1)
    model(cr.ones(2, 3)).sum().backward()
    opt.step()
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
                  "history": [0.5, float("inf")], "shape": (2, 3), "note": None}
    cr.save(checkpoint, tmp_path / "ckpt.pt")
    back = cr.load(tmp_path / "ckpt.pt")
    assert back["epoch"] == 3 and back["shape"] == (2, 3) and back["history"] == [0.5, np.inf]
    twin = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    twin.load_state_dict(back["model"], strict=True)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    opt2 = cr.optim.Adam(twin.parameters(), lr=0.1)
    opt2.load_state_dict(back["optimizer"])
    with pytest.raises(TypeError, match=r"save: obj\['model'\] is a Sequential"):
        cr.save({"model": model}, tmp_path / "bad.pt")
    (tmp_path / "pickle.pt").write_bytes(b"\x80\x04\x95" + b"\0" * 64)
    with pytest.raises(ValueError, match="was not written by chainrule.save"):
        cr.load(tmp_path / "pickle.pt")


def test_devices():
    assert cr.device("cpu") == "cpu" and str(cr.device("cuda", 0)) == "cuda:0"
    assert cr.cuda.is_available() == cr.accelerator.is_available()
    assert (cr.accelerator.current_accelerator() is None) != cr.cuda.is_available()
    x = cr.ones(2)
    assert x.to(cr.device("cpu")) is x
    with pytest.raises(ValueError, match="unknown device type 'tpu'"):
        cr.device("tpu")


@pytest.mark.torch
def test_factories_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [
        (cr.zeros(2, 3), torch.zeros(2, 3)), (cr.ones((2, 1)), torch.ones((2, 1))),
        (cr.full((2, 2), 1.5), torch.full((2, 2), 1.5)), (cr.full((2,), 3), torch.full((2,), 3)),
        (cr.arange(5), torch.arange(5)), (cr.arange(1, 2, 0.25), torch.arange(1, 2, 0.25)),
        (cr.linspace(-1, 1, 7), torch.linspace(-1, 1, 7)), (cr.eye(3, 2), torch.eye(3, 2)),
        (cr.tril(cr.ones(3, 4), 1), torch.tril(torch.ones(3, 4), 1)),
        (cr.triu(cr.ones(3, 4), -1), torch.triu(torch.ones(3, 4), -1)),
        (cr.zeros_like(cr.ones(2, dtype=cr.int64)),
         torch.zeros_like(torch.ones(2, dtype=torch.int64))),
    ]
    for ours, theirs in pairs:
        assert ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.torch
def test_reductions_and_picking_match_torch(rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((4, 5))
    cases = [
        lambda m, x: m.sum(x, dim=1, keepdim=True), lambda m, x: x.mean(dim=0),
        lambda m, x: m.max(x, 1).values, lambda m, x: x.min(dim=0, keepdim=True)[0],
        lambda m, x: m.softmax(x, dim=0), lambda m, x: m.log_softmax(x, dim=1),
        lambda m, x: x.var(dim=1, unbiased=True), lambda m, x: m.topk(x, 3, dim=1).values,
        lambda m, x: m.sort(x, dim=0, descending=True).values, lambda m, x: m.cat([x, x], dim=1),
        lambda m, x: m.flatten(x.unsqueeze(0), start_dim=1), lambda m, x: x.narrow(1, 1, 3),
        lambda m, x: x.t().contiguous().view(-1), lambda m, x: m.sin(x) * m.cos(x),
        lambda m, x: x.masked_fill(x > 0.5, -1.0), lambda m, x: x.pow(2).clamp(max=1.0),
        lambda m, x: m.gather(x, 1, m.tensor([[0, 4], [1, 1], [3, 2], [0, 0]])),
        lambda m, x: m.split(x, 2, dim=1)[2], lambda m, x: x.expand(2, 4, 5).sum(0),
    ]
    for i, f in enumerate(cases):
        x = cr.tensor(a, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        out, tout = f(cr, x), f(torch, t)
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, err_msg=str(i))
        g = np.cos(np.arange(out.numel())).reshape(out.shape)
        out.backward(cr.tensor(g))
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=str(i))
    x = cr.tensor(a)
    np.testing.assert_array_equal(cr.max(x, 1).indices.numpy(),
                                  torch.max(torch.tensor(a), 1).indices.numpy())
    np.testing.assert_array_equal(cr.topk(x, 2, dim=0).indices.numpy(),
                                  torch.topk(torch.tensor(a), 2, dim=0).indices.numpy())


def _loss_modules_match_torch_case(rng, name, reduction):
    torch = pytest.importorskip("torch")
    z = rng.standard_normal((6, 4))
    if name in ("CrossEntropyLoss", "NLLLoss"):
        target = rng.integers(0, 4, 6)
        if name == "NLLLoss":
            z = z - np.log(np.exp(z).sum(1, keepdims=True))
    elif name == "BCELoss":
        z = 1 / (1 + np.exp(-z))
        target = rng.random((6, 4))
    else:
        target = rng.standard_normal((6, 4))
    kwargs = {"reduction": reduction}
    if name == "SmoothL1Loss":
        kwargs["beta"] = 0.5
    x, t = cr.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    ours = getattr(nn, name)(**kwargs)(x, cr.tensor(target))
    theirs = getattr(torch.nn, name)(**kwargs)(t, torch.tensor(target))
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10)
    g = np.cos(np.arange(ours.numel())).reshape(ours.shape)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.torch
def test_loss_modules_match_torch():
    each_case(with_rng(_loss_modules_match_torch_case), grid(
        ("reduction", ["mean", "sum", "none"]),
        ("name", ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
                  "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss"]),
    ))


@pytest.mark.torch
def test_clip_grad_norm_under_torch_path_matches_torch(rng):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    ours = [cr.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = cr.tensor(g), torch.tensor(g)
    n = cr.nn.utils.clip_grad_norm_(ours, 0.5)
    tn = torch.nn.utils.clip_grad_norm_(theirs, 0.5)
    np.testing.assert_allclose(n.item(), tn.item(), rtol=1e-12)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
