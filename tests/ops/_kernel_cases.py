"""Parametrize values for a test whose cases differ in whether they call a kernel that reference
mode swaps (``chainrule.kernels.K``, ``config.reference_mode``)."""

import pytest


def once_unless(names, both_modes):
    """``(name, kernel_mode)`` cases for ``parametrize(("name", "kernel_mode"), ...,
    indirect=["kernel_mode"])``: the names in ``both_modes`` with the fast kernels and in reference
    mode, the others once, marked ``kernel_free`` (watched: tests/conftest.py fails a case that
    reads the mode or a kernel of the table after all; then add it to ``both_modes``)."""
    names = list(names)
    unknown = set(both_modes) - set(names)
    if unknown:
        raise ValueError(f"once_unless: both_modes names no case: {sorted(unknown)}")
    cases = []
    for name in names:
        if name in both_modes:
            cases += [pytest.param(name, "fast"), pytest.param(name, "reference")]
        else:
            cases.append(pytest.param(name, "fast", marks=pytest.mark.kernel_free))
    return cases
