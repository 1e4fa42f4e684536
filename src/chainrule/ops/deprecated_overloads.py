"""PyTorch's deprecated positional overloads of the scaled-sum methods, which older public
programs still call: ``ema.mul_(alpha).add_(1 - alpha, param)`` (the mean-teacher EMA),
``x.sub_(lr, grad)``, ``exp_avg_sq.addcmul_(1 - beta2, grad, grad)``,
``p.addcdiv_(-step, exp_avg, denom)``. A leading number is the scale (``alpha`` or ``value``),
with PyTorch's UserWarning naming the signature to use instead."""

from __future__ import annotations

import functools
import numbers
import warnings

from ..autograd.tensor import Tensor

_ALPHA = ("add", "add_", "sub", "sub_")
_VALUE = ("addcmul", "addcmul_", "addcdiv", "addcdiv_")


def _scale(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _warn(name, old, new):
    warnings.warn(f"This overload of {name} is deprecated:\n\t{name}({old})\nConsider using one "
                  f"of the following signatures instead:\n\t{name}({new})", UserWarning,
                  stacklevel=3)


def _alpha_form(name, method):
    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        if len(args) == 2 and _scale(args[0]) and isinstance(args[1], Tensor) and \
                "alpha" not in kwargs:
            _warn(name, "Number alpha, Tensor other", "Tensor other, *, Number alpha = 1")
            return method(self, args[1], alpha=args[0], **kwargs)
        return method(self, *args, **kwargs)

    return wrapped


def _value_form(name, method):
    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        if len(args) == 3 and _scale(args[0]) and "value" not in kwargs:
            _warn(name, "Number value, Tensor tensor1, Tensor tensor2",
                  "Tensor tensor1, Tensor tensor2, *, Number value = 1")
            return method(self, args[1], args[2], value=args[0], **kwargs)
        return method(self, *args, **kwargs)

    return wrapped


for _name in _ALPHA:
    setattr(Tensor, _name, _alpha_form(_name, getattr(Tensor, _name)))
for _name in _VALUE:
    setattr(Tensor, _name, _value_form(_name, getattr(Tensor, _name)))
