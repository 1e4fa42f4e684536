"""``torch.optim.optimizer.required``: the default that marks a hyperparameter every parameter
group must give (older hand-written optimizers write ``lr=required``), and the filling of a
group's missing hyperparameters from ``defaults`` that refuses a group without one of them."""

from __future__ import annotations

__all__ = ["fill_defaults", "required"]


class _RequiredParameter:
    """The singleton ``required``: a hyperparameter with no default."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def fill_defaults(name: str, group: dict, defaults: dict, where: str) -> None:
    """Give ``group`` each hyperparameter of ``defaults`` it lacks; a ``required`` one it lacks
    is a ``ValueError``, as in PyTorch."""
    for key, value in defaults.items():
        if value is required and key not in group:
            raise ValueError(
                f"{name}: parameter group didn't specify a value of required "
                f"optimization parameter {key}{where}"
            )
        group.setdefault(key, value)
