"""Muon (Jordan et al., 2024): momentum orthogonalized by Newton-Schulz steps, as in PyTorch."""

from __future__ import annotations

import math
import numbers

from ..backend import get_array_module
from ._state import zeros
from .optimizer import Optimizer, check_bool, check_number

__all__ = ["Muon"]

_ADJUST_LR = (None, "original", "match_rms_adamw")


class Muon(Optimizer):
    r"""Muon: steps along the orthogonalized momentum of a matrix parameter (2-D only).

    Step t, as PyTorch computes it (its documentation writes the buffer as ``mu * B + g``; its
    code, and this rule, keep an average)::

        B = mu * B + (1 - mu) * g                  (B starts at 0)
        B~ = (1 - mu) * g + mu * B                 (nesterov; else B~ = B)
        O = NS(B~)                                 (below)
        p = p - lr * weight_decay * p
        p = p - lr * s * O                         (s: ``adjust_lr_fn``, below)

    ``NS`` is ``ns_steps`` steps of the quintic Newton-Schulz iteration with coefficients
    ``(a, b, c)`` on ``X``, the matrix (transposed when it has more rows than columns) divided by
    ``max(||X||_F, eps)``::

        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X

    which drives the singular values of ``X`` towards 1 (near ``U V^T`` of its SVD, not exactly:
    the default coefficients trade exactness for speed). ``s`` is ``sqrt(max(1, rows / cols))``
    (``"original"``, the default) or ``0.2 * sqrt(max(rows, cols))`` (``"match_rms_adamw"``,
    for a step of AdamW's RMS). ``_update`` is this rule, line for line.

    PyTorch runs the Newton-Schulz iteration in bfloat16 whatever the parameter's dtype; here it
    runs in the parameter's dtype, so the steps agree with PyTorch's to bfloat16 rounding (about
    1e-2 relative), and with a float64 iteration to float64 rounding (docs/pytorch.md).

    Args:
        params: Tensors or parameter groups (see ``Optimizer``), each a matrix (2-D): optimize
            biases, embeddings and other parameters with another optimizer such as AdamW.
        lr: learning rate.
        weight_decay: decoupled decay coefficient (scaled by lr).
        momentum: the momentum factor mu.
        nesterov: step along the Nesterov look-ahead of the momentum.
        ns_coefficients: ``(a, b, c)`` of the Newton-Schulz iteration.
        eps: lower bound of the norm the momentum is divided by.
        ns_steps: the number of Newton-Schulz steps, in [0, 100).
        adjust_lr_fn: None (as ``"original"``), ``"original"`` or ``"match_rms_adamw"``.

    One step from zero, without momentum: the gradient's singular values (5.21, 2.75, 2.13)
    become nearly equal, the step's size the same in every direction:

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.zeros(3, 5, requires_grad=True)
    >>> opt = optim.Muon([w], lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False)
    >>> w.grad = cr.tensor([[3.0, 1.0, 0.0, 2.0, 1.0], [0.0, 2.0, 1.0, 0.0, 1.0],
    ...                     [1.0, 0.0, 0.5, 1.0, 4.0]])
    >>> opt.step()
    >>> [round(float(v), 2) for v in np.linalg.svd(w.numpy(), compute_uv=False)]
    [1.13, 1.12, 1.1]
    """

    _complex_ok = False  # PyTorch's refuses complex parameters too

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None):
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)

    def _add_group(self, param_group: dict, where: str) -> None:
        super()._add_group(param_group, where)
        for i, p in enumerate(self.param_groups[-1]["params"]):
            if p.ndim != 2:
                del self.param_groups[-1]
                raise ValueError(
                    f"Muon only supports 2D parameters whereas we found a parameter with size: "
                    f"{tuple(p.shape)} (params[{i}]{where}); optimize it with another optimizer "
                    "such as AdamW"
                )

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        name = "Muon"
        for key in ("lr", "weight_decay", "momentum", "eps"):
            check_number(name, key, h[key], where)
        check_bool(name, "nesterov", h["nesterov"], where)
        coefficients = h["ns_coefficients"]
        if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
            raise ValueError(
                f"{name}: ns_coefficients must be three numbers (a, b, c), got "
                f"{coefficients!r}{where}"
            )
        for i, value in enumerate(coefficients):
            check_number(name, f"ns_coefficients[{i}]", value, where, low=-math.inf)
        steps = h["ns_steps"]
        integer = isinstance(steps, numbers.Integral) and not isinstance(steps, bool)
        if not integer or not 0 <= steps < 100:
            raise ValueError(
                f"{name}: ns_steps must be an integer in [0, 100), got {steps!r}{where}"
            )
        if h["adjust_lr_fn"] not in _ADJUST_LR:
            raise ValueError(
                f"{name}: adjust_lr_fn must be None, 'original' or 'match_rms_adamw', got "
                f"{h['adjust_lr_fn']!r}{where}"
            )

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, weight_decay, mu = (float(group[k]) for k in ("lr", "weight_decay", "momentum"))
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = zeros(param)
        b = state["momentum_buffer"]._data

        b[...] = mu * b + (1 - mu) * grad
        update = (1 - mu) * grad + mu * b if group["nesterov"] else b
        o = newton_schulz(update, group["ns_coefficients"], int(group["ns_steps"]),
                          float(group["eps"]))
        param *= 1 - lr * weight_decay
        param -= adjusted_lr(lr, group["adjust_lr_fn"], param.shape) * o


def newton_schulz(g, coefficients, steps: int, eps: float):
    """``steps`` quintic Newton-Schulz steps towards the orthogonal factor of the matrix ``g``."""
    xp = get_array_module(g)
    a, b, c = (float(k) for k in coefficients)
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g
    x = x / max(float(xp.linalg.norm(x)), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """The learning rate scaled for a ``rows x cols`` matrix (see ``Muon``)."""
    rows, cols = shape
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr * math.sqrt(max(1.0, rows / cols))
