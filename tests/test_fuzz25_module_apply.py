"""``Module._apply(fn)``, PyTorch's step under ``to``/``half``/``double``/``float``, which a class
overrides to convert tensors it keeps outside its parameters and buffers (a rotary embedding's
cos/sin cache), and which programs call directly (wave 25, modoptim). chainrule had none: an
override was silently skipped (the cache kept its dtype) and a direct call failed."""

import pytest

import chainrule as cr


def _model(lib):
    class Rotary(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.cos = lib.ones(3)  # a plain attribute, not a buffer
            self.proj = lib.nn.Linear(1, 1, bias=False)

        def _apply(self, fn, recurse=True):
            super()._apply(fn, recurse)
            self.cos = fn(self.cos)
            return self

    return lib.nn.Sequential(lib.nn.Sequential(Rotary()))


def _dtypes(lib):
    out = []
    for cast in (lambda m: m.half(), lambda m: m.to(lib.float64), lambda m: m.double().float()):
        rotary = cast(_model(lib))[0][0]
        out.append(tuple(str(t.dtype).split(".")[-1] for t in (rotary.cos, rotary.proj.weight)))
    return out


def test_an_override_of_apply_is_obeyed_by_the_casts():
    torch = pytest.importorskip("torch")
    assert _dtypes(cr) == _dtypes(torch) == [("float16", "float16"), ("float64", "float64"),
                                             ("float32", "float32")]


def test_apply_called_directly_keeps_the_parameters():
    m = cr.nn.Linear(2, 1)
    m.weight.grad = cr.ones(1, 2)
    weight, before = m.weight, m.weight.tolist()
    assert m._apply(lambda t: t * 2) is m
    assert m.weight is weight and m.weight.tolist() == [[2 * v for v in before[0]]]
    assert m.weight.grad.tolist() == [[2.0, 2.0]]
    m.weight.sum().backward()  # still a trainable leaf


def test_a_sparse_gradient_is_cast_with_its_parameter():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (torch, cr):
        emb = lib.nn.Embedding(4, 2, sparse=True)
        emb(lib.tensor([1])).sum().backward()
        emb.double()  # was an AttributeError ('SparseTensor' has no '_data')
        grad = emb.weight.grad
        out.append((str(grad.dtype).split(".")[-1], grad.to_dense().tolist()))
    assert out[0] == out[1] == ("float64", [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
