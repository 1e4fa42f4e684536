"""Fuzz wave 15: tensors print as PyTorch 2.13 prints them, character for character.

Seeded random tensors of every dtype, shape (0-d, empty, 1-D..4-D, summarized) and value mix
(whole numbers, mixed magnitudes, inf/nan/-0.0, zeros, extreme ints) under random print options
are printed by both libraries. The one difference allowed is the library's name: PyTorch writes
``dtype=torch.int8`` where chainrule writes ``dtype=int8``, which moves where a suffix wraps;
texts with a ``dtype=`` suffix are compared with the suffixes on one line, the others exactly.
"""

import math
import re
import warnings

import numpy as np
import pytest

import chainrule as cr

DTYPES = ["float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32",
          "int64", "uint8", "bool"]
SHAPES = [(), (0,), (2, 0, 3), (0, 3), (1,), (5,), (3, 4), (2, 3, 4), (2, 2, 2, 3), (30,),
          (7, 9), (1001,), (40, 30), (3, 20, 20), (2, 3, 11, 7)]
OPTIONS = [{}, dict(precision=2), dict(precision=6), dict(sci_mode=True), dict(sci_mode=False),
           dict(linewidth=40), dict(linewidth=120, precision=3), dict(threshold=10, edgeitems=2),
           dict(edgeitems=0, threshold=5), dict(profile="short"), dict(profile="full"),
           dict(threshold=20, edgeitems=1, linewidth=50), dict(precision=0)]
_WRAPPED = re.compile(r",\n +(?=(dtype|size|grad_fn|requires_grad|device)=)")


@pytest.fixture
def torch():
    """PyTorch, both libraries' print options and default dtype restored afterwards."""
    torch = pytest.importorskip("torch")
    before = cr.config.print_options
    try:
        yield torch
    finally:
        torch.set_printoptions(profile="default")
        torch.set_default_dtype(torch.float32)
        cr.config.print_options = before
        cr.set_default_dtype(cr.float32)


def _options(torch, **kwargs):
    for lib in (torch, cr):
        lib.set_printoptions(profile="default")
        lib.set_printoptions(**kwargs)


def same_text(ours: str, theirs: str):
    if "dtype=torch." in theirs:
        ours = _WRAPPED.sub(", ", ours)
        theirs = _WRAPPED.sub(", ", theirs.replace("dtype=torch.", "dtype="))
    assert ours == theirs, f"\nchainrule:\n{ours}\nPyTorch:\n{theirs}"


def _values(rng, shape, dtype):
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype[0] in "iu":
        info = np.iinfo(dtype)
        wide = rng.random() < 0.2
        low = info.min if wide else max(info.min, -20)
        return rng.integers(low, info.max if wide else 20, shape, endpoint=True).astype(dtype)
    base, kind = rng.standard_normal(shape), rng.integers(0, 8)
    if kind == 1:
        base = np.round(base * 5)  # whole numbers: "1."
    elif kind == 2:
        base = base * 10.0 ** rng.integers(-8, 9, shape)  # mixed magnitudes: scientific
    elif kind == 3:
        base = base * 10.0 ** rng.integers(-12, 12)
    elif kind == 4:
        special = rng.integers(0, 4, shape)
        base = np.where(special == 1, np.inf, np.where(special == 2, -np.inf, base))
        base = np.where(special == 3, np.nan, base)
    elif kind == 5:
        base = np.where(rng.random(shape) < 0.5, 0.0, -0.0)
    elif kind == 6:
        base = np.round(base * 10.0 ** rng.integers(0, 10))
    if dtype.startswith("complex"):
        base = np.asarray(base).astype("complex128")  # inf and nan parts kept apart
        base.imag = _values(rng, shape, "float64")
    with np.errstate(all="ignore"):
        return np.asarray(base).astype(dtype)


@pytest.mark.parametrize("seed", range(6))
def test_random_tensors_print_as_pytorchs(torch, seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        shape, dtype = SHAPES[rng.integers(len(SHAPES))], DTYPES[rng.integers(len(DTYPES))]
        options = OPTIONS[rng.integers(len(OPTIONS))]
        values = _values(rng, shape, dtype)
        grad = dtype in ("float32", "float64", "complex64") and rng.random() < 0.3
        _options(torch, **options)
        ours, theirs = cr.tensor(values, requires_grad=grad), torch.tensor(values,
                                                                         requires_grad=grad)
        if grad and rng.random() < 0.5:
            ours, theirs = ours + 0, theirs + 0
        same_text(repr(ours), repr(theirs))
        same_text(str(ours), str(theirs))


@pytest.mark.parametrize("values", [
    [1.0, 2.0, 3.0], [1.5, -2.25], [1e-5, 1e5], [0.1, 1e8], [1e9, 2.0], [-0.0, 0.0],
    [math.inf, -math.inf, math.nan], [1.0, math.nan], [[1e-4, 1.0]], [12345.678, 0.001],
    [3.0], 3.5, 0.0, -0.0, math.nan, 1e10, 123456789.0, [99999.99996], [9.99996e99, 1.0],
    [1e-300, 1.0], [1e300, 1.0], [1 + 2j, -0.5j], [complex(0, -0.0)], [[1 + 1e-6j, 1e5]],
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_hand_picked_values(torch, values, dtype):
    if dtype == "float16" and np.iscomplexobj(values):
        dtype = "complex64"
    with np.errstate(all="ignore"):
        array = np.asarray(values).astype(dtype if not np.iscomplexobj(values) else
                                          dtype.replace("float32", "complex64")
                                          .replace("float64", "complex128"))
    for options in ({}, dict(sci_mode=True), dict(sci_mode=False, precision=2)):
        _options(torch, **options)
        same_text(repr(cr.tensor(array)), repr(torch.tensor(array)))


def test_suffixes_wrap_at_the_line_width(torch):
    for width in (20, 30, 45, 60, 80):
        _options(torch, linewidth=width)
        for values in ([1.0, 2.0], [[1.5, 2.5, 3.5, 4.5]], np.arange(12.0).reshape(3, 4)):
            values = np.asarray(values, dtype="float32")
            ours = cr.tensor(values, requires_grad=True)
            theirs = torch.tensor(values, requires_grad=True)
            assert repr(ours) == repr(theirs)
            assert repr(ours.sum()) == repr(theirs.sum())


def test_the_default_dtype_decides_the_dtype_suffix(torch):
    for default in ("float64", "float32"):
        torch.set_default_dtype(getattr(torch, default))
        cr.set_default_dtype(getattr(cr, default))
        for dtype in ("float32", "float64", "complex64", "complex128", "int64", "int32"):
            for shape in ((2,), (0,), (2, 0)):
                array = np.ones(shape, dtype)
                same_text(repr(cr.tensor(array)), repr(torch.tensor(array)))


def test_meta_tensors_and_parameters(torch):
    for shape, dtype in (((2, 3), "float32"), ((4,), "int64"), ((), "float64")):
        ours = cr.empty(shape, dtype=getattr(cr, dtype), device="meta")
        theirs = torch.empty(shape, dtype=getattr(torch, dtype), device="meta")
        same_text(repr(ours), repr(theirs))
    for values in ([1.0, 2.0], [[0.25] * 30] * 3, 2.0):
        same_text(repr(cr.nn.Parameter(cr.tensor(values))),
                  repr(torch.nn.Parameter(torch.tensor(values))))
        same_text(repr(cr.nn.Parameter(cr.tensor(values), requires_grad=False)),
                  repr(torch.nn.Parameter(torch.tensor(values), requires_grad=False)))


def test_zero_dim_tensors_format_as_their_value(torch):
    for value, dtype in ((3.14159, "float32"), (2.5, "float64"), (7, "int64"), (True, "bool"),
                         (-3, "int8"), (1 + 2j, "complex64")):
        ours, theirs = cr.tensor(value, dtype=getattr(cr, dtype)), torch.tensor(
            value, dtype=getattr(torch, dtype))
        specs = ["", ">12", "^9"] + ([".2f", ".3e", ".1%", "+.4g"] if dtype[0] == "f" else
                                     ["03d", "x", "+"] if dtype[0] == "i" else [])
        for spec in specs:
            assert format(ours, spec) == format(theirs, spec), spec
        assert f"{ours}" == f"{theirs}"
        same_text(str(ours), str(theirs))
        item, expected = ours.item(), theirs.item()
        assert type(item) is type(expected) and item == expected
        assert ours.reshape(1).tolist() == theirs.reshape(1).tolist()
    for lib in (cr, torch):
        with pytest.raises(TypeError, match="unsupported format string"):
            format(lib.ones(2), ".2f")


@pytest.mark.parametrize("dtype", DTYPES)
def test_tolist_and_item_give_python_numbers(torch, dtype):
    values = _values(np.random.default_rng(len(dtype)), (2, 3), dtype)
    ours, theirs = cr.tensor(values).tolist(), torch.tensor(values).tolist()
    assert ours == theirs or np.array_equal(np.asarray(ours), np.asarray(theirs), equal_nan=True)
    assert [type(v) for row in ours for v in row] == [type(v) for row in theirs for v in row]
    assert type(cr.tensor(values)[1, 2].item()) is type(torch.tensor(values)[1, 2].item())


GRAD_FN_OPS = {
    "add": lambda L, x, w: x + 2, "sub": lambda L, x, w: x - 1, "mul": lambda L, x, w: x * 3,
    "div": lambda L, x, w: x / 2, "pow": lambda L, x, w: x ** 2,
    "pow_t": lambda L, x, w: x.exp() ** x,
    "rpow": lambda L, x, w: 2 ** x, "neg": lambda L, x, w: -x, "sum": lambda L, x, w: x.sum(),
    "sum_dim": lambda L, x, w: x.sum(0), "mean": lambda L, x, w: x.mean(),
    "mean_dim": lambda L, x, w: x.mean(1), "mm": lambda L, x, w: x @ w,
    "dot": lambda L, x, w: x[0] @ x[1], "mv": lambda L, x, w: w @ x[0],
    "bmm": lambda L, x, w: x.expand(2, 3, 4) @ w.expand(2, 4, 4),
    "relu": lambda L, x, w: x.relu(), "sigmoid": lambda L, x, w: x.sigmoid(),
    "tanh": lambda L, x, w: x.tanh(), "exp": lambda L, x, w: x.exp(),
    "log": lambda L, x, w: x.exp().log(), "abs": lambda L, x, w: x.abs(),
    "sqrt": lambda L, x, w: x.exp().sqrt(), "view": lambda L, x, w: x.view(12),
    "reshape": lambda L, x, w: x.reshape(2, 6), "flatten": lambda L, x, w: x.flatten(),
    "transpose": lambda L, x, w: x.transpose(0, 1), "select": lambda L, x, w: x[0],
    "slice": lambda L, x, w: x[0:2], "select_col": lambda L, x, w: x[:, 1],
    "index": lambda L, x, w: x[[0, 1]], "clone": lambda L, x, w: x.clone(),
    "expand": lambda L, x, w: x[:1].expand(3, 4), "cat": lambda L, x, w: L.cat([x, x]),
    "stack": lambda L, x, w: L.stack([x, x]), "max": lambda L, x, w: x.max(),
    "max_dim": lambda L, x, w: x.max(0)[0], "min": lambda L, x, w: x.min(),
    "softmax": lambda L, x, w: x.softmax(1), "log_softmax": lambda L, x, w: x.log_softmax(1),
    "sin": lambda L, x, w: x.sin(), "cos": lambda L, x, w: x.cos(),
    "clamp": lambda L, x, w: x.clamp(0, 1), "norm": lambda L, x, w: x.norm(),
    "std": lambda L, x, w: x.std(), "var": lambda L, x, w: x.var(),
    "prod": lambda L, x, w: x.prod(), "double": lambda L, x, w: x.double(),
    "linear": lambda L, x, w: L.nn.functional.linear(x, w, w[0]),
    "linear_nobias": lambda L, x, w: L.nn.functional.linear(x, w),
    "mse": lambda L, x, w: L.nn.functional.mse_loss(x, w[:3]),
    "cross_entropy": lambda L, x, w: L.nn.functional.cross_entropy(x, L.tensor([0, 1, 2])),
    "l1": lambda L, x, w: L.nn.functional.l1_loss(x, w[:3]),
    "leaky_relu": lambda L, x, w: L.nn.functional.leaky_relu(x),
    "gelu": lambda L, x, w: L.nn.functional.gelu(x),
    "silu": lambda L, x, w: L.nn.functional.silu(x),
    "elu": lambda L, x, w: L.nn.functional.elu(x),
    "softplus": lambda L, x, w: L.nn.functional.softplus(x),
}


@pytest.mark.parametrize("op", GRAD_FN_OPS)
def test_grad_fn_names_are_pytorchs(torch, op):
    values = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    weight = np.random.default_rng(1).standard_normal((4, 4)).astype("float32")
    fn = GRAD_FN_OPS[op]
    ours = fn(cr, cr.tensor(values, requires_grad=True), cr.tensor(weight, requires_grad=True))
    theirs = fn(torch, torch.tensor(values, requires_grad=True),
                torch.tensor(weight, requires_grad=True))
    name = re.search(r"grad_fn=<(\w+)>", repr(theirs)).group(1)
    assert f"grad_fn=<{name}>" in repr(ours)
    if op not in RELEASED_DIFFERS:  # backward releases what the node recorded: same name
        ours.sum().backward()
        assert f"grad_fn=<{name}>" in repr(ours)


# after backward these nodes have lost what told the overloads apart (a slice from a select,
# an unsqueeze from a view, amax from max(dim), min from max, F.linear without a bias from one
# with)
RELEASED_DIFFERS = {"slice", "index", "rows", "unsqueeze", "none", "amax", "min", "embedding",
                    "linear_nobias", "pow_t", "rpow"}
GRAD_FN_OPS.update({
    "conv2d": lambda L, x, w: L.nn.functional.conv2d(x.reshape(1, 1, 3, 4), w.reshape(4, 1, 2, 2)),
    "max_pool": lambda L, x, w: L.nn.functional.max_pool2d(x.reshape(1, 1, 3, 4), 2),
    "avg_pool": lambda L, x, w: L.nn.functional.avg_pool2d(x.reshape(1, 1, 3, 4), 2),
    "batch_norm": lambda L, x, w: L.nn.functional.batch_norm(x, None, None, training=True),
    "layer_norm": lambda L, x, w: L.nn.functional.layer_norm(x, (4,)),
    "embedding": lambda L, x, w: L.nn.functional.embedding(L.tensor([0, 2]), w),
    "nll": lambda L, x, w: L.nn.functional.nll_loss(x.log_softmax(1), L.tensor([0, 1, 3])),
    "pad": lambda L, x, w: L.nn.functional.pad(x, (1, 1)),
    "keepdim": lambda L, x, w: x.sum(1, keepdim=True),
    "linear_3d": lambda L, x, w: L.nn.functional.linear(x.reshape(1, 3, 4), w, w[0]),
})
GRAD_FN_OPS.update({"unsqueeze": lambda L, x, w: x.unsqueeze(1), "none": lambda L, x, w: x[None],
                    "rows": lambda L, x, w: x[1:, None], "amax": lambda L, x, w: x.amax(0),
                    "batched": lambda L, x, w: x.expand(2, 3, 4) @ w,
                    "custom": lambda L, x, w: _Twice.make(L).apply(x)})


class _Twice:
    """A custom autograd.Function: its node is ``<class name>Backward`` in both libraries."""

    @staticmethod
    def make(lib):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        return Twice


def test_dual_tensors_print_their_tangent(torch):
    """Inside a forward-AD level a dual tensor prints its primal and ``tangent=`` (a 0-d
    tangent as its number, PyTorch's f-string); outside the level chainrule's stays recorded."""
    texts = []
    for lib in (cr, torch):
        ad = lib.autograd.forward_ad
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # PyTorch's torch.jit.script
            with ad.dual_level():
                x = ad.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([0.5, 0.25]))
                p = lib.tensor([1.0, 3.0], requires_grad=True)
                shown = [x, x * 2, (x * 3).sum(), lib.ones(2), p * x,
                         ad.make_dual(p, lib.ones(2)), lib.ones(2, requires_grad=True)]
                texts.append([repr(t) for t in shown])
    ours, theirs = texts
    theirs[4] = theirs[4].replace("AddBackward0", "MulBackward0")  # its tangent's own formula
    assert ours == theirs
