"""A 0-D tensor takes dim 0 or -1 as if it had one axis of size 1 (PyTorch's rule): reductions
reduce over nothing, scans and sorts are the identity, arg-ops give index 0, softmax gives 1.
Each op against PyTorch: values, dtypes, shapes, keepdim, float64 gradients; other dims refused."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")  # PyTorch's
TF = torch.nn.functional

# name -> f(lib, F, x, dim); lib is chainrule or torch, F its nn.functional
OPS = {
    "sum": lambda m, F, x, d: x.sum(d),
    "sum_keepdim": lambda m, F, x, d: x.sum(d, keepdim=True),
    "sum_tuple": lambda m, F, x, d: x.sum((d,)),
    "mean": lambda m, F, x, d: x.mean(d),
    "mean_keepdim": lambda m, F, x, d: x.mean(d, keepdim=True),
    "max": lambda m, F, x, d: x.max(d),
    "max_keepdim": lambda m, F, x, d: x.max(d, keepdim=True),
    "min": lambda m, F, x, d: x.min(d),
    "amax": lambda m, F, x, d: x.amax(d),
    "amin": lambda m, F, x, d: x.amin(d),
    "aminmax": lambda m, F, x, d: m.aminmax(x, dim=d),
    "cumsum": lambda m, F, x, d: x.cumsum(d),
    "cumprod": lambda m, F, x, d: x.cumprod(d),
    "cummax": lambda m, F, x, d: x.cummax(d),
    "cummin": lambda m, F, x, d: x.cummin(d),
    "logcumsumexp": lambda m, F, x, d: x.logcumsumexp(d),
    "softmax": lambda m, F, x, d: x.softmax(d),
    "log_softmax": lambda m, F, x, d: x.log_softmax(d),
    "F.softmax": lambda m, F, x, d: F.softmax(x, d),
    "F.log_softmax": lambda m, F, x, d: F.log_softmax(x, d),
    "F.softmin": lambda m, F, x, d: F.softmin(x, d),
    "F.normalize": lambda m, F, x, d: F.normalize(x, dim=d),
    "sort": lambda m, F, x, d: x.sort(d),
    "sort_descending": lambda m, F, x, d: x.sort(d, descending=True),
    "topk": lambda m, F, x, d: x.topk(1, d),
    "kthvalue": lambda m, F, x, d: x.kthvalue(1, d),
    "median": lambda m, F, x, d: x.median(d),
    "median_keepdim": lambda m, F, x, d: x.median(d, keepdim=True),
    "nanmedian": lambda m, F, x, d: x.nanmedian(d),
    "mode": lambda m, F, x, d: x.mode(d),
    "std_c0": lambda m, F, x, d: x.std(d, correction=0),
    "var_c0": lambda m, F, x, d: x.var(d, correction=0),
    "norm": lambda m, F, x, d: x.norm(dim=d),
    "vector_norm": lambda m, F, x, d: m.linalg.vector_norm(x, dim=d),
    "flip": lambda m, F, x, d: x.flip(d),
    "squeeze": lambda m, F, x, d: x.squeeze(d),
    "unsqueeze": lambda m, F, x, d: x.unsqueeze(d),
    "prod": lambda m, F, x, d: x.prod(d),
    "prod_keepdim": lambda m, F, x, d: x.prod(d, keepdim=True),
    "logsumexp": lambda m, F, x, d: x.logsumexp(d),
    "nansum": lambda m, F, x, d: x.nansum(d),
    "nanmean": lambda m, F, x, d: x.nanmean(d),
    "quantile": lambda m, F, x, d: x.quantile(0.5, d),
    "stack": lambda m, F, x, d: m.stack([x, x * 2], d),
    "transpose": lambda m, F, x, d: x.transpose(d, 0),
    "swapaxes": lambda m, F, x, d: x.swapaxes(-1, d),
    "movedim": lambda m, F, x, d: x.movedim(d, -1),
    "flatten": lambda m, F, x, d: x.flatten(d),
    "flatten_end": lambda m, F, x, d: x.flatten(0, d),
    "index_select": lambda m, F, x, d: x.index_select(d, m.tensor([0])),
    "index_select_0d_index": lambda m, F, x, d: x.index_select(d, m.tensor(0)),
    "gather": lambda m, F, x, d: x.gather(d, m.tensor(0)),
    "gather_1d_index": lambda m, F, x, d: x.gather(d, m.tensor([0, 0])),
    "F.cosine_similarity": lambda m, F, x, d: F.cosine_similarity(x, x * -2.0, dim=d),
    "scatter": lambda m, F, x, d: x.scatter(d, m.tensor(0), x * 3.0),
    "scatter_value": lambda m, F, x, d: x.scatter(d, m.tensor(0), 5.0),
    "scatter_add": lambda m, F, x, d: x.scatter_add(d, m.tensor(0), x * 2.0),
    "index_add": lambda m, F, x, d: x.index_add(d, m.tensor([0]), x * 2.0, alpha=0.5),
    "index_copy": lambda m, F, x, d: x.index_copy(d, m.tensor([0]), x * 2.0),
    "index_fill": lambda m, F, x, d: x.index_fill(d, m.tensor([0]), -1.5),
    "scatter_reduce_amax": lambda m, F, x, d: x.scatter_reduce(d, m.tensor(0), x * 2.0, "amax"),
    "scatter_reduce_prod": lambda m, F, x, d: x.scatter_reduce(d, m.tensor([0]), x * 2.0, "prod"),
    "scatter_reduce_mean_no_self": lambda m, F, x, d: x.scatter_reduce(
        d, m.tensor(0), x * 2.0, "mean", include_self=False),
    "index_reduce_prod": lambda m, F, x, d: x.index_reduce(d, m.tensor([0]), x * 2.0, "prod"),
    "index_reduce_amin_no_self": lambda m, F, x, d: x.index_reduce(
        d, m.tensor([0]), x * 2.0, "amin", include_self=False),
    "F.gumbel_softmax": lambda m, F, x, d: F.gumbel_softmax(x, dim=d),  # 1 whatever the draw
    "F.gumbel_softmax_hard": lambda m, F, x, d: F.gumbel_softmax(x, hard=True, dim=d),
}
NONDIFF = {
    "argmax": lambda m, F, x, d: x.argmax(d),
    "argmax_keepdim": lambda m, F, x, d: x.argmax(d, keepdim=True),
    "argmin": lambda m, F, x, d: x.argmin(d),
    "argsort": lambda m, F, x, d: x.argsort(d),
    "all": lambda m, F, x, d: x.all(d),
    "any": lambda m, F, x, d: x.any(d),
    "count_nonzero": lambda m, F, x, d: x.count_nonzero(d),
}


def _parts(out):
    return list(out) if isinstance(out, tuple) else [out]


def _check(cr_out, t_out):
    cps, tps = _parts(cr_out), _parts(t_out)
    assert len(cps) == len(tps)
    for c, t in zip(cps, tps):
        assert c.shape == tuple(t.shape)
        assert str(c.dtype) == str(t.dtype).replace("torch.", "")
        np.testing.assert_allclose(c.numpy(), t.detach().numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_pytorch_forward_and_float64_gradient(name, dim):
    f = OPS[name]
    x = cr.tensor(0.7, dtype="float64", requires_grad=True)
    xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    out, out_t = f(cr, CF, x, dim), f(torch, TF, xt, dim)
    _check(out, out_t)
    first, first_t = _parts(out)[0], _parts(out_t)[0]
    (first * 1.3).sum().backward()
    (first_t * 1.3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    xg = cr.tensor(0.7, dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda t: _parts(f(cr, CF, t, dim))[0], [xg])


def _logical_and_counting_reductions_match_pytorch_case(name, dim, value):
    f = NONDIFF[name]
    _check(f(cr, CF, cr.tensor(value, dtype="float64"), dim),
           f(torch, TF, torch.tensor(value, dtype=torch.float64), dim))


@pytest.mark.kernel_free
def test_logical_and_counting_reductions_match_pytorch():
    each_case(_logical_and_counting_reductions_match_pytorch_case, grid(
        ("value", [0.0, 2.5]),
        ("name", sorted(NONDIFF)),
        ("dim", [0, -1]),
    ))


def _other_dims_of_a_0d_tensor_are_refused_as_in_pytorch_case(name, dim):
    f = {**OPS, **NONDIFF}[name]
    with pytest.raises((IndexError, RuntimeError)):
        f(torch, TF, torch.tensor(0.7, dtype=torch.float64), dim)
    with pytest.raises((ValueError, IndexError, TypeError)) as err:
        f(cr, CF, cr.tensor(0.7, dtype="float64"), dim)
    assert str(dim) in str(err.value)


@pytest.mark.kernel_free
def test_other_dims_of_a_0d_tensor_are_refused_as_in_pytorch():
    each_case(_other_dims_of_a_0d_tensor_are_refused_as_in_pytorch_case, grid(
        ("dim", [1, -2]),
        ("name", sorted(set(OPS) - {"unsqueeze", "stack"}) + sorted(NONDIFF)),
    ))


@pytest.mark.kernel_free
def test_integer_input_keeps_pytorchs_dtypes():
    for name in ("sum", "cumsum", "prod", "max", "argmax", "sort", "flip", "squeeze"):
        f = {**OPS, **NONDIFF}[name]
        _check(f(cr, CF, cr.tensor(5), 0), f(torch, TF, torch.tensor(5), 0))


@pytest.mark.kernel_free
@pytest.mark.parametrize("call", [lambda x: x.sum((0, -1)), lambda x: x.flip((0, -1)),
                                  lambda x: x.amax([-1, 0])])
def test_dims_0_and_minus_1_together_repeat_one_dim_as_in_pytorch(call):
    with pytest.raises(RuntimeError, match="multiple times"):
        call(torch.tensor(0.7))
    with pytest.raises(ValueError, match="repeated axis"):
        call(cr.tensor(0.7))


@pytest.mark.kernel_free
def test_topk_of_a_0d_tensor_takes_k_1_only():
    x = cr.tensor(0.7, dtype="float64")
    for k in (0, 2):  # PyTorch gives the entry for k=0 (one value where none was asked for)
        with pytest.raises(ValueError, match=f"topk: k must be 1 .* got {k}"):
            x.topk(k, 0)



@pytest.mark.kernel_free
@pytest.mark.parametrize("call", [lambda m, x: x.index_select(0, m.tensor([0, 0])),
                                  lambda m, x: x.index_select(-1, m.tensor([1])),
                                  lambda m, x: x.gather(0, m.tensor(1)),
                                  lambda m, x: x.gather(0, m.tensor([[0]]))])
def test_bad_indices_into_a_0d_tensor_are_refused_as_in_pytorch(call):
    with pytest.raises((IndexError, RuntimeError)):
        call(torch, torch.tensor(0.7))
    with pytest.raises((IndexError, ValueError)):
        call(cr, cr.tensor(0.7))


INPLACE = {
    "cumsum_": lambda m, y, d: y.cumsum_(d),
    "scatter_": lambda m, y, d: y.scatter_(d, m.tensor(0), 2.0),
    "scatter_add_": lambda m, y, d: y.scatter_add_(d, m.tensor(0), y * 2.0),
    "index_add_": lambda m, y, d: y.index_add_(d, m.tensor([0]), y * 2.0),
    "index_copy_": lambda m, y, d: y.index_copy_(d, m.tensor([0]), y * -3.0),
    "index_fill_": lambda m, y, d: y.index_fill_(d, m.tensor([0]), 2.0),
    "squeeze_": lambda m, y, d: y.squeeze_(d),
    "unsqueeze_": lambda m, y, d: y.unsqueeze_(d),
    "transpose_": lambda m, y, d: y.transpose_(d, 0),
    "swapaxes_": lambda m, y, d: y.swapaxes_(-1, d),
}


def _in_place_methods_match_pytorch_case(name, dim):
    f = INPLACE[name]
    x = cr.tensor(0.7, dtype="float64", requires_grad=True)
    xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    out, out_t = f(cr, x * 1.0, dim), f(torch, xt * 1.0, dim)
    _check(out, out_t)
    (out * 1.3).sum().backward()
    (out_t * 1.3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    if name not in ("unsqueeze_",):  # other dims are refused by both
        with pytest.raises((IndexError, RuntimeError)):
            f(torch, torch.tensor(0.7, dtype=torch.float64), 1)
        with pytest.raises((ValueError, IndexError)):
            f(cr, cr.tensor(0.7, dtype="float64"), 1)


@pytest.mark.kernel_free
def test_in_place_methods_match_pytorch():
    each_case(_in_place_methods_match_pytorch_case, grid(
        ("name", sorted(INPLACE)),
        ("dim", [0, -1]),
    ))


@pytest.mark.kernel_free
def test_stride_of_a_0d_tensor_takes_no_dim_as_in_pytorch():  # stride does not wrap scalars
    assert cr.tensor(0.7).stride() == torch.tensor(0.7).stride() == ()
    for dim in (0, -1):
        with pytest.raises(IndexError):
            torch.tensor(0.7).stride(dim)
        with pytest.raises(IndexError, match=f"stride: dim {dim} is out of range"):
            cr.tensor(0.7).stride(dim)


REFUSED_BY_BOTH = {  # ops that need a real axis: PyTorch refuses dim 0 of a 0-d tensor too
    "cat": lambda m, x, d: m.cat([x, x], d),
    "select": lambda m, x, d: x.select(d, 0),
    "narrow": lambda m, x, d: x.narrow(d, 0, 1),
    "roll": lambda m, x, d: x.roll(1, d),
    "chunk": lambda m, x, d: x.chunk(1, d),
    "split": lambda m, x, d: x.split(1, d),
    "unbind": lambda m, x, d: x.unbind(d),
    "diff": lambda m, x, d: x.diff(dim=d),
    "tensor_split": lambda m, x, d: x.tensor_split(1, d),
    "repeat_interleave": lambda m, x, d: x.repeat_interleave(2, d),
    "unflatten": lambda m, x, d: x.unflatten(d, (1,)),
    "glu": lambda m, x, d: m.nn.functional.glu(x, d),
    "renorm": lambda m, x, d: x.renorm(2, d, 1.0),
}


def _ops_that_need_a_real_axis_refuse_a_0d_tensor_as_pytorch_case(name, dim):
    f = REFUSED_BY_BOTH[name]
    with pytest.raises((IndexError, RuntimeError)):
        f(torch, torch.tensor(0.7), dim)
    with pytest.raises((ValueError, IndexError)):
        f(cr, cr.tensor(0.7), dim)


@pytest.mark.kernel_free
def test_ops_that_need_a_real_axis_refuse_a_0d_tensor_as_pytorch():
    each_case(_ops_that_need_a_real_axis_refuse_a_0d_tensor_as_pytorch_case, grid(
        ("name", sorted(REFUSED_BY_BOTH)),
        ("dim", [0, -1]),
    ))
