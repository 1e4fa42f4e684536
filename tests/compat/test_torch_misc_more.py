"""Tensor introspection (stride, storage_offset, dim_order, nbytes, mH...), as_tensor/asarray/
scalar_tensor/fill/frombuffer/empty_strided, finfo/iinfo, typename, the RNG state, retains_grad and
post-accumulate grad hooks, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .torch_signature import check_signature

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("name", ["as_tensor", "asarray", "frombuffer", "empty_strided",
                                  "empty_permuted", "typename", "is_storage", "set_rng_state",
                                  "get_rng_state"])
def test_signatures_follow_pytorch(name):
    check_signature(name, getattr(cr, name), getattr(torch, name))


def test_signatures_pytorch_does_not_document():
    check_signature("scalar_tensor", cr.scalar_tensor, "scalar_tensor(s, *, dtype=None, "
                    "layout=None, device=None, pin_memory=False, requires_grad=False)")
    check_signature("fill", cr.fill, "fill(input, value)")


VIEWS = {
    "plain": lambda m, x: x,
    "transposed": lambda m, x: x.transpose(0, 2),
    "sliced": lambda m, x: x[1:, :, 2:],
    "stepped": lambda m, x: x[:, ::2],
    "expanded": lambda m, x: x[:, :1].expand(2, 5, 4),
    "permuted": lambda m, x: x.permute(1, 2, 0),
    "selected": lambda m, x: x[1],
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_memory_answers_match_pytorch(view):
    a = np.arange(24.0).reshape(2, 3, 4)
    ours, theirs = VIEWS[view](cr, cr.tensor(a)), VIEWS[view](torch, torch.tensor(a))
    assert ours.stride() == theirs.stride()
    assert [ours.stride(d) for d in range(-ours.ndim, ours.ndim)] == [
        theirs.stride(d) for d in range(-theirs.ndim, theirs.ndim)]
    assert ours.storage_offset() == theirs.storage_offset()
    assert ours.dim_order() == theirs.dim_order()
    assert ours.nelement() == theirs.nelement() and ours.ndimension() == theirs.ndimension()
    assert ours.itemsize == theirs.itemsize
    if view not in ("expanded",):
        assert ours.nbytes == theirs.nbytes
    base = cr.tensor(a)
    assert base[1:].data_ptr() - base.data_ptr() == 12 * 8


@pytest.mark.parametrize("shape, perm", [((2, 3, 4, 5), (0, 2, 3, 1)), ((2, 1, 4), (2, 0, 1)),
                                         ((3, 3), (1, 0)), ((1, 1, 3), (0, 2, 1)),
                                         ((2, 2, 2), (1, 0, 2))])
def test_dim_order_of_permutations_matches_pytorch(shape, perm):
    ours, theirs = cr.zeros(*shape).permute(*perm), torch.zeros(*shape).permute(*perm)
    assert ours.stride() == theirs.stride()
    assert ours.dim_order() == theirs.dim_order()


def test_kind_answers_match_pytorch():
    x, tx = cr.zeros(2, 3), torch.zeros(2, 3)
    for name in ("is_cpu", "is_sparse", "is_quantized", "is_meta", "is_mps", "is_xpu",
                 "is_mkldnn", "is_sparse_csr"):
        assert getattr(x, name) == getattr(tx, name), name
    assert x.is_pinned() is tx.is_pinned() is False and x.is_shared() is False
    assert x.share_memory_() is x
    assert repr(x.layout) == "chainrule.strided" and x.layout is cr.strided
    assert x.get_device() == tx.get_device() == -1
    for name in ("byte", "char", "short"):
        assert str(getattr(x, name)().dtype) == str(getattr(tx, name)().dtype)[6:]
    w, tw = cr.ones(4, requires_grad=True), torch.ones(4, requires_grad=True)
    for m, v in ((cr, w), (torch, tw)):
        parts = m.split(v * 2, 2)
        assert (v.output_nr, parts[0].output_nr) == (0, 0)
    assert cr.split(w * 2, 2)[1].output_nr == torch.split(tw * 2, 2)[1].output_nr
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(cr.tensor(a).H.numpy(), torch.tensor(a).H.numpy())
    np.testing.assert_array_equal(cr.tensor(a[None]).mH.numpy(), torch.tensor(a[None]).mH.numpy())
    with pytest.raises(ValueError, match="H: only for matrices"):
        _ = cr.zeros(2, 2, 2).H
    with pytest.raises(TypeError, match="a Tensor argument"):
        x.new(x)
    e = x.new_empty_strided((3, 2), (2, 1), dtype=cr.float64)
    assert e.shape == (3, 2) and e.dtype == np.float64


def test_sum_to_size_and_multinomial_match_pytorch(rng):
    a = rng.standard_normal((2, 3, 4))
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for size in ((3, 1), (1, 3, 4), (2, 1, 1), (4,)):
        ours, theirs = x.sum_to_size(*size), tx.sum_to_size(*size)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-13)
    x.sum_to_size((3, 1)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(a))
    with pytest.raises(ValueError, match=r"size \(5,\) is not expandable to the tensor's shape"):
        x.sum_to_size(5)
    draws = cr.tensor([0.0, 1.0, 0.0, 3.0]).multinomial(6, True, generator=cr.Generator()
                                                            .manual_seed(0))
    assert draws.dtype == np.int64 and set(draws.tolist()) <= {1, 3}


def test_creation_helpers_match_pytorch():
    a = np.arange(4.0)
    t = cr.as_tensor(a)
    assert np.shares_memory(t.numpy(), a) and t.dtype == np.float64
    x = cr.ones(2)
    assert cr.as_tensor(x) is x and cr.asarray(x) is x
    for data, kw in (([1, 2], {}), ([1.0, 2], {}), (a, {"dtype": cr.float32}), (3, {})):
        tkw = {k: getattr(torch, str(np.dtype(v))) for k, v in kw.items()}
        for f in ("as_tensor", "asarray"):
            ours, theirs = getattr(cr, f)(data, **kw), getattr(torch, f)(data, **tkw)
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (f, data)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match="copy=False, but converting dtype float64 to float32"):
        cr.asarray(a, dtype=cr.float32, copy=False)
    assert not np.shares_memory(cr.asarray(a, copy=True).numpy(), a)
    assert cr.asarray([1.0], requires_grad=True).requires_grad
    for s, kw in ((3, {}), (True, {}), (2.5, {"dtype": cr.float64})):
        tkw = {k: getattr(torch, str(np.dtype(v))) for k, v in kw.items()}
        ours, theirs = cr.scalar_tensor(s, **kw), torch.scalar_tensor(s, **tkw)
        assert ours.shape == () and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert ours.item() == theirs.item()
    buf = bytearray(np.arange(5, dtype=np.int32).tobytes())
    np.testing.assert_array_equal(cr.frombuffer(buf, dtype=cr.int32, count=3, offset=4).numpy(),
                                  torch.frombuffer(buf, dtype=torch.int32, count=3,
                                                   offset=4).numpy())
    assert cr.empty_strided((2, 3), (1, 2)).shape == (2, 3)
    assert cr.empty_permuted((2, 3, 4), (0, 2, 1)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="physical_layout .* must be a permutation"):
        cr.empty_permuted((2, 3), (0, 0))


def test_fill_matches_pytorch(rng):
    a = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(cr.fill(cr.tensor(a), 2.5).numpy(),
                                  torch.fill(torch.tensor(a), 2.5).numpy())
    v, tv = cr.tensor(1.5, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    (cr.fill(cr.tensor(a), v) * cr.tensor(a)).sum().backward()
    (torch.fill(torch.tensor(a), tv) * torch.tensor(a)).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-6)


def test_finfo_and_iinfo_match_pytorch():
    for dt in ("float16", "float32", "float64"):
        ours, theirs = cr.finfo(getattr(cr, dt)), torch.finfo(getattr(torch, dt))
        for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution",
                      "dtype"):
            assert getattr(ours, field) == getattr(theirs, field), (dt, field)
    assert cr.finfo().dtype == "float32" and repr(cr.finfo()) == repr(torch.finfo())
    for dt in ("uint8", "int8", "int16", "int32", "int64"):
        ours, theirs = cr.iinfo(getattr(cr, dt)), torch.iinfo(getattr(torch, dt))
        assert (ours.bits, ours.max, ours.min, ours.dtype) == (
            theirs.bits, theirs.max, theirs.min, theirs.dtype)
        assert repr(ours) == repr(theirs)
    with pytest.raises(TypeError, match="finfo: needs a floating point dtype, got int32"):
        cr.finfo(cr.int32)
    with pytest.raises(TypeError, match="iinfo: needs an integer dtype, got float32"):
        cr.iinfo(cr.float32)


def test_typename_and_is_storage():
    assert cr.typename(cr.zeros(2)) == "chainrule.FloatTensor"
    assert cr.typename(cr.zeros(2, dtype=cr.int64)) == "chainrule.LongTensor"
    assert cr.typename(3) == torch.typename(3) == "int"
    assert cr.typename(np.zeros(2)) == torch.typename(np.zeros(2)) == "numpy.ndarray"
    assert cr.typename(cr.nn.Linear(2, 2)).endswith(".Linear")
    assert cr.is_storage(cr.zeros(2)) is False


def test_rng_state_round_trip():
    cr.manual_seed(3)
    state = cr.get_rng_state()
    assert state.dtype == np.uint8 and state.shape == (45,)
    first = cr.randn(5).numpy()
    cr.rand(7)
    cr.set_rng_state(state)
    np.testing.assert_array_equal(cr.randn(5).numpy(), first)
    with pytest.raises(TypeError, match="new_state must be the uint8 tensor of 45 entries"):
        cr.set_rng_state(cr.zeros(37))


def test_retains_grad_matches_pytorch():
    for m in (cr, torch):
        x = m.ones(2, requires_grad=True)
        y = x * 2
        assert y.retains_grad is False
        y.retain_grad()
        x.retain_grad()
        assert y.retains_grad is True and x.retains_grad is False


def test_optimizer_in_backward_matches_pytorch(rng):
    """The post-accumulate hook pattern: each parameter's optimizer steps inside backward, as
    soon as its gradient is complete, and frees the gradient."""
    w0, b0 = rng.standard_normal((3, 4)), rng.standard_normal(3)
    xs = [rng.standard_normal((5, 4)) for _ in range(3)]
    results = []
    for m in (cr, torch):
        model = m.nn.Linear(4, 3)
        with m.no_grad():
            model.weight.copy_(m.tensor(w0, dtype=m.float32))
            model.bias.copy_(m.tensor(b0, dtype=m.float32))
        opts = {id(p): m.optim.SGD([p], lr=0.1, momentum=0.9) for p in model.parameters()}
        calls = []

        def hook(p, opts=opts, calls=calls):
            calls.append(tuple(p.shape))
            opts[id(p)].step()
            opts[id(p)].zero_grad()

        handles = [p.register_post_accumulate_grad_hook(hook) for p in model.parameters()]
        for x in xs:
            ((model(m.tensor(x, dtype=m.float32)) ** 2).sum() + (model.bias ** 2).sum()).backward()
        assert all(p.grad is None for p in model.parameters())
        assert sorted(calls) == sorted([(3, 4), (3,)] * 3)
        handles[0].remove()
        model(m.tensor(xs[0], dtype=m.float32)).sum().backward()
        assert model.weight.grad is not None and model.bias.grad is None
        results.append([p.detach().numpy().copy() for p in model.parameters()])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_post_accumulate_hook_errors():
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="hook must be callable, got int"):
        x.register_post_accumulate_grad_hook(3)
    x.register_post_accumulate_grad_hook(lambda t: t.grad)
    with pytest.raises(RuntimeError, match="it must return None"):
        (x * 2).sum().backward()
    seen = []
    y = cr.ones(2, requires_grad=True)
    y.register_post_accumulate_grad_hook(lambda t: seen.append(t))
    cr.grad((y * 2).sum(), y)  # grad() writes no .grad: no call
    assert seen == []


def test_inference_mode_matches_pytorch():
    """is_inference_mode_enabled and the grad mode inside inference_mode blocks, nested, under
    no_grad, and as a decorator with and without the call."""
    seen = []
    for m in (cr, torch):
        got = [m.is_inference_mode_enabled()]
        with m.inference_mode():
            got += [m.is_inference_mode_enabled(), m.is_grad_enabled()]
            with m.inference_mode(False):
                got += [m.is_inference_mode_enabled(), m.is_grad_enabled()]
            got += [m.is_inference_mode_enabled()]
        with m.no_grad():
            got += [m.is_inference_mode_enabled()]

        @m.inference_mode
        def bare(m=m):
            return m.is_inference_mode_enabled(), m.is_grad_enabled()

        @m.inference_mode(mode=False)
        def off(m=m):
            return m.is_inference_mode_enabled(), m.is_grad_enabled()

        got += [bare(), off(), m.is_inference_mode_enabled(), m.is_grad_enabled()]
        seen.append(got)
    assert seen[0] == seen[1]
    x = cr.ones(2, requires_grad=True)
    with cr.inference_mode():
        assert not (x * 2).requires_grad
