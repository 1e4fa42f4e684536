"""Every test here runs with the fast kernels and in reference mode (``kernel_mode``)."""

import pytest


@pytest.fixture(autouse=True)
def _in_both_kernel_modes(kernel_mode):
    yield
