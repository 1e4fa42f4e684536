"""Fuzz wave 18, less-covered nn modules: differences from PyTorch 2.13 found by running the same
modules (same weights) in both libraries, each pinned here against PyTorch."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402


@pytest.mark.parametrize("mode,padding_idx,weighted", [("sum", None, True), ("mean", 2, False),
                                                        ("max", None, False)])
def test_embedding_bag_2d_input_ignores_include_last_offset(mode, padding_idx, weighted):
    # PyTorch's F.embedding_bag sets include_last_offset=False for a 2-D input (each row is a
    # bag); chainrule raised "include_last_offset needs a 1-D input with offsets"
    rng = np.random.default_rng(0)
    ids = np.array([[1, 2, 2], [9, 2, 0]])
    psw = rng.standard_normal(ids.shape) if weighted else None
    theirs = torch.nn.EmbeddingBag(10, 4, mode=mode, padding_idx=padding_idx,
                                   include_last_offset=True).double()
    ours = cr.nn.EmbeddingBag(10, 4, mode=mode, padding_idx=padding_idx,
                              include_last_offset=True).double()
    ours.weight.data = cr.tensor(theirs.weight.detach().numpy().copy())
    t = theirs(torch.tensor(ids), per_sample_weights=None if psw is None else torch.tensor(psw))
    y = ours(cr.tensor(ids), per_sample_weights=None if psw is None else cr.tensor(psw))
    np.testing.assert_allclose(y.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(tuple(t.shape))
    (t * torch.tensor(w)).sum().backward()
    (y * cr.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12,
                               atol=1e-12)


_MIXED = [("float32", "float64"), ("float64", "float32"), ("float16", "float64")]


@pytest.mark.kernel_free
@pytest.mark.parametrize("x_dtype,w_dtype", _MIXED)
@pytest.mark.parametrize("op", ["group_norm", "instance_norm"])
def test_group_and_instance_norm_refuse_mixed_dtype_weights(op, x_dtype, w_dtype):
    # they computed in the promoted dtype (a float32 input to a float64 GroupNorm gave float64)
    # where PyTorch raises "mixed dtype (CPU)", as chainrule's layer_norm and batch_norm do
    def call(lib):
        x = lib.ones(2, 4, 3, dtype=getattr(lib, x_dtype))
        w = lib.ones(4, dtype=getattr(lib, w_dtype))
        f = lib.nn.functional
        return f.group_norm(x, 2, w, w) if op == "group_norm" else f.instance_norm(
            x, weight=w, bias=w)

    with pytest.raises(RuntimeError, match="mixed dtype"):
        call(torch)
    with pytest.raises(TypeError, match=rf"{op}: weight has dtype {w_dtype} but the input has "
                                        rf"dtype {x_dtype}"):
        call(cr)


@pytest.mark.kernel_free
@pytest.mark.parametrize("module", ["GroupNorm", "InstanceNorm1d"])
def test_norm_modules_of_a_float16_input_keep_float32_weights(module):
    # PyTorch's mixed-dtype kernels take a float16 input with float32 weights: still allowed
    def run(lib):
        m = lib.nn.GroupNorm(2, 4) if module == "GroupNorm" else lib.nn.InstanceNorm1d(
            4, affine=True)
        x = lib.tensor(np.linspace(-2, 3, 24).reshape(2, 4, 3), dtype=lib.float16)
        return m(x)

    y, t = run(cr), run(torch)
    assert str(y.dtype) == "float16" == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(y.detach().numpy().astype(float), t.detach().numpy().astype(float),
                               atol=2e-3)
    with pytest.raises(TypeError, match="float64 but the input has dtype float32"):
        (cr.nn.GroupNorm(2, 4).double() if module == "GroupNorm" else
         cr.nn.InstanceNorm1d(4, affine=True).double())(cr.ones(2, 4, 3))
