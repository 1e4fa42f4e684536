"""port3_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
decodings, predictions and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port3_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _in_float64(train):
    """``train`` under set_default_dtype(float64) in both libraries: the CRF's
    ``torch.zeros(1) + transitions[i, j]`` is a float32 tensor meeting a 0-d float64 one, which
    stays float32 (PyTorch's promotion, chainrule's too), so its gold score would be compared
    at float32 rounding; float64 throughout keeps the comparison at float64's."""
    def run(lib, model):
        old = lib.get_default_dtype()
        lib.set_default_dtype(lib.float64)
        try:
            return train(lib, model)
        finally:
            lib.set_default_dtype(old)
    return run


def test_bilstm_crf_tutorial_with_forward_algorithm_and_viterbi_matches_pytorch():
    ours, theirs = _both(programs.bilstm_crf, _in_float64(programs.train_bilstm_crf))
    assert ours[2] == theirs[2] and len(ours[2][1]) == 11
    _close([ours[0], ours[1], ours[3]], [theirs[0], theirs[1], theirs[3]], rtol=1e-9,
           atol=1e-9)


def test_names_classifier_on_nn_rnn_with_one_hot_letters_matches_pytorch():
    ours, theirs = _both(programs.names_rnn, lambda lib, m: programs.train_names_rnn(lib, m))
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_skip_gram_negative_sampling_matches_pytorch():
    rng = np.random.default_rng(60)
    batches = [(rng.integers(0, 10, 6), rng.integers(0, 10, 6), rng.integers(0, 10, (6, 3)))
               for _ in range(4)]
    ours, theirs = _both(programs.skip_gram, lambda lib, m: programs.train_skip_gram(
        lib, m, [tuple(lib.tensor(a) for a in b) for b in batches]))
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_matrix_factorization_with_adagrad_and_a_tensor_dataset_matches_pytorch():
    rng = np.random.default_rng(61)
    users, items = rng.integers(0, 6, 14), rng.integers(0, 5, 14)
    ratings = rng.uniform(1, 5, 14)
    ours, theirs = _both(programs.matrix_factorization, lambda lib, m:
                         programs.train_matrix_factorization(lib, m, lib.tensor(users),
                                                             lib.tensor(items),
                                                             lib.tensor(ratings)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_top_k_mixture_of_experts_with_index_add_routing_matches_pytorch():
    rng = np.random.default_rng(62)
    tokens = rng.integers(0, 12, 10)
    labels = rng.integers(0, 3, 10)
    ours, theirs = _both(programs.moe_classifier, lambda lib, m: programs.train_moe(
        lib, m, lib.tensor(tokens), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_llama_block_with_rope_gqa_sdpa_and_rmsnorm_matches_pytorch():
    tokens = np.random.default_rng(63).integers(0, 10, (2, 8))
    built = programs.llama(chainrule)
    tables = {k: v.numpy().astype(np.float64) for k, v in built.named_buffers()}

    def run(lib, model):
        """The non-persistent cos/sin tables as chainrule built them (the harness does so for
        state-dict buffers): NumPy's and PyTorch's float32 cos differ in the last bit."""
        with lib.no_grad():
            for k, v in model.named_buffers():
                v.copy_(lib.tensor(tables[k]))
        return programs.train_llama(lib, model, lib.tensor(tokens))

    ours, theirs = _both(programs.llama, run)
    assert ours[1] == theirs[1] and ours[2] == theirs[2] == "float64"
    assert "cos_cached" not in ours[3]
    _close([ours[0], ours[3]], [theirs[0], theirs[3]], rtol=1e-9, atol=1e-11)
