"""memory_format= where PyTorch takes it (model.to(memory_format=torch.channels_last), the
speed setting of convolutional programs): the same values and gradients as PyTorch's; chainrule's
arrays stay row-major, and is_contiguous says which formats their strides are."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.torch
def test_channels_last_model_and_input_match_pytorch():
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    out = {}
    for L in (cr, torch):
        conv = L.nn.Conv2d(3, 4, 3).double()
        with L.no_grad():
            conv.weight.copy_(L.tensor(np.cos(np.arange(108.0)).reshape(4, 3, 3, 3)))
            conv.bias.zero_()
        assert conv.to(memory_format=L.channels_last, non_blocking=True) is conv
        x = L.tensor(x0).to(memory_format=L.channels_last).requires_grad_()
        y = conv(x.contiguous(memory_format=L.channels_last)).sum()
        y.backward()
        flags = [L.ones(2, 3).is_contiguous(), L.ones(2, 3, 4, 5).is_contiguous(
            memory_format=L.channels_last), L.ones(2, 1, 4, 5).is_contiguous(
            memory_format=L.channels_last), L.ones(2, 3).is_contiguous(
            memory_format=L.channels_last)]
        out[L.__name__] = (y.item(), x.grad.numpy(), conv.weight.grad.numpy(), flags)
    ours, theirs = out["chainrule"], out["torch"]
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert ours[3] == theirs[3] == [True, False, True, False]


@pytest.mark.kernel_free
def test_memory_format_names_and_refusal():
    assert repr(cr.channels_last) == "chainrule.channels_last"
    assert isinstance(cr.preserve_format, cr.memory_format)
    assert cr.ones(2).to(memory_format=cr.preserve_format).shape == (2,)
    with pytest.raises(TypeError, match="memory_format must be one of .* got 'nhwc'"):
        cr.ones(2, 3, 4, 5).contiguous(memory_format="nhwc")
    with pytest.raises(TypeError, match="Module.to: memory_format"):
        cr.nn.Linear(2, 2).to(memory_format=4)



@pytest.mark.kernel_free
@pytest.mark.torch
def test_clone_takes_a_memory_format_as_pytorchs():
    # x.clone(memory_format=torch.preserve_format) was a TypeError (clone took no keywords)
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(1).standard_normal((2, 3, 4, 4))
    out = {}
    for L in (cr, torch):
        x = L.tensor(x0, requires_grad=True)
        ys = [x.clone(memory_format=fmt) for fmt in (L.preserve_format, L.contiguous_format,
                                                     L.channels_last)]
        ys.append(L.clone(x, memory_format=L.preserve_format))
        sum(y.pow(k + 1).sum() for k, y in enumerate(ys)).backward()
        out[L.__name__] = [y.detach().numpy() for y in ys] + [x.grad.numpy()]
    for a, b in zip(out["chainrule"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    x = cr.tensor(x0, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: t.clone(memory_format=cr.channels_last) * t, (x,))
    with pytest.raises(TypeError, match="clone: memory_format must be one of .* got 'nhwc'"):
        x.clone(memory_format="nhwc")


@pytest.mark.kernel_free
@pytest.mark.torch
def test_cfloat_and_cdouble_cast_to_complex_as_pytorchs():
    # x.cfloat() and x.cdouble() were AttributeErrors
    torch = pytest.importorskip("torch")
    out = {}
    for L in (cr, torch):
        x = L.tensor([1.0, -2.0, 0.5], requires_grad=True)
        w = L.tensor([1 + 2j, 3 - 1j, -1j], dtype=L.complex64)
        y, z = x.cfloat() * w, x.double().cdouble() * w.cdouble()
        (y.abs().sum() + z.abs().sum()).backward()
        out[L.__name__] = [str(y.dtype).split(".")[-1], str(z.dtype).split(".")[-1],
                           y.detach().numpy(), x.grad.numpy()]
    ours, theirs = out["chainrule"], out["torch"]
    assert ours[:2] == theirs[:2] == ["complex64", "complex128"]
    for a, b in zip(ours[2:], theirs[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
