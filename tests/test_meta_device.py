"""The meta device: tensors with a shape, a dtype and a device but no values (backend/meta.py).

Shapes, dtypes and devices are compared with PyTorch's meta tensors; reading values is refused
as PyTorch refuses it."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import MetaArray

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")


def _same_meta(ours, theirs):
    """Both meta tensors (or tuples of them) of one shape and dtype."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same_meta(a, b)
        return
    assert theirs.is_meta and theirs.device.type == "meta"
    assert ours.is_meta and ours.device.type == "meta" and ours.device == "meta"
    assert type(ours._data) is MetaArray
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def _both(make):
    return make(cr), make(torch)


# Each case: lib -> a result computed from meta tensors made by lib.
CASES = {
    "add_broadcast": lambda lib: lib.empty(4, 1, 3, device="meta") + lib.empty(5, 3,
                                                                              device="meta"),
    "int_plus_float": lambda lib: lib.zeros(2, 3, dtype=lib.int64, device="meta") + 0.5,
    "compare": lambda lib: lib.ones(2, 3, device="meta") > 0,
    "batched_matmul": lambda lib: lib.empty(7, 2, 3, device="meta") @ lib.empty(3, 5,
                                                                              device="meta"),
    "matvec": lambda lib: lib.empty(2, 3, device="meta") @ lib.empty(3, device="meta"),
    "sum_keepdim": lambda lib: lib.empty(2, 3, 4, device="meta").sum(1, keepdim=True),
    "mean": lambda lib: lib.empty(2, 3, device="meta").mean(),
    "max_dim": lambda lib: tuple(lib.empty(2, 3, device="meta").max(dim=1)),
    "argmax": lambda lib: lib.empty(2, 3, device="meta").argmax(1),
    "softmax": lambda lib: lib.nn.functional.softmax(lib.empty(2, 3, device="meta"), dim=1),
    "view_permute": lambda lib: lib.empty(2, 3, 4, device="meta").view(6, 4).t()
    .reshape(2, 2, 6).permute(2, 0, 1),
    "cat_stack": lambda lib: (lib.cat([lib.empty(2, 3, device="meta")] * 2, 1),
                              lib.stack([lib.empty(2, 3, device="meta")] * 3)),
    "index": lambda lib: lib.empty(5, 4, device="meta")[1:, None, 2],
    "int_index": lambda lib: lib.empty(5, 4, device="meta")[
        lib.zeros(3, 2, dtype=lib.int64, device="meta")],
    "where": lambda lib: lib.where(lib.empty(2, 3, device="meta") > 0,
                                   lib.empty(2, 3, device="meta"), 0.0),
    "cast": lambda lib: (lib.empty(2, device="meta").to(lib.float64),
                         lib.empty(2, device="meta").long()),
    "new": lambda lib: (lib.empty(2, device="meta").new_zeros(3),
                        lib.empty(2, device="meta").new_tensor([1.0, 2.0]),
                        lib.empty(2, device="meta").new_full((2,), 7.0)),
    "likes": lambda lib: (lib.zeros_like(lib.empty(2, 3, device="meta")),
                          lib.ones_like(lib.empty(2, 3, device="meta")),
                          lib.randn_like(lib.empty(2, 3, device="meta"))),
    "factories": lambda lib: (lib.zeros(2, 3, device="meta"), lib.ones(4, device="meta"),
                              lib.full((2, 2), 7, device="meta"),
                              lib.randn(3, 2, device="meta"),
                              lib.arange(5, device="meta"),
                              lib.empty(3, dtype=lib.float64, device="meta")),
    "gather_topk_sort": lambda lib: (
        lib.empty(2, 3, device="meta").gather(1, lib.zeros(2, 2, dtype=lib.int64,
                                                           device="meta")),
        tuple(lib.empty(2, 5, device="meta").topk(2, dim=1)),
        tuple(lib.empty(2, 5, device="meta").sort(1))),
    "linalg": lambda lib: (lib.linalg.inv(lib.empty(3, 3, device="meta")),
                           tuple(lib.linalg.svd(lib.empty(4, 3, device="meta"),
                                                full_matrices=False))),
    "conv_pool": lambda lib: lib.nn.functional.max_pool2d(lib.nn.functional.conv2d(
        lib.empty(2, 3, 9, 9, device="meta"), lib.empty(4, 3, 3, 3, device="meta"), padding=1),
        2),
    "conv_no_padding": lambda lib: lib.nn.functional.conv2d(
        lib.empty(1, 3, 6, 6, device="meta"), lib.empty(2, 3, 3, 3, device="meta")),
    "cross_entropy": lambda lib: lib.nn.functional.cross_entropy(
        lib.empty(4, 3, device="meta"), lib.zeros(4, dtype=lib.int64, device="meta")),
    "embedding": lambda lib: lib.nn.functional.embedding(
        lib.zeros(2, 5, dtype=lib.int64, device="meta"), lib.empty(10, 4, device="meta")),
    "layer_norm": lambda lib: lib.nn.functional.layer_norm(lib.empty(2, 3, 4, device="meta"),
                                                           (4,)),
    "attention": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        *[lib.empty(1, 2, 4, 8, device="meta")] * 3),
}


def _ops_on_meta_tensors_give_pytorchs_shapes_dtypes_and_device_case(name):
    ours, theirs = _both(CASES[name])
    _same_meta(ours, theirs)


def test_ops_on_meta_tensors_give_pytorchs_shapes_dtypes_and_device():
    each_case(_ops_on_meta_tensors_give_pytorchs_shapes_dtypes_and_device_case, grid(
        ("name", sorted(CASES)),
    ))


def test_layers_built_on_meta_run_forward_and_backward_with_pytorchs_shapes():
    def run(lib):
        nn = lib.nn
        with lib.device("meta"):
            net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 5),
                                nn.Dropout(0.5), nn.LayerNorm(5))
            x = lib.randn(2, 3, 8, 8)
            labels = lib.zeros(2, dtype=lib.int64)
        loss = nn.functional.cross_entropy(net(x), labels)
        loss.backward()
        lstm = nn.LSTM(4, 6, batch_first=True, device="meta")
        out, (h, c) = lstm(lib.empty(2, 5, 4, device="meta"))
        return (loss, net[0].weight.grad, net[5].bias.grad, net[1].running_mean, out, h, c)

    ours, theirs = _both(run)
    _same_meta(ours, theirs)


def test_a_meta_tensors_gradient_is_meta():
    ours, theirs = _both(lambda lib: lib.randn(2, 3, device="meta", requires_grad=True))
    for t in (ours, theirs):
        (t * 2).sum().backward()
    _same_meta(ours.grad, theirs.grad)


def test_meta_tensors_cost_no_memory():
    t = cr.zeros(10**6, 10**6, device="meta")  # 4 TB if it held values
    assert t.shape == (10**6, 10**6) and t.numel() == 10**12 and t.is_meta
    big = cr.nn.Linear(10**5, 10**5, device="meta").weight @ t[: 10**5, :10]
    assert big.shape == (10**5, 10)


def test_repr_device_and_flags_match_pytorch():
    ours, theirs = _both(lambda lib: lib.empty(2, 3, device="meta"))
    assert repr(ours) == repr(theirs) == "tensor(..., device='meta', size=(2, 3))"
    assert str(ours) == str(theirs)
    p_ours, p_theirs = _both(lambda lib: lib.nn.Linear(3, 4, device="meta").weight)
    assert repr(p_ours) == repr(p_theirs)
    assert repr(ours.device) == repr(theirs.device) == "device(type='meta')"
    assert str(ours.device) == "meta" and ours.is_meta and not ours.is_cpu
    cpu = cr.zeros(2)
    assert cpu.device.type == "cpu" and cpu.device == "cpu" and not cpu.is_meta and cpu.is_cpu
    assert "dtype=bool" in repr(ours > 0)


def _no_value(t, msg, error):
    with pytest.raises(error, match=msg):
        t()


def _reading_values_of_a_meta_tensor_is_refused_as_pytorch_refuses_it_case(read, error, msg):
    # PyTorch raises the same error type for each (its messages differ in places).
    for lib in (cr, torch):
        t = lib.empty(2, 3, device="meta")
        with pytest.raises(error):
            read(t)
    with pytest.raises(error, match=msg):
        read(cr.empty(2, 3, device="meta"))


def test_reading_values_of_a_meta_tensor_is_refused_as_pytorch_refuses_it():
    each_case(_reading_values_of_a_meta_tensor_is_refused_as_pytorch_refuses_it_case, grid(
        ("read, error, msg", [
    (lambda t: t.sum().item(), RuntimeError, r"Tensor.item\(\) cannot be called on meta"),
    (lambda t: bool(t.sum() > 0), RuntimeError, r"Tensor.item\(\) cannot be called on meta"),
    (lambda t: float(t.sum()), RuntimeError, r"Tensor.item\(\) cannot be called on meta"),
    (lambda t: int(t[0, 0].long()), RuntimeError, r"item\(\) cannot be called on meta"),
    (lambda t: [1, 2][t[0, 0].long()], RuntimeError, r"item\(\) cannot be called on meta"),
    (lambda t: t.numpy(), TypeError, "can't convert meta device type tensor to numpy"),
    (lambda t: t.tolist(), NotImplementedError, "Cannot copy out of meta tensor; no data!"),
    (lambda t: t.to("cpu"), NotImplementedError, "Cannot copy out of meta tensor; no data!"),
    (lambda t: t.cpu(), NotImplementedError, "Cannot copy out of meta tensor; no data!"),
    (lambda t: t.new_zeros(2, 3, device="cpu").copy_(t),
     NotImplementedError, "Cannot copy out of meta tensor; no data!"),
    (lambda t: t[t > 0], NotImplementedError, "depends on the mask's values"),
    (lambda t: t.nonzero(), NotImplementedError, "depends on the values"),
    (lambda t: t.unique(), NotImplementedError, "depends on the values"),
    (lambda t: f"{t.sum():.3f}", TypeError, "unsupported format string"),
]),
    ))


def test_numpy_cannot_read_a_meta_array():
    t = cr.empty(2, 3, device="meta")
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
        np.asarray(t)  # PyTorch: TypeError, "can't convert meta device type tensor to numpy"
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
        np.zeros((2, 3))[...] = t._data


def test_writes_into_a_meta_tensor_do_nothing_and_keep_it_meta():
    t = cr.empty(2, 3, device="meta")
    assert t.add_(1) is t and t.is_meta
    with cr.no_grad():
        cr.nn.init.kaiming_uniform_(t)
        t.copy_(cr.ones(2, 3))
        t[0] = 5.0
    assert t.is_meta and repr(t) == "tensor(..., device='meta', size=(2, 3))"


def test_a_real_tensor_combined_with_a_meta_one_gives_meta():
    # PyTorch refuses the mix (unless the real one is 0-d); here the result is meta, so no
    # real value can come out of it either way.
    for t in (cr.empty(2, 3, device="meta") + cr.ones(2, 3), cr.ones(4, 2) @ cr.empty(
            2, 3, device="meta"), cr.empty(2, 3, device="meta") * cr.tensor(2.0)):
        assert t.is_meta


def test_module_on_meta_then_to_empty_and_reset_parameters():
    ours, theirs = _both(lambda lib: lib.nn.Linear(3, 4, device="meta"))
    _same_meta([ours.weight, ours.bias], [theirs.weight, theirs.bias])
    with cr.device("meta"):
        model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
        assert cr.get_default_device() == "meta"
    assert cr.get_default_device() == "cpu" and cr.zeros(1).device == "cpu"
    assert all(p.is_meta for p in model.parameters())
    with pytest.raises(NotImplementedError, match="Module.to_empty"):
        copy.deepcopy(model).to("cpu")
    model.to_empty(device="cpu")
    assert all(p.device == "cpu" and not p.is_meta for p in model.parameters())
    for layer in (model[0], model[2]):
        layer.reset_parameters(rng=np.random.default_rng(0))
    out = model(cr.ones(5, 3))
    assert out.shape == (5, 2) and np.isfinite(out.detach().numpy()).all()
    assert cr.nn.Linear(3, 4).to("meta").weight.is_meta
    sd = cr.nn.Linear(3, 4, device="meta").state_dict()
    assert sd["weight"].is_meta and sd["weight"].shape == (4, 3)


def test_device_context_nests_and_restores():
    with cr.device("meta"):
        with cr.device("cpu"):
            assert cr.ones(1).device == "cpu"
        assert cr.ones(1).is_meta and cr.tensor([1.0]).is_meta
    assert cr.ones(1).device == "cpu"
    cr.set_default_device("meta")
    try:
        assert cr.zeros(2).is_meta
    finally:
        cr.set_default_device(None)


def test_device_is_a_string_of_its_name():
    d = cr.device("meta")
    assert d == "meta" and "meta" == d and d != "cpu" and isinstance(d, str)
    assert d.type == "meta" and d.index is None and hash(d) == hash("meta")
    assert cr.device("cuda", 0) == "cuda:0" and cr.device("cuda:0") != "cuda"
    assert copy.deepcopy(cr.device("cuda:1")) == cr.device("cuda", 1)
    with pytest.raises(ValueError, match="unknown device type 'tpu'"):
        cr.device("tpu")


def test_an_op_that_cannot_run_on_meta_names_itself():
    with pytest.raises(NotImplementedError, match="not supported on the meta device"):
        cr.masked_select(cr.empty(2, 3, device="meta"),
                         cr.empty(2, 3, dtype=cr.bool, device="meta"))


def test_a_real_layer_given_a_meta_input_is_refused_and_keeps_its_buffers():
    bn = cr.nn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match="not on the expected device meta"):
        bn(cr.empty(4, 3, device="meta"))
    assert np.array_equal(bn.running_var.numpy(), np.ones(3))
    with pytest.raises(RuntimeError, match="ConvNd: a tensor on device cpu is not on the "
                                           "expected device meta"):
        cr.nn.Conv2d(3, 2, 3)(cr.empty(1, 3, 5, 5, device="meta"))


@pytest.mark.parametrize("name, options", [("SGD", {"momentum": 0.9}), ("Adam", {}),
                                           ("AdamW", {}), ("RMSprop", {"momentum": 0.5})])
def test_optimizer_steps_on_meta_parameters_keep_them_meta(name, options):
    for lib in (cr, torch):
        layer = lib.nn.Linear(3, 2, device="meta")
        layer(lib.empty(4, 3, device="meta")).sum().backward()
        optimizer = getattr(lib.optim, name)(layer.parameters(), lr=0.1, **options)
        optimizer.step()
        optimizer.step()
        assert layer.weight.is_meta and layer.weight.grad.is_meta
