"""Weight initialization: fill a Parameter in place, drawing from an explicit random generator.

Every random initializer takes ``rng`` (a ``numpy.random.Generator``) as a required keyword, so a
seeded model is reproducible and nothing touches a global seed. Formulas and names follow
``torch.nn.init``. Values are drawn on the host in float64, then cast to the tensor's dtype
and moved to its device.

>>> import numpy as np
>>> from chainrule import nn
>>> w = nn.Parameter(np.empty((256, 784), dtype="float32"))
>>> _ = nn.init.kaiming_uniform_(w, nonlinearity="relu", rng=np.random.default_rng(0))
>>> bool(abs(w.data).max() <= (6 / 784) ** 0.5)
True
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend.random import resolve_rng
from ._init_deferral import _skipped, deferred

__all__ = [
    "calculate_gain", "constant_", "deferred", "dirac_", "eye_", "kaiming_normal_",
    "kaiming_uniform_", "lecun_normal_", "lecun_uniform_", "normal_", "ones_", "orthogonal_",
    "small_random_", "sparse_", "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_",
    "zeros_", "constant", "dirac", "eye", "kaiming_normal", "kaiming_uniform", "normal",
    "orthogonal", "sparse", "uniform", "xavier_normal", "xavier_uniform",
]

_LINEAR_FNS = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid",
)


def _target(who: str, t, complex_ok: bool = False, any_dtype: bool = False) -> Tensor:
    """``t``, checked; ``complex_ok``: PyTorch's initializer also fills complex tensors;
    ``any_dtype``: integer and bool ones too (its fills with fixed values)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}: expected a Parameter or Tensor, got {type(t).__name__}")
    if not any_dtype and t.dtype.kind != "f" and not (complex_ok and t.dtype.kind == "c"):
        raise TypeError(f"{who}: tensor must be floating-point{' or complex' * complex_ok}, got "
                        f"dtype {t.dtype}")
    return t


def _draw(t: Tensor, sample):
    """``sample(shape)`` of ``t``'s shape; for a complex ``t``, real and imaginary parts drawn
    apart (PyTorch's rule: the draw fills ``view_as_real(t)``)."""
    if t.dtype.kind != "c":
        return sample(t.shape)
    pairs = sample(t.shape + (2,))
    return pairs[..., 0] + 1j * pairs[..., 1]


def _rng(who: str, rng, generator=None):
    """The generator to draw from: ``rng=`` (chainrule's name) or ``generator=`` (PyTorch's)."""
    if generator is not None:
        if rng is not None:
            raise TypeError(f"{who}: give rng or generator, not both")
        rng = generator
    return resolve_rng(rng, who)


def _number(who: str, name: str, value, *, nonnegative: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    if nonnegative and not value >= 0:  # NaN too, as PyTorch's normal_ refuses it
        raise ValueError(f"{who}: {name} must be non-negative, got {value}")
    return float(value)


def _fill(t: Tensor, values) -> Tensor:
    xp = get_array_module(t._data)
    with no_grad():  # a counted in-place change (a Parameter's array is read-only)
        return t.copy_(xp.asarray(values, dtype=t.dtype))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None, *, rng=None) -> Tensor:
    """Fill ``tensor`` with samples of U(a, b); returns ``tensor``."""
    who = "uniform_"
    a, b = _number(who, "a", a), _number(who, "b", b)
    if a > b:
        raise ValueError(f"{who}: a must not exceed b, got a={a}, b={b}")
    if _skipped(_target(who, tensor, True)):
        return tensor
    gen = _rng(who, rng, generator)
    return _fill(tensor, _draw(tensor, lambda shape: gen.uniform(a, b, size=shape)))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None, *,
            rng=None) -> Tensor:
    """Fill ``tensor`` with samples of N(mean, std^2) (complex: parts N(mean, std^2 / 2));
    returns ``tensor``."""
    who = "normal_"
    mean, std = _number(who, "mean", mean), _number(who, "std", std, nonnegative=True)
    if _skipped(_target(who, tensor, True)):
        return tensor
    gen, std = _rng(who, rng, generator), std / math.sqrt(2) if tensor.dtype.kind == "c" else std
    return _fill(tensor, _draw(tensor, lambda shape: gen.normal(mean, std, size=shape)))


def small_random_(tensor: Tensor, scale: float = 0.01, *, rng=None) -> Tensor:
    """The lecture's "small random numbers": N(0, scale^2), i.e. ``scale * standard normal``."""
    return normal_(tensor, 0.0, _number("small_random_", "scale", scale, nonnegative=True), rng=rng)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val``; returns ``tensor``."""
    val = _number("constant_", "val", val)
    if not _skipped(_target("constant_", tensor, any_dtype=True)):
        with no_grad():
            tensor.fill_(val)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 0; returns ``tensor``."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 1; returns ``tensor``."""
    return constant_(tensor, 1.0)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (as ``torch.nn.init.calculate_gain``).

    linear, conv and sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with slope ``param`` (default
    0.01): sqrt(2 / (1 + slope^2)); selu: 3/4.

    >>> round(calculate_gain("relu"), 4)
    1.4142
    """
    if nonlinearity in _LINEAR_FNS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else _number("calculate_gain", "param", param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{list(_LINEAR_FNS) + ['tanh', 'relu', 'leaky_relu', 'selu']}"
    )


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out as (out, in, *kernel), as PyTorch computes them.

    Raises:
        ValueError: for tensors with fewer than 2 dimensions.
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions, "
            f"got shape {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(who: str, t, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{who}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None, *, rng=None) -> Tensor:
    """Glorot/Xavier uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)); returns
    ``tensor``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_target("xavier_uniform_", tensor, True))
    if tensor.numel() == 0:
        return tensor
    bound = _number("xavier_uniform_", "gain", gain) * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng=_rng("uniform_", rng, generator))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None, *, rng=None) -> Tensor:
    """Glorot/Xavier normal: N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out)); returns
    ``tensor``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_target("xavier_normal_", tensor, True))
    if tensor.numel() == 0:
        return tensor
    std = _number("xavier_normal_", "gain", gain) * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, abs(std), rng=_rng("xavier_normal_", rng, generator))


def _empty_kaiming(tensor) -> bool:
    """PyTorch's kaiming initializers leave a zero-element tensor as it is before they look at its
    shape (a (0,) tensor has no fans), dtype or ``mode``. (PyTorch also warns that this is a
    no-op; a zero-size layer would warn at every construction, so not here.)"""
    return isinstance(tensor, Tensor) and 0 in tuple(tensor.shape)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None, *, rng=None) -> Tensor:
    """He/Kaiming uniform: U(-b, b) with b = gain * sqrt(3 / fan); returns ``tensor``.

    Args:
        tensor: weight of layout (out, in, *kernel).
        a: negative slope of the leaky ReLU that follows (used when ``nonlinearity="leaky_relu"``).
        mode: "fan_in" preserves the forward variance, "fan_out" the backward one.
        nonlinearity: name passed to ``calculate_gain``.
        rng: the random generator.
    """
    if _empty_kaiming(tensor):
        return tensor
    fan = _fan("kaiming_uniform_", _target("kaiming_uniform_", tensor, True), mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, rng=_rng("uniform_", rng, generator))


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None, *, rng=None) -> Tensor:
    """He/Kaiming normal: N(0, s^2) with s = gain / sqrt(fan); arguments as ``kaiming_uniform_``."""
    if _empty_kaiming(tensor):
        return tensor
    fan = _fan("kaiming_normal_", _target("kaiming_normal_", tensor, True), mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, rng=_rng("kaiming_normal_", rng, generator))


def lecun_uniform_(tensor: Tensor, *, rng=None) -> Tensor:
    """LeCun uniform: U(-b, b) with b = sqrt(3 / fan_in) (unit variance for a linear unit)."""
    return kaiming_uniform_(tensor, mode="fan_in", nonlinearity="linear", rng=rng)


def lecun_normal_(tensor: Tensor, *, rng=None) -> Tensor:
    """LeCun normal: N(0, 1 / fan_in), the initialization SELU networks assume (not truncated)."""
    return kaiming_normal_(tensor, mode="fan_in", nonlinearity="linear", rng=rng)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None, *, rng=None) -> Tensor:
    """Fill ``tensor`` with a (semi-)orthogonal matrix times ``gain`` (Saxe et al.), as PyTorch
    does.

    The tensor is viewed as (shape[0], rest); its rows (or columns, whichever are fewer) come out
    orthonormal. The QR factorization of a Gaussian matrix, sign-corrected, gives a uniform draw.
    """
    who = "orthogonal_"
    _target(who, tensor)
    if tensor.ndim < 2:
        raise ValueError(f"{who}: needs a tensor with at least 2 dimensions, got shape "
                         f"{tensor.shape}")
    gain = _number(who, "gain", gain)
    if tensor.numel() == 0 or _skipped(tensor):
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(who, rng, generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    host = get_array_module(flat)
    q, r = host.linalg.qr(flat)
    q = q * host.sign(host.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None, *, rng=None) -> Tensor:
    """Fill ``tensor`` with samples of N(mean, std^2) conditioned on ``a <= x <= b``; returns
    ``tensor``.

    ``a`` and ``b`` bound the values themselves (not in units of ``std``), as in PyTorch. The
    draw is exact: normal samples outside [a, b] are drawn again (``_truncated_standard``).
    """
    who = "trunc_normal_"
    mean, std = _number(who, "mean", mean), _number(who, "std", std, nonnegative=True)
    a, b = _number(who, "a", a), _number(who, "b", b)
    if not a <= b:
        raise ValueError(f"{who}: a must not exceed b, got a={a}, b={b}")
    if not (math.isfinite(mean) and math.isfinite(std)):  # its draw would never end
        raise ValueError(f"{who}: mean and std must be finite, got mean={mean}, std={std}")
    if _skipped(_target(who, tensor)):
        return tensor
    if std == 0:
        return _fill(tensor, get_array_module().full(tensor.shape, min(max(mean, a), b)))
    gen = _rng(who, rng, generator)
    lo, hi = (a - mean) / std, (b - mean) / std
    z = _truncated_standard(gen, lo, hi, tensor.numel())
    # measured from the point of [a, b] nearest the mean: mean + std z cancels to nothing when
    # [a, b] lies far from a huge mean (mean 1e300 in [-2, 2] gave 0, not 2)
    base, near = (a, lo) if mean < a else (b, hi) if mean > b else (mean, 0.0)
    return _fill(tensor, (base + std * (z - near)).clip(a, b).reshape(tensor.shape))


def _truncated_standard(gen, lo: float, hi: float, n: int):
    """``n`` draws of a standard normal conditioned on [lo, hi], by rejection.

    The proposal keeps acceptance high: the normal itself when [lo, hi] holds at least 1% of its
    mass; for a narrow interval a uniform on it (accepted with the density's ratio to its peak
    there); for a far tail Robert's (1995) shifted exponential.
    """
    xp = get_array_module()  # host arrays, as every initializer draws
    mass = (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2))) / 2
    peak = min(max(0.0, lo), hi)  # the point of [lo, hi] where the density is highest
    sign = -1.0 if peak < 0 else 1.0  # a left tail is drawn as a right one, mirrored
    near, far = sorted((sign * lo, sign * hi), key=abs)
    rate = (near + math.hypot(near, 2.0)) / 2  # hypot: no overflow to inf (no acceptance) far out
    out = xp.zeros(0)
    while out.size < n:
        k = 2 * (n - out.size) + 16
        if mass >= 0.01:
            x = gen.standard_normal(k)
        elif (hi - lo) * max(abs(peak), 1.0) <= 5:
            x = gen.uniform(lo, hi, k)
            x = x[gen.uniform(size=k) <= xp.exp((peak - x) * (peak + x) / 2)]  # no inf - inf
        else:
            y = near + gen.exponential(1 / rate, k)
            x = sign * y[gen.uniform(size=k) <= xp.exp(-((y - rate) ** 2) / 2)]
        out = xp.concatenate([out, x[(x >= lo) & (x <= hi)]])
    return out[:n]


def eye_(tensor: Tensor) -> Tensor:
    """Fill the 2-D ``tensor`` with the identity matrix (ones on the diagonal of a non-square
    one)."""
    who = "eye_"
    if _target(who, tensor, any_dtype=True).ndim != 2:
        raise ValueError(f"{who}: only 2-D tensors are supported, got shape {tensor.shape}")
    if _skipped(tensor):
        return tensor
    return _fill(tensor, get_array_module().eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta: the convolution keeps its
    input channels (as many as fit, in each of ``groups`` groups); returns ``tensor``."""
    who = "dirac_"
    if _target(who, tensor, any_dtype=True).ndim not in (3, 4, 5):
        raise ValueError(f"{who}: only 3-, 4- or 5-D tensors are supported, got shape "
                         f"{tensor.shape}")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{who}: groups must be an int >= 1, got {groups!r}")
    if tensor.shape[0] % groups != 0:
        raise ValueError(f"{who}: dim 0 ({tensor.shape[0]}) must be divisible by groups={groups}")
    if _skipped(tensor):
        return tensor
    values = get_array_module().zeros(tensor.shape)
    per_group = tensor.shape[0] // groups
    centre = tuple(size // 2 for size in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            values[(g * per_group + d, d, *centre)] = 1
    return _fill(tensor, values)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None, *,
            rng=None) -> Tensor:
    """Fill the 2-D ``tensor`` with N(0, std^2) samples, then zero ``ceil(sparsity * rows)``
    entries of each column at random rows (Martens, 2010); returns ``tensor``."""
    who = "sparse_"
    if _target(who, tensor).ndim != 2:
        raise ValueError(f"{who}: only 2-D tensors are supported, got shape {tensor.shape}")
    sparsity = _number(who, "sparsity", sparsity, nonnegative=True)
    if sparsity > 1:
        raise ValueError(f"{who}: sparsity must be in [0, 1], got {sparsity}")
    std = _number(who, "std", std, nonnegative=True)
    if _skipped(tensor):
        return tensor
    gen = _rng(who, rng, generator)
    rows, cols = tensor.shape
    values = gen.normal(0.0, std, size=(rows, cols))
    zeros = math.ceil(sparsity * rows)
    for col in range(cols):
        values[gen.permutation(rows)[:zeros], col] = 0
    return _fill(tensor, values)


def _deprecated(new):  # PyTorch's old names (normal for normal_...), with its FutureWarning
    def fn(*args, **kwargs):
        warnings.warn(f"`nn.init.{fn.__name__}` is now deprecated in favor of "
                      f"`nn.init.{new.__name__}`.", FutureWarning, stacklevel=2)
        return new(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = new.__name__[:-1]
    fn.__doc__ = f"``{new.__name__}`` under PyTorch's deprecated name (warns)."
    return fn


(uniform, normal, constant, xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal,
 orthogonal, sparse, eye, dirac) = map(_deprecated, (uniform_, normal_, constant_, xavier_uniform_,
    xavier_normal_, kaiming_uniform_, kaiming_normal_, orthogonal_, sparse_, eye_, dirac_))
