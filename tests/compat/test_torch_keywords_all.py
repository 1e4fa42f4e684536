"""Every top-level name chainrule shares with ``torch`` accepts each of PyTorch's parameter names
(read from PyTorch's docstrings, as ``torch_signature`` does) as a keyword, so a ported call
``torch.X(input=..., other=...)`` runs unchanged; and a handful of such calls give PyTorch's
values."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid, with_rng
from .torch_signature import _doc_params

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

# PyTorch parameters chainrule leaves out everywhere, on purpose (docs/pytorch.md): there is no
# ``out=`` (results are new tensors), one dense strided layout, no pinned memory and no memory
# formats; ``self`` is the method form's receiver, never a keyword.
EVERYWHERE = {"out", "layout", "pin_memory", "memory_format", "self"}

# Deliberate per-name exceptions, each with its reason.
EXCEPTIONS: dict[str, set[str]] = {
    # The docstring's name is not the one PyTorch takes at run time (DOC_ONLY below shows PyTorch
    # refusing it); chainrule takes the run-time names: size=, input=, input2=, split_size=.
    "broadcast_to": {"shape"},
    "cholesky_inverse": {"L"},
    "cholesky_solve": {"B", "L"},
    "lu_solve": {"b"},
    "matrix_exp": {"A"},
    "triangular_solve": {"b"},
    "unsafe_split": {"split_size_or_sections"},
    # PyTorch takes these positionally only (any keyword is a TypeError there).
    "from_numpy": {"ndarray"},
    "set_num_threads": {"int"},
    "set_num_interop_threads": {"int"},
    # chainrule never pickles (docs/pytorch.md): it reads torch.save's files by its own reader
    # and writes safetensors + JSON (or torch's zip format, by its own writer).
    "load": {"pickle_module"},
    "save": {"pickle_module", "pickle_protocol", "_use_new_zipfile_serialization",
             "_disable_byteorder_record"},
}


def _shared():
    names = []
    for name in sorted(dir(torch)):
        if name.startswith("_") or not hasattr(cr, name):
            continue
        theirs, ours = getattr(torch, name), getattr(cr, name)
        if isinstance(theirs, type) or isinstance(ours, type):
            continue
        if callable(theirs) and callable(ours) and _torch_params(theirs) is not None:
            names.append(name)
    return names


def _torch_params(theirs):
    """PyTorch's parameter names, or None where PyTorch does not spell them out."""
    try:  # a Python function: its own signature, less ``*args``/``**kwargs`` (never keywords)
        return [p.name for p in inspect.signature(theirs).parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):  # a builtin: the docstring's first line
        first = (theirs.__doc__ or "").strip().split("\n")[0]
        return _doc_params(first) if re.match(r"[\w.]+\(", first) else None


def _missing(name):
    """PyTorch's parameter names that ``cr.<name>`` does not accept as keywords."""
    ours = inspect.signature(getattr(cr, name))
    if any(p.kind is p.VAR_KEYWORD for p in ours.parameters.values()):
        return set()  # takes any keyword (and checks them itself)
    want = _torch_params(getattr(torch, name))
    keywords = {p.name for p in ours.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {p for p in want if re.fullmatch(r"[A-Za-z_]\w*", p)} - keywords - EVERYWHERE


def _keywords_of(name):
    missing = _missing(name) - EXCEPTIONS.get(name, set())
    assert not missing, (name, sorted(missing))


def test_pytorch_parameter_names_are_keywords():
    # one item for the ~430 names (tests/_case_loop.py); a failure lists each name and its misses
    each_case(_keywords_of, [{"name": name} for name in _shared()])


def test_the_lists_name_shared_functions():
    shared = set(_shared())
    assert set(EXCEPTIONS) <= shared
    for name, params in EXCEPTIONS.items():
        assert params <= _missing(name), (name, "accepted now: drop it from EXCEPTIONS")


def _eye():
    return torch.eye(2, dtype=torch.float64)


DOC_ONLY = {
    "broadcast_to": lambda: torch.broadcast_to(torch.ones(2), shape=(2, 2)),
    "cholesky_inverse": lambda: torch.cholesky_inverse(L=_eye()),
    "cholesky_solve": lambda: torch.cholesky_solve(B=_eye(), L=_eye()),
    "lu_solve": lambda: torch.lu_solve(b=_eye(), LU_data=_eye(),
                                       LU_pivots=torch.tensor([1, 2], dtype=torch.int32)),
    "matrix_exp": lambda: torch.matrix_exp(A=_eye()),
    "triangular_solve": lambda: torch.triangular_solve(b=_eye(), A=_eye()),
    "unsafe_split": lambda: torch.unsafe_split(torch.ones(4), split_size_or_sections=2),
    "from_numpy": lambda: torch.from_numpy(ndarray=np.ones(2)),
    "set_num_threads": lambda: torch.set_num_threads(int=1),
}


@pytest.mark.parametrize("name", list(DOC_ONLY))
def test_pytorch_itself_refuses_the_docstring_keywords_excepted_above(name):
    assert name in EXCEPTIONS
    with pytest.raises(TypeError):
        DOC_ONLY[name]()


def _data(rng):
    x = rng.standard_normal((3, 4))
    y = rng.standard_normal((3, 4))
    return x, y


CALLS = {
    "add": lambda m, x, y: m.add(input=x, other=y, alpha=2),
    "sub": lambda m, x, y: m.sub(x, other=y, alpha=3),
    "mul": lambda m, x, y: m.mul(input=x, other=y),
    "pow": lambda m, x, y: m.pow(x.abs() + 1, exponent=2.5),
    "where": lambda m, x, y: m.where(condition=x > 0, input=x, other=y),
    "atan2": lambda m, x, y: m.atan2(input=x, other=y),
    "hypot": lambda m, x, y: m.hypot(input=x, other=y),
    "lerp": lambda m, x, y: m.lerp(input=x, end=y, weight=0.3),
    "clip": lambda m, x, y: m.clip(input=x, min=-0.5, max=0.5),
    "maximum": lambda m, x, y: m.maximum(input=x, other=y),
    "exp": lambda m, x, y: m.exp(input=x),
    "nan_to_num": lambda m, x, y: m.nan_to_num(
        input=m.tensor(np.array([np.nan, np.inf, -np.inf, 1.5])), nan=1.0, posinf=2.0, neginf=-2.0),
    "round": lambda m, x, y: m.round(input=x * 10, decimals=1),
    "sum": lambda m, x, y: m.sum(input=x, dim=1, keepdim=True),
    "std": lambda m, x, y: m.std(input=x, dim=0, correction=0, keepdim=True),
    "amax": lambda m, x, y: m.amax(input=x, dim=1),
    "softmax": lambda m, x, y: m.softmax(input=x, dim=0),
    "matmul": lambda m, x, y: m.matmul(input=x, other=m.transpose(y, 0, 1)),
    "mm": lambda m, x, y: m.mm(x, mat2=m.transpose(y, 0, 1)),
    "bmm": lambda m, x, y: m.bmm(input=x.reshape(2, 2, 3), mat2=y.reshape(2, 3, 2)),
    "mv": lambda m, x, y: m.mv(input=x, vec=y[0]),
    "dot": lambda m, x, y: m.dot(input=x[0], tensor=y[1]),
    "outer": lambda m, x, y: m.outer(input=x[0], vec2=y[:, 1]),
    "det": lambda m, x, y: m.det(input=x[:, :3]),
    "inverse": lambda m, x, y: m.inverse(input=x[:, :3]),
    "slogdet": lambda m, x, y: m.slogdet(input=x[:, 1:]),
    "swapdims": lambda m, x, y: m.swapdims(x, dim0=0, dim1=1),
    "transpose": lambda m, x, y: m.transpose(input=x, dim0=1, dim1=0),
    "split": lambda m, x, y: m.split(tensor=x, split_size_or_sections=[1, 3], dim=1),
    "gather": lambda m, x, y: m.gather(input=x, dim=1, index=m.tensor([[0, 3], [1, 1], [2, 0]])),
    "topk": lambda m, x, y: m.topk(input=x, k=2, dim=1),
    "flatten": lambda m, x, y: m.flatten(input=x, start_dim=0),
    "zeros_like": lambda m, x, y: m.zeros_like(input=x, dtype=m.float32),
    "reshape": lambda m, x, y: m.reshape(input=x, shape=(2, -1)),
    "permute": lambda m, x, y: m.permute(x, dims=(1, 0)),
    "tile": lambda m, x, y: m.tile(input=x, dims=(2, 1)),
    "nansum": lambda m, x, y: m.nansum(input=x, dim=0, dtype=m.float32),
    "cdist": lambda m, x, y: m.cdist(x1=x, x2=y, p=2.0,
                                     compute_mode="donot_use_mm_for_euclid_dist"),
    "tril_indices": lambda m, x, y: m.tril_indices(3, 4, offset=1, dtype=m.int32),
    "triu_indices": lambda m, x, y: m.triu_indices(row=3, col=3, dtype=m.int64),
    "randperm": lambda m, x, y: m.randperm(4, dtype=m.float64, requires_grad=True).sort().values,
}


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _keyword_calls_match_pytorch_case(rng, name):
    x, y = _data(rng)
    ours_in = [cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)]
    theirs_in = [torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)]
    ours = _outputs(CALLS[name](cr, *ours_in))
    theirs = _outputs(CALLS[name](torch, *theirs_in))
    assert len(ours) == len(theirs)
    loss, tloss = 0, 0
    for o, t in zip(ours, theirs):
        assert tuple(o.shape) == tuple(t.shape) and str(o.dtype) == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
        if t.requires_grad:
            w = np.cos(np.arange(o.numel())).reshape(o.shape)
            loss, tloss = loss + (o * cr.tensor(w)).sum(), tloss + (t * torch.tensor(w)).sum()
    if isinstance(tloss, int):
        return  # nothing differentiable (zeros_like, round, nan_to_num of a constant)
    loss.backward()
    tloss.backward()
    for a, b in zip(ours_in, theirs_in):
        got = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        want = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_keyword_calls_match_pytorch():
    each_case(with_rng(_keyword_calls_match_pytorch_case), grid(
        ("name", list(CALLS)),
    ))


def test_mm_and_bmm_take_the_ranks_pytorch_takes():
    a, b3 = cr.ones(2, 3), cr.ones(2, 3, 4)
    with pytest.raises(ValueError, match=r"mm: mat2 must be 2-D, got shape \(2, 3, 4\)"):
        cr.mm(a, b3)
    with pytest.raises(ValueError, match=r"bmm: input must be 3-D, got shape \(2, 3\)"):
        cr.bmm(a, b3)
    with pytest.raises(ValueError, match=r"bmm: batch sizes differ: input has shape \(2, 3, 4\)"):
        cr.bmm(b3, cr.ones(3, 4, 2))
    with pytest.raises(TypeError, match="mm: input must be a Tensor, got list"):
        cr.mm([[1.0]], a)


def test_the_new_keywords_refuse_what_pytorch_refuses():
    x = cr.ones(2, 3)
    with pytest.raises(TypeError, match=r"permute: give the order once"):
        cr.permute(x, 1, 0, dims=(1, 0))
    with pytest.raises(TypeError, match=r"reshape: give the shape once"):
        cr.reshape(x, 3, 2, shape=(3, 2))
    with pytest.raises(TypeError, match=r"tile: give the repetitions once"):
        cr.tile(x, 2, dims=(2,))
    with pytest.raises(ValueError, match="cdist: compute_mode must be one of"):
        cr.cdist(x, x, compute_mode="fast")
    with pytest.raises(TypeError, match="tril_indices: dtype must be an integer dtype, got float"):
        cr.tril_indices(3, 3, dtype=cr.float64)
    with pytest.raises(TypeError, match="randint: only floating-point and complex tensors"):
        cr.randint(3, (2,), requires_grad=True)


def test_gather_with_sparse_grad_gives_pytorchs_dense_gradient(rng):
    x = rng.standard_normal((3, 4))
    index = np.array([[0, 3], [1, 1], [2, 0]])
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cr.gather(ours, 1, cr.tensor(index), sparse_grad=True).sum().backward()
    torch.gather(theirs, 1, torch.tensor(index), sparse_grad=True).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.to_dense().numpy())


def test_save_and_load_take_pytorchs_f(tmp_path):
    path = tmp_path / "state.safetensors"
    cr.save({"w": cr.arange(3.0)}, f=path)
    assert cr.load(f=path, map_location="cpu")["w"].tolist() == [0.0, 1.0, 2.0]
