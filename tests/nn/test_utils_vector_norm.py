"""parameters_to_vector / vector_to_parameters, get_total_norm and clip_grads_with_norm_ against
torch.nn.utils: values, gradients, dtypes, positional order and errors."""

import inspect
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

SHAPES = [(3, 4), (4,), (2, 1, 3), ()]


def _pair(seed, dtype="float64"):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    return ([cr.tensor(a.copy(), requires_grad=True) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


def test_parameters_to_vector_and_its_gradient_match_torch():
    ours, theirs = _pair(0)
    v, tv = nn.utils.parameters_to_vector(ours), torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(v.numpy(), tv.detach().numpy())
    w = np.arange(v.shape[0], dtype="float64")
    (v * cr.tensor(w)).sum().backward()
    (tv * torch.tensor(w)).sum().backward()
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_vector_to_parameters_round_trip_matches_torch():
    ours, theirs = _pair(1)
    vec = np.random.default_rng(2).standard_normal(sum(math.prod(s) for s in SHAPES))
    nn.utils.vector_to_parameters(cr.tensor(vec), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(vec), theirs)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.numpy(), t.detach().numpy())
        assert p.requires_grad and p.is_leaf
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(ours).numpy(), vec)


def _get_total_norm_matches_torch_case(norm_type, dtype):
    ours, theirs = _pair(3, dtype)
    got = nn.utils.get_total_norm(ours, norm_type)
    want = torch.nn.utils.get_total_norm(theirs, norm_type)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(),
                               rtol=1e-6 if dtype == "float32" else 1e-13)
    assert nn.utils.get_total_norm([]).item() == torch.nn.utils.get_total_norm([]).item() == 0
    single = nn.utils.get_total_norm(ours[0], norm_type).item()
    assert single == pytest.approx(torch.nn.utils.get_total_norm(theirs[0], norm_type).item(),
                                   rel=1e-6)


def test_get_total_norm_matches_torch():
    each_case(_get_total_norm_matches_torch_case, grid(
        ("dtype", ["float32", "float64"]),
        ("norm_type", [2.0, 1.0, 3.5, math.inf, "inf", 0.5]),
    ))


@pytest.mark.parametrize("max_norm", [0.5, 1e6, 0.0])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grads_with_norm_matches_torch(max_norm, dtype):
    ours, theirs = _pair(4, dtype)
    rng = np.random.default_rng(5)
    for p, t in zip(ours, theirs, strict=True):
        g = rng.standard_normal(p.shape).astype(dtype)
        p.grad, t.grad = cr.tensor(g.copy()), torch.tensor(g.copy())
    ours[1].grad, theirs[1].grad = None, None
    total = nn.utils.get_total_norm([p.grad for p in ours if p.grad is not None])
    ttotal = torch.nn.utils.get_total_norm([t.grad for t in theirs if t.grad is not None])
    nn.utils.clip_grads_with_norm_(ours, max_norm, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, max_norm, ttotal)
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert p.grad is None
            continue
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(),
                                   rtol=1e-6 if dtype == "float32" else 1e-14)


def test_clip_grad_norm_is_total_norm_then_clip():
    ours, _ = _pair(6)
    again, _ = _pair(6)
    for p, q in zip(ours, again, strict=True):
        p.grad = cr.tensor(np.full(p.shape, 2.0))
        q.grad = cr.tensor(np.full(q.shape, 2.0))
    norm = nn.utils.clip_grad_norm_(ours, 1.0)
    nn.utils.clip_grads_with_norm_(again, 1.0, nn.utils.get_total_norm([q.grad for q in again]))
    for p, q in zip(ours, again, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert norm.item() == pytest.approx(2 * math.sqrt(sum(math.prod(s) for s in SHAPES)))


@pytest.mark.parametrize("name", ["parameters_to_vector", "vector_to_parameters",
                                  "get_total_norm", "clip_grads_with_norm_", "clip_grad_norm_",
                                  "clip_grad_value_"])
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(nn.utils, name)).parameters
    theirs = inspect.signature(getattr(torch.nn.utils, name)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda ps: nn.utils.vector_to_parameters([1.0], ps), "expected vec to be a Tensor, got list"),
    (lambda ps: nn.utils.vector_to_parameters(cr.zeros(5), ps), "vec has 5 elements but the "
                                                                 "parameters hold 23"),
    (lambda ps: nn.utils.vector_to_parameters(cr.zeros(24), ps), "vec has 24 elements"),
    (lambda ps: nn.utils.vector_to_parameters(cr.zeros(23, 1), ps), r"1-D, got shape \(23, 1\)"),
    (lambda ps: nn.utils.parameters_to_vector([ps[0], 3]), r"parameters\[1\] must be a Tensor"),
    (lambda ps: nn.utils.parameters_to_vector(5), "iterable of Tensors"),
    (lambda ps: nn.utils.parameters_to_vector([]), "got no parameters"),
    (lambda ps: nn.utils.get_total_norm(ps, "2"), "norm_type must be a number or .inf., got .2."),
    (lambda ps: nn.utils.get_total_norm([ps[0], None]), r"tensors\[1\] must be a Tensor"),
    (lambda ps: nn.utils.clip_grads_with_norm_(ps, -1.0, 1.0), "max_norm must be a number >= 0"),
    (lambda ps: nn.utils.clip_grads_with_norm_(ps, 1.0, "2"), "total_norm must be a Tensor"),
    (lambda ps: nn.utils.clip_grads_with_norm_(ps, 1.0, cr.ones(2)), "one number"),
    (lambda ps: nn.utils.get_total_norm(ps, foreach="yes"), "foreach must be None"),
]


def _bad_arguments_are_named_case(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call(_pair(7)[0])


def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid((("call", "match"), _BAD_ARGUMENTS_ARE_NAMED)))


def test_nonfinite_total_norm():
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="is inf"):
        nn.utils.get_total_norm([cr.tensor([np.inf, 1.0])], error_if_nonfinite=True)
    p.grad = cr.tensor([1.0, 2.0])
    nn.utils.clip_grads_with_norm_([p], 1.0, cr.tensor(float("nan")))
    assert np.isnan(p.grad.numpy()).all()
