"""``out=`` on the top-level functions (ops/out_arg.py), against PyTorch where it is installed."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.out_arg import NAMES

from .._case_loop import each_case, grid

F32 = np.float32


def _run(lib, name, args, kwargs, out_spec):
    """Call ``lib.name(*args, out=...)`` with outs made from ``out_spec`` [(shape, dtype)]; return
    (returned, outs, warned) or the exception's type."""
    conv = [lib.tensor(a) if isinstance(a, np.ndarray) else
            [lib.tensor(b) for b in a] if isinstance(a, list) else a for a in args]
    outs = tuple(lib.full(shape, 7, dtype=getattr(lib, dt)) for shape, dt in out_spec)
    out = outs[0] if len(outs) == 1 else outs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            returned = getattr(lib, name)(*conv, **kwargs, out=out)
        except (RuntimeError, TypeError, ValueError) as e:
            return type(e).__name__
    return returned, outs, any("resized" in str(w.message) for w in caught)


rng = np.random.default_rng(0)
A, B = rng.standard_normal((2, 3)).astype(F32), rng.standard_normal((2, 3)).astype(F32)
M, N = rng.standard_normal((2, 3)).astype(F32), rng.standard_normal((3, 4)).astype(F32)
CASES = [  # name, args, kwargs, [(out shape, out dtype)]
    ("add", (A, B), {}, [((2, 3), "float32")]),
    ("add", (A, B), {"alpha": 2}, [((0,), "float32")]),
    ("add", (A, B), {}, [((5,), "float32")]),  # resized, with PyTorch's warning
    ("add", (A, B), {}, [((3, 2), "float32")]),  # as many elements, another shape: resized
    ("sub", (A, B), {}, [((2, 3), "float64")]),  # float32 result into float64: castable
    ("mul", (A, B), {}, [((2, 3), "float32")]),
    ("div", (A, B), {}, [((2, 3), "float32")]),
    ("matmul", (M, N), {}, [((2, 4), "float32")]),
    ("mm", (M, N), {}, [((0,), "float32")]),
    ("exp", (A,), {}, [((2, 3), "int64")]),  # float into an integer tensor: RuntimeError
    ("sqrt", (np.abs(A),), {}, [((2, 3), "float32")]),
    ("cat", ([A, B],), {"dim": 1}, [((2, 6), "float32")]),
    ("stack", ([A, B],), {}, [((0,), "float32")]),
    ("sum", (A, 1), {}, [((2,), "float32")]),
    ("mean", (A, 0), {"keepdim": True}, [((1, 3), "float32")]),
    ("max", (A, 1), {}, [((2,), "float32"), ((2,), "int64")]),
    ("sort", (A,), {"dim": 1}, [((0,), "float32"), ((0,), "int64")]),
    ("topk", (A, 2), {}, [((2, 2), "float32"), ((2, 2), "int64")]),
    ("eq", (A, A), {}, [((2, 3), "bool")]),
    ("gt", (A, B), {}, [((2, 3), "float32")]),  # bool into float: castable
    ("clamp", (A,), {"min": -0.5, "max": 0.5}, [((2, 3), "float32")]),
    ("argmax", (A, 1), {}, [((2,), "int64")]),
    ("zeros", ((2, 2),), {}, [((4,), "int64")]),  # made in out's dtype
    ("linspace", (0, 1, 5), {}, [((5,), "float64")]),
    ("where", (A > 0, A, B), {}, [((2, 3), "float32")]),
    ("tanh", (A,), {}, [((2, 3), "float16")]),
]


def _out_writes_as_pytorch_case(name, args, kwargs, out_spec):
    torch = pytest.importorskip("torch")
    args = tuple(a.astype(bool) if isinstance(a, np.ndarray) and a is not None and
                 name == "where" and i == 0 else a for i, a in enumerate(args))
    got, want = _run(cr, name, args, kwargs, out_spec), _run(torch, name, args, kwargs, out_spec)
    if isinstance(want, str) or isinstance(got, str):
        assert got == want
        return
    (r_cr, outs_cr, warned_cr), (_, outs_t, warned_t) = got, want
    assert warned_cr == warned_t
    for o_cr, o_t in zip(outs_cr, outs_t):
        assert tuple(o_cr.shape) == tuple(o_t.shape)
        assert str(o_cr.dtype).split(".")[-1] == str(o_t.dtype).split(".")[-1]
        np.testing.assert_allclose(o_cr.numpy().astype(np.float64),
                                   o_t.numpy().astype(np.float64), rtol=1e-6, atol=1e-6)
    if len(outs_cr) == 1:
        assert r_cr is outs_cr[0]  # out itself comes back
    else:
        assert all(a is b for a, b in zip(r_cr, outs_cr))


def test_out_writes_as_pytorch():
    each_case(_out_writes_as_pytorch_case, grid(
        ("name, args, kwargs, out_spec", CASES, [f"{c[0]}-{i}" for i, c in enumerate(CASES)]),
    ))


@pytest.mark.kernel_free
def test_no_gradient_through_out():
    w = cr.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.exp(w, out=cr.zeros(3))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.exp(cr.ones(3), out=cr.zeros(3, requires_grad=True))
    with cr.no_grad():  # as PyTorch's: allowed while nothing records
        o = cr.zeros(3)
        assert cr.exp(w, out=o) is o
    np.testing.assert_allclose(o.numpy(), np.exp(np.ones(3, F32)), rtol=1e-6)


@pytest.mark.kernel_free
def test_out_is_changed_in_place_and_backward_sees_it():
    """A graph that read ``out`` before the write refuses, as after any in-place change."""
    o, w = cr.zeros(3), cr.ones(3, requires_grad=True)
    z = (w * o).sum()  # the product's backward reads o
    before = o._version
    cr.add(cr.ones(3), cr.ones(3), out=o)
    assert o._version > before and o.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="modified by an inplace operation|in place"):
        z.backward()


@pytest.mark.kernel_free
def test_out_may_be_an_input():
    x = cr.tensor([1.0, 2.0])
    assert cr.add(x, x, out=x) is x and x.tolist() == [2.0, 4.0]


@pytest.mark.kernel_free
def test_bad_outs_say_what_is_wrong():
    x = cr.ones(2, 2)
    with pytest.raises(TypeError, match="out must be a Tensor, got ndarray"):
        cr.add(x, x, out=np.zeros((2, 2)))
    with pytest.raises(TypeError, match=r"max: out must be a tuple of 2 tensors .*got a Tensor"):
        cr.max(x, 1, out=cr.zeros(2))
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        cr.mul(x, x, out=cr.zeros(2, 2, dtype=cr.int64))


@pytest.mark.kernel_free
def test_every_name_is_a_pytorch_function_with_out_and_shows_it():
    import inspect

    for name in NAMES:
        fn = getattr(cr, name)
        assert "out" in inspect.signature(fn).parameters, name
    torch = pytest.importorskip("torch")
    assert all(hasattr(torch, name) for name in NAMES)


@pytest.mark.kernel_free
def test_without_out_nothing_changes():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    y = cr.exp(x)  # recorded as before: out is None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, -2.0]), rtol=1e-6)


@pytest.mark.kernel_free
@pytest.mark.parametrize("module, name, args", [
    ("linalg", "inv", (np.array([[2.0, 1.0], [1.0, 3.0]]),)),
    ("linalg", "vector_norm", (A,)),
    ("special", "expit", (A,)),
    ("fft", "rfft", (A.astype(np.float64),)),
    ("fft", "fftfreq", (5,)),
])
def test_linalg_special_fft_write_out_as_pytorch(module, name, args):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        fn = getattr(getattr(lib, module), name)
        want = fn(*[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        out = lib.empty(0, dtype=want.dtype)
        assert fn(*[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                  out=out) is out
        results.append(out.numpy())
    assert results[0].dtype == results[1].dtype and results[0].shape == results[1].shape
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)
