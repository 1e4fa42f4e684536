"""Shape ops and indexing: reshape/view, transpose/permute/T/mT, getitem, concat/stack/split, pad,
flatten/squeeze/unsqueeze, broadcast_to."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import F

from .._case_loop import each_case, grid, with_rng


def leaf(rng, shape, dtype=np.float64):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


def check_grads(fn, *inputs):
    assert cr.gradcheck(fn, inputs)
    assert cr.gradgradcheck(fn, inputs)


def grad_of(fn, x, g):
    """d<g, fn(x)>/dx as a NumPy array."""
    (gx,) = cr.grad(fn(x), x, cr.tensor(g))
    return gx.numpy()


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    "shape, args, expected",
    [
        ((2, 3, 4), ((6, 4),), (6, 4)),
        ((2, 3, 4), (4, -1), (4, 6)),
        ((2, 3, 4), ([-1],), (24,)),
        ((6,), (1, 2, 1, 3), (1, 2, 1, 3)),
        ((), (1, 1), (1, 1)),
        ((1,), ((),), ()),
    ],
)
def test_reshape_forms_and_gradients(rng, shape, args, expected):
    x = leaf(rng, shape)
    out = x.reshape(*args)
    assert out.shape == expected
    np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(expected))
    check_grads(lambda x: F.reshape(x, *args), x)


@pytest.mark.kernel_free
def test_reshape_and_view_return_views(rng):
    x = leaf(rng, (2, 3, 4))
    assert np.shares_memory(x.reshape(6, 4)._data, x._data)
    assert np.shares_memory(x.view(-1)._data, x._data)
    assert x.reshape(2, 3, 4) is x


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    "args, pattern",
    [
        ((5, -1), r"reshape: cannot reshape shape \(2, 3, 4\) \(24 elements\) to \(5, -1\)"),
        ((5, 5), r"cannot reshape shape \(2, 3, 4\) \(24 elements\) to \(5, 5\)"),
        ((-1, -1), r"at most one -1"),
        ((4, -2), r"at most one -1"),
    ],
)
def test_reshape_errors(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        cr.tensor(np.ones((2, 3, 4))).reshape(*args)
    with pytest.raises(TypeError, match="reshape: each shape entry must be an int, got 2.0"):
        cr.tensor(np.ones(4)).reshape(2.0, 2)


@pytest.mark.kernel_free
def test_transpose_permute_T_mT_forward_and_views(rng):
    x = leaf(rng, (2, 3, 4))
    xn = x.numpy()
    cases = [
        (x.transpose(0, 2), np.swapaxes(xn, 0, 2)),
        (F.transpose(x, -1, -2), np.swapaxes(xn, -1, -2)),
        (x.permute(2, 0, 1), np.transpose(xn, (2, 0, 1))),
        (x.permute((1, -1, 0)), np.transpose(xn, (1, 2, 0))),
        (x.T, xn.T),
        (x.mT, np.swapaxes(xn, -1, -2)),
    ]
    for out, expected in cases:
        np.testing.assert_array_equal(out.numpy(), expected)
        assert np.shares_memory(out._data, x._data)


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.transpose(0, 2),
        lambda x: x.permute(1, 2, 0),
        lambda x: x.T,
        lambda x: x.mT,
        lambda x: x.T.reshape(4, 6),
    ],
)
def test_transpose_family_gradients(rng, fn):
    check_grads(fn, leaf(rng, (2, 3, 4)))


@pytest.mark.kernel_free
def test_transpose_family_errors():
    x = cr.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"permute: axes \(0, 0\) are not a permutation"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match=r"permute: axes \(0,\) are not a permutation"):
        x.permute(0)
    with pytest.raises(ValueError, match=r"permute: axes \(0, 3\) are not a permutation"):
        x.permute(0, 3)
    with pytest.raises(ValueError, match=r"transpose: axis 2 is out of range for a 2-D tensor"):
        x.transpose(0, 2)
    with pytest.raises(TypeError, match="transpose: axis must be a single int, got None"):
        x.transpose(None, 1)
    with pytest.raises(ValueError, match=r"mT: needs a tensor with at least 2 dimensions"):
        _ = cr.tensor(np.ones(3)).mT


BASIC_INDICES = [
    1,
    -1,
    slice(1, None),
    (slice(None, None, -2), 2),
    (Ellipsis, 0),
    (None, 1, slice(0, 2)),
    (slice(None), None, Ellipsis, slice(1, 3)),
    (0, 1, 2),
]


@pytest.mark.kernel_free
@pytest.mark.parametrize("index", BASIC_INDICES)
def test_basic_indexing_is_a_view_with_the_right_gradient(rng, index):
    x = leaf(rng, (4, 3, 5))
    out = x[index]
    np.testing.assert_array_equal(out.numpy(), x.numpy()[index])
    if out.ndim:
        assert np.shares_memory(out._data, x._data)
    g = np.random.default_rng(7).standard_normal(out.shape)
    expected = np.zeros(x.shape)
    expected[index] = g
    np.testing.assert_array_equal(grad_of(lambda x: x[index], x, g), expected)
    check_grads(lambda x: x[index], x)


ADVANCED_INDICES = [
    [0, 2, 2, 0, 3],
    np.array([[1, 1], [3, 0]]),
    (slice(None), [2, 2, 0]),
    ([0, 0, 1], [1, 1, 2]),
    (np.array([True, False, True, True]),),
    (Ellipsis, np.array([4, 4, 4])),
    (np.array([True, False, True, False]), slice(1, 3), [0, 0]),
    [],
]


@pytest.mark.parametrize("index", ADVANCED_INDICES, ids=repr)
def test_advanced_indexing_accumulates_repeated_positions(rng, index):
    x = leaf(rng, (4, 3, 5))
    out = x[index]
    np.testing.assert_array_equal(out.numpy(), x.numpy()[index])
    g = np.random.default_rng(7).standard_normal(out.shape)
    expected = np.zeros(x.shape)
    np.add.at(expected, index if isinstance(index, tuple) else (index,), g)
    np.testing.assert_allclose(grad_of(lambda x: x[index], x, g), expected, rtol=1e-12)
    check_grads(lambda x: x[index], x)


def test_index_given_as_tensor_or_mask_tensor(rng):
    x = leaf(rng, (5, 2))
    idx = cr.tensor(np.array([4, 0, 4]))
    np.testing.assert_array_equal(x[idx].numpy(), x.numpy()[[4, 0, 4]])
    x[idx].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [0, 0], [0, 0], [0, 0], [2, 2]])
    positive = x > 0.0
    np.testing.assert_array_equal(x[positive].numpy(), x.numpy()[x.numpy() > 0])
    k = F.argmax(x[:, 0])  # a 0-d integer Tensor indexes like an int
    assert x[k].shape == (2,)


def test_an_integer_tensor_index_is_an_input_of_the_node(rng):
    """An integer Tensor index (an embedding's ids) enters GetItem as an input, not a setting."""
    x = leaf(rng, (5, 3))
    idx = cr.tensor(np.array([[4, 0], [4, 2]]))
    out = x[idx]
    assert out.grad_fn.inputs[1] is idx
    np.testing.assert_array_equal(out.numpy(), x.numpy()[idx.numpy()])
    g = np.random.default_rng(7).standard_normal(out.shape)
    expected = np.zeros(x.shape)
    np.add.at(expected, idx.numpy(), g)
    np.testing.assert_allclose(grad_of(lambda x: x[idx], x, g), expected, rtol=1e-12)
    check_grads(lambda x: x[idx], x)  # first and second order


@pytest.mark.kernel_free
def test_indexing_errors_name_the_shape():
    x = cr.tensor(np.ones((3, 2)))
    with pytest.raises(IndexError, match=r"getitem: index 5 is out of bounds .* \(tensor shape"):
        x[5]
    with pytest.raises(IndexError, match=r"getitem: .*\(tensor shape \(3, 2\)"):
        x[0, 0, 0]


@pytest.mark.kernel_free
def test_iteration_yields_rows(rng):
    x = leaf(rng, (3, 2))
    rows = list(x)
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[2].numpy(), x.numpy()[2])
    with pytest.raises(TypeError, match="len"):
        list(cr.tensor(1.0))


@pytest.mark.kernel_free
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_and_stack(rng, axis):
    xs = [leaf(rng, (2, 3)), leaf(rng, (2, 3)), leaf(rng, (2, 3))]
    arrays = [x.numpy() for x in xs]
    np.testing.assert_array_equal(F.concat(xs, axis).numpy(), np.concatenate(arrays, axis))
    np.testing.assert_array_equal(F.cat(xs, axis=axis).numpy(), np.concatenate(arrays, axis))
    np.testing.assert_array_equal(F.stack(xs, axis).numpy(), np.stack(arrays, axis))
    check_grads(lambda *xs: F.concat(xs, axis), *xs)
    check_grads(lambda *xs: F.stack(xs, axis), *xs)


@pytest.mark.kernel_free
def test_concat_of_different_sizes_routes_gradients(rng):
    a, b = leaf(rng, (2, 3)), leaf(rng, (2, 1))
    c = cr.tensor(rng.standard_normal((2, 2)))
    g = rng.standard_normal((2, 6))
    F.concat([a, b, c], axis=1).backward(g)
    np.testing.assert_array_equal(a.grad.numpy(), g[:, :3])
    np.testing.assert_array_equal(b.grad.numpy(), g[:, 3:4])
    assert c.grad is None


@pytest.mark.kernel_free
def test_concat_stack_errors():
    a, b = cr.tensor(np.ones((2, 3))), cr.tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"concat: shapes must match except along axis 0, "
                                         r"got \(2, 3\) and \(3, 2\)"):
        F.concat([a, b])
    with pytest.raises(ValueError, match=r"stack: shapes must match, got \(2, 3\) and \(3, 2\)"):
        F.stack([a, b])
    with pytest.raises(TypeError, match="concat: expected a list or tuple of tensors, got Tensor"):
        F.concat(a)
    with pytest.raises(ValueError, match="stack: expected a non-empty sequence"):
        F.stack([])
    with pytest.raises(ValueError, match="concat: axis 2 is out of range"):
        F.concat([a, a], axis=2)


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    "size, axis, expected",
    [(2, 0, [2, 2, 1]), (5, 0, [5]), (9, 0, [5]), ([1, 3, 1], 0, [1, 3, 1]), ([4, 0], -1, [4, 0])],
)
def test_split_sizes_views_and_gradients(rng, size, axis, expected):
    x = leaf(rng, (5, 4))
    pieces = F.split(x, size, axis)
    assert isinstance(pieces, tuple)
    assert [p.shape[axis] for p in pieces] == expected
    np.testing.assert_array_equal(F.concat(pieces, axis).numpy(), x.numpy())
    assert all(np.shares_memory(p._data, x._data) for p in pieces if p.numel())
    check_grads(lambda x: F.split(x, size, axis), x)


@pytest.mark.kernel_free
def test_split_with_unused_pieces_gives_zero_gradient(rng):
    x = leaf(rng, (6, 2))
    _, middle, _ = F.split(x, 2)
    middle.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [0, 0], [1, 1], [1, 1], [0, 0], [0, 0]])


@pytest.mark.kernel_free
def test_split_errors():
    x = cr.tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"split: sections \[2, 2\] must be non-negative and add "
                                         r"up to 5"):
        F.split(x, [2, 2])
    with pytest.raises(ValueError, match="split: split size must be positive, got 0"):
        F.split(x, 0)


@pytest.mark.parametrize(
    "pad_width",
    [1, (1, 2), ((2, 0),), ((1, 0), (0, 3)), [[0, 1], [2, 2]], (3,), np.array([[1, 2], [0, 1]])],
    ids=repr,
)
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
def test_pad_matches_numpy(rng, pad_width, mode):
    x = leaf(rng, (3, 4))
    kwargs = {"constant_values": 1.5} if mode == "constant" else {}
    out = F.pad(x, pad_width, mode=mode, **({"value": 1.5} if mode == "constant" else {}))
    np.testing.assert_array_equal(out.numpy(), np.pad(x.numpy(), pad_width, mode=mode, **kwargs))
    check_grads(lambda x: F.pad(x, pad_width, mode=mode), x)


@pytest.mark.kernel_free
def test_pad_reflect_wider_than_the_input_and_of_a_single_element(rng):
    x = leaf(rng, (2, 3))
    np.testing.assert_array_equal(F.pad(x, ((0, 0), (5, 4)), mode="reflect").numpy(),
                                  np.pad(x.numpy(), ((0, 0), (5, 4)), mode="reflect"))
    one = leaf(rng, (1,))
    np.testing.assert_array_equal(F.pad(one, 2, mode="reflect").numpy(), np.full(5, one.item()))


@pytest.mark.kernel_free
def test_pad_errors():
    x = cr.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="pad: mode must be 'constant', 'reflect', 'edge' or"):
        F.pad(x, 1, mode="circular")
    with pytest.raises(ValueError, match=r"pad: pad_width must be .* got \(\(1, 2\), \(1, 2\), "):
        F.pad(x, ((1, 2), (1, 2), (1, 2)))
    with pytest.raises(ValueError, match=r"pad: pad_width must be .* got -1"):
        F.pad(x, -1)


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    "start, end, expected",
    [
        (0, -1, (120,)),
        (1, -1, (2, 60)),
        (1, 2, (2, 12, 5)),
        (-2, 3, (2, 3, 20)),
        (2, 2, (2, 3, 4, 5)),
    ],
)
def test_flatten(rng, start, end, expected):
    x = leaf(rng, (2, 3, 4, 5))
    out = x.flatten(start, end)
    assert out.shape == expected
    np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(expected))
    check_grads(lambda x: F.flatten(x, start_axis=start, end_axis=end), x)


@pytest.mark.kernel_free
def test_flatten_of_a_scalar_and_errors():
    assert cr.tensor(2.0).flatten().shape == (1,)
    with pytest.raises(ValueError, match="flatten: start_axis 2 comes after end_axis 1"):
        cr.tensor(np.ones((2, 3, 4))).flatten(2, 1)


@pytest.mark.kernel_free
def test_squeeze_and_unsqueeze(rng):
    x = leaf(rng, (1, 3, 1, 2))
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze(0).shape == (3, 1, 2)
    assert x.squeeze((-2, 0)).shape == (3, 2)
    assert x.unsqueeze(0).shape == (1, 1, 3, 1, 2)
    assert x.unsqueeze(-1).shape == (1, 3, 1, 2, 1)
    assert F.unsqueeze(x, (1, -1)).shape == (1, 1, 3, 1, 2, 1)
    np.testing.assert_array_equal(x.unsqueeze(2).numpy(), np.expand_dims(x.numpy(), 2))
    assert np.shares_memory(x.squeeze()._data, x._data)
    check_grads(lambda x: x.squeeze(2).unsqueeze(0), x)
    assert x.squeeze(1) is x and x.squeeze(dim=(0, 1)).shape == (3, 1, 2)  # PyTorch: no error
    with pytest.raises(ValueError, match="unsqueeze: axis 5 is out of range for a 5-D tensor"):
        x.unsqueeze(5)


@pytest.mark.kernel_free
def test_broadcast_to_method(rng):
    x = leaf(rng, (3, 1))
    out = x.broadcast_to((2, 3, 4))
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(x.numpy(), (2, 3, 4)))
    assert F.broadcast_to is cr.ops.broadcast_to
    check_grads(lambda x: x.broadcast_to((2, 3, 4)), x)


def test_float32_stays_float32(rng):
    x = leaf(rng, (4, 3), np.float32)
    outs = [x.reshape(3, 4), x.T, x[[0, 0]], F.concat([x, x]), F.stack([x, x]), F.split(x, 2)[0],
            F.pad(x, 1), F.pad(x, 1, mode="reflect"), x.flatten(), x.unsqueeze(0)]
    for out in outs:
        assert out.dtype == np.float32
        out.sum().backward()
    assert x.grad.dtype == np.float32


TORCH_CASES = [
    ("reshape", lambda x: x.reshape(4, -1), lambda t, torch: t.reshape(4, -1)),
    ("transpose", lambda x: x.transpose(0, 2), lambda t, torch: t.transpose(0, 2)),
    ("permute", lambda x: x.permute(2, 0, 1), lambda t, torch: t.permute(2, 0, 1)),
    ("mT", lambda x: x.mT, lambda t, torch: t.mT),
    ("slice", lambda x: x[1:, None, ..., 1], lambda t, torch: t[1:, None, ..., 1]),
    ("repeat", lambda x: x[[1, 0, 1, 1]], lambda t, torch: t[[1, 0, 1, 1]]),
    ("pairs", lambda x: x[[0, 1, 1], :, [2, 2, 2]], lambda t, torch: t[[0, 1, 1], :, [2, 2, 2]]),
    ("mask", lambda x: x[x.numpy() > 0], lambda t, torch: t[t.detach() > 0]),
    ("flatten", lambda x: x.flatten(1), lambda t, torch: t.flatten(1)),
    ("unsqueeze", lambda x: x.unsqueeze(1).squeeze(), lambda t, torch: t.unsqueeze(1).squeeze()),
    ("split", lambda x: F.split(x, [1, 2], 1)[1], lambda t, torch: t.split([1, 2], 1)[1]),
    ("cat", lambda x: F.cat([x, 2 * x], -1), lambda t, torch: torch.cat([t, 2 * t], -1)),
    ("stack", lambda x: F.stack([x, 2 * x], 1), lambda t, torch: torch.stack([t, 2 * t], 1)),
    ("pad", lambda x: F.pad(x, ((0, 0), (1, 2), (2, 1)), value=0.5),
     lambda t, torch: torch.nn.functional.pad(t, (2, 1, 1, 2), value=0.5)),
    ("reflect", lambda x: F.pad(x, ((0, 0), (1, 2), (2, 1)), mode="reflect"),
     lambda t, torch: torch.nn.functional.pad(t, (2, 1, 1, 2), mode="reflect")),
    ("edge", lambda x: F.pad(x, ((0, 0), (1, 2), (2, 1)), mode="edge"),
     lambda t, torch: torch.nn.functional.pad(t, (2, 1, 1, 2), mode="replicate")),
]


def _matches_torch_case(rng, name, ours, theirs):
    torch = pytest.importorskip("torch")
    x = leaf(rng, (2, 3, 4))
    out = ours(x)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tx = torch.tensor(x.numpy(), requires_grad=True)
    tout = theirs(tx, torch)
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_matches_torch():
    each_case(with_rng(_matches_torch_case), grid(
        ("name, ours, theirs", TORCH_CASES, [c[0] for c in TORCH_CASES]),
    ))


@pytest.mark.torch
@pytest.mark.parametrize("index", [
    (1, slice(None), [0, 2, 2]),
    (None, 0, slice(None), [1, 0]),
    (0, Ellipsis, [3, 1]),
    ([0, 1], slice(None), 2),
])
def test_an_int_beside_an_array_index_selects_first_as_in_torch(rng, index):
    """NumPy moves the array's axis to the front here (a transposed result for square shapes)."""
    torch = pytest.importorskip("torch")
    data = rng.standard_normal((2, 3, 4))
    x = cr.tensor(data, requires_grad=True)
    out = x[index]
    t = torch.tensor(data, requires_grad=True)
    tout = t[tuple(torch.tensor(i) if isinstance(i, list) else i for i in index)]
    assert out.shape == tuple(tout.shape)
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.kernel_free
@pytest.mark.torch
def test_gather_and_scatter_add_along_take_a_smaller_index_as_in_torch(rng):
    """take_along_axis broadcast an index of size 1 (a wrong shape), and scatter_add_along
    checked the index against g's size rather than the output's."""
    torch = pytest.importorskip("torch")
    data = rng.standard_normal((4, 3, 5))
    index = rng.integers(0, 3, (2, 4, 1))
    x = cr.tensor(data, requires_grad=True)
    out = F.gather(x, 1, cr.tensor(index))
    t = torch.tensor(data, requires_grad=True)
    tout = torch.gather(t, 1, torch.tensor(index))
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    src = rng.standard_normal((3, 5, 2))
    ours = F.scatter_add_along(cr.tensor(src), 0, cr.tensor(index[:, :, :1] + 3), (6, 4, 1))
    theirs = torch.zeros((6, 4, 1), dtype=torch.float64).scatter_add(
        0, torch.tensor(index[:, :, :1] + 3), torch.tensor(src))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15)
    ids = cr.tensor(index[:, :, :1] + 3)
    assert cr.gradgradcheck(lambda s: F.scatter_add_along(s, 0, ids, (6, 4, 1)),
                            [cr.tensor(src, requires_grad=True)])
    with pytest.raises(ValueError, match="gather: index of shape"):
        F.gather(x, 1, cr.tensor(rng.integers(0, 3, (5, 1, 1))))

