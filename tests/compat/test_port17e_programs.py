"""port17e_programs.py (module hooks and surgery; a data pipeline of concatenated, subset,
iterable and batch-sampled datasets) runs unchanged on PyTorch and on chainrule from the same
weights: hook records, key lists, batches and trained weights agree to float64 rounding; each
also learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17e_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _float64  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402

# the hooked first layer's input needs no gradient: PyTorch says its hook sees outputs only
pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing")


def _old_checkpoint(seed):
    """The net's weights under an older key name (``linear`` for ``fc``), plus a stale key."""
    rng = np.random.default_rng(seed)
    net = programs.hooked_net(chainrule)
    state = {}
    for k, v in net.state_dict().items():
        if k != "calls":
            state[k.replace(".fc.", ".linear.")] = 0.4 * rng.standard_normal(tuple(v.shape))
    state["old_temperature"] = np.ones(())
    return state


def test_module_hooks_surgery_and_checkpoint_key_hooks_match_pytorch():
    rng = np.random.default_rng(1740)
    x, y = rng.standard_normal((12, 6)), np.arange(12) % 3
    old = _old_checkpoint(1741)

    def run(lib, model):
        return _float64(lib, lambda: programs.train_with_hooks(
            lib, model, {k: lib.tensor(v) for k, v in old.items()}, lib.tensor(x),
            lib.tensor(y)))

    ours, theirs = _both(programs.hooked_net, run)
    for key in ("keys", "swapped", "incompatible", "meta", "calls"):
        assert ours.pop(key) == theirs.pop(key), key
    assert len(ours["norms"]) == 6 * 3  # three Linears a step, until the handle is removed
    _close(ours, theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours["copy_logits"], ours["logits"], rtol=1e-13)


def _sequences(seed, n=14, length=6, vocab=9):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    lengths = rng.integers(2, length + 1, n)
    tokens = rng.integers(1, vocab, (n, length))
    tokens[:, 0] = 1 + 4 * labels  # the class shows in the first token
    return tokens, lengths, labels, rng.standard_normal((7, 3))


def test_data_pipeline_of_concat_subset_iterable_and_batch_sampler_matches_pytorch():
    arrays = _sequences(1742)

    def run(lib, model):
        return programs.train_pipeline(lib, model, *arrays)

    ours, theirs = _both(programs.gru_classifier, run)
    for key in ("shapes", "n"):
        assert ours.pop(key) == theirs.pop(key), key
    assert [s[1] for s in ours["streamed"]] == [[0, 1, 2], [3, 4, 5], [6]]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave17_part_five_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    tokens, lengths, labels, features = _sequences(1743, n=40)
    out = programs.train_pipeline(chainrule, programs.gru_classifier(chainrule), tokens,
                                  lengths, labels, features, epochs=6)
    losses = out["losses"]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
