"""port17d_programs.py (lucidrains' Lion beside optim.Adafactor, PyTorch's pruning tutorial, and
the warm-starting and checkpoint-loading recipes) runs unchanged on PyTorch and on chainrule
from the same weights: masks, key lists, printouts, losses and final state dicts agree to
float64 rounding; each also learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17d_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _float64  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402


def _blobs(seed, n=24, d=5, classes=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = 1.5 * rng.standard_normal((classes, d))
    return centres[y] + 0.5 * rng.standard_normal((n, d)), y


@pytest.mark.parametrize("which", ["lion", "adafactor"])
def test_lion_and_adafactor_under_lambda_warmup_match_pytorch(which):
    x, y = _blobs(1730)

    def run(lib, model):
        return programs.train_with(lib, model, lib.tensor(x), lib.tensor(y), which)

    ours, theirs = _both(programs.optimizer_mlp, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _digits(seed, n=12, size=32):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    x = 0.2 * rng.standard_normal((n, 1, size, size))
    for i, c in enumerate(y):
        x[i, 0, 3 * c:3 * c + 3, :] += 1.0
    return x, y


def test_pruning_tutorial_on_lenet_then_fine_tuning_matches_pytorch():
    x, y = _digits(1731)
    state = {k: np.asarray(v) for k, v in
             _both(programs.lenet, lambda lib, m: {k: v.detach().numpy().copy()
                                                   for k, v in m.state_dict().items()})[0]
             .items()}

    def run(lib, model):
        new_model = programs.lenet(lib).double()
        new_model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        return programs.pruning_tutorial(lib, model, new_model, lib.tensor(x), lib.tensor(y),
                                         random_amount=0)  # PyTorch's draws are its own

    ours, theirs = _both(programs.lenet, run)
    for key in ("params_before", "params_after", "buffers_after", "hooks", "history",
                "params_removed", "new_buffers", "sparsity"):
        assert ours.pop(key) == theirs.pop(key), key
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_warmstart_and_meta_device_assign_loading_recipes_match_pytorch(tmp_path):
    rng = np.random.default_rng(1732)
    x, y = rng.standard_normal((8, 3, 8, 8)), np.arange(8) % 4
    net_a = programs.recipe_nets(chainrule)[0]()
    state = {k: rng.standard_normal(tuple(v.shape)) * 0.3 for k, v in net_a.state_dict().items()}

    def run(lib, model):
        return _float64(lib, lambda: programs.warmstart_recipe(
            lib, model, {k: lib.tensor(v) for k, v in state.items()}, lib.tensor(x),
            lib.tensor(y), str(tmp_path)))

    ours, theirs = _both(lambda lib: programs.recipe_nets(lib)[1](), run)
    for key in ("missing", "unexpected", "renamed_missing", "meta_before", "meta_after",
                "head_kept"):
        assert ours.pop(key) == theirs.pop(key), key
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave17_part_four_learns_with_chainrules_own_draws(tmp_path):
    chainrule.manual_seed(0)
    f32 = chainrule.float32
    x, y = _blobs(1734, n=48)
    for which in ("lion", "adafactor"):
        losses, _ = programs.train_with(chainrule, programs.optimizer_mlp(chainrule),
                                        chainrule.tensor(x, dtype=f32), chainrule.tensor(y),
                                        which, steps=40)
        assert losses[-1] < 0.5 * losses[0], which
    x, y = _digits(1735, n=20)
    model = programs.lenet(chainrule)
    out = programs.pruning_tutorial(chainrule, model, programs.lenet(chainrule),
                                    chainrule.tensor(x, dtype=f32), chainrule.tensor(y),
                                    steps=45)
    zeros = (out["state"]["conv1.weight_mask"] == 0).mean()
    assert zeros >= 0.5 and out["losses"][-1] < 0.7 * out["losses"][0]
