"""nn.utils.prune in use: training a pruned model against PyTorch, state dicts both ways, remove,
and the explicit speed-ups (nn.fuse, cr.trace) never running a layer with stale weights."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import prune


def _mlp(lib):
    nn_ = lib.nn
    return nn_.Sequential(nn_.Linear(5, 8), nn_.ReLU(), nn_.Linear(8, 3))


def _start(rng):
    shapes = {"0.weight": (8, 5), "0.bias": (8,), "2.weight": (3, 8), "2.bias": (3,)}
    return {k: rng.standard_normal(s) * 0.5 for k, s in shapes.items()}


def _prune_both(lib, model, mask):
    p = __import__(f"{lib.__name__}.nn.utils.prune", fromlist=["prune"])
    p.l1_unstructured(model[0], "weight", amount=0.5)
    p.custom_from_mask(model[2], "weight", lib.tensor(mask))
    p.l1_unstructured(model[2], "bias", amount=1)
    return model


@pytest.mark.torch
def test_training_a_pruned_mlp_matches_torch(rng):
    torch = pytest.importorskip("torch")
    state = _start(rng)
    mask = (rng.random((3, 8)) > 0.3).astype(np.float64)
    x, y = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    runs = {}
    for lib in (cr, torch):
        model = _mlp(lib).double()
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        _prune_both(lib, model, mask)
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with lib.no_grad():
            out = model(lib.tensor(x))
        runs[lib.__name__] = losses, {k: v.numpy().copy() for k, v in model.state_dict().items()}
        runs[lib.__name__ + ".weight"] = model[0].weight.detach().numpy().copy(), out.numpy()
    ours, theirs = runs["chainrule"], runs["torch"]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    assert list(ours[1]) == list(theirs[1]) == [
        "0.bias", "0.weight_orig", "0.weight_mask", "2.weight_orig", "2.bias_orig",
        "2.weight_mask", "2.bias_mask"]
    for key in theirs[1]:
        np.testing.assert_allclose(ours[1][key], theirs[1][key], rtol=1e-11, atol=1e-13)
    for a, b in zip(runs["chainrule.weight"], runs["torch.weight"]):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    weight, mask0 = runs["chainrule.weight"][0], ours[1]["0.weight_mask"]
    assert np.all(weight[mask0 == 0] == 0) and np.all(ours[1]["0.weight_orig"][mask0 == 0] != 0)


def test_an_optimizer_made_after_pruning_updates_orig_only_where_unmasked(rng):
    layer = nn.Linear(4, 3, dtype=cr.float64)
    prune.l1_unstructured(layer, "weight", 6)
    before = layer.weight_orig.numpy().copy()
    opt = cr.optim.SGD(layer.parameters(), lr=0.5)
    assert any(p is layer.weight_orig for p in opt.param_groups[0]["params"])
    layer(cr.tensor(rng.standard_normal((5, 4)))).square().sum().backward()
    opt.step()
    moved = layer.weight_orig.numpy() != before
    np.testing.assert_array_equal(moved, layer.weight_mask.numpy() == 1)


@pytest.mark.torch
def test_pruned_state_dicts_load_both_ways(rng):
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune as tprune

    state = _start(rng)
    mask = (rng.random((3, 8)) > 0.3).astype(np.float64)
    theirs = _prune_both(torch, _mlp(torch).double(), mask)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    ours = _mlp(cr).double()
    prune.identity(ours[0], "weight")
    prune.identity(ours[2], "weight")
    prune.identity(ours[2], "bias")
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((4, 5))
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    back = _mlp(torch).double()
    for i, name in ((0, "weight"), (2, "weight"), (2, "bias")):
        tprune.identity(back[i], name)
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(),
                               ours(cr.tensor(x)).numpy(), rtol=1e-12)


def test_state_dict_round_trip_restores_mask_and_output(rng, tmp_path):
    model = _mlp(cr).double()
    prune.global_unstructured([(model[0], "weight"), (model[2], "weight")],
                              prune.L1Unstructured, amount=0.6)
    cr.save(model.state_dict(), tmp_path / "pruned.pt")
    fresh = _mlp(cr).double()
    prune.identity(fresh[0], "weight")
    prune.identity(fresh[2], "weight")
    fresh.load_state_dict(cr.load(tmp_path / "pruned.pt"))
    x = cr.tensor(rng.standard_normal((3, 5)))
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    np.testing.assert_array_equal(fresh[2].weight_mask.numpy(), model[2].weight_mask.numpy())


@pytest.mark.kernel_free
@pytest.mark.torch
def test_remove_makes_the_pruning_permanent_as_torch(rng):
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune as tprune

    state = _start(rng)
    mask = (rng.random((3, 8)) > 0.3).astype(np.float64)
    results = []
    for lib, p in ((cr, prune), (torch, tprune)):
        model = _mlp(lib).double()
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        _prune_both(lib, model, mask)
        p.ln_structured(model[0], "weight", 2, 2, 0)
        orig = model[0].weight_orig
        for i, name in ((0, "weight"), (2, "weight"), (2, "bias")):
            p.remove(model[i], name)
        assert model[0].weight is orig and not p.is_pruned(model)
        assert not any(n.endswith("_orig") for n, _ in model.named_parameters())
        results.append({k: v.numpy().copy() for k, v in model.state_dict().items()})
    assert list(results[0]) == list(results[1]) == ["0.bias", "0.weight", "2.weight", "2.bias"]
    for key in results[1]:
        np.testing.assert_array_equal(results[0][key], results[1][key])
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(model[0], "weight")


def test_a_trace_never_replays_stale_weights(rng):
    model = nn.Sequential(nn.Linear(5, 6, dtype=cr.float64), nn.ReLU(),
                          nn.Linear(6, 2, dtype=cr.float64)).eval()
    x = cr.tensor(rng.standard_normal((4, 5)))
    fast = cr.trace(model, x)

    def same():
        with cr.no_grad():
            np.testing.assert_array_equal(fast(x).numpy(), model(x).numpy())

    prune.l1_unstructured(model[0], "weight", 15)  # traced before pruning
    same()
    np.testing.assert_array_equal(model[0].weight.numpy() == 0, model[0].weight_mask.numpy() == 0)
    prune.ln_structured(model[0], "weight", 2, 1, 0)  # again, with a new mask
    same()
    with cr.no_grad():
        model[0].weight_orig.mul_(2.0)  # values change in place: the trace follows them
    model[2].load_state_dict({"weight": rng.standard_normal((2, 6)), "bias": [0.5, -0.5]})
    same()
    prune.remove(model[0], "weight")
    same()
    prune.random_unstructured(model[2], "bias", 1)
    same()
    gone = int(np.flatnonzero(model[2].bias_mask.numpy() == 0)[0])
    with cr.no_grad():
        hidden = np.maximum(model[0](x).numpy(), 0)
    np.testing.assert_allclose(fast(x).numpy()[:, gone], hidden @ model[2].weight.numpy()[gone],
                               rtol=1e-12)


def test_fuse_and_pruning_give_the_pruned_layer_either_way(rng):
    x = cr.tensor(rng.standard_normal((4, 1, 6, 6)))

    def build():
        g = np.random.default_rng(3)
        return nn.Sequential(nn.Conv2d(1, 3, 3, rng=g, dtype=cr.float64), nn.ReLU(),
                             nn.Flatten(), nn.Linear(48, 4, rng=g, dtype=cr.float64), nn.ReLU())

    plain = build()
    prune.ln_structured(plain[0], "weight", 1, 2, 0)
    prune.l1_unstructured(plain[3], "weight", 0.7)
    expected = plain(x).numpy()
    assert not np.array_equal(expected, build()(x).numpy())

    pruned_then_fused = nn.fuse(copy.deepcopy(plain))  # a layer with hooks stays unfused
    assert type(pruned_then_fused[0]) is nn.Conv2d and type(pruned_then_fused[3]) is nn.Linear
    np.testing.assert_array_equal(pruned_then_fused(x).numpy(), expected)

    fused_then_pruned = nn.fuse(build())
    assert type(fused_then_pruned[0]).__name__ == "Conv2dReLU"
    prune.ln_structured(fused_then_pruned[0], "weight", 1, 2, 0)
    prune.l1_unstructured(fused_then_pruned[3], "weight", 0.7)
    np.testing.assert_allclose(fused_then_pruned(x).numpy(), expected, rtol=1e-12, atol=1e-14)
    traced = cr.trace(fused_then_pruned.eval(), x)
    np.testing.assert_allclose(traced(x).numpy(), expected, rtol=1e-12, atol=1e-14)


def test_pruning_on_a_model_moved_and_cast_follows_it(rng):
    layer = nn.Linear(4, 3)
    prune.l1_unstructured(layer, "weight", 4)
    layer.to(dtype=cr.float64)
    assert layer.weight_orig.dtype == layer.weight_mask.dtype == cr.float64
    y = layer(cr.tensor(rng.standard_normal((2, 4))))
    assert y.dtype == cr.float64 and layer.weight.dtype == cr.float64
