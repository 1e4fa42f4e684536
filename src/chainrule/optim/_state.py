"""The per-parameter state of the rules: Tensors, as PyTorch's, created as the first step needs it.

``optimizer.state[p]`` holds what PyTorch's holds, with its keys: a Tensor of the parameter's
shape and dtype for each running average (``exp_avg``, ``momentum_buffer``...), and a 0-d host
Tensor for the step count and the other scalars PyTorch keeps as tensors (ASGD's ``eta`` and
``mu``, NAdam's ``mu_product``), in PyTorch's scalar dtype (float32, float64 when the default
dtype is float64). A user may read them (``state["step"].item()``, ``state["ax"].clone()``),
change them in place, or put other Tensors there; the rules work on the arrays the Tensors hold
(``t._data``), in place, so the Tensors stay the state. Shared by each rule (adam.py,
rmsprop.py...) and its fused versions (fused.py), so that a state dict saved after a fused step
loads into a step of the rule and the other way round.
"""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module, numpy
from ..backend.defaults import get_default_dtype

__all__ = ["adam_state", "advance", "as_array", "as_complex", "as_real", "lerp",
           "rmsprop_state", "scalar", "update_in_float32", "zeros"]


def update_in_float32(update, param, grad, group: dict, state: dict,
                      scalars: frozenset = frozenset()) -> None:
    """``update`` (a rule's ``_update``) of a float16 parameter computed in float32: the
    parameter, its gradient and its float16 state copied to float32 and the results rounded back
    once, the state kept in float16 (as PyTorch keeps it), whatever its shape (Adafactor's
    ``row_var``), except the 0-d ``scalars`` (``step``...), which keep PyTorch's scalar dtype
    also for a 0-d parameter. PyTorch's float16 steps round at each op but take their products
    in float32 and order them so that none overflows; a float16 chain of the rule's formulas
    did (Adam's v / (1 - beta2**t), 160 / 0.001: inf, the step lost)."""
    def is_half(key, v):
        return isinstance(v, Tensor) and v.dtype == numpy.float16 and key not in scalars

    wide = {k: Tensor(v._data.astype(numpy.float32)) if is_half(k, v) else v
            for k, v in state.items()}
    wide_param = param.astype(numpy.float32)
    update(wide_param, grad.astype(numpy.float32), group, wide)
    param[...] = wide_param
    for key, value in wide.items():
        old = state.get(key)
        if value is old:  # not float16: changed in place (the step count) or left alone
            continue
        if is_half(key, old) and old.shape == value.shape:
            old._data[...] = value._data
        elif (isinstance(value, Tensor) and key not in scalars
              and value.dtype == numpy.float32):  # created by this first step
            state[key] = Tensor(value._data.astype(numpy.float16))
        else:
            state[key] = value


def lerp(a, b, w: float):
    """``a + w (b - a)``, a moment's update ``(1 - w) a + w b``, as PyTorch's ``lerp`` computes it
    (its rules' ``exp_avg.lerp_(grad, 1 - beta1)``): from ``b`` where w >= 0.5. An inf gradient
    then gives a nan moment (inf - inf) where PyTorch's has one, not an inf (PyTorch's RAdam steps
    its parameter to nan with it, in the steps that do not divide by the second moment)."""
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1 - w)


def scalar(value) -> Tensor:
    """A 0-d host Tensor holding ``value`` in PyTorch's scalar dtype (its ``_get_scalar_dtype``:
    float64 when the default dtype is float64, else float32)."""
    dtype = numpy.float64 if get_default_dtype() == numpy.float64 else numpy.float32
    return Tensor(numpy.array(value, dtype))


def zeros(param) -> Tensor:
    """A Tensor of zeros like the array ``param`` (its shape, dtype and device)."""
    return Tensor(get_array_module(param).zeros_like(param))


def advance(state: dict) -> float:
    """Add one to ``state["step"]`` (a 0-d Tensor) in place; the new count as a Python float, as
    PyTorch's rules read it (``_get_value(step)``). A number put there becomes a Tensor."""
    step = state["step"]
    if not isinstance(step, Tensor):
        step = state["step"] = scalar(step)
    a = step._data
    a[()] = a.item() + 1.0
    return a.item()


def as_array(value):
    """The array of a saved state entry: a Tensor's array, an array itself, another library's
    tensor (a PyTorch state dict's) through ``numpy.asarray``, a number as a 0-d array."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "astype") and hasattr(value, "shape") and not isinstance(value,
                                                                               numpy.generic):
        return value
    return numpy.asarray(value)


def adam_state(state: dict, param, amsgrad: bool) -> tuple:
    """The arrays ``(m, v, v_max)`` of Adam's state for ``param`` (zeros on the first step;
    ``v_max`` is None without AMSGrad, and is created when AMSGrad is switched on later)."""
    if not state:
        state["step"] = scalar(0.0)
        state["exp_avg"] = zeros(param)
        state["exp_avg_sq"] = zeros(param)
    if amsgrad:
        if "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = zeros(param)
        return state["exp_avg"]._data, state["exp_avg_sq"]._data, state["max_exp_avg_sq"]._data
    return state["exp_avg"]._data, state["exp_avg_sq"]._data, None


def rmsprop_state(state: dict, param, centered: bool, momentum: float) -> None:
    """Create RMSprop's Tensors for ``param``: the square average, and the gradient average and
    momentum buffer when ``centered`` and ``momentum`` ask for them (also if switched on later)."""
    if not state:
        state["step"] = scalar(0.0)
        state["square_avg"] = zeros(param)
    if centered and "grad_avg" not in state:
        state["grad_avg"] = zeros(param)
    if momentum > 0 and "momentum_buffer" not in state:
        state["momentum_buffer"] = zeros(param)


def as_real(a):
    """The real view of a complex array, as ``torch.view_as_real``: shape ``a.shape + (2,)``
    (real and imaginary parts), sharing ``a``'s memory, so that writes into it change ``a``."""
    return a[..., None].view(a.real.dtype)


def as_complex(r):
    """The complex array whose real view ``r`` is (shape ``r.shape[:-1]``), sharing its memory."""
    if r.strides[-1] != r.itemsize:
        r = get_array_module(r).ascontiguousarray(r)
    return r.view(get_array_module(r).result_type(r.dtype, 1j))[..., 0]


def copy_entry(value):
    """A copy of Tensors, arrays, lists and tuples (so the saved state does not change under later
    steps); another library's tensor (a PyTorch state dict's Tensor lr or betas) as a Tensor."""
    if isinstance(value, Tensor):
        return Tensor(value._data.copy())
    if hasattr(value, "copy") and hasattr(value, "dtype"):
        return value.copy()
    if isinstance(value, list) or type(value) is tuple:
        return type(value)(copy_entry(v) for v in value)
    if hasattr(value, "detach") and hasattr(value, "dtype") and hasattr(value, "numpy"):
        return Tensor(numpy.array(value.detach().cpu().numpy()))  # PyTorch's Tensor
    return value


def split_names(opt: str, params: list, where: str) -> tuple[list, list | None]:
    """A group's parameters, and their names where they are given as PyTorch's (name, Tensor)
    pairs (``model.named_parameters()``); all named or none."""
    named = [isinstance(p, tuple) for p in params]
    if not any(named):
        return params, None
    for i, p in enumerate(params):
        if not isinstance(p, tuple) or len(p) != 2 or not isinstance(p[0], str):
            raise ValueError(f"{opt}: params[{i}]{where} must be a (name, Tensor) pair as the "
                             f"others are (all parameters named or none), got {p!r}")
    return [p[1] for p in params], [p[0] for p in params]


def tensor_lr(opt: str, lr: Tensor, where: str = "", name: str = "lr") -> float:
    """The value of an lr (or a weight_decay) given as a Tensor (PyTorch's optimizers take a
    one-element float one, as ``torch.compile`` recipes pass it); the group keeps the Tensor, the
    steps read its value."""
    if lr.numel() != 1 or lr._data.dtype.kind != "f":
        raise ValueError(f"{opt}: {name} as a Tensor must have one float element, got shape "
                         f"{tuple(lr.shape)} and dtype {lr._data.dtype}{where}")
    return float(lr)
