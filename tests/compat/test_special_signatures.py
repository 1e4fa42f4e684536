"""The special functions and linalg names added for PyTorch 2.13 take PyTorch's parameters, in
its order and kinds (read from its docstrings)."""

import pytest

import chainrule as cr

from .._case_loop import each_case, grid
from .torch_signature import check_signature

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

SPECIAL = ["gammainc", "gammaincc", "zeta", "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0",
           "bessel_y1", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
           "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "spherical_bessel_j0", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
           "chebyshev_polynomial_v", "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
           "laguerre_polynomial_l", "legendre_polynomial_p"]


def _special_signatures_case(name):
    check_signature(name, getattr(cr.special, name), getattr(torch.special, name))


def test_special_signatures():
    each_case(_special_signatures_case, grid(("name", SPECIAL)))


def test_linalg_matmul_signature():
    check_signature("linalg.matmul", cr.linalg.matmul, torch.linalg.matmul)
    assert issubclass(cr.linalg.LinAlgError, RuntimeError)
