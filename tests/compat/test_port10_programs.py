"""port10_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
accuracies, attacks and final parameters agree to float64 rounding."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port10_programs as programs  # noqa: E402
from . import port10b_programs as programs_b  # noqa: E402
from . import port10c_programs as programs_c  # noqa: E402
from . import port10d_programs as programs_d  # noqa: E402
from . import port10e_programs as programs_e  # noqa: E402
from . import port10f_programs as programs_f  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def test_fgsm_tutorial_per_example_attack_loop_matches_pytorch():
    rng = np.random.default_rng(300)
    images = rng.standard_normal((12, 1, 8, 8))
    labels = rng.integers(0, 3, 12)

    ours, theirs = _both(programs.fgsm_net, lambda lib, m: programs.run_fgsm(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    assert ours[0] == theirs[0]
    assert ours[0][0] > 0 and ours[0][-1] < ours[0][0]
    assert len(ours[1]) == len(theirs[1])
    for ex_ours, ex_theirs in zip(ours[1], theirs[1]):
        assert [e[:2] for e in ex_ours] == [e[:2] for e in ex_theirs]
        _close([e[2] for e in ex_ours], [e[2] for e in ex_theirs], rtol=1e-12, atol=1e-12)


def _shared_uniform(monkeypatch, lib, seed):
    """``t.uniform_(a, b)`` (also on a view) draws from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def uniform_(self, a=0.0, b=1.0, generator=None):
        with lib.no_grad():
            return self.copy_(lib.tensor(rng.uniform(a, b, tuple(self.shape)), dtype=self.dtype))

    monkeypatch.setattr(lib.Tensor, "uniform_", uniform_)


@pytest.mark.parametrize("delta_init", ["previous", "zero"])
def test_fast_adversarial_training_with_persistent_delta_and_pgd_matches_pytorch(
        monkeypatch, delta_init):
    rng = np.random.default_rng(301)
    batches = [(rng.uniform(-1.5, 1.5, (4, 3, 8, 8)), rng.integers(0, 3, 4)) for _ in range(3)]
    batches.append((rng.uniform(-1.5, 1.5, (2, 3, 8, 8)), rng.integers(0, 3, 2)))

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_uniform(m, lib, 302)
            return programs.train_fast_fgsm(
                lib, model, [(lib.tensor(x), lib.tensor(y)) for x, y in batches],
                delta_init=delta_init)

    ours, theirs = _both(programs.preact_net, run)
    assert ours[1][0] == 0.0 and max(ours[1]) == pytest.approx(0.2)
    assert np.abs(ours[2]).max() > 0
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_forward_forward_layers_with_own_optimizers_match_pytorch():
    rng = np.random.default_rng(303)
    x = rng.standard_normal((20, 16))
    y = rng.integers(0, 10, 20)
    x_te = rng.standard_normal((8, 16))
    y_te = rng.integers(0, 10, 8)
    rnd = rng.permutation(20)
    init = [(rng.uniform(-0.25, 0.25, (12, 16)), rng.uniform(-0.25, 0.25, 12)),
            (rng.uniform(-0.3, 0.3, (12, 12)), rng.uniform(-0.3, 0.3, 12))]
    out = {}
    for lib in (chainrule, torch):
        net = programs.ff_net(lib)
        assert not list(net.parameters())
        with lib.no_grad():
            for layer, (w, b) in zip(net.layers, init):
                layer.weight.copy_(lib.tensor(w))
                layer.bias.copy_(lib.tensor(b))
        out[lib.__name__] = programs.train_ff(lib, net, lib.tensor(x), lib.tensor(y),
                                              lib.tensor(x_te), lib.tensor(y_te),
                                              lib.tensor(rnd))
    ours, theirs = out["chainrule"], out["torch"]
    assert ours[:2] == theirs[:2]
    np.testing.assert_array_equal(ours[2], theirs[2])
    _close(ours[3], theirs[3], rtol=1e-9, atol=1e-11)


def test_translation_tutorial_with_bahdanau_attention_and_teacher_forcing_matches_pytorch():
    rng = np.random.default_rng(304)
    input_ids = rng.integers(2, 9, (6, 5))
    input_ids[:, -1] = programs_b.EOS_token
    target_ids = rng.integers(2, 8, (6, programs_b.MAX_LENGTH))
    target_ids[:, -1] = programs_b.EOS_token
    order = [int(i) for i in rng.permutation(6)]
    ours, theirs = _both(programs_b.translator, lambda lib, m: programs_b.train_translator(
        lib, m, lib.tensor(input_ids), lib.tensor(target_ids), order))
    assert ours[0][-1] < ours[0][0]
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2], ours[3]], [theirs[0], theirs[2], theirs[3]], rtol=1e-9,
           atol=1e-11)


def test_segnet_with_max_unpooling_weighted_ignore_index_and_bincount_iou_matches_pytorch():
    rng = np.random.default_rng(305)
    images = rng.standard_normal((2, 3, 8, 8))
    labels = rng.integers(0, 4, (2, 8, 8))
    labels[rng.random((2, 8, 8)) < 0.2] = 255
    weights = np.array([0.5, 1.0, 2.0, 1.5])
    ours, theirs = _both(programs_b.segnet, lambda lib, m: programs_b.train_segnet(
        lib, m, lib.tensor(images), lib.tensor(labels), lib.tensor(weights)))
    assert ours[0][-1] < ours[0][0]
    np.testing.assert_array_equal(ours[2], theirs[2])
    assert ours[2].sum() == (labels != 255).sum()
    _close([ours[0], ours[1], ours[3], ours[4], ours[5]],
           [theirs[0], theirs[1], theirs[3], theirs[4], theirs[5]], rtol=1e-9, atol=1e-11)


def test_stft_mask_speech_enhancer_with_istft_and_si_snr_matches_pytorch():
    rng = np.random.default_rng(306)
    t = np.arange(64) / 64.0
    clean = np.stack([np.sin(2 * np.pi * 5 * t), np.sin(2 * np.pi * 3 * t + 1.0)])
    noisy = clean + 0.3 * rng.standard_normal(clean.shape)

    def build(lib):
        # the Hann window in float64: chainrule's float32 one is the float64 one correctly
        # rounded, PyTorch's (computed in float32) is off by an ulp in most places
        lib.set_default_dtype(lib.float64)
        try:
            return programs_b.mask_enhancer(lib)
        finally:
            lib.set_default_dtype(lib.float32)

    ours, theirs = _both(build, lambda lib, m: programs_b.train_enhancer(
        lib, m, lib.tensor(noisy), lib.tensor(clean)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _shared_randint(monkeypatch, lib, seed):
    """``torch.randint(low, high, size, dtype=)`` draws from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def randint(low, high, size, dtype=None, **kwargs):
        return lib.tensor(rng.integers(low, high, tuple(size)), dtype=dtype)

    monkeypatch.setattr(lib, "randint", randint)


def test_pointnet2_ssg_with_farthest_point_sampling_and_ball_query_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(307)
    xyz = rng.uniform(-1, 1, (4, 16, 3))
    normals = rng.standard_normal((4, 16, 3))
    points = np.concatenate([xyz, normals / np.linalg.norm(normals, axis=-1, keepdims=True)], -1)
    target = rng.integers(0, 3, 4)

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_randint(m, lib, 308)
            return programs_c.train_pointnet2(lib, model, lib.tensor(points), lib.tensor(target))

    ours, theirs = _both(programs_c.pointnet2, run)
    assert ours[1] == theirs[1]
    for a, b in zip(ours[2], theirs[2]):
        np.testing.assert_array_equal(a, b)
    _close([ours[0], ours[3]], [theirs[0], theirs[3]], rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("coords_agg", ["mean", "sum"])
def test_egnn_with_scatter_add_segment_sums_matches_pytorch_and_stays_equivariant(coords_agg):
    rng = np.random.default_rng(309)
    loc = rng.standard_normal((8, 3))
    vel = rng.standard_normal((8, 3))
    loc_end = loc + 0.1 * vel
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    ours, theirs = _both(lambda lib: programs_c.egnn(lib, coords_agg=coords_agg),
                         lambda lib, m: programs_c.train_egnn(
                             lib, m, lib.tensor(loc), lib.tensor(vel), lib.tensor(loc_end),
                             lib.tensor(q)))
    assert ours[0][-1] < ours[0][0]
    np.testing.assert_allclose(ours[3], ours[1], rtol=1e-9, atol=1e-11)  # h invariant
    np.testing.assert_allclose(ours[4], ours[2] @ q.T, rtol=1e-9, atol=1e-11)  # x equivariant
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_trpo_with_lbfgs_value_fit_fisher_vector_products_and_line_search_matches_pytorch():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(310)
    batches = []
    for _ in range(2):
        n = 10
        mask = np.ones(n)
        mask[[4, 9]] = 0.0  # two episodes end
        batches.append({"state": rng.standard_normal((n, 3)).tolist(),
                        "action": [rng.standard_normal((1, 2)) for _ in range(n)],
                        "reward": rng.standard_normal(n).tolist(), "mask": mask.tolist()})

    def run(lib, nets):
        # torch.Tensor(list) follows the default dtype, as the repository's float64 runs set it
        lib.set_default_dtype(lib.float64)
        try:
            return programs_d.run_trpo(lib, nets, batches)
        finally:
            lib.set_default_dtype(lib.float32)

    ours, theirs = _both(programs_d.trpo_nets, run)
    assert [o[3] for o in ours[0]] == [t[3] for t in theirs[0]]
    assert any(o[3] for o in ours[0])
    for o, t in zip(ours[0], theirs[0]):
        _close([o[:3], o[4], o[5]], [t[:3], t[4], t[5]], rtol=1e-8, atol=1e-10)
    _close(ours[1], theirs[1], rtol=1e-8, atol=1e-10)


def test_optimizer_step_fused_into_backward_by_post_accumulate_grad_hooks_matches_pytorch():
    rng = np.random.default_rng(311)
    x = rng.standard_normal((10, 6))
    y = rng.integers(0, 3, 10)
    ours, theirs = _both(programs_d.fused_mlp, lambda lib, m: programs_d.train_fused_step(
        lib, m, lib.tensor(x), lib.tensor(y)))
    assert ours[0][-1] < ours[0][0] and all(ours[1]) and all(theirs[1])
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def _tacotron_batch():
    rng = np.random.default_rng(312)
    text = rng.integers(1, 10, (3, 6))
    text_lengths = np.array([6, 5, 3])
    for row, n in zip(text, text_lengths):
        row[n:] = 0
    output_lengths = np.array([5, 4, 3])
    mels = rng.standard_normal((3, 4, 5))
    gates = np.zeros((3, 5))
    for i, n in enumerate(output_lengths):  # the collate's padding: silence, gate 1 to the end
        mels[i, :, n:] = 0.0
        gates[i, n - 1:] = 1.0
    return text, text_lengths, mels, gates, output_lengths


def test_tacotron2_inference_and_length_masks_match_pytorch():
    text, text_lengths, _, _, _ = _tacotron_batch()

    def run(lib, model):
        mask = programs_e.get_mask_from_lengths(lib, lib.tensor(text_lengths))
        model.eval()
        with lib.no_grad():
            outs = model.inference(lib.tensor(text[:1]))
        return [mask.numpy()] + [o.numpy() for o in outs]

    ours, theirs = _both(programs_e.tacotron2, run)
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1].shape == theirs[1].shape and ours[1].shape[2] > 1
    _close(ours[1:], theirs[1:], rtol=1e-9, atol=1e-11)


def test_tacotron2_training_with_masked_attention_energies_matches_pytorch():
    """hparams.mask_padding=False: the attention energies are still masked through ``.data``
    after the linear layer computed them (no op read them yet: as PyTorch's, no error)."""
    batch = _tacotron_batch()
    ours, theirs = _both(lambda lib: programs_e.tacotron2(lib, mask_padding=False),
                         lambda lib, m: programs_e.train_tacotron2(
                             lib, m, *[lib.tensor(a) for a in batch]))
    assert ours[0][-1] < ours[0][0]
    assert ours[2][2, :, 3:].max() == 0.0  # padded text positions get no attention
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_tacotron2_output_masking_after_the_postnet_read_them_is_refused():
    """A known gap (docs/pytorch.md, ``Tensor.data``): with mask_padding, ``parse_output``
    masks through ``.data`` the mel outputs that the postnet's first convolution already read;
    PyTorch's gradient then takes the masked values (not the true gradient), chainrule refuses."""
    batch = _tacotron_batch()
    for lib in (chainrule, torch):
        lib.manual_seed(0)
        model = programs_e.tacotron2(lib).double()
        args = [lib.tensor(a) for a in batch]
        if lib is torch:
            assert np.isfinite(programs_e.train_tacotron2(lib, model, *args)[0]).all()
        else:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                programs_e.train_tacotron2(lib, model, *args)


def test_pointer_network_with_byte_masks_and_masked_attention_matches_pytorch():
    """The uint8 mask that picks each next input (``embedded_inputs[embedding_mask.data]``) was
    read by chainrule as integer positions: a wrong decoder input, silently."""
    rng = np.random.default_rng(313)
    points = rng.random((4, 5, 1))
    solutions = np.argsort(points[..., 0], axis=1)
    model = programs_f.pointer_net(chainrule)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    state = {k: (rng.uniform(-0.3, 0.3, v.shape) if k in trained else v.numpy())
             for k, v in model.state_dict().items()}
    out = {}
    for lib in (chainrule, torch):
        net = programs_f.pointer_net(lib)
        net.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        with warnings.catch_warnings():  # the deprecated uint8 mask, warned by both
            warnings.filterwarnings("ignore", message=".*uint8.*")
            out[lib.__name__] = programs_f.train_pointer_net(lib, net.double(),
                                                             lib.tensor(points),
                                                             lib.tensor(solutions))
    ours, theirs = out["chainrule"], out["torch"]
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_array_equal(a, b)
        assert (np.sort(a, axis=1) == np.arange(5)).all()  # each input pointed at once
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)
