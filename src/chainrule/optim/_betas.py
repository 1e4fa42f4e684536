"""Betas given as Tensors to ``Adamax``, ``NAdam`` and ``RAdam``, as PyTorch's take them: each
beta a number or a one-element real Tensor (one of each too), kept in the group as given; the
steps read their values (``float(beta)``). PyTorch's ``foreach=True`` steps fail on Tensor betas
(an error from inside its kernels), so that pair is refused here when the optimizer is made."""

from __future__ import annotations

from ..autograd import Tensor
from .optimizer import check_betas

__all__ = ["check_betas_or_tensors"]


def check_betas_or_tensors(opt: str, h: dict, where: str) -> None:
    """``check_betas`` on ``h["betas"]``, whose items may be one-element real Tensors."""
    betas = h["betas"]
    if isinstance(betas, (tuple, list)) and any(isinstance(b, Tensor) for b in betas):
        if h.get("foreach"):
            raise ValueError(
                f"{opt}: betas as Tensors are not supported with foreach=True "
                f"(PyTorch's foreach step fails on them); pass numbers, or "
                f"foreach=False{where}"
            )
        values = []
        for i, beta in enumerate(betas):
            if isinstance(beta, Tensor):
                if beta.numel() != 1 or beta._data.dtype.kind not in "iuf":
                    raise ValueError(
                        f"{opt}: betas[{i}] as a Tensor must have one real element, "
                        f"got shape {tuple(beta.shape)} and dtype "
                        f"{beta._data.dtype}{where}"
                    )
                beta = float(beta)
            values.append(beta)
        betas = type(betas)(values)
    check_betas(opt, betas, where)
