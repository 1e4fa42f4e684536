"""``LinAlgError``: a matrix function failed on its input (singular, not positive-definite, no
convergence), PyTorch's ``torch.linalg.LinAlgError``.

It is a RuntimeError, as PyTorch's is, and also NumPy's ``numpy.linalg.LinAlgError`` (a
ValueError), which chainrule raised before: code that catches either keeps working.
"""

from __future__ import annotations

import numpy

__all__ = ["LinAlgError", "lapack"]


class LinAlgError(RuntimeError, numpy.linalg.LinAlgError):
    """A matrix function failed on its input's values (``linalg.inv`` of a singular matrix,
    ``linalg.cholesky`` of one that is not positive-definite, an SVD that did not converge)."""


_WHY = {
    "inv": "the inversion could not be completed because the input matrix is singular",
    "solve": "the solver failed because the input matrix is singular",
    "cholesky": "the factorization could not be completed because the input is not "
                "positive-definite",
}
_NOT_CONVERGED = ("the algorithm failed to converge (the input may contain NaN or infinity, or "
                  "be ill-conditioned)")


def lapack(name: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` (a NumPy or CuPy linalg function), its LinAlgError re-raised as
    chainrule's, with PyTorch's reason for the function ``name`` (``"inv"``, ``"eigh"``...)."""
    try:
        return fn(*args, **kwargs)
    except LinAlgError:
        raise
    except numpy.linalg.LinAlgError as error:
        raise LinAlgError(f"linalg.{name}: {_WHY.get(name, _NOT_CONVERGED)} ({error})") from None
