"""port18_programs.py (wave 18, part one) runs unchanged on PyTorch and on chainrule: from the same
weights and data the losses, outputs, gradients and tangents agree to float64 rounding; the
programs also learn from chainrule's own draws in float32."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from .._case_loop import each_case, grid  # noqa: E402
from . import port18_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402

# PyTorch's forward AD loads its jvp decompositions through torch.jit.script, which warns
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def _pair(fn):
    return fn(chainrule), fn(torch)


def test_unfold_docs_example_and_fold_patch_averaging_match_pytorch():
    rng = np.random.default_rng(1800)
    inp, w = rng.standard_normal((2, 3, 10, 12)), rng.standard_normal((2, 3, 4, 5))
    ours, theirs = _pair(lambda lib: programs.unfold_patches(lib, lib.tensor(inp), lib.tensor(w)))
    _close(ours, theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours["out"], ours["conv"], rtol=1e-10, atol=1e-12)


def test_adaptive_softmax_language_model_matches_pytorch():
    ids = np.random.default_rng(1801).integers(0, 12, (3, 14))
    ours, theirs = _both(programs.adaptive_lm,
                         lambda lib, m: programs.train_adaptive_lm(lib, m, lib.tensor(ids)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours["prob_sums"], 1.0, rtol=1e-12)


def test_circular_padded_heat_stencil_matches_pytorch():
    u0 = np.random.default_rng(1802).standard_normal((2, 1, 5, 6))
    ours, theirs = _both(programs.heat_stencil,
                         lambda lib, m: programs.train_heat_stencil(lib, m, lib.tensor(u0)))
    assert ours.pop("wraps") and theirs.pop("wraps")
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_siamese_triplet_hinge_and_cosine_embedding_losses_match_pytorch():
    rng = np.random.default_rng(1803)
    a, p, n = (rng.standard_normal((5, 6)) for _ in range(3))
    ours, theirs = _both(programs.siamese_net, lambda lib, m: programs.train_siamese(
        lib, m, lib.tensor(a), lib.tensor(a + 0.3 * p), lib.tensor(n)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_multilabel_margin_classifier_matches_pytorch():
    x = np.random.default_rng(1804).standard_normal((5, 5))
    label_sets = [[0, 2], [1], [3, 0, 1], [2], []]
    ours, theirs = _both(programs.multilabel_mlp, lambda lib, m: programs.train_multilabel(
        lib, m, lib.tensor(x), label_sets))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_extending_note_custom_functions_match_pytorch():
    rng = np.random.default_rng(1805)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ours, theirs = _pair(lambda lib: programs.extending_note(lib, lib.tensor(x), lib.tensor(y)))
    assert ours.pop("indices_require_grad") is theirs.pop("indices_require_grad") is False
    _close(ours, theirs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours["exp_tangent"], np.exp(x), rtol=1e-12)


def test_save_for_forward_tensors_are_what_jvp_reads_and_must_be_tensors():
    *_, Exp, _ = programs.custom_functions(chainrule)
    z = chainrule.tensor([0.5, -1.0], requires_grad=True)
    Exp.apply(z).sum().backward()  # chainrule also transposes a jvp-only Function
    np.testing.assert_allclose(z.grad.numpy(), np.exp([0.5, -1.0]), rtol=1e-6)

    class Bad(chainrule.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x, 2.0)
            return x * 2

    with pytest.raises(TypeError, match="save_for_forward: expects Tensors.*float"):
        Bad.apply(z)


def test_wave18_part_one_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    rng = np.random.default_rng(1806)
    a, n = rng.standard_normal((8, 6)), rng.standard_normal((8, 6))
    net = programs.siamese_net(chainrule)
    out = programs.train_siamese(chainrule, net, chainrule.tensor(a, dtype=chainrule.float32),
                                 chainrule.tensor(a + 0.1 * n, dtype=chainrule.float32),
                                 chainrule.tensor(n, dtype=chainrule.float32), steps=30)
    assert out["losses"][-1] < 0.5 * out["losses"][0]
    assert out["closer"].all()
    u0 = chainrule.tensor(rng.standard_normal((2, 1, 5, 6)), dtype=chainrule.float32)
    heat = programs.train_heat_stencil(chainrule, programs.heat_stencil(chainrule), u0, steps=80)
    assert heat["losses"][-1] < 0.1 * heat["losses"][0]


def _a_write_through_an_empty_list_index_writes_nothing_as_pytorchs_case(index, recorded):
    results = []
    for lib in (chainrule, torch):
        base = lib.arange(12.0).view(3, 4).requires_grad_(recorded)
        value = lib.tensor([5.0], requires_grad=recorded)
        t = base * 2
        t[index] = value
        t[index] += 1
        t.backward(lib.ones(3, 4)) if recorded else None
        results.append([t.detach().numpy()] + ([base.grad.numpy(), value.grad.numpy()]
                                               if recorded else []))
    _close(*results, rtol=0, atol=0)


def test_a_write_through_an_empty_list_index_writes_nothing_as_pytorchs():
    each_case(_a_write_through_an_empty_list_index_writes_nothing_as_pytorchs_case, grid(
        ("recorded", [False, True]),
        ("index", [[], (1, []), ([], 1), (slice(None), []), (1, range(0))]),
    ))
