"""Shared fixtures: ``xp`` (NumPy, and CuPy when a GPU is present), a seeded ``rng``, and the
loaders that run the repository's scripts (``load_script``) and guides (``run_guide``)."""

import importlib.util
import re
import sys
from pathlib import Path

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


REPO = Path(__file__).resolve().parents[1]


def _load_script(relative: str):
    """Import a script by path (examples/ and benchmarks/ are not packages)."""
    path = REPO / relative
    name = "_script_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _run_guide(relative: str, min_blocks: int) -> dict:
    """Run the python blocks of a Markdown guide in order, in one namespace; returns it."""
    blocks = re.findall(r"^```python\n(.*?)^```", (REPO / relative).read_text(),
                        flags=re.S | re.M)
    assert len(blocks) >= min_blocks
    namespace: dict = {"__name__": relative.replace("/", "_")}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{relative} block {i}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - report which block failed
            pytest.fail(f"{relative} python block {i} failed: {error!r}\n{block}")
    return namespace


@pytest.fixture
def load_script():
    """``load_script("examples/x.py")``: the script imported as a module."""
    return _load_script


@pytest.fixture
def run_guide():
    """``run_guide("docs/x.md", min_blocks)``: every python block of the guide run in order."""
    return _run_guide


def pytest_collection_modifyitems(config, items):
    try:
        import torch  # noqa: F401
    except ImportError:
        skip = pytest.mark.skip(reason="PyTorch oracle not installed (pip install torch==2.13.0)")
        for item in items:
            if "torch" in item.keywords:
                item.add_marker(skip)
