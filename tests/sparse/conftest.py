"""Every test here runs with the fast kernels and in reference mode (``kernel_mode``): the sparse
ops are compositions of dense ops, and the optimizers' sparse rules sit beside the fused ones."""

import pytest


@pytest.fixture(autouse=True)
def _in_both_kernel_modes(kernel_mode):
    yield
