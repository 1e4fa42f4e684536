"""In-place changes of a view that a custom backward made: refused, as PyTorch refuses them.

A recorded in-place change of a view is written through the tensor it shows (its root) and the
view becomes a ``TakeAt`` of the root's new values (``inplace_record``): the nodes between the
view and its root are gone around. For a view op (``y[:2]``, ``y.t()``) that is right, its
backward only moves gradients. A Function whose output merely shares its input's memory but
whose backward is its own (a gradient-reversal layer returning its input, a PyTorch-style custom
Function returning ``x.view_as(x)``, the identity that catches a module's full backward hooks)
would lose that backward: the gradient would silently skip it (a reversal not reversed, a hook
not called). PyTorch raises for these; so does chainrule.
"""

from __future__ import annotations

__all__ = ["refuse_opaque_view"]


def _opaque(node) -> bool:
    """Whether ``node``'s backward is more than a view's: a class that says so
    (``opaque_view = True``), or a Function defined outside chainrule (a user's)."""
    flag = getattr(type(node), "opaque_view", None)
    return not type(node).__module__.startswith("chainrule.") if flag is None else flag


def refuse_opaque_view(who: str, t, node) -> None:
    """RuntimeError (PyTorch's) where ``t``, about to change in place, is a view made by
    ``node`` (or a view of one) whose backward the change would go around."""
    if _opaque(node):
        raise RuntimeError(
            f"{who}: the tensor of shape {t.shape} is a view made by {type(node).__name__} (an "
            "output that shares its input's memory) and is being modified in place; the change "
            "would go around that Function's own backward and give wrong gradients, as "
            "PyTorch refuses (\"a view created inside a custom Function\"); clone() the output "
            "first, or use the out-of-place op (y = y.relu())")
