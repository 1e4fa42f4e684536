"""All parameters as one vector and back, as ``torch.nn.utils.parameters_to_vector`` and
``vector_to_parameters`` (for second-order methods, evolution strategies, weight averaging)."""

from __future__ import annotations

from collections.abc import Iterable

from ...autograd import Tensor, no_grad
from ...ops.join import concat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _tensors(who: str, parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    elif not isinstance(parameters, Iterable):
        raise TypeError(f"{who}: parameters must be an iterable of Tensors (e.g. "
                        f"model.parameters()), got {type(parameters).__name__}")
    out = list(parameters)
    for i, p in enumerate(out):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameters[{i}] must be a Tensor, got {type(p).__name__}")
    if len({p.device for p in out}) > 1:
        raise TypeError(f"{who}: the parameters are on different devices "
                        f"{sorted({str(p.device) for p in out})}")
    return out


def parameters_to_vector(parameters) -> Tensor:
    """The parameters flattened and joined into one 1-D Tensor, in order (differentiable).

    >>> import chainrule as cr
    >>> parameters_to_vector([cr.ones(2, 2), cr.zeros(3)]).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    params = _tensors("parameters_to_vector", parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return concat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in order (not recorded).

    Unlike PyTorch, which ignores what is left of a longer vector, ``vec`` must have exactly as
    many elements as the parameters together.
    """
    who = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{who}: expected vec to be a Tensor, got {type(vec).__name__}")
    params = _tensors(who, parameters)
    if vec.ndim != 1:
        raise ValueError(f"{who}: vec must be 1-D, got shape {tuple(vec.shape)}")
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"{who}: vec has {vec.numel()} elements but the parameters hold {total}")
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[start:start + n].reshape(p.shape))
            start += n
