"""The factories take PyTorch's ``layout=`` and ``pin_memory=`` keywords: ``layout=strided``
(or None) and ``pin_memory=False`` make the same tensor as without them, ``pin_memory=True`` is
PyTorch's RuntimeError on a machine without a GPU, a sparse layout is refused, and a value that
is no layout is a TypeError. Before, every one of these calls was a TypeError (unexpected
keyword), and ``scalar_tensor``/``empty_strided``/``empty_permuted``/``hamming_window`` took
the keywords and ignored them (``pin_memory=True`` and ``layout=sparse_coo`` passed silently)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import _layout

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.kernel_free]


def _calls(lib):
    x = lib.ones(2, 3, dtype=lib.float64)
    return {
        "zeros": (lib.zeros, (2, 3)), "ones": (lib.ones, (2, 3)), "empty": (lib.empty, (2,)),
        "full": (lib.full, ((2, 3), 1.5)), "arange": (lib.arange, (1, 7, 2)),
        "eye": (lib.eye, (3, 2)), "linspace": (lib.linspace, (0.0, 1.0, 5)),
        "logspace": (lib.logspace, (0.0, 2.0, 3)), "zeros_like": (lib.zeros_like, (x,)),
        "ones_like": (lib.ones_like, (x,)), "empty_like": (lib.empty_like, (x,)),
        "full_like": (lib.full_like, (x, 2.5)), "rand": (lib.rand, (2, 3)),
        "randn": (lib.randn, (2,)), "rand_like": (lib.rand_like, (x,)),
        "randn_like": (lib.randn_like, (x,)), "randint": (lib.randint, (0, 5, (3,))),
        "randint_like": (lib.randint_like, (x, 4)), "randperm": (lib.randperm, (4,)),
        "normal": (lib.normal, (0.0, 1.0, (2,))), "scalar_tensor": (lib.scalar_tensor, (2.0,)),
        "empty_strided": (lib.empty_strided, ((2, 3), (3, 1))),
        "empty_permuted": (lib.empty_permuted, ((2, 3), (1, 0))),
        "tril_indices": (lib.tril_indices, (3, 3)), "triu_indices": (lib.triu_indices, (3, 4)),
        "hann_window": (lib.hann_window, (5,)), "hamming_window": (lib.hamming_window, (5,)),
        "blackman_window": (lib.blackman_window, (5,)),
        "bartlett_window": (lib.bartlett_window, (5,)),
        "kaiser_window": (lib.kaiser_window, (5,)),
        "fft.fftfreq": (lib.fft.fftfreq, (5,)), "fft.rfftfreq": (lib.fft.rfftfreq, (6,)),
    }


RANDOM = {"rand", "randn", "rand_like", "randn_like", "randint", "randint_like", "randperm",
          "normal"}
NAMES = sorted(_calls(cr))


def _strided_and_unpinned_make_the_same_tensor_as_pytorch_case(name):
    ours, theirs = _calls(cr)[name], _calls(torch)[name]
    for kw in ({"layout": None}, {"layout": None, "pin_memory": False}):
        kw_ours = {**kw, "layout": cr.strided if kw["layout"] is None else kw["layout"]}
        kw_theirs = {**kw, "layout": torch.strided}
        a, b = ours[0](*ours[1], **kw_ours), theirs[0](*theirs[1], **kw_theirs)
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype).split(".")[1]
        if name not in RANDOM:  # the same values as without the keywords
            np.testing.assert_array_equal(a.numpy(), ours[0](*ours[1]).numpy())
        assert a.layout is cr.strided and not a.is_pinned()


def test_strided_and_unpinned_make_the_same_tensor_as_pytorch():
    each_case(_strided_and_unpinned_make_the_same_tensor_as_pytorch_case, grid(("name", NAMES)))


@pytest.mark.parametrize("name", NAMES)
def test_pin_memory_true_without_a_gpu_is_pytorchs_error(name, monkeypatch):
    ours, theirs = _calls(cr)[name], _calls(torch)[name]
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: PyTorch pins")
    with pytest.raises(RuntimeError, match="pin_memory=True requires a CUDA"):
        theirs[0](*theirs[1], pin_memory=True)
    monkeypatch.setattr(_layout, "cuda_available", lambda: False)
    with pytest.raises(RuntimeError, match=f"{name.split('.')[-1]}: pin_memory=True requires a "
                                           "CUDA"):
        ours[0](*ours[1], pin_memory=True)
    monkeypatch.setattr(_layout, "cuda_available", lambda: True)  # accepted: an ordinary array
    assert not ours[0](*ours[1], pin_memory=True).is_pinned()


def _other_layouts_are_refused_with_the_argument_named_case(name):
    fn, args = _calls(cr)[name]
    with pytest.raises(NotImplementedError, match=r"layout=chainrule.sparse_coo is not "
                                                  "supported.*sparse_coo_tensor"):
        fn(*args, layout=cr.sparse_coo)
    with pytest.raises(TypeError, match=r"layout must be chainrule.strided.*got 'strided'"):
        fn(*args, layout="strided")
    with pytest.raises(TypeError, match="pin_memory must be True or False, got 1"):
        fn(*args, pin_memory=1)


def test_other_layouts_are_refused_with_the_argument_named():
    each_case(_other_layouts_are_refused_with_the_argument_named_case, grid(("name", NAMES)))


def test_range_and_sparse_coo_tensor_take_their_pytorch_keywords(monkeypatch):
    with pytest.warns(UserWarning, match="deprecated"):
        assert cr.range(0, 3, layout=cr.strided).tolist() == [0.0, 1.0, 2.0, 3.0]
    s = cr.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3,), pin_memory=False)
    assert s.to_dense().tolist() == [1.0, 2.0, 0.0]
    monkeypatch.setattr(_layout, "cuda_available", lambda: False)
    with pytest.raises(RuntimeError, match="sparse_coo_tensor: pin_memory=True"):
        cr.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3,), pin_memory=True)


def test_every_shared_factory_of_pytorch_with_these_keywords_takes_them():
    missing = {}
    for name in dir(torch):
        theirs, ours = getattr(torch, name), getattr(cr, name, None)
        if name.startswith("_") or ours is None or isinstance(theirs, type) \
                or not callable(ours) or isinstance(ours, type):
            continue
        first = (getattr(theirs, "__doc__", None) or "").strip().split("\n")[0]
        want = {k for k in ("layout", "pin_memory") if f"{k}=" in first}
        try:
            params = inspect.signature(ours).parameters
        except (TypeError, ValueError):
            continue
        gap = want - set(params)
        if gap and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            missing[name] = gap
    assert missing == {}


def test_tensor_and_pin_memory_without_a_gpu_are_pytorchs_errors(monkeypatch):
    """``tensor(data, pin_memory=True)`` and ``x.pin_memory()`` raise where no GPU is visible,
    as PyTorch's; ``as_tensor`` takes no ``pin_memory`` in either library."""
    from chainrule.backend import device as _device
    from chainrule.ops import tensor_info

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: PyTorch pins")
    for lib in (torch, cr):
        assert lib.tensor([1.0], pin_memory=False).tolist() == [1.0]
        with pytest.raises(TypeError, match="pin_memory"):
            lib.as_tensor([1.0], pin_memory=True)
    with pytest.raises(RuntimeError, match="pin_memory=True requires a CUDA"):
        torch.tensor([1.0], pin_memory=True)
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        torch.tensor([1.0]).pin_memory()
    monkeypatch.setattr(_device, "_cuda_available", lambda: False)
    monkeypatch.setattr(tensor_info, "cuda_available", lambda: False)
    with pytest.raises(RuntimeError, match="tensor: pin_memory=True requires a CUDA"):
        cr.tensor([1.0], pin_memory=True)
    with pytest.raises(TypeError, match="tensor: pin_memory must be True or False, got 1"):
        cr.tensor([1.0], pin_memory=1)
    with pytest.raises(RuntimeError, match="pin_memory: Cannot access accelerator device"):
        cr.tensor([1.0]).pin_memory()
    monkeypatch.setattr(tensor_info, "cuda_available", lambda: True)  # a GPU: the tensor itself
    monkeypatch.setattr(_device, "_cuda_available", lambda: True)
    x = cr.tensor([1.0], pin_memory=True)
    assert x.pin_memory() is x and not x.is_pinned()
