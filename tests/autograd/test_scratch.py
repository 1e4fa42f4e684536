"""Recycled scratch arrays: reuse only what nothing else holds; the fast kernels built on them."""

import gc

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import _scratch

BIG = (256, 512)  # 512 KiB of float32: above the size from which buffers are recycled


@pytest.fixture(autouse=True)
def fresh_pool():
    _scratch.clear()
    yield
    _scratch.clear()


def test_a_free_buffer_is_handed_out_again():
    a = _scratch.empty(np, BIG, np.float32)
    address = a.ctypes.data
    del a
    b = _scratch.empty(np, BIG, np.float32)
    assert b.ctypes.data == address
    assert b.shape == BIG and b.dtype == np.float32


HOLDERS = {
    "array": lambda a: a,
    "view": lambda a: a[::2].T,
    "tensor": lambda a: cr.Tensor(a[:3]),
    "saved_for_backward": lambda a: {"cols": a},
}


def _held_array(kept):
    kept = kept["cols"] if isinstance(kept, dict) else kept
    return kept.data if isinstance(kept, cr.Tensor) else kept


@pytest.mark.parametrize("holder", sorted(HOLDERS))
def test_a_buffer_still_referenced_is_never_handed_out(holder):
    first = _scratch.empty(np, BIG, np.float32)
    first.fill(1.0)
    kept = HOLDERS[holder](first)
    address = first.ctypes.data
    del first
    gc.collect()
    b = _scratch.empty(np, BIG, np.float32)
    assert b.ctypes.data != address
    b.fill(2.0)  # must not touch the held buffer
    assert np.all(_held_array(kept) == 1.0)


def test_other_shapes_and_dtypes_get_their_own_buffers():
    a = _scratch.empty(np, BIG, np.float32)
    address = a.ctypes.data
    del a
    assert _scratch.empty(np, BIG, np.float64).ctypes.data != address
    assert _scratch.empty(np, BIG[::-1], np.float32).ctypes.data != address


def test_small_arrays_are_not_pooled():
    a = _scratch.empty(np, (4, 4), np.float32)
    assert a.shape == (4, 4)
    assert not _scratch._buffers


def test_empty_like_keeps_the_memory_order():
    base = np.zeros((6, 28, 28, 128), np.float32)
    x = base.transpose(3, 0, 1, 2)  # logical (N, C, H, W), batch-last in memory
    y = _scratch.empty_like(x)
    assert y.shape == x.shape
    assert np.argsort(y.strides).tolist() == np.argsort(x.strides).tolist()
    assert y.transpose(1, 2, 3, 0).flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "batch_last", "cropped", "small"])
def test_relu_matches_maximum(rng, dtype, layout):
    shape = (3, 4, 30, 40) if layout != "small" else (2, 3)
    x = rng.standard_normal(shape).astype(dtype)
    if layout == "batch_last":
        x = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    elif layout == "cropped":
        x = x[:, :, 1:-1, 2:]
    x.flat[0] = np.nan
    y = _scratch.relu(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert y.dtype == x.dtype


@pytest.mark.parametrize("b_shape", [BIG, (), (512,), (1, 512)])
def test_binary_matches_the_ufunc(rng, b_shape):
    a = rng.standard_normal(BIG).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    for ufunc in (np.add, np.subtract, np.multiply):
        np.testing.assert_array_equal(_scratch.binary(ufunc, a, b), ufunc(a, b))
        np.testing.assert_array_equal(_scratch.binary(ufunc, b, a), ufunc(b, a))


def test_binary_promotes_like_numpy(rng):
    a = rng.standard_normal(BIG).astype(np.float32)
    b = np.asarray(2.0)  # a float64 0-d array is not a weak scalar: float32 * it is float64
    out = _scratch.binary(np.multiply, a, b)
    assert out.dtype == np.multiply(a, b).dtype
    mask = a > 0
    np.testing.assert_array_equal(_scratch.binary(np.multiply, a, mask), a * mask)


def test_a_training_step_reuses_its_buffers(rng):
    """After the first step, steady-state training asks the operating system for no new memory."""
    nn = cr.nn
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(8 * 14 * 14, 10, rng=rng))
    x = cr.tensor(rng.random((64, 1, 28, 28), dtype=np.float32))
    t = cr.tensor(rng.integers(0, 10, 64))
    opt = cr.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = cr.F.cross_entropy(net(x), t)
        loss.backward()
        opt.step()
        return loss.item()

    def addresses():
        return {key: [a.ctypes.data for a in arrays] for key, arrays in _scratch._buffers.items()}

    step()
    kept = addresses()
    losses = [step() for _ in range(3)]
    assert addresses() == kept
    assert losses[-1] < losses[0]


HUGE = (2560, 1024)  # 10 MiB of float32: big enough to be shared across shapes (8 MiB and up)


def test_a_free_big_buffer_serves_another_shape_of_about_its_size():
    a = _scratch.empty(np, HUGE, np.float32)
    address = a.ctypes.data
    del a
    b = _scratch.empty(np, (2400, 1000), np.float32)  # 9.6 MB: within 1.25x
    assert b.ctypes.data == address and b.shape == (2400, 1000) and b.flags.c_contiguous
    c = _scratch.empty(np, (2400, 1000), np.float32)  # b holds the block: a fresh one
    assert c.ctypes.data != address
    del b, c
    d = _scratch.empty(np, (1200, 1000), np.float64)  # another dtype, same bytes: shared
    assert d.ctypes.data == address and d.dtype == np.float64


def test_a_much_bigger_free_buffer_is_not_wasted_on_a_small_request():
    a = _scratch.empty(np, (3072, 1024), np.float32)  # 12 MiB
    address = a.ctypes.data
    del a
    b = _scratch.empty(np, (1024, 1024), np.float32)  # 4 MiB: below the sharing size
    c = _scratch.empty(np, (2048, 1024), np.float32)  # 8 MiB: the 12 MiB block is > 1.25x
    assert address not in (b.ctypes.data, c.ctypes.data)


@pytest.mark.parametrize("shape", [(256, 1, 784), (3, 1, 5), (1, 1, 1)])
def test_matmul_with_inner_dimension_one_is_the_outer_product(rng, shape):
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = _scratch.matmul(a, b)
    np.testing.assert_array_equal(out, a @ b)
    assert out.dtype == np.float32 and out.shape == (m, n)
    mixed = _scratch.matmul(a, b.astype(np.float64))  # promotes, like a @ b
    assert mixed.dtype == np.float64
    np.testing.assert_allclose(mixed, a @ b.astype(np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(10, 128, 256), (256, 128, 10), (4, 64, 512), (3, 40, 5),
                                   (100, 100, 100), (40, 16, 64)])
def test_matmul_of_mixed_memory_orders_is_the_product(rng, dtype, shape):
    # a row-major by a column-major operand: small ones are copied to one order first
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(dtype)
    b = np.asfortranarray(rng.standard_normal((k, n)).astype(dtype))
    a_before, b_before = a.copy(), b.copy()
    out = _scratch.matmul(a, b)
    assert out.dtype == dtype and out.shape == (m, n)
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(a, a_before)  # the operands are left as they were
    np.testing.assert_array_equal(b, b_before)
    assert b.flags.f_contiguous and a.flags.c_contiguous
