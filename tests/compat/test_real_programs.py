"""real_programs.py run unchanged on PyTorch and on chainrule from the same weights: per-step
losses, learning rates and final parameters agree (float64 runs to 1e-9, float32 to its
rounding)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

from . import real_programs as programs

torch = pytest.importorskip("torch")


def _state(model, rng):
    """Random fan-in scaled parameters; buffers (BatchNorm statistics, a positional table) as
    chainrule built them, so a wrongly built buffer shows up as a mismatch."""
    params = {n for n, _ in model.named_parameters()}
    state = {}
    for key, value in model.state_dict().items():
        v = value.numpy()
        if key not in params:
            state[key] = v.copy()
            continue
        fan_in = int(np.prod(v.shape[1:])) if v.ndim > 1 else max(v.size, 1)
        state[key] = (rng.uniform(-1, 1, v.shape) / np.sqrt(fan_in)).astype(np.float32)
    return state


def _both(build, run, double=True):
    """``run(lib, model)`` for both libraries, the models loaded with the same weights."""
    state = _state(build(chainrule), np.random.default_rng(0))
    out = {}
    for lib in (chainrule, torch):
        model = build(lib)
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()}, strict=True)
        out[lib.__name__] = run(lib, model.double() if double else model)
    return out["chainrule"], out["torch"]


def _close(ours, theirs, rtol, atol):
    if isinstance(ours, dict):
        assert ours.keys() == theirs.keys()
        for k in ours:
            _close(ours[k], theirs[k], rtol, atol)
    elif isinstance(ours, (list, tuple)) and ours and not np.isscalar(ours[0]):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b, rtol, atol)
    else:
        np.testing.assert_allclose(np.asarray(ours, dtype=np.float64),
                                   np.asarray(theirs, dtype=np.float64), rtol=rtol, atol=atol)


def _check_resnet_init(block):
    """The constructor's init loop ran: He-normal convs (fan_out), BatchNorm (1, 0), and the
    last BatchNorm of every residual branch zeroed."""
    chainrule.manual_seed(0)
    model = programs.resnet(chainrule, block)
    last = "bn2" if block == "basic" else "bn3"
    for name, p in model.named_parameters():
        w = p.detach().numpy()
        if name.startswith("layer") and name.endswith(f"{last}.weight"):
            assert not w.any(), name
        elif "bn" in name or "downsample.1" in name:
            assert (w == (1.0 if name.endswith("weight") else 0.0)).all(), name
        elif w.ndim == 4 and w.size >= 64:
            fan_out = w.shape[0] * w.shape[2] * w.shape[3]
            assert 0.7 < w.std() / np.sqrt(2.0 / fan_out) < 1.3, name


@pytest.mark.parametrize("block", ["basic", "bottleneck"])
def test_resnet_with_inplace_residual_and_multistep_lr_matches_pytorch(block):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((8, 3, 8, 8))
    y0 = rng.integers(0, 5, 8)
    _check_resnet_init(block)
    ours, theirs = _both(lambda lib: programs.resnet(lib, block),
                         lambda lib, m: programs.train_resnet(lib, m, lib.tensor(x0),
                                                              lib.tensor(y0)))
    assert ours[0][-1] != ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_hand_written_transformer_with_masked_fill_and_warmup_matches_pytorch():
    rng = np.random.default_rng(2)
    src = rng.integers(1, 11, (4, 7))
    src[0, 5:] = 0
    src[2, 3:] = 0
    labels = rng.integers(0, 3, 4)
    ours, theirs = _both(lambda lib: programs.transformer_classifier(lib, dropout=0.0),
                         lambda lib, m: programs.train_transformer(
                             lib, m, lib.tensor(src), lib.tensor(labels)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_builtin_transformer_encoder_with_key_padding_mask_matches_pytorch():
    rng = np.random.default_rng(3)
    src = rng.integers(1, 11, (4, 6))
    src[1, 4:] = 0
    src[3, 2:] = 0
    labels = rng.integers(0, 3, 4)
    ours, theirs = _both(lambda lib: programs.builtin_transformer(lib, dropout=0.0),
                         lambda lib, m: programs.train_builtin_transformer(
                             lib, m, lib.tensor(src), lib.tensor(labels)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_seq2seq_with_attention_packing_and_teacher_forcing_matches_pytorch():
    rng = np.random.default_rng(4)
    src_len = np.array([5, 3, 4])
    src = rng.integers(1, 9, (5, 3))
    for b, n in enumerate(src_len):
        src[n:, b] = 0
    trg = rng.integers(1, 8, (6, 3))
    trg[0] = 1
    trg[5:, 1] = 0
    ours, theirs = _both(programs.seq2seq, lambda lib, m: programs.train_seq2seq(
        lib, m, lib.tensor(src), lib.tensor(src_len), lib.tensor(trg)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_dcgan_with_weights_init_and_detached_fakes_matches_pytorch():
    rng = np.random.default_rng(5)
    real = [rng.uniform(-1, 1, (4, 1, 8, 8)) for _ in range(4)]
    noise = [rng.standard_normal((4, 4, 1, 1)) for _ in range(4)]
    chainrule.manual_seed(0)
    gan = programs.dcgan(chainrule)
    conv = gan.netD.main[0].weight.detach().numpy()
    assert abs(conv.mean()) < 0.02 and 0.01 < conv.std() < 0.03  # N(0, 0.02) from weights_init
    ours, theirs = _both(programs.dcgan, lambda lib, m: programs.train_dcgan(
        lib, m, [lib.tensor(r) for r in real], [lib.tensor(z) for z in noise]))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_vae_with_reparameterisation_and_bce_sum_matches_pytorch():
    rng = np.random.default_rng(6)
    data = rng.uniform(0, 1, (8, 16))
    eps = [rng.standard_normal((4, 2)) for _ in range(6)]
    ours, theirs = _both(programs.vae, lambda lib, m: programs.train_vae(
        lib, m, lib.tensor(data), [lib.tensor(e) for e in eps]))
    assert ours[0][-1] < ours[0][0] and ours[2] == (2, 16)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_lstm_language_model_with_tied_weights_and_truncated_bptt_matches_pytorch():
    corpus = np.random.default_rng(7).integers(0, 12, 40)

    def build(lib):
        return programs.lstm_lm(lib, dropout=0.0)

    chainrule.manual_seed(0)
    model = programs.lstm_lm(chainrule)
    assert model.decoder.weight is model.encoder.weight
    assert [n for n, _ in model.named_parameters()].count("decoder.weight") == 0
    assert float(abs(model.encoder.weight).max()) <= 0.1 and not model.decoder.bias.numpy().any()
    ours, theirs = _both(build, lambda lib, m: programs.train_lstm_lm(lib, m, lib.tensor(corpus)))
    assert ours[2] is True and theirs[2] is True
    assert ours[0][-1] < ours[0][0]
    _close(ours[:2] + ours[3:], theirs[:2] + theirs[3:], rtol=1e-9, atol=1e-11)



def test_custom_inplace_function_ema_accumulation_and_checkpoint_match_pytorch():
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((16, 5))
    y0 = rng.integers(0, 3, 16)
    ours, theirs = _both(programs.mlp_with_inplace_function,
                         lambda lib, m: programs.train_with_tricks(lib, m, lib.tensor(x0),
                                                                   lib.tensor(y0)))
    assert ours[-1] == theirs[-1] == 8
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_nanogpt_with_causal_masks_tied_head_and_top_k_generation_matches_pytorch():
    data = np.random.default_rng(9).integers(0, 10, 40)
    chainrule.manual_seed(0)
    model = programs.gpt(chainrule)
    assert model.transformer.wte.weight is model.lm_head.weight
    proj = model.transformer.h[0].attn.c_proj.weight.detach().numpy()
    assert 0.5 < proj.std() / (0.02 / np.sqrt(4)) < 1.6
    ours, theirs = _both(programs.gpt, lambda lib, m: programs.train_gpt(lib, m, lib.tensor(data)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_transformer_in_eval_mode_ignores_dropout_as_pytorch():
    src = np.random.default_rng(10).integers(0, 11, (3, 6))
    src[0, 4:] = 0

    def run(lib, model):
        model.eval()
        with lib.no_grad():
            return model(lib.tensor(src)).numpy()

    ours, theirs = _both(lambda lib: programs.transformer_classifier(lib, dropout=0.5), run)
    _close(ours, theirs, rtol=1e-12, atol=1e-13)


def test_transfer_learning_loop_with_frozen_features_and_grad_scaler_matches_pytorch():
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal((12, 3, 8, 8))
    y0 = rng.integers(0, 2, 12)

    def run(lib, model):
        data = lib.utils.data
        full = data.TensorDataset(lib.tensor(x0), lib.tensor(y0))
        split = {"train": data.Subset(full, list(range(8))),
                 "val": data.Subset(full, list(range(8, 12)))}
        return programs.finetune(lib, model, split)

    ours, theirs = _both(lambda lib: programs.resnet(lib, "basic"), run)
    assert ours[2] is True and theirs[2] is True
    _close(ours[:2] + ours[3:], theirs[:2] + theirs[3:], rtol=1e-9, atol=1e-11)


def test_dqn_optimize_model_with_masked_targets_and_soft_update_matches_pytorch():
    rng = np.random.default_rng(12)
    raw = [[(rng.standard_normal((1, 4)), int(rng.integers(0, 2)),
             None if k in (1, 3) else rng.standard_normal((1, 4)), float(rng.uniform()))
            for k in range(5)] for _ in range(4)]

    def run(lib, nets):
        batches = [[(lib.tensor(s), lib.tensor([[a]]), None if n is None else lib.tensor(n),
                     lib.tensor([r], dtype=lib.float64)) for s, a, n, r in batch]
                   for batch in raw]
        return programs.optimize_dqn(lib, nets, batches)

    ours, theirs = _both(programs.dqn, run)
    assert ours[0][-1] != ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)

def test_reinforce_with_categorical_log_probs_matches_pytorch():
    rng = np.random.default_rng(13)
    raw = [[(rng.standard_normal(4), int(rng.integers(0, 3)), float(rng.uniform()))
            for _ in range(5)] for _ in range(3)]

    def run(lib, policy):
        episodes = [[(lib.tensor(s), lib.tensor([a]), r) for s, a, r in ep] for ep in raw]
        return programs.train_reinforce(lib, policy, episodes)

    ours, theirs = _both(programs.policy, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_float32_runs_agree_to_float32_rounding():
    """The same programs in float32, as they are usually run: per-step losses to 1e-5."""
    rng = np.random.default_rng(14)
    x0 = rng.standard_normal((8, 3, 8, 8)).astype(np.float32)
    y0 = rng.integers(0, 5, 8)
    corpus = rng.integers(0, 12, 40)
    real = [rng.uniform(-1, 1, (4, 1, 8, 8)).astype(np.float32) for _ in range(3)]
    noise = [rng.standard_normal((4, 4, 1, 1)).astype(np.float32) for _ in range(3)]
    runs = [
        (lambda lib: programs.resnet(lib, "bottleneck"),
         lambda lib, m: programs.train_resnet(lib, m, lib.tensor(x0), lib.tensor(y0))[0]),
        (lambda lib: programs.lstm_lm(lib, dropout=0.0),
         lambda lib, m: programs.train_lstm_lm(lib, m, lib.tensor(corpus))[0]),
        (programs.dcgan, lambda lib, m: programs.train_dcgan(
            lib, m, [lib.tensor(r) for r in real], [lib.tensor(z) for z in noise])[:2]),
    ]
    for build, run in runs:
        ours, theirs = _both(build, run, double=False)
        _close(ours, theirs, rtol=1e-5, atol=1e-7)


def test_text_classification_with_embedding_bag_offsets_matches_pytorch():
    rng = np.random.default_rng(15)
    samples = [(int(rng.integers(0, 3)), [int(v) for v in rng.integers(0, 20, n)])
               for n in (3, 5, 1, 4, 2, 6, 3, 2)]
    ours, theirs = _both(programs.text_classifier,
                         lambda lib, m: programs.train_text_classifier(lib, m, samples))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_spatial_transformer_with_affine_grid_and_grid_sample_matches_pytorch():
    rng = np.random.default_rng(16)
    data = rng.standard_normal((4, 1, 12, 12))
    target = rng.integers(0, 3, 4)
    ours, theirs = _both(programs.stn, lambda lib, m: programs.train_stn(
        lib, m, lib.tensor(data), lib.tensor(target)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _heat_data(n=8, size=16, t=0.01, seed=17):
    """Initial conditions a(x) (random low-frequency sines) and the heat equation's solution
    u(x, t) on the periodic unit interval (each Fourier mode decays by exp(-(2 pi k)^2 t))."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, size, endpoint=False)
    k = np.arange(1, 5)
    a = (rng.standard_normal((n, 4, 1)) / k[:, None] * np.sin(2 * np.pi * k[:, None] * x
                                                               + rng.uniform(0, 6, (n, 4, 1))))
    a = a.sum(1)
    spectrum = np.fft.rfft(a) * np.exp(-(2 * np.pi * np.arange(size // 2 + 1)) ** 2 * t)
    return a[..., None], np.fft.irfft(spectrum, n=size)


def _fno_state(dtype, cdtype):
    """Random weights, complex ones with random real and imaginary parts."""
    rng = np.random.default_rng(18)
    state = _state(programs.fno1d(chainrule), rng)
    for key, value in state.items():
        if key.endswith("weights1"):
            state[key] = (rng.uniform(0, 1, value.shape) + 1j * rng.uniform(0, 1, value.shape))
            state[key] = (state[key] / 36).astype(cdtype)
        else:
            state[key] = value.astype(dtype)
    return state


def _as_real(a):
    a = np.asarray(a)
    return np.stack([a.real, a.imag], -1) if np.iscomplexobj(a) else a


@pytest.mark.parametrize(("dtype", "cdtype", "rtol", "atol"),
                         [(np.float64, np.complex128, 1e-9, 1e-11),
                          (np.float32, np.complex64, 1e-5, 1e-6)])
def test_fourier_neural_operator_with_complex_weights_adam_and_steplr_matches_pytorch(
        dtype, cdtype, rtol, atol):
    a, u = _heat_data()
    state = _fno_state(dtype, cdtype)
    out = {}
    for lib in (chainrule, torch):
        cd = lib.cdouble if cdtype == np.complex128 else lib.cfloat
        model = programs.fno1d(lib, cdtype=cd)
        if dtype == np.float64:
            model.double()  # as PyTorch's: the complex weights keep their dtype
        assert model.conv0.weights1.dtype == cd
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()}, strict=True)
        out[lib.__name__] = programs.train_fno1d(lib, model, lib.tensor(a.astype(dtype)),
                                                 lib.tensor(u.astype(dtype)))
    ours, theirs = out["chainrule"], out["torch"]
    assert ours[0][-1] < ours[0][0]
    _close(ours[:3], theirs[:3], rtol, atol)
    assert ours[3].keys() == theirs[3].keys()
    for name in ours[3]:
        assert ours[3][name].dtype == theirs[3][name].dtype, name
        _close(_as_real(ours[3][name]), _as_real(theirs[3][name]), rtol, atol)
    for key in ("exp_avg", "exp_avg_sq"):
        assert np.asarray(ours[4][key]).dtype == cdtype
        _close(_as_real(ours[4][key]), _as_real(theirs[4][key]), rtol, atol)


def test_pytorch_fno_state_dict_loads_into_chainrule_fno():
    a, _ = _heat_data(n=3)
    torch.manual_seed(0)
    theirs = programs.fno1d(torch)  # PyTorch's own init, complex64 weights
    ours = programs.fno1d(chainrule)
    ours.load_state_dict(theirs.state_dict())  # PyTorch tensors, as they are
    assert ours.conv2.weights1.dtype == np.complex64
    np.testing.assert_array_equal(ours.conv2.weights1.numpy(), theirs.conv2.weights1.detach())
    with torch.no_grad():
        expected = theirs(torch.tensor(a, dtype=torch.float32)).numpy()
    got = ours(chainrule.tensor(a, dtype=chainrule.float32)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("cdtype", "rtol", "atol"),
                         [(np.complex128, 1e-9, 1e-11), (np.complex64, 1e-5, 1e-6)])
def test_fno_2d_spectral_conv_with_negative_frequency_slices_matches_pytorch(cdtype, rtol, atol):
    rng = np.random.default_rng(19)
    dtype = np.float64 if cdtype == np.complex128 else np.float32
    x = rng.standard_normal((2, 3, 8, 8)).astype(dtype)
    y = rng.standard_normal((2, 2, 8, 8)).astype(dtype)
    shape = (3, 2, 3, 2)
    state = {k: ((rng.uniform(0, 1, shape) + 1j * rng.uniform(0, 1, shape)) / 6).astype(cdtype)
             for k in ("weights1", "weights2")}
    out = {}
    for lib in (chainrule, torch):
        cd = lib.cdouble if cdtype == np.complex128 else lib.cfloat
        model = programs.spectral_conv2d(lib, cdtype=cd)
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        out[lib.__name__] = programs.train_spectral_conv2d(lib, model, lib.tensor(x),
                                                           lib.tensor(y))
    ours, theirs = out["chainrule"], out["torch"]
    assert ours[0][-1] < ours[0][0]
    _close(ours[:2], theirs[:2], rtol, atol)
    for name in ours[2]:
        assert ours[2][name].dtype == cdtype
        _close(_as_real(ours[2][name]), _as_real(theirs[2][name]), rtol, atol)
