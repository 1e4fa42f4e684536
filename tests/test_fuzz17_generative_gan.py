"""Fuzz wave 17, generative: GANTrainer's steps against a hand-written PyTorch GAN loop (float64).

The same initial weights, data and noise draws (a twin numpy Generator replays the trainer's draws)
go to both; after several steps losses, logged probabilities and every weight must agree.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.generative import GANTrainer, gradient_penalty
from chainrule.models import MLPGAN

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _gan(seed, latent=3, num_classes=0):
    gan = MLPGAN(latent, (5,), (6,), image_shape=(1, 2, 3), num_classes=num_classes,
                 rng=np.random.default_rng(seed))
    return gan.to(dtype=cr.float64)


def _torch_params(module):
    return [torch.tensor(p._data.copy(), requires_grad=True) for p in module.parameters()]


def _mlp(params, h, slope=0.2, last_tanh=False):
    """Linear, LeakyReLU, ..., Linear (pairs of weight, bias)."""
    pairs = list(zip(params[::2], params[1::2]))
    for i, (w, b) in enumerate(pairs):
        h = F.linear(h, w, b)
        if i < len(pairs) - 1:
            h = F.leaky_relu(h, slope)
    return torch.tanh(h) if last_tanh else h


class _TorchGAN:
    def __init__(self, gan, num_classes=0):
        self.g, self.d = _torch_params(gan.generator), _torch_params(gan.discriminator)
        self.shape, self.k = gan.generator.image_shape, num_classes

    def _cond(self, h, labels):
        if not self.k:
            return h
        return torch.cat([h, F.one_hot(torch.tensor(labels), self.k).double()], 1)

    def G(self, z, labels=None):
        return _mlp(self.g, self._cond(z, labels), last_tanh=True).reshape(-1, *self.shape)

    def D(self, x, labels=None):
        return _mlp(self.d, self._cond(x.reshape(len(x), -1), labels)).reshape(-1)


def _reference_run(gan, batches, *, loss, smoothing, gp_weight, n_critic, seed, lr, labels=None,
                   num_classes=0, twin=None):
    tg = _TorchGAN(gan, num_classes) if twin is None else twin
    opt_g = torch.optim.Adam(tg.g, lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(tg.d, lr=lr, betas=(0.5, 0.999))
    rng = np.random.default_rng(seed)
    logs, d_steps = [], 0
    for real_np in batches:
        real = torch.tensor(real_np)
        n = len(real)
        z = torch.tensor(rng.standard_normal((n, gan.latent_dim)))
        fake = tg.G(z, labels).detach()
        d_real, d_fake = tg.D(real, labels), tg.D(fake, labels)
        if loss == "wgan-gp":
            alpha = torch.tensor(rng.random(n)).reshape(n, 1, 1, 1)
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            (gx,) = torch.autograd.grad(tg.D(x_hat, labels).sum(), x_hat, create_graph=True)
            gp = ((torch.sqrt((gx ** 2).reshape(n, -1).sum(1) + 1e-12) - 1) ** 2).mean()
            d_loss = -(d_real.mean() - d_fake.mean()) + gp_weight * gp
        else:
            d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real,
                                                                             1 - smoothing))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        step = {"d_loss": d_loss.item()}
        if loss != "wgan-gp":
            step["d_real"] = torch.sigmoid(d_real).mean().item()
            step["d_fake"] = torch.sigmoid(d_fake).mean().item()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        d_steps += 1
        if d_steps % n_critic == 0:
            z = torch.tensor(rng.standard_normal((n, gan.latent_dim)))
            out = tg.D(tg.G(z, labels), labels)
            if loss == "wgan-gp":
                g_loss = -out.mean()
            elif loss == "non_saturating":
                g_loss = -F.logsigmoid(out).mean()  # -log D(G(z))
            else:
                g_loss = torch.log1p(-torch.sigmoid(out)).mean()  # log(1 - D(G(z)))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            step["g_loss"] = g_loss.item()
        logs.append(step)
    return logs, tg


CASES = [("non_saturating", 0.0, 1), ("non_saturating", 0.1, 1), ("minimax", 0.0, 1),
         ("minimax", 0.2, 2), ("wgan-gp", 0.0, 2), ("wgan-gp", 0.0, 1)]


@pytest.mark.parametrize("loss,smoothing,n_critic", CASES)
@pytest.mark.parametrize("conditional", [False, True])
def test_gan_trainer_matches_a_hand_written_torch_loop(loss, smoothing, n_critic, conditional):
    k = 3 if conditional else 0
    seed = 11 + len(loss) + int(10 * smoothing) + n_critic
    gan = _gan(seed, num_classes=k)
    data_rng = np.random.default_rng(seed + 1)
    batches = [data_rng.uniform(-1, 1, (4, 1, 2, 3)) for _ in range(5)]
    labels = np.array([0, 2, 1, 2]) if conditional else None
    lr, gp_weight = 0.05, 3.0
    ref_logs, tg = _reference_run(gan, batches, loss=loss, smoothing=smoothing,
                                  gp_weight=gp_weight, n_critic=n_critic, seed=99, lr=lr,
                                  labels=labels, num_classes=k)
    trainer = GANTrainer(gan, optim.Adam(gan.generator.parameters(), lr=lr, betas=(0.5, 0.999)),
                         optim.Adam(gan.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
                         loss=loss, label_smoothing=smoothing, gp_weight=gp_weight,
                         n_critic=n_critic, rng=np.random.default_rng(99))
    for batch, ref in zip(batches, ref_logs):
        b = (cr.tensor(batch),) if not conditional else (cr.tensor(batch), cr.tensor(labels))
        got = trainer.train_step(b)
        keys = set(ref) | ({"wasserstein", "gp"} if loss == "wgan-gp" else set())
        assert set(got) == keys
        for key, value in ref.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-10, atol=1e-12, err_msg=key)
    for mine, theirs in ((gan.generator, tg.g), (gan.discriminator, tg.d)):
        for p, t in zip(mine.parameters(), theirs):
            assert p.dtype == cr.float64
            np.testing.assert_allclose(p._data, t.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_gradient_penalty_under_no_grad_and_float64_alpha():
    gan = _gan(3)
    rng = np.random.default_rng(0)
    real, fake = rng.uniform(-1, 1, (2, 4, 1, 2, 3))
    alpha = rng.random(4)
    with cr.no_grad():
        gp = gradient_penalty(gan.discriminator, cr.tensor(real), cr.tensor(fake), alpha=alpha)
    tg = _TorchGAN(gan)
    a = torch.tensor(alpha).reshape(4, 1, 1, 1)
    x_hat = (a * torch.tensor(real) + (1 - a) * torch.tensor(fake)).requires_grad_(True)
    (gx,) = torch.autograd.grad(tg.D(x_hat).sum(), x_hat)
    ref = ((torch.sqrt((gx ** 2).reshape(4, -1).sum(1) + 1e-12) - 1) ** 2).mean()
    np.testing.assert_allclose(gp.item(), ref.item(), rtol=1e-12)


def _torch_module(m):
    """A torch twin of one chainrule layer (weights loaded afterwards from the state_dict)."""
    tn = torch.nn
    name = type(m).__name__
    if name == "Linear":
        return tn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
    if name in ("Conv2d", "ConvTranspose2d"):
        cls = getattr(tn, name)
        w = m.weight.shape
        cin, cout = (w[1], w[0]) if name == "Conv2d" else (w[0], w[1])
        return cls(cin, cout, w[2], stride=m.stride, padding=m.padding,
                   bias=m.bias is not None)
    if name in ("BatchNorm1d", "BatchNorm2d"):
        return getattr(tn, name)(m.num_features, eps=m.eps, momentum=m.momentum)
    if name == "LayerNorm":
        return tn.LayerNorm(m.normalized_shape, eps=m.eps)
    if name == "LeakyReLU":
        return tn.LeakyReLU(m.negative_slope)
    if name == "Unflatten":
        return tn.Unflatten(1, m.unflattened_size)
    return getattr(tn, name)()


def _torch_twin(seq):
    twin = torch.nn.Sequential(*[_torch_module(m) for m in seq]).double()
    twin.load_state_dict({k: torch.tensor(np.array(v._data)) for k, v in seq.state_dict().items()})
    return twin


class _TorchDCGAN:
    def __init__(self, gan):
        self.gnet, self.dnet = _torch_twin(gan.generator.net), _torch_twin(gan.discriminator.net)
        self.g, self.d = list(self.gnet.parameters()), list(self.dnet.parameters())

    def G(self, z, labels=None):
        return self.gnet(z)

    def D(self, x, labels=None):
        return self.dnet(x).reshape(-1)


@pytest.mark.parametrize("loss,d_norm", [("non_saturating", "batch"), ("minimax", "layer"),
                                         ("wgan-gp", "none")])
def test_dcgan_steps_match_torch_modules(loss, d_norm):
    from chainrule.models import DCGAN

    gan = DCGAN(3, (4, 2), (2, 4), image_size=8, d_norm=d_norm,
                rng=np.random.default_rng(4)).to(dtype=cr.float64)
    twin = _TorchDCGAN(gan)
    data_rng = np.random.default_rng(6)
    batches = [data_rng.uniform(-1, 1, (4, 1, 8, 8)) for _ in range(3)]
    ref, _ = _reference_run(gan, batches, loss=loss, smoothing=0.0, gp_weight=2.0, n_critic=1,
                            seed=7, lr=0.01, twin=twin)
    trainer = GANTrainer(gan, optim.Adam(gan.generator.parameters(), lr=0.01, betas=(0.5, 0.999)),
                         optim.Adam(gan.discriminator.parameters(), lr=0.01, betas=(0.5, 0.999)),
                         loss=loss, gp_weight=2.0, rng=np.random.default_rng(7))
    for batch, expected in zip(batches, ref):
        got = trainer.train_step((cr.tensor(batch),))
        for key, value in expected.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-12, err_msg=key)
    for mine, theirs in ((gan.generator.net, twin.gnet), (gan.discriminator.net, twin.dnet)):
        expected = theirs.state_dict()
        for k, v in mine.state_dict().items():  # weights and batch-norm running statistics
            # A conv bias right before BatchNorm has an exactly zero gradient in exact arithmetic;
            # both libraries' rounding noise (1e-17) is scaled up by Adam, so that bias and the
            # following running mean agree to ~1e-9 only (everything else to ~1e-16).
            noise = d_norm == "batch" and mine is gan.discriminator.net and k in (
                "2.bias", "3.running_mean")
            np.testing.assert_allclose(np.asarray(v._data), expected[k].numpy(), rtol=1e-9,
                                       atol=1e-8 if noise else 1e-13, err_msg=k)
    z = gan.sample_latent(3, rng=np.random.default_rng(1))
    twin.gnet.eval()
    with torch.no_grad():
        expected = (twin.gnet(torch.tensor(z._data)) + 1) / 2
    np.testing.assert_allclose(gan.sample(3, rng=None, z=z)._data, expected.numpy(), rtol=1e-9,
                               atol=1e-12)
