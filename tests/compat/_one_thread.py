"""The ported-program tests' shared fixture: PyTorch on one thread while a module's tests run."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """PyTorch's thread pool only adds waiting on these tiny tensors (more so on a busy machine);
    imported by a test module (``from ._one_thread import one_torch_thread``) it applies there."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
