"""cr.cuda.synchronize / empty_cache / manual_seed(_all) / device_count (backend/device.py):
no-ops without a GPU; with one (a stand-in CuPy here, the real one where a GPU is present) they
wait for the device, free CuPy's cached blocks and seed the generator GPU draws come from."""

from types import SimpleNamespace

import numpy as np
import pytest

import chainrule as cr
import chainrule.backend as backend
from chainrule.backend import device as device_module


def _draws(seed_call):
    cr.manual_seed(123)
    seed_call()
    return cr.randn(4).numpy()


def test_without_a_gpu_they_do_nothing(monkeypatch):
    monkeypatch.setattr(device_module, "_cuda_available", lambda: False)
    assert cr.cuda.device_count() == 0
    assert cr.cuda.synchronize() is None and cr.cuda.synchronize(0) is None
    assert cr.cuda.empty_cache() is None
    # no GPU: seeding it leaves the host draws alone, as PyTorch's cuda.manual_seed does
    np.testing.assert_array_equal(_draws(lambda: cr.cuda.manual_seed(7)), _draws(lambda: None))
    np.testing.assert_array_equal(_draws(lambda: cr.cuda.manual_seed_all(7)),
                                  _draws(lambda: None))


def test_with_a_gpu_they_reach_cupy(monkeypatch):
    calls = []

    class Pool:
        def __init__(self, name):
            self.name = name

        def free_all_blocks(self):
            calls.append(self.name)

    fake = SimpleNamespace(
        ndarray=type("NoGpuArray", (), {}),  # no array here is a GPU one
        cuda=SimpleNamespace(runtime=SimpleNamespace(
            deviceSynchronize=lambda: calls.append("sync"), getDeviceCount=lambda: 1)),
        get_default_memory_pool=lambda: Pool("device pool"),
        get_default_pinned_memory_pool=lambda: Pool("pinned pool"))
    monkeypatch.setattr(backend, "cupy", fake)
    monkeypatch.setattr(device_module, "_cuda_available", lambda: True)
    assert cr.cuda.device_count() == 1
    cr.cuda.synchronize()
    cr.cuda.empty_cache()
    assert calls == ["sync", "device pool", "pinned pool"]
    # GPU draws come from the host's default generator: seeding the GPU seeds it
    first = _draws(lambda: cr.cuda.manual_seed(7))
    np.testing.assert_array_equal(first, _draws(lambda: cr.cuda.manual_seed_all(7)))
    cr.manual_seed(7)
    np.testing.assert_array_equal(first, cr.randn(4).numpy())


def test_seed_must_be_an_int():
    with pytest.raises(ValueError, match=r"cuda.manual_seed: seed must be a whole number, got 1.5"):
        cr.cuda.manual_seed(1.5)


@pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a GPU")
def test_on_a_real_gpu():
    import cupy

    x = cr.randn(1024, 1024, device="cuda")
    y = (x * 2).sum()
    cr.cuda.synchronize()
    assert np.isfinite(float(y.item()))
    del x, y
    cr.cuda.empty_cache()
    assert cupy.get_default_memory_pool().total_bytes() == cupy.get_default_memory_pool(
    ).used_bytes()
    assert cr.cuda.device_count() == 1
