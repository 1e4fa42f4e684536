"""Fuzz wave 17, generative: autoencoder training (plain, denoising, colorization, watermark
removal) and greedy layer-wise pre-training, replayed by hand in PyTorch (float64 where the code
allows).

The loader's (input, target) batches are recorded from a twin loader with the same seed, then a
PyTorch copy of the network takes the same Adam steps on them; weights and losses must agree.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.data import corruptions as cor
from chainrule.generative import pretrain_layerwise, pretraining
from chainrule.models import MLP, Autoencoder, ConvAutoencoder
from chainrule.ops import mse_loss
from chainrule.train import Trainer

torch = pytest.importorskip("torch")
F = torch.nn.functional
_ACT = {nn.ReLU: torch.relu, nn.Sigmoid: torch.sigmoid, nn.Tanh: torch.tanh}


class _Replica:
    """A PyTorch twin of a chainrule Sequential-built network (same Parameters, copied)."""

    def __init__(self, model):
        self.model = model
        self.params = {id(p): torch.tensor(p._data.copy(), requires_grad=True)
                       for p in model.parameters()}

    def _t(self, p):
        return self.params[id(p)]

    def run(self, module, h):
        if isinstance(module, nn.Sequential):
            for m in module:
                h = self.run(m, h)
            return h
        if isinstance(module, nn.Linear):
            return F.linear(h, self._t(module.weight), self._t(module.bias))
        if type(module).__name__ == "TiedLinear":
            return h @ self._t(module.weight) + self._t(module.bias)
        if isinstance(module, nn.Conv2d):
            return F.conv2d(h, self._t(module.weight), self._t(module.bias),
                            module.stride, module.padding)
        if isinstance(module, nn.ConvTranspose2d):
            return F.conv_transpose2d(h, self._t(module.weight), self._t(module.bias),
                                      module.stride, module.padding, module.output_padding)
        if isinstance(module, nn.Flatten):
            return h.flatten(1)
        if isinstance(module, nn.Unflatten):
            return h.unflatten(1, module.unflattened_size)
        return _ACT[type(module)](h)

    def forward(self, x):
        return self.run(self.model.decoder, self.run(self.model.encoder, x))


def _replay(model, batches, lr, epochs, dtype=np.float64):
    rep = _Replica(model)
    params = list(rep.params.values())
    opt = torch.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(epochs):
        for x, y in batches.pop(0):
            xt, yt = torch.tensor(x.astype(dtype)), torch.tensor(y.astype(dtype))
            out = rep.forward(xt)
            loss = F.mse_loss(out.reshape(yt.shape), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return rep, losses


def _loader(x, make_pair, seed, **options):
    return DataLoader(ArrayDataset(x), 4, shuffle=True, rng=np.random.default_rng(seed),
                      transform=cor.pair_transform(make_pair, **options))


TASKS = [
    ("plain", lambda x, rng: (x, x), {}),
    ("mask", cor.denoising_pair, {"noise": "mask:0.5"}),
    ("gaussian", cor.denoising_pair, {"noise": "gaussian:0.3"}),
    ("mixed", cor.denoising_pair, {"noise": cor.NOISE_LEVELS}),
    ("watermark", cor.watermark_pair, {}),
]


def _check_pairs(name, epochs_batches, options):
    flat = [pair for epoch in epochs_batches for pair in epoch]
    for x, y in flat:
        assert x.shape == y.shape and x.dtype == np.float32
        if name == "mask":  # masking noise: every input pixel is its clean value or 0
            assert np.all((x == y) | (x == 0))
        if name == "gaussian":
            assert x.min() >= 0 and x.max() <= 1 and not np.array_equal(x, y)
        if name == "watermark":  # a mark brightens/darkens one rectangle only
            rows = np.nonzero(np.any(x != y, axis=(1, 3)))
            assert len(rows[0]) > 0
    if name != "plain":  # a fresh draw per batch: the two epochs' corruptions differ
        a = np.concatenate([x for x, _ in epochs_batches[0]])
        b = np.concatenate([x for x, _ in epochs_batches[1]])
        assert not np.array_equal(np.sort(a, axis=None), np.sort(b, axis=None))


@pytest.mark.parametrize("name,make_pair,options", TASKS, ids=[t[0] for t in TASKS])
@pytest.mark.parametrize("tied", [False, True])
def test_dense_autoencoder_training_matches_torch(name, make_pair, options, tied):
    rng = np.random.default_rng(5)
    x = rng.random((10, 1, 6, 6)).astype(np.float32)
    model = Autoencoder((36, 7, 3), activation="tanh", tied=tied,
                        rng=np.random.default_rng(1)).to(dtype=cr.float64)
    twin = _loader(x, make_pair, 3, **options)
    recorded = [[tuple(np.asarray(t._data if hasattr(t, "_data") else t) for t in b)
                 for b in twin] for _ in range(2)]
    _check_pairs(name, recorded, options)
    rep, ref_losses = _replay(model, list(recorded), 0.02, 2)
    trainer = Trainer(model, mse_loss, optim.Adam(model.parameters(), lr=0.02))
    history = trainer.fit(_loader(x, make_pair, 3, **options), epochs=2, verbose=0)
    w = [4, 4, 2]  # the History weights each batch's loss by its size
    per_epoch = [np.average(ref_losses[:3], weights=w), np.average(ref_losses[3:], weights=w)]
    np.testing.assert_allclose(history.history["loss"], per_epoch, rtol=1e-10)
    for p in model.parameters():
        np.testing.assert_allclose(p._data, rep.params[id(p)].detach().numpy(), rtol=1e-9,
                                   atol=1e-12)


def test_colorization_conv_autoencoder_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.random((8, 1, 8, 8)).astype(np.float32)
    model = ConvAutoencoder(1, (3, 4), out_channels=3, input_size=8,
                            rng=np.random.default_rng(4)).to(dtype=cr.float64)
    twin = _loader(x, cor.colorization_pair, 9)
    recorded = [[tuple(np.asarray(t) for t in b) for b in twin] for _ in range(2)]
    for grey, colour in recorded[0]:  # the input is the colour target's BT.601 luminance
        luma = np.einsum("nchw,c->nhw", colour.astype(np.float64), [0.299, 0.587, 0.114])
        np.testing.assert_allclose(grey[:, 0], luma, atol=1e-6)
    rep, ref_losses = _replay(model, list(recorded), 0.01, 2)
    trainer = Trainer(model, mse_loss, optim.Adam(model.parameters(), lr=0.01))
    history = trainer.fit(_loader(x, cor.colorization_pair, 9), epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"],
                               [np.mean(ref_losses[:2]), np.mean(ref_losses[2:])], rtol=1e-10)
    for p in model.parameters():
        np.testing.assert_allclose(p._data, rep.params[id(p)].detach().numpy(), rtol=1e-9,
                                   atol=1e-12)


class _SpyTrainer(Trainer):
    """Records each layer autoencoder's initial weights and every training batch."""

    runs = []

    def __init__(self, model, loss, optimizer, **kw):
        super().__init__(model, loss, optimizer, **kw)
        self.batches = []
        self.initial = {k: v._data.copy() for k, v in model.state_dict().items()}
        _SpyTrainer.runs.append(self)

    def train_step(self, batch):
        self.batches.append(tuple(np.asarray(t._data).copy() for t in batch))
        return super().train_step(batch)


def _rows(a):
    return a[np.lexsort(a.T[::-1])]


@pytest.mark.parametrize("corruption,dtype", [(0.0, "float32"), (0.4, "float32"),
                                              (0.4, "float64")])
def test_greedy_layerwise_pretraining_matches_torch(monkeypatch, corruption, dtype):
    monkeypatch.setattr(pretraining, "Trainer", _SpyTrainer)
    _SpyTrainer.runs = []
    rng = np.random.default_rng(8)
    x = rng.random((12, 6)).astype(np.float32)
    mlp = MLP((6, 5, 4, 3), activation="sigmoid", rng=np.random.default_rng(0))
    mlp = mlp.to(dtype=getattr(cr, dtype))
    tol = {"rtol": 1e-4, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-9, "atol": 1e-12}
    out_layer = mlp.layers[-1].weight._data.copy()
    losses = pretrain_layerwise(mlp, x, epochs=2, batch_size=5, lr=0.05, corruption=corruption,
                                rng=3)
    runs = _SpyTrainer.runs
    assert len(runs) == len(losses) == 2
    linears = [m for m in mlp.layers if isinstance(m, nn.Linear)]
    codes = x
    for k, run in enumerate(runs):
        ae = run.model
        final = {k: v._data.copy() for k, v in ae.state_dict().items()}
        ae.load_state_dict({k: cr.tensor(v) for k, v in run.initial.items()})  # replay from start
        assert isinstance(ae.decoder[-1], nn.Sigmoid) == (k == 0)  # pixels: sigmoid output
        epoch = run.batches[:3]
        np.testing.assert_allclose(_rows(np.concatenate([y for _, y in epoch])), _rows(codes),
                                   rtol=1e-6)  # layer k learns the codes of layers < k
        for noisy, clean in run.batches:
            if corruption:  # masking noise on the inputs, the clean codes as targets
                assert np.all((noisy == clean) | (noisy == 0)) and (noisy == 0).any()
            else:
                assert np.array_equal(noisy, clean)
        batches = [run.batches[:3], run.batches[3:]]
        rep, ref = _replay(ae, batches, 0.05, 2, dtype=np.dtype(dtype))
        assert all(p._data.dtype == dtype for p in ae.parameters())
        enc_w, enc_b = (rep.params[id(p)].detach().numpy() for p in ae.encoder[0].parameters())
        np.testing.assert_allclose(linears[k].weight._data, enc_w, **tol)
        np.testing.assert_allclose(linears[k].bias._data, enc_b, **tol)
        np.testing.assert_allclose(losses[k], np.average(ref[3:], weights=[5, 5, 2]), **tol)
        for name, p in ae.named_parameters():  # the decoder too ends where the replay ends
            np.testing.assert_allclose(final[name], rep.params[id(p)].detach().numpy(), **tol)
        codes = 1 / (1 + np.exp(-(codes.astype(np.float64) @ enc_w.T + enc_b)))
    assert np.array_equal(mlp.layers[-1].weight._data, out_layer)  # the output layer: untouched


def _draws(seed):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("spec", ["gaussian:0.25", "mask:0.3", "gaussian:0", "mask:1"])
def test_denoising_noise_replayed_by_hand(spec):
    x = _draws(0).random((3, 1, 4, 5)).astype(np.float32)
    noisy, clean = cor.denoising_pair(x, _draws(1), spec)
    rng = _draws(1)
    kind, level = spec.split(":")
    if kind == "gaussian":  # additive N(0, sigma^2), clipped to [0, 1]
        eps = rng.standard_normal(x.shape, dtype=np.float32)
        expected = np.clip(x + eps * np.float32(level), 0, 1)
    else:  # masking: each pixel zeroed with probability `level`
        expected = np.where(rng.random(x.shape) < float(level), np.float32(0), x)
    assert noisy.dtype == np.float32 and np.array_equal(clean, x)
    np.testing.assert_array_equal(noisy, expected)


def test_mixed_noise_draws_one_level_per_batch():
    x = _draws(0).random((2, 1, 3, 3)).astype(np.float32)
    rng, twin = _draws(5), _draws(5)
    for _ in range(6):
        noisy, _ = cor.denoising_pair(x, rng, cor.NOISE_LEVELS)
        spec = cor.NOISE_LEVELS[int(twin.integers(len(cor.NOISE_LEVELS)))]
        np.testing.assert_array_equal(noisy, cor.corrupt(x, spec, rng=twin))


def test_watermark_replayed_by_hand():
    x = _draws(0).random((4, 2, 9, 12)).astype(np.float32)
    out, clean = cor.watermark_pair(x, _draws(3), opacity=(0.2, 0.9))
    rng = _draws(3)
    stamps = [cor._text_stamp(t) for t in cor.WATERMARK_TEXTS] + \
        [cor._bitmap(v) for v in cor._LOGOS.values()]
    stamps = [s for s in stamps if s.shape[0] <= 9 and s.shape[1] <= 12]
    choice = rng.integers(len(stamps), size=4)
    alpha = rng.uniform(0.2, 0.9, size=4).astype(np.float32)
    value = rng.uniform(0.5, 1.0, size=4).astype(np.float32)
    u = rng.random((4, 2))
    expected = x.copy()
    for i in range(4):
        m = stamps[choice[i]]
        top, left = int(u[i, 0] * (9 - m.shape[0] + 1)), int(u[i, 1] * (12 - m.shape[1] + 1))
        full = np.zeros((9, 12), np.float32)
        full[top:top + m.shape[0], left:left + m.shape[1]] = m
        expected[i] = (1 - alpha[i] * full) * x[i] + alpha[i] * value[i] * full
    assert np.array_equal(clean, x)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)
    assert out.min() >= 0 and out.max() <= 1
