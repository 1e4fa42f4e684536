"""Eighth fuzz wave: normalization layers (running statistics after training steps included) and
recurrent layers (packed sequences included) under random hyperparameters, with the weights and
buffers ported from PyTorch through ``load_state_dict`` (float64)."""

import numpy as np
import pytest

from ._fuzz8_port import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _shape(rng, lo, hi, ndim_lo, ndim_hi):
    return tuple(int(v) for v in rng.integers(lo, hi, int(rng.integers(ndim_lo, ndim_hi))))


def _draw_norm(rng):
    fam = str(rng.choice(["bn", "in", "ln", "gn", "lrn", "rms"]))
    if fam in ("bn", "in"):
        d, C, n = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        if fam == "bn":
            spatial = _shape(rng, 1, 5, d - 1, d) if d > 1 else _shape(rng, 1, 5, 0, 2)
        else:
            spatial = _shape(rng, 1, 5, d, d + 1)
        shape = ((C,) if fam == "in" and rng.random() < 0.2 else (n, C)) + spatial
        name = f"{'BatchNorm' if fam == 'bn' else 'InstanceNorm'}{d}d"
        kw = dict(eps=float(rng.choice([1e-5, 1e-3, 0.1])),
                  momentum=None if rng.random() < 0.25 else float(rng.choice([0.1, 0.5, 1, 0])),
                  affine=bool(rng.random() < 0.6), track_running_stats=bool(rng.random() < 0.6))
        if rng.random() < 0.2:
            kw["bias"] = False
        # sometimes the wrong number of channels (PyTorch's BatchNorm checks it against the
        # weight or the running statistics only, chainrule's always: docs/pytorch.md)
        args = (C + (rng.random() < 0.05 and (kw["affine"] or kw["track_running_stats"])),)
    elif fam in ("ln", "rms"):
        shape = _shape(rng, 1, 5, 1, 5)
        ns = shape[-int(rng.integers(1, len(shape) + 1)):]
        args = (ns if len(ns) > 1 or rng.random() < 0.5 else ns[0],)
        if fam == "ln":
            name = "LayerNorm"
            kw = dict(eps=float(rng.choice([1e-5, 0.1])),
                      elementwise_affine=bool(rng.random() < 0.7), bias=bool(rng.random() < .7))
        else:
            name = "RMSNorm"
            kw = dict(eps=None if rng.random() < 0.5 else float(rng.choice([1e-5, 0.1])),
                      elementwise_affine=bool(rng.random() < 0.7))
    elif fam == "gn":
        G = int(rng.integers(1, 4))
        C = G * int(rng.integers(1, 3)) + (rng.random() < 0.1)
        shape = (int(rng.integers(1, 4)), C) + _shape(rng, 1, 4, 0, 3)
        name, args = "GroupNorm", (G, C)
        kw = dict(eps=float(rng.choice([1e-5, 0.1])), affine=bool(rng.random() < 0.7))
    else:
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 7))) + _shape(rng, 1, 4, 0, 3)
        name, args = "LocalResponseNorm", (int(rng.integers(1, 6)),)
        kw = dict(alpha=float(rng.choice([1e-4, 0.5, 2.0])), beta=float(rng.choice([.75, 1.5])),
                  k=float(rng.choice([1.0, 2.0, 0.5])))

    def make(lib):
        m = getattr(lib.nn, name)(*args, **kw)
        if getattr(m, "running_mean", None) is not None:  # away from the initial 0 and 1
            m.running_mean.data.fill_(0.3)
            m.running_var.data.fill_(1.7)
        return m, lambda m, x: m(x)

    x = rng.standard_normal(shape) * 2 + 0.5
    return f"{name}{args}{kw} x{shape}", make, [x]


@pytest.mark.parametrize("seed", range(4))
def test_normalization_layers_ported_from_pytorch(seed):
    rng = np.random.default_rng(830 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(60):
        desc, make, arrays = _draw_norm(rng)
        train, steps = bool(rng.random() < 0.7), int(rng.integers(1, 4))
        try:  # running statistics and num_batches_tracked are compared after the steps
            counts[check(make, arrays, rng, train=train, steps=steps)] += 1
        except AssertionError as e:
            raise AssertionError(f"{desc} train={train} steps={steps}") from e
    assert counts["compared"] >= 35, counts


def _draw_rnn(rng):
    kind = str(rng.choice(["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]))
    I, H, T, B = (int(v) for v in rng.integers(1, 4, 4))
    unbatched = rng.random() < 0.25
    kw = dict(bias=bool(rng.random() < 0.7))
    if kind.startswith("RNN"):
        kw["nonlinearity"] = str(rng.choice(["tanh", "relu"]))
    if kind.endswith("Cell"):
        x = rng.standard_normal((I,) if unbatched else (B, I))
        hs = (H,) if unbatched else (B, H)
    else:
        L, bi, bf = int(rng.integers(1, 4)), bool(rng.random() < 0.5), bool(rng.random() < .5)
        kw.update(num_layers=L, batch_first=bf, bidirectional=bi)
        x = rng.standard_normal((T, I) if unbatched else (B, T, I) if bf else (T, B, I))
        hs = (L * (1 + bi), H) if unbatched else (L * (1 + bi), B, H)
    arrays = [x]
    if rng.random() < 0.5:
        arrays += [rng.standard_normal(hs) * 0.5 for _ in range(1 + ("LSTM" in kind))]
    if rng.random() < 0.3:  # a wrong shape somewhere: both must refuse
        which = int(rng.integers(0, 3))
        if which == 0:
            arrays[0] = rng.standard_normal(x.shape[:-1] + (I + 1,))
        elif which == 1 and len(arrays) > 1:
            arrays[1] = rng.standard_normal(hs[:-1] + (H + 1,))
        else:
            arrays[0] = rng.standard_normal((2,) + x.shape)

    def make(lib):
        def call(m, x, *h):
            if not h:
                return m(x)
            return m(x, (h[0], h[1]) if "LSTM" in kind else h[0])
        return getattr(lib.nn, kind)(I, H, **kw), call

    return f"{kind}({I}, {H}, {kw}) {[a.shape for a in arrays]}", make, arrays


@pytest.mark.parametrize("seed", range(3))
def test_recurrent_layers_ported_from_pytorch(seed):
    rng = np.random.default_rng(840 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(50):
        desc, make, arrays = _draw_rnn(rng)
        try:
            counts[check(make, arrays, rng, train=bool(rng.random() < 0.5))] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 30 and counts["raised"] >= 3, counts


def _draw_packed(rng):
    kind = str(rng.choice(["RNN", "LSTM", "GRU"]))
    I, H = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    T, B, L = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    bi, bf = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    kw = dict(num_layers=L, bias=bool(rng.random() < 0.8), batch_first=bf, bidirectional=bi)
    lengths = rng.integers(1, T + 1, B)
    lengths[int(rng.integers(0, B))] = T
    enforce_sorted = bool(rng.random() < 0.4)
    if enforce_sorted:
        lengths = np.sort(lengths)[::-1].copy()
    x = rng.standard_normal((B, T, I) if bf else (T, B, I))
    arrays = [x]
    if rng.random() < 0.4:
        arrays += [rng.standard_normal((L * (1 + bi), B, H)) for _ in range(1 + (kind == "LSTM"))]
    how = str(rng.choice(["padded", "packed", "sequences"]))
    as_tensor, total = rng.random() < 0.5, T if rng.random() < 0.5 else None
    batch_sizes = [int((lengths > t).sum()) for t in range(T)]

    def make(lib):
        U = lib.nn.utils.rnn

        def call(m, x, *h):
            if how == "sequences":
                p = U.pack_sequence([x[b, :n] if bf else x[:n, b] for b, n in enumerate(lengths)],
                                   enforce_sorted=enforce_sorted)
            else:
                n = lib.tensor(lengths.tolist()) if as_tensor else lengths.tolist()
                p = U.pack_padded_sequence(x, n, batch_first=bf, enforce_sorted=enforce_sorted)
            out, hn = m(p, None if not h else (h[0], h[1]) if kind == "LSTM" else h[0])
            assert [int(b) for b in out.batch_sizes] == batch_sizes
            if how == "packed":
                return out.data, hn
            y, n_out = U.pad_packed_sequence(out, batch_first=bf, total_length=total)
            assert [int(v) for v in n_out] == lengths.tolist()
            return y, hn
        return getattr(lib.nn, kind)(I, H, **kw), call

    desc = f"packed {kind}({I}, {H}, {kw}) lengths={lengths.tolist()} {how} {enforce_sorted}"
    return desc, make, arrays


@pytest.mark.parametrize("seed", range(2))
def test_packed_sequences_through_ported_recurrent_layers(seed):
    rng = np.random.default_rng(850 + seed)
    for _ in range(40):
        desc, make, arrays = _draw_packed(rng)
        try:
            assert check(make, arrays, rng, train=bool(rng.random() < 0.5)) == "compared"
        except AssertionError as e:
            raise AssertionError(desc) from e


def test_batch_norm_checks_num_features_without_weight_or_statistics():
    # docs/pytorch.md: PyTorch normalizes any number of channels when nothing holds num_features
    import chainrule as cr

    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    kw = dict(affine=False, track_running_stats=False)
    assert torch.nn.BatchNorm1d(2, **kw)(torch.tensor(x)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="expected 2 channels"):
        cr.nn.BatchNorm1d(2, **kw)(cr.tensor(x))
