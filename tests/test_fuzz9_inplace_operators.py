"""Ninth fuzz wave, the in-place operators (&=, |=, ^=, <<=, >>=, %=, //=, **=, +=, -=, *=, /=)
on leaves, views and aliases, over random dtypes (bool, uint8, int16/32/64, float32/64), shapes,
broadcast operands and Python scalars: where PyTorch raises, chainrule must raise; where both
run, the tensor, its alias or base and the returned object must be PyTorch's. Where chainrule
refuses what PyTorch computes (a Python int outside the tensor's dtype, a bool shift amount, an
integer to a negative integer power) the test lets it refuse, a few times only (int64 into uint8
is computed since chainrule follows PyTorch's promotion); the sign of a zero remainder is not
compared."""

import operator

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]

_OPS = ["iand", "ior", "ixor", "ilshift", "irshift", "imod", "ifloordiv", "ipow", "iadd", "isub",
        "imul", "itruediv"]


def _value(v):
    if hasattr(v, "detach"):
        a = np.asarray(v.detach().numpy())
        return str(a.dtype), a.shape, (a + 0.0 if a.dtype.kind == "f" else a).tolist()
    return v


def _run(lib, seed):
    rng = np.random.default_rng(seed)
    op = _OPS[rng.integers(len(_OPS))]
    dtype = str(rng.choice(["int64", "int32", "uint8", "bool", "float64", "float32", "int16"]))
    shape = tuple(int(s) for s in rng.integers(1, 4, int(rng.integers(0, 3))))
    if rng.random() < 0.7:
        other_shape = shape[int(rng.integers(0, len(shape) + 1)):]
    else:
        other_shape = tuple(int(s) for s in rng.integers(1, 4, int(rng.integers(0, 3))))
    a0, b0 = rng.integers(-5, 6, shape), rng.integers(-3, 6, other_shape)
    kind = str(rng.choice(["same", "int64", "float64", "bool", "int", "float", "uint8"]))
    if op == "isub" and "bool" in (dtype, kind):  # computed here, refused by PyTorch: see below
        return "bool subtraction"

    def make(x, d):
        x = np.asarray(x)
        x = x > 0 if d == "bool" else (np.abs(x) if d == "uint8" else x)
        return lib.tensor(x.astype(d), dtype=getattr(lib, d))

    a = make(a0, dtype)
    scalar = int(b0.flat[0]) if b0.size else 2
    other = {"same": lambda: make(b0, dtype), "int": lambda: scalar,
             "float": lambda: scalar + 0.5}.get(kind, lambda: make(b0, kind))()
    target = str(rng.choice(["leaf", "view", "alias"]))
    try:
        if target == "view" and a.ndim:
            base = a.clone()
            view = base[0] if rng.random() < 0.5 else base.T
            got = getattr(operator, op)(view, other)
            return {"same": got is view, "base": _value(base), "result": _value(got)}
        alias = a
        got = getattr(operator, op)(a, other)
        return {"same": got is alias, "alias": _value(alias), "result": _value(got)}
    except (RuntimeError, TypeError, ValueError, NotImplementedError, ZeroDivisionError,
            OverflowError):
        return "refused"


@pytest.mark.parametrize("block", range(4))
def test_in_place_operators_as_pytorchs(block):
    refused_only_here = 0
    for seed in range(block * 400, block * 400 + 400):
        want, got = _run(torch, seed), _run(cr, seed)
        if want == "refused":
            assert got == "refused", seed  # never silently where PyTorch raises
        elif got == "refused":
            refused_only_here += 1
        else:
            assert str(got) == str(want), seed  # str: NaN equals NaN
    assert refused_only_here < 20


def test_subtraction_with_bool_counts_true_as_one_where_pytorch_refuses():
    # Deliberate (docs/pytorch.md): chainrule.Tensor(bool_array) stays bool where PyTorch's legacy
    # constructor makes floats, so CleanRL's `1.0 - torch.Tensor(next_done)` must compute here.
    i, b = cr.tensor([1, 2]), cr.tensor([True, False])
    assert (i - b).tolist() == [0, 2] and (b - i).tolist() == [0, -2]
    assert (1 - b).tolist() == [0, 1] and (1.0 - b).tolist() == [0.0, 1.0]
    assert (i - True).tolist() == [0, 1] and cr.sub(i, b).tolist() == [0, 2]
    x = i.clone()
    x -= b
    assert x.tolist() == [0, 2]
    ti, tb = torch.tensor([1, 2]), torch.tensor([True, False])
    for fn in (lambda: ti - tb, lambda: 1 - tb, lambda: ti.clone().sub_(tb)):
        with pytest.raises(RuntimeError, match="[Ss]ubtraction"):
            fn()


def test_only_bool_is_written_into_a_bool_tensor_in_place_as_pytorchs():
    for lib in (torch, cr):
        b = lib.tensor([True, False])
        for fn in (lambda: b.clone().__ior__(1), lambda: b.clone().__ior__(lib.tensor([3, 4])),
                   lambda: b.clone().__iand__(lib.tensor([1, 0])),
                   lambda: b.clone().bitwise_xor_(2)):
            with pytest.raises((RuntimeError, TypeError)):
                fn()
        c = b.clone()
        c |= True
        c &= lib.tensor([True, False])
        assert c.tolist() == [True, False]
