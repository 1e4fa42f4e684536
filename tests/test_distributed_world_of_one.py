"""chainrule.distributed: PyTorch's torch.distributed for a world of one process, against
PyTorch's own gloo group of world size 1 (a file store, nothing leaves the machine): the
uninitialized errors, init/destroy, ranks, the collectives of one rank, and
DistributedDataParallel training as the bare model does (nanoGPT's require_backward_grad_sync,
no_sync)."""

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _world(lib, path):
    dist = lib.distributed
    out = {"available": dist.is_available(), "before": dist.is_initialized()}
    for name in ("get_rank", "get_world_size", "get_backend", "barrier"):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            getattr(dist, name)()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        lib.nn.parallel.DistributedDataParallel(lib.nn.Linear(2, 2))
    dist.init_process_group("gloo", init_method=f"file://{path}", rank=0, world_size=1)
    try:
        with pytest.raises(ValueError, match="initialize the default process group twice"):
            dist.init_process_group("gloo", init_method=f"file://{path}2", rank=0, world_size=1)
        out["group"] = (dist.is_initialized(), dist.get_rank(), dist.get_world_size(),
                        dist.get_backend())
        t = lib.tensor([1.0, 2.0])
        results = [dist.all_reduce(t), dist.all_reduce(t, op=dist.ReduceOp.AVG),
                   dist.all_reduce(t, op=dist.ReduceOp.MAX), dist.broadcast(t, src=0),
                   dist.barrier()]
        work = dist.all_reduce(t, async_op=True)
        gathered = [lib.zeros(2)]
        dist.all_gather(gathered, lib.tensor([3.0, 4.0]))
        objects = [None]
        dist.all_gather_object(objects, {"loss": 1.5})
        out["collectives"] = (results, t.tolist(), work.wait(), gathered[0].tolist(), objects)
        out["ddp"] = _ddp_training(lib)
    finally:
        dist.destroy_process_group()
    out["after"] = dist.is_initialized()
    return out


def _ddp_training(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    with lib.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) / (i + 1)))
    ddp = nn.parallel.DistributedDataParallel(model)
    raw = ddp.module
    opt = lib.optim.AdamW(ddp.parameters(), lr=0.1)
    x = lib.tensor(np.linspace(-1, 1, 24).reshape(8, 3))
    y = lib.tensor(np.sin(np.arange(8.0)).reshape(8, 1))
    losses, flags = [], []
    for _ in range(3):
        for micro_step in range(2):
            ddp.require_backward_grad_sync = (micro_step == 1)  # nanoGPT's accumulation
            loss = ((ddp(x[micro_step::2]) - y[micro_step::2]) ** 2).mean() / 2
            loss.backward()
            flags.append(ddp.require_backward_grad_sync)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    with ddp.no_sync():
        inside = ddp.require_backward_grad_sync
    return (raw is model, list(ddp.state_dict())[:2], losses, flags, inside,
            ddp.require_backward_grad_sync,
            [p.detach().numpy().copy() for p in raw.parameters()])


def test_world_of_one_answers_as_pytorchs_gloo_group(tmp_path):
    ours = _world(chainrule, tmp_path / "ours")
    theirs = _world(torch, tmp_path / "theirs")
    ddp_ours, ddp_theirs = ours.pop("ddp"), theirs.pop("ddp")
    assert ours == theirs
    assert ours["group"] == (True, 0, 1, "gloo") and ours["after"] is False
    assert ddp_ours[:2] == ddp_theirs[:2] == (True, ["module.0.weight", "module.0.bias"])
    assert ddp_ours[3:6] == ddp_theirs[3:6]
    np.testing.assert_allclose(ddp_ours[2], ddp_theirs[2], rtol=1e-12)
    for a, b in zip(ddp_ours[6], ddp_theirs[6]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_world_of_more_than_one_process_is_refused(monkeypatch):
    dist = chainrule.distributed
    with pytest.raises(RuntimeError, match="runs one process, so world_size must be 1, got 2"):
        dist.init_process_group("nccl", world_size=2, rank=0)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(RuntimeError, match=r"world_size must be 1, got 4 \(set by the argument "
                                           r"or WORLD_SIZE\)"):
        dist.init_process_group(backend="nccl")
    assert not dist.is_initialized()
    dist.init_process_group("gloo", world_size=1, rank=0)
    try:
        with pytest.raises(ValueError, match="broadcast: src must be rank 0"):
            dist.broadcast(chainrule.ones(2), src=1)
        with pytest.raises(TypeError, match="all_reduce: op must be a ReduceOp"):
            dist.all_reduce(chainrule.ones(2), op="sum")
        with pytest.raises(ValueError, match="one entry per rank"):
            dist.all_gather([chainrule.ones(2)] * 2, chainrule.ones(2))
    finally:
        dist.destroy_process_group()
