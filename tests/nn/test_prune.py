"""nn.utils.prune: the masks of every method against PyTorch's on the same float64 weights, the
iterative container, global pruning, the signatures and the errors."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import prune

from .._case_loop import each_case, grid

# Continuous random weights: no two magnitudes (or channel norms) are equal, so the masks do not
# depend on how ties are broken (torch.topk's order among ties is unspecified).


def _torch():
    return pytest.importorskip("torch")


def _weights(rng, shape):
    return rng.standard_normal(shape)


def _pair(rng, kind="linear"):
    """The same float64 layer in chainrule and in PyTorch."""
    torch = _torch()
    if kind == "linear":
        ours, theirs = nn.Linear(6, 5, dtype=cr.float64), torch.nn.Linear(6, 5).double()
    else:
        ours = nn.Conv2d(3, 4, 3, dtype=cr.float64)
        theirs = torch.nn.Conv2d(3, 4, 3).double()
    state = {k: _weights(rng, tuple(v.shape)) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return ours, theirs


def _same_masks(ours, theirs):
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        np.testing.assert_array_equal(ours_state[key].numpy(), value.numpy(), err_msg=key)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize(("fn", "args"), [
    ("l1_unstructured", ("weight", 0.3)),
    ("l1_unstructured", ("weight", 7)),
    ("l1_unstructured", ("weight", 0)),
    ("l1_unstructured", ("weight", 1.0)),
    ("l1_unstructured", ("bias", 2)),
    ("ln_structured", ("weight", 0.5, 2, 0)),
    ("ln_structured", ("weight", 2, 1, 1)),
    ("ln_structured", ("weight", 1, math.inf, -1)),
    ("ln_structured", ("weight", 0.4, -math.inf, 0)),
    ("ln_structured", ("weight", 2, "fro", 0)),
    ("ln_structured", ("weight", 0, 2, 0)),
    ("identity", ("weight",)),
])
def test_masks_and_outputs_match_torch(rng, kind, fn, args):
    if kind == "conv" and "fro" in args:
        kind = "linear"  # PyTorch's "fro" takes at most two dimensions to reduce
    torch = _torch()
    import torch.nn.utils.prune as tprune

    ours, theirs = _pair(rng, kind)
    getattr(prune, fn)(ours, *args)
    getattr(tprune, fn)(theirs, *args)
    _same_masks(ours, theirs)
    x = rng.standard_normal((2, 6) if kind == "linear" else (2, 3, 5, 5))
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
    assert prune.is_pruned(ours) and type(ours._forward_pre_hooks[
        next(iter(ours._forward_pre_hooks))]).__name__ == type(next(iter(
            theirs._forward_pre_hooks.values()))).__name__


@pytest.mark.kernel_free
@pytest.mark.torch
def test_importance_scores_rank_instead_of_the_weights(rng):
    torch = _torch()
    import torch.nn.utils.prune as tprune

    ours, theirs = _pair(rng, "conv")
    scores = rng.standard_normal((4, 3, 3, 3))
    prune.l1_unstructured(ours, "weight", 20, importance_scores=cr.tensor(scores))
    tprune.l1_unstructured(theirs, "weight", 20, importance_scores=torch.tensor(scores))
    prune.ln_structured(ours, "weight", 1, 1, 0, importance_scores=cr.tensor(scores))
    tprune.ln_structured(theirs, "weight", 1, 1, 0, importance_scores=torch.tensor(scores))
    _same_masks(ours, theirs)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_iterative_pruning_prunes_only_what_is_left_as_torch(rng):
    torch = _torch()
    import torch.nn.utils.prune as tprune

    ours, theirs = _pair(rng, "conv")
    custom = (rng.random((4, 3, 3, 3)) > 0.2).astype(np.float64)
    steps = [("l1_unstructured", ("weight", 0.25)), ("ln_structured", ("weight", 1, 2, 0)),
             ("l1_unstructured", ("weight", 9)), ("ln_structured", ("weight", 0.34, 1, 1)),
             ("custom_from_mask", ("weight", custom))]
    for k, (fn, args) in enumerate(steps):
        getattr(prune, fn)(ours, *[cr.tensor(a) if isinstance(a, np.ndarray) else a
                                   for a in args])
        getattr(tprune, fn)(theirs, *[torch.tensor(a) if isinstance(a, np.ndarray) else a
                                      for a in args])
        _same_masks(ours, theirs)
        hooks = list(ours._forward_pre_hooks.values())
        assert len(hooks) == 1
        if k:
            assert isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == k + 1
    assert [type(m).__name__ for m in hooks[0]] == [
        "L1Unstructured", "LnStructured", "L1Unstructured", "LnStructured", "CustomFromMask"]
    # the second pruning took 9 more of the surviving entries, none already pruned
    assert int((ours.weight_mask.numpy() == 0).sum()) > 27 + 9


@pytest.mark.kernel_free
def test_the_container_keeps_the_old_mask_and_prunes_the_rest(rng):
    layer = nn.Linear(10, 1, dtype=cr.float64)
    layer.load_state_dict({"weight": np.arange(1.0, 11.0)[None] * [[1, -1] * 5], "bias": [0.0]})
    prune.l1_unstructured(layer, "weight", 3)
    np.testing.assert_array_equal(layer.weight_mask.numpy()[0], [0, 0, 0] + [1] * 7)
    prune.l1_unstructured(layer, "weight", 0.5)  # half of the 7 left: round(3.5) = 4
    np.testing.assert_array_equal(layer.weight_mask.numpy()[0], [0] * 7 + [1] * 3)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_global_unstructured_ranks_all_layers_together_as_torch(rng):
    torch = _torch()
    import torch.nn.utils.prune as tprune

    pairs = [_pair(rng, "linear"), _pair(rng, "conv"), _pair(rng, "linear")]
    prune.l1_unstructured(pairs[2][0], "weight", 4)
    tprune.l1_unstructured(pairs[2][1], "weight", 4)
    scores = rng.standard_normal((4, 3, 3, 3))
    for amount in (0.4, 13):
        prune.global_unstructured(
            [(m, "weight") for m, _ in pairs] + [(pairs[0][0], "bias")], prune.L1Unstructured,
            importance_scores={(pairs[1][0], "weight"): cr.tensor(scores)}, amount=amount)
        tprune.global_unstructured(
            [(t, "weight") for _, t in pairs] + [(pairs[0][1], "bias")], tprune.L1Unstructured,
            importance_scores={(pairs[1][1], "weight"): torch.tensor(scores)}, amount=amount)
        for ours, theirs in pairs:
            _same_masks(ours, theirs)
    total = sum((m.weight_mask.numpy() == 0).sum() for m, _ in pairs)
    assert total + (pairs[0][0].bias_mask.numpy() == 0).sum() > 0.4 * (30 + 108 + 30 + 5)


@pytest.mark.kernel_free
def test_global_unstructured_prunes_the_smallest_overall():
    a, b = nn.Linear(2, 1, bias=False), nn.Linear(3, 1, bias=False)
    a.load_state_dict({"weight": [[0.5, -4.0]]})
    b.load_state_dict({"weight": [[1.0, 3.0, -0.25]]})
    prune.global_unstructured([(a, "weight"), (b, "weight")], prune.L1Unstructured, amount=0.6)
    np.testing.assert_array_equal(a.weight_mask.numpy(), [[0, 1]])
    np.testing.assert_array_equal(b.weight_mask.numpy(), [[0, 1, 0]])


@pytest.mark.kernel_free
def test_ties_keep_the_lower_index():
    layer = nn.Linear(6, 2, bias=False)
    layer.load_state_dict({"weight": [[1.0, -1, 1, 2, 1, 1], [1, 1, 1, 1, 3, 3]]})
    prune.l1_unstructured(layer, "weight", 3)
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0, 0, 0, 1, 1, 1]] + [[1] * 6])
    conv = nn.Linear(2, 4, bias=False)
    conv.load_state_dict({"weight": [[1.0, 0], [0, 1], [2, 0], [0, 1]]})
    prune.ln_structured(conv, "weight", 2, 2, 0)  # rows 0, 1 and 3 tie: the later go first
    np.testing.assert_array_equal(conv.weight_mask.numpy()[:, 0], [1, 0, 1, 0])


@pytest.mark.kernel_free
def test_random_methods_prune_the_asked_count_reproducibly():
    def masks(seed):
        cr.manual_seed(seed)
        layer = nn.Conv2d(3, 8, 2, rng=np.random.default_rng(0))
        prune.random_unstructured(layer, "weight", 0.25)
        first = layer.weight_mask.numpy().copy()
        prune.random_structured(layer, "weight", 3, 0)
        return first, layer.weight_mask.numpy()

    first, second = masks(1)
    assert (first == 0).sum() == round(0.25 * 96)
    channels = second.reshape(8, -1).any(axis=1)
    assert channels.sum() == 5 and np.all(second[~channels] == 0)
    np.testing.assert_array_equal(second[channels], first[channels])  # the old zeros stay
    np.testing.assert_array_equal(masks(1)[1], second)
    assert not np.array_equal(masks(2)[0], first)


@pytest.mark.kernel_free
def test_prune_computes_without_registering(rng):
    t = cr.tensor(rng.standard_normal((3, 4)))
    out = prune.L1Unstructured(amount=5).prune(t)
    kept = np.abs(t.numpy()) > np.sort(np.abs(t.numpy()).ravel())[4]
    np.testing.assert_array_equal(out.numpy(), t.numpy() * kept)
    method = prune.LnStructured(1, n=2, dim=0)
    mask = method.compute_mask(t, cr.ones(3, 4, dtype=cr.float64)).numpy()
    norms = np.linalg.norm(t.numpy(), axis=1)
    np.testing.assert_array_equal(mask[:, 0], norms > norms.min())


def test_gradients_reach_orig_through_the_mask(rng):
    layer = nn.Linear(4, 3, dtype=cr.float64)
    prune.random_unstructured(layer, "weight", 5)
    x = cr.tensor(rng.standard_normal((2, 4)))
    layer(x).sum().backward()
    mask = layer.weight_mask.numpy()
    expected = np.broadcast_to(x.numpy().sum(0), (3, 4)) * mask
    np.testing.assert_allclose(layer.weight_orig.grad.numpy(), expected, rtol=1e-12)
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_orig"]
    method = prune.CustomFromMask(layer.weight_mask)  # the same product, with a fixed mask
    w = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert cr.gradcheck(lambda a: method.prune(a) ** 2, [w])
    assert cr.gradgradcheck(lambda a: method.prune(a) ** 3, [w])


def _signature(fn):
    return [(p.name, p.default, p.kind) for p in inspect.signature(fn).parameters.values()]


_SIGNATURES_MATCH_TORCH = ["identity", "random_unstructured", "l1_unstructured",
                                  "random_structured", "ln_structured", "global_unstructured",
                                  "custom_from_mask", "remove", "is_pruned", "Identity.apply",
                                  "RandomUnstructured", "L1Unstructured", "RandomStructured",
                                  "LnStructured", "CustomFromMask", "L1Unstructured.apply",
                                  "LnStructured.apply", "RandomStructured.apply",
                                  "BasePruningMethod.apply", "BasePruningMethod.prune",
                                  "PruningContainer.compute_mask", "CustomFromMask.apply",
                                  "PruningContainer.add_pruning_method",
                                  "RandomUnstructured.apply"]


def _signatures_match_torch_case(name):
    _torch()
    import torch.nn.utils.prune as tprune

    def find(module):
        obj = module
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    assert _signature(find(prune)) == _signature(find(tprune))


@pytest.mark.kernel_free
@pytest.mark.torch
def test_signatures_match_torch():
    each_case(_signatures_match_torch_case, grid(("name", _SIGNATURES_MATCH_TORCH)))


_BAD_ARGUMENTS_ARE_REFUSED_AND_LEAVE_THE_MODULE_ALONE = [
    (lambda m: prune.l1_unstructured(m, "weight", "half"), TypeError,
     "Invalid type for amount: half. Must be int or float."),
    (lambda m: prune.l1_unstructured(m, "weight", -1), ValueError,
     r"amount=-1 should either be a float in the range \[0, 1\] or a non-negative integer"),
    (lambda m: prune.random_unstructured(m, "weight", 1.5), ValueError, "amount=1.5 should"),
    (lambda m: prune.l1_unstructured(m, "weight", 13), ValueError,
     "amount=13 should be smaller than the number of parameters to prune=12"),
    (lambda m: prune.ln_structured(m, "bias", 1, 2, 0), ValueError,
     r"Structured pruning can only be applied to multidimensional tensors. Found tensor of "
     r"shape \(3,\) with 1 dims"),
    (lambda m: prune.ln_structured(m, "weight", 1, 2, 2), IndexError,
     r"Invalid index 2 for tensor of size \(3, 4\)"),
    (lambda m: prune.ln_structured(m, "weight", 1, "nuc", 0), RuntimeError,
     "dim must be a 2-tuple"),  # as PyTorch: the nuclear norm takes a 3-D parameter
    (lambda m: prune.ln_structured(m, "weight", 1, "l2", 0), ValueError, "n must be a number"),
    (lambda m: prune.l1_unstructured(m, "weights", 1), ValueError,
     r"Linear has no parameter 'weights' \(its parameters: \['weight', 'bias'\]\)"),
    (lambda m: prune.l1_unstructured("m", "weight", 1), TypeError, "must be an nn.Module, got str"),
    (lambda m: prune.l1_unstructured(m, "weight", 1, importance_scores=cr.ones(4, 3)),
     ValueError, r"importance_scores must have the shape of weight \(3, 4\), got \(4, 3\)"),
    (lambda m: prune.custom_from_mask(m, "weight", cr.ones(4)), ValueError,
     r"the mask must have the shape \(3, 4\) of the tensor it prunes, got \(4,\)"),
    (lambda m: prune.global_unstructured([(m, "weight")], prune.LnStructured, amount=1, n=2),
     TypeError, 'Only "unstructured" PRUNING_TYPE supported'),
    (lambda m: prune.global_unstructured(3, prune.L1Unstructured, amount=1), TypeError,
     "parameters is not an Iterable"),
    (lambda m: prune.global_unstructured([m], prune.L1Unstructured, amount=1), TypeError,
     r"parameters\[0\] must be a \(module, name\) pair"),
    (lambda m: prune.global_unstructured([(m, "weight")], prune.L1Unstructured, [], amount=1),
     TypeError, "importance_scores must be of type dict"),
    (lambda m: prune.remove(m, "weight"), ValueError,
     "Parameter 'weight' of module Linear has to be pruned before pruning can be removed"),
    (lambda m: prune.PruningContainer(prune.Identity(), 3), TypeError,
     "is not a BasePruningMethod subclass"),
]


def _bad_arguments_are_refused_and_leave_the_module_alone_case(call, error, match):
    layer = nn.Linear(4, 3)
    before = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    with pytest.raises(error, match=match):
        call(layer)
    assert not prune.is_pruned(layer) and list(layer.state_dict()) == list(before)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


@pytest.mark.kernel_free
def test_bad_arguments_are_refused_and_leave_the_module_alone():
    each_case(_bad_arguments_are_refused_and_leave_the_module_alone_case, grid(
        (("call", "error", "match"), _BAD_ARGUMENTS_ARE_REFUSED_AND_LEAVE_THE_MODULE_ALONE),
    ))
