"""PyTorch's ``inference_mode``: recording off (``no_grad``), and ``is_inference_mode_enabled()``
True inside, kept in a ContextVar and restored on exit like the grad mode.

chainrule has no inference tensors: a tensor made inside the block is an ordinary tensor that
does not require grad, so ``torch.is_inference(t)`` has no counterpart (docs/pytorch.md).
"""

from __future__ import annotations

import contextvars

from .mode import _GradMode, decorate

__all__ = ["inference_mode", "is_inference_mode_enabled"]

_inference: contextvars.ContextVar[bool] = contextvars.ContextVar("inference_mode",
                                                                  default=False)


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (and not inside a nested ``inference_mode(False)``)."""
    return _inference.get()


class inference_mode(_GradMode):  # noqa: N801 - PyTorch's name
    """Record nothing inside this block and report ``is_inference_mode_enabled()``;
    ``inference_mode(False)`` turns both back (recording on), as PyTorch's. A context manager
    and a decorator, with or without the call (``@inference_mode``).

    >>> import chainrule as cr
    >>> with cr.inference_mode():
    ...     cr.is_inference_mode_enabled(), cr.is_grad_enabled()
    (True, False)
    """

    def __new__(cls, mode=True):
        if callable(mode):  # @inference_mode without the call: mode is the function
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        super().__init__(not mode)
        self.inference = bool(mode)
        self._inference_tokens: list[contextvars.Token] = []

    def __enter__(self):
        self._inference_tokens.append(_inference.set(self.inference))
        return super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        _inference.reset(self._inference_tokens.pop())
        return False

    def __call__(self, fn):
        return decorate(fn, lambda: inference_mode(self.inference))
