"""What a fitted posterior was built from: the model's parameters and buffers at ``fit``.

A Laplace posterior belongs to the weights (and, through the features, to every parameter and
buffer, such as a BatchNorm's running statistics) the model had when it was fitted. Predicting
after the model changed would mix the old posterior with the new network: ``LastLayerLaplace``
put the old head on the new features, ``KFACLaplace``'s probit predictive used the new weights
while its Monte Carlo one sampled around the old ones. ``check_unchanged`` refuses that.
"""

from __future__ import annotations

from ..backend import get_array_module


def model_state(model) -> dict:
    """``{name: (tensor, copy of its values)}`` for every parameter and buffer of ``model``."""
    items = list(model.named_parameters()) + list(model.named_buffers())
    return {name: (t, t._data.copy()) for name, t in items}


def check_unchanged(who: str, model, state: dict) -> None:
    """Raise a RuntimeError naming the first parameter or buffer of ``model`` that is not the one
    (same tensor, same values) recorded by ``model_state`` at fit."""
    now = dict(list(model.named_parameters()) + list(model.named_buffers()))
    changed = [name for name in now.keys() | state.keys() if name not in now or name not in state]
    if not changed:
        for name, (t, data) in state.items():
            cur = now[name]
            if (
                cur is not t
                or cur._data.shape != data.shape
                or not bool(get_array_module(data).array_equal(cur._data, data, equal_nan=True))
            ):
                changed.append(name)
                break
    if changed:
        raise RuntimeError(
            f"{who}: the model changed since fit ({sorted(changed)[0]!r} is not "
            "what it was): the posterior belongs to the old weights; call fit "
            "again"
        )
