"""volume_programs.py runs unchanged on PyTorch and on chainrule, from the same weights."""

import numpy as np

import chainrule

from . import volume_programs as programs
from .test_programs import _library


def _run_both(build, train):
    """The program's results under chainrule, and under PyTorch when it is installed, from the
    same random parameters (the running statistics of BatchNorm stay at their defaults)."""
    rng = np.random.default_rng(0)
    model = build(chainrule)
    state = {k: np.array(v.numpy()) for k, v in model.state_dict().items()}
    for name, p in model.named_parameters():
        fan_in = int(np.prod(p.shape[1:])) if p.ndim > 1 else p.shape[0]
        state[name] = (rng.uniform(-1, 1, p.shape) / np.sqrt(fan_in)).astype(np.float32)
    results = {}
    for name in ("chainrule", "torch"):
        if name == "torch":
            try:
                import torch  # noqa: F401
            except ImportError:
                continue
        lib = _library(name)
        model = build(lib)
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        results[name] = train(lib, model)
    return results


def _data(shape, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, shape[0])
    x = rng.normal(0, 1, shape).astype(np.float32)
    per_sample = (-1,) + (1,) * (len(shape) - 1)
    x[..., :2, :2] += 1.5 * (y == 0).reshape(per_sample)  # a learnable signal per class
    x[..., -2:, -2:] += 1.5 * (y == 1).reshape(per_sample)
    return x, y


def _check(results):
    losses, logits = results["chainrule"]
    assert len(losses) == 4 and all(np.isfinite(losses)) and losses[-1] < losses[0]
    if "torch" in results:
        np.testing.assert_allclose(losses, results["torch"][0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(logits, results["torch"][1], rtol=1e-3, atol=1e-4)


def test_3d_cnn_with_batchnorm_and_pools_trains_alike():
    x, y = _data((6, 1, 6, 6, 6), 5)
    _check(_run_both(programs.volume_cnn,
                     lambda lib, m: programs.train_classifier(lib, m, x, y)))


def test_alexnet_block_with_local_response_norm_trains_alike():
    x, y = _data((6, 3, 12, 12), 6)
    _check(_run_both(programs.alexnet_block,
                     lambda lib, m: programs.train_classifier(lib, m, x, y)))
