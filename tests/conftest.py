"""Shared fixtures: ``xp`` (NumPy, and CuPy when a GPU is present) and a seeded ``rng``."""

import numpy as np
import pytest

from chainrule.backend import cuda_available

_MODULES = ["numpy"] + (["cupy"] if cuda_available() else [])


@pytest.fixture(params=_MODULES)
def xp(request):
    if request.param == "cupy":
        import cupy

        return cupy
    return np


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(config, items):
    try:
        import torch  # noqa: F401
    except ImportError:
        skip = pytest.mark.skip(reason="PyTorch oracle not installed (pip install torch==2.13.0)")
        for item in items:
            if "torch" in item.keywords:
                item.add_marker(skip)
