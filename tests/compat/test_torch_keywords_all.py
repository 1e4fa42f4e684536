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

from .torch_signature import _doc_params

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

# PyTorch parameters chainrule leaves out everywhere, on purpose (docs/pytorch.md): there is no
# ``out=`` (results are new tensors), one dense strided layout, no pinned memory and no memory
# formats; ``self`` is the method form's receiver, never a keyword.
EVERYWHERE = {"out", "layout", "pin_memory", "memory_format", "self"}

# Deliberate per-name exceptions, each with its reason.
EXCEPTIONS: dict[str, set[str]] = {
}

# Not renamed yet (each still fails; the test below checks that this list does not go stale).
PENDING: dict[str, set[str]] = {
    "allclose": {"input", "other"},
    "amax": {"input"},
    "amin": {"input"},
    "aminmax": {"input"},
    "argmax": {"input"},
    "argmin": {"input"},
    "argsort": {"input"},
    "argwhere": {"input"},
    "bincount": {"input"},
    "bmm": {"input", "mat2"},
    "broadcast_to": {"shape"},
    "cdist": {"compute_mode"},
    "cholesky_inverse": {"L"},
    "cholesky_solve": {"B", "L"},
    "chunk": {"input"},
    "clamp": {"input"},
    "clone": {"input"},
    "count_nonzero": {"input"},
    "cumsum": {"input"},
    "det": {"input"},
    "diag": {"input"},
    "diff": {"input"},
    "dot": {"input", "tensor"},
    "empty_like": {"input"},
    "equal": {"input", "other"},
    "flatten": {"input"},
    "flip": {"input"},
    "from_numpy": {"ndarray"},
    "full_like": {"input"},
    "gather": {"input", "sparse_grad"},
    "index_add": {"input"},
    "index_select": {"input"},
    "inner": {"input", "other"},
    "inverse": {"input"},
    "isclose": {"input", "other"},
    "load": {"f", "mmap", "pickle_module"},
    "logsumexp": {"input"},
    "lu_solve": {"b"},
    "masked_select": {"input"},
    "matmul": {"input", "other"},
    "matrix_exp": {"A"},
    "matrix_power": {"input"},
    "max": {"input"},
    "mean": {"input"},
    "median": {"input"},
    "min": {"input"},
    "mm": {"input", "mat2"},
    "movedim": {"input"},
    "multinomial": {"input"},
    "mv": {"input", "vec"},
    "nansum": {"dtype", "input"},
    "narrow": {"input"},
    "nonzero": {"input"},
    "norm": {"input"},
    "numel": {"input"},
    "ones_like": {"input"},
    "outer": {"input", "vec2"},
    "permute": {"dims", "input"},
    "prod": {"input"},
    "rand_like": {"input"},
    "randint": {"requires_grad"},
    "randint_like": {"requires_grad"},
    "randn_like": {"input"},
    "randperm": {"requires_grad"},
    "ravel": {"input"},
    "repeat_interleave": {"input"},
    "reshape": {"input", "shape"},
    "roll": {"input"},
    "save": {"_disable_byteorder_record", "_use_new_zipfile_serialization", "f", "pickle_module",
             "pickle_protocol"},
    "scatter": {"input"},
    "scatter_add": {"input"},
    "set_num_threads": {"int"},
    "sigmoid": {"input"},
    "slogdet": {"input"},
    "softmax": {"input"},
    "sort": {"input"},
    "split": {"tensor"},
    "squeeze": {"input"},
    "std": {"input"},
    "std_mean": {"input"},
    "sum": {"input"},
    "swapaxes": {"input"},
    "swapdims": {"dim0", "dim1", "input"},
    "take": {"input"},
    "take_along_dim": {"input"},
    "tanh": {"input"},
    "tile": {"dims", "input"},
    "topk": {"input"},
    "trace": {"input"},
    "transpose": {"input"},
    "triangular_solve": {"b"},
    "tril": {"input"},
    "tril_indices": {"device", "dtype"},
    "triu": {"input"},
    "triu_indices": {"device", "dtype"},
    "unbind": {"input"},
    "unflatten": {"input"},
    "unsafe_split": {"split_size_or_sections"},
    "unsqueeze": {"input"},
    "var": {"input"},
    "var_mean": {"input"},
    "zeros_like": {"input"},
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


@pytest.mark.parametrize("name", _shared())
def test_pytorch_parameter_names_are_keywords(name):
    missing = _missing(name) - EXCEPTIONS.get(name, set())
    assert missing == PENDING.get(name, set()), (name, sorted(missing))


def test_the_lists_name_shared_functions():
    shared = set(_shared())
    assert set(EXCEPTIONS) <= shared and set(PENDING) <= shared
    for name, params in EXCEPTIONS.items():
        assert params <= _missing(name), (name, "accepted now: drop it from EXCEPTIONS")


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
}


@pytest.mark.parametrize("name", list(CALLS))
def test_keyword_calls_match_pytorch(rng, name):
    x, y = _data(rng)
    ours_in = [cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)]
    theirs_in = [torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)]
    ours, theirs = CALLS[name](cr, *ours_in), CALLS[name](torch, *theirs_in)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    if theirs.requires_grad:
        g = np.cos(np.arange(ours.numel())).reshape(ours.shape)
        ours.backward(cr.tensor(g))
        theirs.backward(torch.tensor(g))
        for a, b in zip(ours_in, theirs_in):
            got = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
            want = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
